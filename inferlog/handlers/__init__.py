"""Sinks: ``logging.Handler`` subclasses that deliver formatted records somewhere.

Each sink lives in its own module; the ones needing an optional dependency import it
there and name the extra to install when it is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inferlog.handlers.file import DEFAULT_LOG_PATH, RotatingJsonFileHandler, log_files

if TYPE_CHECKING:
    from inferlog.handlers.cloud_logging import CloudLoggingHandler
    from inferlog.handlers.stdout import StructuredStdoutHandler, detect_google_runtime

__all__ = [
    "DEFAULT_LOG_PATH",
    "CloudLoggingHandler",
    "RotatingJsonFileHandler",
    "StructuredStdoutHandler",
    "detect_google_runtime",
    "log_files",
]

# Imported on first use, so that ``import inferlog.handlers`` never imports a cloud SDK.
_LAZY: dict[str, str] = {
    "CloudLoggingHandler": "inferlog.handlers.cloud_logging",
    "StructuredStdoutHandler": "inferlog.handlers.stdout",
    "detect_google_runtime": "inferlog.handlers.stdout",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
