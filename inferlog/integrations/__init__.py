"""Bridges from the logging users already have into the inferlog pipeline.

* :mod:`~inferlog.integrations.servers`: uvicorn's and gunicorn's access and error
  loggers, which do not propagate, forwarded to the pipeline's queue;
* :mod:`~inferlog.integrations.warnings`: ``warnings.warn`` through ``logging``;
* :mod:`~inferlog.integrations.structlog`: structlog's standard-library integration,
  event-dict keys as record fields;
* :mod:`~inferlog.integrations.loguru`: a loguru sink that forwards into ``logging``.

:func:`install` and :func:`uninstall` are what :func:`inferlog.configure` calls.
"""

from __future__ import annotations

import logging

from inferlog.integrations.servers import capture_server_loggers, release_server_loggers
from inferlog.integrations.warnings import capture_warnings, release_warnings

__all__ = ["check_options", "install", "uninstall"]


def check_options(*, servers: object, warnings: object) -> None:
    """Check :func:`install`'s options (``configure``'s ``capture_*``) before anything is built."""
    if servers not in (True, False, None):
        raise TypeError(f"capture_servers must be True, False or None, got {servers!r}")
    if warnings not in (True, False):
        raise TypeError(f"capture_warnings must be True or False, got {warnings!r}")


def install(
    target: logging.Handler,
    *,
    servers: bool | None = None,
    warnings: bool = False,
) -> list[str]:
    """Route the loggers users already have into ``target`` (the pipeline's queue).

    Args:
        target: the handler records are forwarded to.
        servers: capture uvicorn's and gunicorn's loggers: True, False, or None for
            "those of the two servers already imported".
        warnings: route ``warnings.warn`` through ``logging`` (``py.warnings``).

    A forwarder never hands ``target`` a record that propagation delivers anyway.

    Returns the names of the loggers a forwarder was attached to.
    """
    names = capture_server_loggers(target, None if servers is None else bool(servers))
    if warnings:
        names.extend(capture_warnings(target))
    return names


def uninstall(target: logging.Handler) -> None:
    """Undo :func:`install` for ``target``; other handlers are left alone."""
    release_server_loggers(target)
    release_warnings(target)
