"""Fan-out: one batch of queued records to every sink, each sink its own copy.

A sink's filters may change the record it is given (redaction rewrites fields), so
with several sinks each gets a shallow copy (the last one the queued record itself),
in the order the sinks were configured, whatever their kind. All copies of one
record share one memo dict (:data:`~inferlog._record.MEMO_ATTR`), where a stage that
gives every copy the same answer (redaction with one configuration) leaves it for
the others: a record reaching three sinks with one redaction policy is scanned once.

Progress is kept per sink, so a shutdown that gives up mid-batch knows exactly which
records each sink has not acknowledged (see :meth:`Fanout.undelivered`).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any

from inferlog._record import MEMO_ATTR, copy_record

__all__ = ["Fanout", "sink_name"]

SinkError = Callable[[logging.Handler, Exception], None]


def sink_name(sink: logging.Handler, index: int) -> str:
    """The name a sink's spooled records carry: its handler name, else class and position."""
    return sink.get_name() or f"{type(sink).__name__}#{index}"


class Fanout:
    """Delivers lists of records to a list of sinks and remembers how far each got."""

    def __init__(self, *, respect_handler_level: bool, on_error: SinkError) -> None:
        self.respect_handler_level = respect_handler_level
        self._on_error = on_error
        # (records, targets, per-sink count acknowledged): replaced in one assignment
        # so that another thread reading it at a shutdown deadline sees one state.
        self._state: tuple[Sequence[logging.LogRecord], Sequence[logging.Handler], list[int]]
        self._state = ((), (), [])
        self.abandon = False

    def deliver(
        self,
        records: Sequence[logging.LogRecord],
        targets: Sequence[logging.Handler],
        *,
        step: int,
        deadline: float | None,
        handle_plain: Callable[[logging.Handler], Callable[[logging.LogRecord], object]],
        on_chunk: Callable[[int], None],
        on_refused: Callable[[logging.Handler, list[logging.LogRecord]], None],
    ) -> bool:
        """Give ``records`` to every sink, ``step`` at a time; False if abandoned.

        Within each chunk the sinks are served in order. ``handle_plain(sink)`` is
        the per-record entry point of a sink without ``handle_batch``;
        ``on_chunk(n)`` is called after every sink has had a chunk, with the number
        of its records that some sink took;
        ``on_refused(sink, records)`` gets the records a batch sink did not
        acknowledge while the queue was not giving up on it (they are spooled).
        """
        done = [0] * len(targets)
        self._state = (records, targets, done)
        last = len(targets) - 1
        for start in range(0, len(records), step):
            chunk = records[start : start + step]
            if last > 0:
                for record in chunk:
                    record.__dict__[MEMO_ATTR] = {}
            # Acknowledgements are prefixes: the records some sink took are the
            # longest prefix any sink acknowledged.
            taken_by_any = 0
            for index, target in enumerate(targets):
                if self.abandon:
                    return False
                view = chunk if index == last else [copy_record(r) for r in chunk]
                level = target.level if self.respect_handler_level else logging.NOTSET
                handle_batch = getattr(target, "handle_batch", None)
                if handle_batch is not None:
                    taken = self._deliver_batch(target, handle_batch, view, level, deadline)
                    taken_by_any = max(taken_by_any, taken)
                    if taken < len(view):
                        if self.abandon:
                            done[index] = start + taken
                            return False  # the shutdown spools the rest, per sink
                        on_refused(target, list(chunk[taken:]))
                    done[index] = start + len(view)
                elif not self._deliver_plain(index, start, handle_plain(target), view, level):
                    return False
                else:
                    taken_by_any = len(view)
            on_chunk(taken_by_any)
        self._state = ((), (), [])
        return True

    def _deliver_batch(
        self,
        target: logging.Handler,
        handle_batch: Callable[..., Any],
        view: Sequence[logging.LogRecord],
        level: int,
        deadline: float | None,
    ) -> int:
        positions = [i for i, r in enumerate(view) if r.levelno >= level]
        if not positions:
            return len(view)
        wanted = [view[i] for i in positions] if len(positions) < len(view) else list(view)
        try:
            taken = _call_batch(handle_batch, wanted, deadline)
        except Exception as exc:
            self._on_error(target, exc)
            return len(view)  # a sink that raises gets no second chance at the batch
        taken = max(0, min(taken, len(wanted)))
        return len(view) if taken == len(wanted) else positions[taken]

    def _deliver_plain(
        self,
        index: int,
        start: int,
        handle: Callable[[logging.LogRecord], object],
        view: Sequence[logging.LogRecord],
        level: int,
    ) -> bool:
        done = self._state[2]
        target = self._state[1][index]
        for position, record in enumerate(view):
            if self.abandon:
                return False
            if record.levelno >= level:
                try:
                    handle(record)
                except Exception as exc:
                    self._on_error(target, exc)
            done[index] = start + position + 1
        return True

    def undelivered(self) -> list[tuple[logging.Handler, list[logging.LogRecord]]]:
        """Per sink, the records of the list being delivered that it has not acknowledged."""
        records, targets, done = self._state
        return [
            (target, list(records[done[i] :]))
            for i, target in enumerate(targets)
            if done[i] < len(records)
        ]


_takes_deadline: dict[type, bool] = {}


def _call_batch(
    handle_batch: Callable[..., Any], records: list[logging.LogRecord], deadline: float | None
) -> int:
    """Call a sink's ``handle_batch``; one of the older protocol takes no deadline and
    returns None, which acknowledges the whole batch."""
    owner = type(getattr(handle_batch, "__self__", handle_batch))
    takes = _takes_deadline.get(owner)
    if takes is None:
        try:
            parameters = list(inspect.signature(handle_batch).parameters.values())
        except (TypeError, ValueError):
            parameters = []
        takes = len(parameters) >= 2 or any(
            p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters
        )
        _takes_deadline[owner] = takes
    result = handle_batch(records, deadline) if takes else handle_batch(records)
    return len(records) if result is None else int(result)
