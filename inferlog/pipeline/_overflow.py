"""What a full queue gives up, and the summary record that says so.

When the buffer is full the overflow policy picks the record that goes. Records at
ERROR and above never go in favour of lower ones. Every drop is counted by level,
and once the pressure ends one summary record, logged as
:data:`DROPPED_LOGGER_NAME`, reaches the sinks with the counts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Final, Literal

__all__ = ["DROPPED_LOGGER_NAME", "OVERFLOW_POLICIES", "OverflowPolicy"]

OverflowPolicy = Literal["drop_oldest", "drop_newest", "block"]

#: The overflow policies :class:`QueueHandler` accepts.
OVERFLOW_POLICIES: Final[tuple[str, ...]] = ("drop_oldest", "drop_newest", "block")
#: Logger name of the summary record emitted after records were dropped.
DROPPED_LOGGER_NAME: Final = "inferlog.dropped"

_ERROR: Final = logging.ERROR


def choose_victim(
    buffer: Iterable[logging.LogRecord], record: logging.LogRecord, overflow: OverflowPolicy
) -> int:
    """Return the index of the queued record that makes room for ``record``, or -1.

    -1 means ``record`` itself is dropped. ``drop_oldest`` evicts the oldest record
    below ERROR; the other policies evict one only to make room for an ERROR+ record.
    When everything queued is ERROR+, ``drop_oldest`` evicts the oldest for an ERROR+
    record and drops anything lower.
    """
    victim = -1
    if overflow == "drop_oldest" or record.levelno >= _ERROR:
        for index, queued in enumerate(buffer):
            if queued.levelno < _ERROR:
                victim = index
                break
        if victim < 0 and overflow == "drop_oldest" and record.levelno >= _ERROR:
            victim = 0
    return victim


def dropped_summary(counts: dict[str, int], overflow: str, pathname: str) -> logging.LogRecord:
    """Return the summary record for ``counts`` (dropped records by level name).

    ``pathname`` becomes the record's ``pathname``: the module of the queue handler.
    """
    total = sum(counts.values())
    text = ", ".join(f"{level}={n}" for level, n in sorted(counts.items()))
    summary = logging.LogRecord(
        DROPPED_LOGGER_NAME,
        logging.WARNING,
        pathname,
        0,
        "inferlog dropped %d record(s) under back-pressure (overflow=%s): %s",
        (total, overflow, text),
        None,
    )
    summary.dropped = counts
    summary.dropped_total = total
    summary.overflow = overflow
    return summary
