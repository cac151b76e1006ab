"""Putting the audit trail where sampling does not reach: a queue of its own.

:func:`attach_audit_trail` is the programmatic form of the ``dictConfig`` shown in
``docs/audit.md``; it works next to :func:`inferlog.configure` (call it after), whose
queue may sample: the inference records reach both queues, the sampled main one
through propagation, the audit one directly.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Final

from inferlog.audit.handler import DEFAULT_AUDIT_PATH, AuditHandler
from inferlog.context import ContextFilter
from inferlog.inference import DEFAULT_LOGGER_NAME
from inferlog.pipeline import QueueHandler

__all__ = ["AUDIT_BLOCK_TIMEOUT", "AUDIT_QUEUE_NAME", "attach_audit_trail"]

#: Name of the queue handler :func:`attach_audit_trail` installs.
AUDIT_QUEUE_NAME: Final = "inferlog.audit.queue"
#: Longest a caller waits for room in a full audit queue before the record is counted
#: as dropped: an audit record is worth a short wait where a log line is not.
AUDIT_BLOCK_TIMEOUT: Final = 1.0


def attach_audit_trail(
    path: str | os.PathLike[str] = DEFAULT_AUDIT_PATH,
    *,
    logger: str = DEFAULT_LOGGER_NAME,
    queue_size: int = 10_000,
    **options: Any,
) -> QueueHandler:
    """Attach an :class:`AuditHandler` behind its own queue to ``logger``; return the queue.

    The queue has a :class:`~inferlog.ContextFilter` and no sampling, and blocks for
    up to :data:`AUDIT_BLOCK_TIMEOUT` seconds when full rather than dropping at once.
    ``options`` go to :class:`AuditHandler` (``store_raw_payloads``, ``hmac_key_env``,
    ``retention_max_age``...). Remove it with ``logging.getLogger(logger)
    .removeHandler(queue)`` and ``queue.shutdown()``.
    """
    handler = AuditHandler(path, **options)
    handler.set_name("inferlog.audit")
    queue = QueueHandler(
        handlers=[handler],
        queue_size=queue_size,
        overflow="block",
        block_timeout=AUDIT_BLOCK_TIMEOUT,
    )
    queue.set_name(AUDIT_QUEUE_NAME)
    queue.addFilter(ContextFilter())
    target = logging.getLogger(logger)
    target.addHandler(queue)
    if target.level == logging.NOTSET or target.level > logging.INFO:
        # Inference records of successful calls are INFO: they must all get here.
        target.setLevel(logging.INFO)
    return queue
