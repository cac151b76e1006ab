"""Old names kept working: a module ``__getattr__`` that warns and returns the new value."""

from __future__ import annotations

import warnings
from collections.abc import Mapping

__all__ = ["renamed"]


def renamed(module: str, name: str, renames: Mapping[str, tuple[str, object]]) -> object:
    """Return the value ``module.name`` was renamed to, with a ``DeprecationWarning``.

    For a module's ``__getattr__``: ``renames`` maps each old name to ``(new name,
    value)``. An unknown ``name`` raises ``AttributeError`` as a module would.
    """
    if name not in renames:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    new_name, value = renames[name]
    warnings.warn(
        f"{module}.{name} is deprecated; use {module}.{new_name}",
        DeprecationWarning,
        stacklevel=3,
    )
    return value
