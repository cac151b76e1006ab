"""Sinks: ``logging.Handler`` subclasses that deliver formatted records somewhere.

Each sink lives in its own module; the ones needing an optional dependency import it
there and name the extra to install when it is missing. They are exported lazily, so
``import inferlog.handlers`` never imports boto3 or google-cloud-logging.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inferlog._lazy import lazy_exports
from inferlog.handlers.file import DEFAULT_LOG_PATH, RotatingJsonFileHandler, log_files

if TYPE_CHECKING:
    from inferlog.handlers.cloud_logging import CloudLoggingHandler
    from inferlog.handlers.cloudwatch import CloudWatchHandler
    from inferlog.handlers.stdout import StructuredStdoutHandler, detect_google_runtime

__all__ = [
    "DEFAULT_LOG_PATH",
    "CloudLoggingHandler",
    "CloudWatchHandler",
    "RotatingJsonFileHandler",
    "StructuredStdoutHandler",
    "detect_google_runtime",
    "log_files",
]

# Optional-dependency sinks load on first use (PEP 562).
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "CloudLoggingHandler": "inferlog.handlers.cloud_logging",
        "CloudWatchHandler": "inferlog.handlers.cloudwatch",
        "StructuredStdoutHandler": "inferlog.handlers.stdout",
        "detect_google_runtime": "inferlog.handlers.stdout",
    },
)
