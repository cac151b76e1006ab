"""The feedback-loop guard: records logged while shipping never re-enter a queue.

A sink that ships records (to CloudWatch, Cloud Logging, a file) runs code that logs
too: botocore, urllib3, google.auth, grpc. Were those records queued, each shipment
would produce more records to ship. The listener thread is always inside
:func:`suppress_logging`; sinks wrap their shipping code in it as well.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import threading
from collections.abc import Iterator
from typing import Final

from inferlog._diagnostics import internal_logger
from inferlog._fork import after_fork_in_child

__all__ = ["FEEDBACK_LOGGERS", "suppress_logging"]

#: Loggers of the libraries the sinks ship with. Their records are not queued while
#: any sink is inside :func:`suppress_logging`, whichever thread emits them (their
#: background threads included); every other logger is suppressed only on the
#: shipping thread itself.
FEEDBACK_LOGGERS: Final[tuple[str, ...]] = (
    "botocore",
    "boto3",
    "s3transfer",
    "urllib3",
    "requests",
    "google.auth",
    "google.api_core",
    "google.cloud.logging",
    "google.cloud.logging_v2",
    "grpc",
)

# True on a thread (or task) that is shipping records to a sink: the listener thread
# sets it for its whole life, :func:`suppress_logging` sets it for a block.
shipping: contextvars.ContextVar[bool] = contextvars.ContextVar("inferlog_shipping", default=False)
network_shipping = 0  # how many suppress_logging(network=True) blocks are open
_network_lock = threading.Lock()
suppressed_count = 0  # records kept out of every queue in this process


@contextlib.contextmanager
def suppress_logging(*, network: bool = True) -> Iterator[None]:
    """Keep records logged inside this block out of every inferlog queue.

    Sinks wrap their shipping code in it (the listener thread is always inside one).
    Records logged on this thread inside the block are not queued; while any block
    opened with ``network=True`` is active, records from :data:`FEEDBACK_LOGGERS`
    are not queued from any thread, which covers the background threads of boto3
    and grpc. Suppressed records are counted; WARNING and above go to the
    ``inferlog.internal`` diagnostics logger (stderr) instead.
    """
    global network_shipping
    token = shipping.set(True)
    if network:
        with _network_lock:
            network_shipping += 1
    try:
        yield
    finally:
        if network:
            with _network_lock:
                network_shipping -= 1
        shipping.reset(token)


_diverting: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "inferlog_diverting", default=False
)


def divert(record: logging.LogRecord) -> None:
    """Count a suppressed record and show it on the diagnostics channel if it matters."""
    global suppressed_count
    suppressed_count += 1
    # The guard matters if someone routes inferlog.internal into a queue handler: the
    # record would come straight back here.
    if record.levelno >= logging.WARNING and not _diverting.get():
        token = _diverting.set(True)
        try:
            internal_logger.handle(record)
        except Exception:
            pass
        finally:
            _diverting.reset(token)


def _after_fork_in_child() -> None:
    # A block open on some parent thread at fork time never closes in the child.
    global _network_lock, network_shipping
    _network_lock = threading.Lock()
    network_shipping = 0


after_fork_in_child(_after_fork_in_child)
