"""Re-exports imported on first use (PEP 562), for packages whose parts are costly.

A package ``__init__`` lists where each public name lives and gets a module
``__getattr__`` and ``__dir__`` back: ``from inferlog.sampling import SamplingFilter``
then imports only ``inferlog.sampling.filter``. Type checkers see the names through
``if TYPE_CHECKING:`` imports next to the call.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]]]:
    """Return ``(__getattr__, __dir__)`` for ``package``, which re-exports ``exports``.

    ``exports`` maps each public name to the module that defines it. A name is
    imported once, then kept in the package's namespace like an ordinary import.
    """
    table = dict(exports)

    def __getattr__(name: str) -> object:
        module = table.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(sys.modules[package])) | set(table))

    return __getattr__, __dir__
