"""Former home of the lifecycle registry; see :mod:`inferlog.pipeline.lifecycle`."""

from __future__ import annotations

from inferlog.pipeline.lifecycle import (
    DEFAULT_SHUTDOWN_TIMEOUT,
    ShutdownReport,
    install_signal_handlers,
    shutdown_all,
)

__all__ = ["DEFAULT_SHUTDOWN_TIMEOUT", "ShutdownReport", "install_signal_handlers", "shutdown_all"]
