"""The base of every sink that the queue listener feeds in batches.

:class:`BatchSink` writes the level / filter / format loop once, so a sink only says
how to turn a record into what it writes (:meth:`BatchSink.prepare`) and how to write
a list of those (:meth:`BatchSink.write_batch`). Two promises tie it to the queue:

* **acknowledgement**: :meth:`~BatchSink.handle_batch` returns how many records,
  from the start, the sink has taken responsibility for (written, held in a buffer
  that its own :class:`~inferlog.pipeline.lifecycle.Lifecycle` delivers or spools,
  or filtered out). At a shutdown deadline the queue spools exactly the rest, for
  this sink only, so nothing is lost and nothing arrives twice;
* **deadline and cancel**: ``write_batch`` gets the deadline the listener works to,
  and :attr:`~BatchSink.cancelled` turns true (waking :meth:`~BatchSink.wait_cancelled`)
  when a shutdown gives up on the sink, so a sink in backoff returns at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["BatchSink"]


class BatchSink(logging.Handler):
    """A ``logging.Handler`` that takes records in batches; subclass it for a new sink.

    Override :meth:`write_batch` (required) and :meth:`prepare` (optional; the
    default is ``self.format(record)``). Used directly by a logger, the sink gets one
    record at a time through :meth:`emit`; behind :class:`inferlog.QueueHandler` it
    gets lists through :meth:`handle_batch`.
    """

    # No __init__ of its own, so that it mixes with any handler's constructor (the file
    # sink is also a BaseRotatingHandler); the cancel flag is made on first use.
    _cancel_event: threading.Event | None = None

    def _cancel_flag(self) -> threading.Event:
        flag = self._cancel_event
        if flag is None:
            flag = self.__dict__.setdefault("_cancel_event", threading.Event())
        return flag

    # -------------------------------------------------------------- hooks

    def prepare(self, record: logging.LogRecord) -> Any:
        """Return what :meth:`write_batch` writes for ``record``; override for structure.

        The default is the formatted string. A sink that sends structured entries
        builds them here, typically from ``JsonFormatter.record_dict(record)``.
        """
        return self.format(record)

    def write_batch(self, items: list[Any], deadline: float | None) -> int:
        """Write ``items`` (from :meth:`prepare`) in order; return how many were taken.

        The count is from the start of ``items``: everything before it is written or
        in a buffer the sink will deliver or spool itself. Honour ``deadline`` (a
        ``time.monotonic()`` value, None for no deadline) and :attr:`cancelled`.
        Must not raise: report failures through ``handleError`` or a diagnostic.
        """
        raise NotImplementedError

    # -------------------------------------------------------------- the loop

    def handle_batch(
        self, records: Sequence[logging.LogRecord], deadline: float | None = None
    ) -> int:
        """Filter, prepare and write ``records``; return how many are acknowledged.

        Records below the level or refused by a filter count as acknowledged (they
        were handled); a record whose preparation fails is reported through
        ``handleError`` and counted as handled too, since trying again cannot help.
        Never raises.
        """
        items: list[Any] = []
        positions: list[int] = []
        level = self.level
        for index, original in enumerate(records):
            if original.levelno < level:
                continue
            kept = self.filter(original) if self.filters else True
            if not kept:
                continue
            # Python 3.12+ filters may return a replacement record.
            record = kept if isinstance(kept, logging.LogRecord) else original
            try:
                items.append(self.prepare(record))
            except Exception:
                self.handleError(record)
                continue
            positions.append(index)
        if not items:
            return len(records)
        try:
            taken = self.write_batch(items, deadline)
        except Exception:
            self.handleError(records[positions[0]])
            taken = 0
        taken = max(0, min(int(taken), len(items)))
        return len(records) if taken == len(items) else positions[taken]

    def emit(self, record: logging.LogRecord) -> None:
        """Write one record (a logger calls this directly); never raises."""
        try:
            self.write_batch([self.prepare(record)], None)  # the sink reports what it refuses
        except Exception:
            self.handleError(record)

    # -------------------------------------------------------------- cancel

    @property
    def cancelled(self) -> bool:
        """True once a shutdown has given up waiting for this sink."""
        return self._cancel_flag().is_set()

    def cancel(self) -> None:
        """Tell the sink to stop retrying and return; called at a shutdown deadline."""
        self._cancel_flag().set()

    def wait_cancelled(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (a backoff), returning True at once if cancelled."""
        return self._cancel_flag().wait(max(0.0, seconds))

    def reset_cancel(self) -> None:
        """Clear :attr:`cancelled` (after a fork, or when a sink is reused)."""
        self._cancel_event = threading.Event()
