"""Sinks: ``logging.Handler`` subclasses that deliver formatted records somewhere.

Each sink lives in its own module; the ones needing an optional dependency import it
there and name the extra to install when it is missing. They are exported lazily, so
``import inferlog.handlers`` never imports boto3.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from inferlog.handlers.file import DEFAULT_LOG_PATH, RotatingJsonFileHandler, log_files

if TYPE_CHECKING:
    from inferlog.handlers.cloudwatch import CloudWatchHandler

__all__ = ["DEFAULT_LOG_PATH", "CloudWatchHandler", "RotatingJsonFileHandler", "log_files"]


def __getattr__(name: str) -> Any:
    # Optional-dependency sinks load on first use (PEP 562).
    if name == "CloudWatchHandler":
        from inferlog.handlers.cloudwatch import CloudWatchHandler

        return CloudWatchHandler
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
