"""A handler that hands records to another handler, unless they reach it anyway."""

from __future__ import annotations

import logging


class ForwardHandler(logging.Handler):
    """Give each record to ``target``, once, from a logger that may not propagate.

    uvicorn, gunicorn and ``py.warnings`` records can stop at their own logger
    (``propagate = False``), so the pipeline's queue on the root logger never sees
    them. This handler, attached to such a logger, passes the record to the queue,
    except when propagation from that logger already delivers it there (someone
    set ``propagate = True`` later, or attached the queue to it too).

    Args:
        target: the handler to forward to (the pipeline's queue handler).
        logger_name: the logger this forwarder is attached to.
    """

    def __init__(self, target: logging.Handler, logger_name: str) -> None:
        super().__init__()
        self.target = target
        self.logger_name = logger_name

    def reaches_target(self) -> bool:
        """Whether a record at ``logger_name`` gets to ``target`` without this handler."""
        logger: logging.Logger | None = logging.getLogger(self.logger_name or None)
        while logger is not None:
            if self.target in logger.handlers:
                return True
            if not logger.propagate:
                return False
            logger = logger.parent
        return False

    def emit(self, record: logging.LogRecord) -> None:
        """Forward ``record`` to ``target`` unless it gets there anyway; never raises."""
        try:
            if not self.reaches_target() and record.levelno >= self.target.level:
                self.target.handle(record)
        except Exception:
            self.handleError(record)


def attach(target: logging.Handler, name: str) -> ForwardHandler:
    """Attach a :class:`ForwardHandler` to ``target`` on logger ``name`` (once)."""
    for handler in forwarders(name):
        if handler.target is target:
            return handler
    forwarder = ForwardHandler(target, name)
    logging.getLogger(name or None).addHandler(forwarder)
    return forwarder


def detach(target: logging.Handler, name: str) -> bool:
    """Remove the forwarders to ``target`` from logger ``name``; whether there was one."""
    found = False
    for handler in forwarders(name):
        if handler.target is target:
            logging.getLogger(name or None).removeHandler(handler)
            found = True
    return found


def forwarders(name: str) -> list[ForwardHandler]:
    """The forwarders attached to logger ``name``, to any target."""
    handlers = logging.getLogger(name or None).handlers
    return [handler for handler in handlers if isinstance(handler, ForwardHandler)]
