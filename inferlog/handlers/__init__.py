"""Sinks: ``logging.Handler`` subclasses that deliver formatted records somewhere.

Each sink lives in its own module; the ones needing an optional dependency import it
there and name the extra to install when it is missing.
"""

from __future__ import annotations

from inferlog.handlers.file import DEFAULT_LOG_PATH, RotatingJsonFileHandler, log_files

__all__ = ["DEFAULT_LOG_PATH", "RotatingJsonFileHandler", "log_files"]
