"""Text of any object, never raising: the one ``safe_str`` of the library.

Used wherever a value of unknown type must become text (a log message, an exception
message, a dictionary key) and a hostile ``__str__`` must not fail the caller.
"""

from __future__ import annotations

__all__ = ["safe_str", "type_name"]


def type_name(obj: object) -> str:
    """Return ``module.QualName`` of ``obj``'s type (just the name for builtins)."""
    cls = type(obj)
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", None) or cls.__name__
    if module in ("builtins", ""):
        return str(name)
    return f"{module}.{name}"


def safe_str(obj: object) -> str:
    """Return ``str(obj)``, else ``repr(obj)``, else a placeholder naming what failed."""
    try:
        text = str(obj)
        if isinstance(text, str):
            return text
    except Exception as err:
        first = err
    else:  # __str__ returned a non-str (only possible through C extensions)
        first = TypeError("__str__ returned a non-string")
    try:
        text = repr(obj)
        if isinstance(text, str):
            return text
    except Exception:
        pass
    return f"<unrepresentable {type_name(obj)}: str() raised {type(first).__name__}>"
