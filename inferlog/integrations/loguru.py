"""A loguru sink that forwards every message into ``logging``, and so into inferlog.

::

    from loguru import logger
    from inferlog.integrations.loguru import forward_to_logging

    logger.remove()  # loguru's own stderr sink; inferlog writes stderr itself
    logger.add(forward_to_logging, level="DEBUG")
    logger.bind(model_id="fraud-v3").info("scored")

The record keeps loguru's level (``SUCCESS``, ``TRACE`` included), logger name, file,
line, function, time and exception; ``bind()`` and ``contextualize()`` fields
become record fields. Needs nothing from loguru at import: a sink is a plain callable.
"""

from __future__ import annotations

import logging
from typing import Any

from inferlog.integrations._extra import as_extra

__all__ = ["forward_to_logging"]

#: Logger used for a loguru record without a module name.
DEFAULT_LOGGER = "loguru"


def forward_to_logging(message: Any) -> None:
    """loguru sink: log ``message.record`` on the ``logging`` logger of its module."""
    record = message.record
    name = record["name"] or DEFAULT_LOGGER
    logger = logging.getLogger(name)
    level = record["level"]
    if not logger.isEnabledFor(level.no):
        return
    exception = record["exception"]
    exc_info = None
    if exception is not None:
        exc_info = (exception.type, exception.value, exception.traceback)
    log_record = logger.makeRecord(
        name,
        level.no,
        record["file"].path,
        record["line"],
        record["message"],
        (),
        exc_info,
        record["function"],
        as_extra(record["extra"]),
    )
    log_record.levelname = level.name
    created = record["time"].timestamp()
    log_record.created = created
    log_record.msecs = (created - int(created)) * 1000
    logger.handle(log_record)
