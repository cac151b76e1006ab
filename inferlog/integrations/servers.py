"""uvicorn's and gunicorn's own loggers, routed into the pipeline.

Both servers configure their access and error loggers with ``propagate = False`` and
handlers of their own, so the records bypass a handler on the root logger.
:func:`capture_server_loggers` attaches a forwarder to each of those loggers;
:func:`uvicorn_log_config` is a ``--log-config`` for uvicorn that sends them through
inferlog from the start (``docs/migrating.md`` shows it as a file).
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any, Final

from inferlog.integrations._forward import attach, detach

__all__ = [
    "SERVER_LOGGERS",
    "capture_server_loggers",
    "release_server_loggers",
    "uvicorn_log_config",
]

#: For each server module, the loggers that do not propagate. ``uvicorn.error``
#: propagates to ``uvicorn``, so forwarding from ``uvicorn`` covers it.
SERVER_LOGGERS: Final[dict[str, tuple[str, ...]]] = {
    "uvicorn": ("uvicorn", "uvicorn.access"),
    "gunicorn": ("gunicorn.error", "gunicorn.access"),
}


def capture_server_loggers(target: logging.Handler, enabled: bool | None = None) -> list[str]:
    """Forward the servers' loggers to ``target``; return the logger names.

    ``enabled``: True for both servers, False for none, None for those whose module
    is already imported (a process that runs neither pays nothing).
    """
    if enabled is False:
        return []
    names: list[str] = []
    for module, loggers in SERVER_LOGGERS.items():
        if enabled or module in sys.modules:
            for name in loggers:
                attach(target, name)
                names.append(name)
    return names


def release_server_loggers(target: logging.Handler) -> None:
    """Remove the forwarders :func:`capture_server_loggers` attached for ``target``."""
    for loggers in SERVER_LOGGERS.values():
        for name in loggers:
            detach(target, name)


def uvicorn_log_config(
    filename: str | os.PathLike[str] = "logs/inferlog.jsonl", level: str = "INFO"
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict for ``uvicorn --log-config``.

    uvicorn's loggers propagate to the root logger, which holds inferlog's queue in
    front of a rotating JSON file and JSON lines on stderr; the request id is stamped
    and secrets redacted as with :func:`inferlog.configure`. Write it with
    ``json.dump`` to get the file ``docs/migrating.md`` shows.
    """
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "context": {"()": "inferlog.ContextFilter"},
            "redact": {"()": "inferlog.RedactionFilter"},
        },
        "formatters": {"json": {"()": "inferlog.JsonFormatter"}},
        "handlers": {
            "file": {
                "()": "inferlog.handlers.RotatingJsonFileHandler",
                "filename": os.fspath(filename),
                "formatter": "json",
                "filters": ["redact"],
            },
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["redact"],
            },
            "queue": {
                "()": "inferlog.QueueHandler",
                "handlers": ["file", "stderr"],
                "filters": ["context"],
            },
        },
        "loggers": {
            "uvicorn": {"level": level, "handlers": [], "propagate": True},
            "uvicorn.error": {"level": level, "propagate": True},
            "uvicorn.access": {"level": level, "handlers": [], "propagate": True},
        },
        "root": {"level": level, "handlers": ["queue"]},
    }
