"""Old names kept working: a module ``__getattr__`` that warns and returns the new value."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping

__all__ = ["renamed_names"]


def renamed_names(
    module: str, renames: Mapping[str, tuple[str, object]]
) -> Callable[[str], object]:
    """Return a module ``__getattr__`` that serves old names with a ``DeprecationWarning``.

    ``renames`` maps each old name of ``module`` to ``(new name, value)``; any other
    name raises ``AttributeError`` as a module would.
    """
    table = dict(renames)

    def __getattr__(name: str) -> object:
        if name not in table:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        new_name, value = table[name]
        warnings.warn(
            f"{module}.{name} is deprecated; use {module}.{new_name}",
            DeprecationWarning,
            stacklevel=2,
        )
        return value

    return __getattr__
