"""The listener half of :class:`~inferlog.pipeline.queue.QueueHandler`: its thread and flushes.

One listener thread per queue handler wakes when ``batch_size`` records wait, when
an ERROR arrives, on :meth:`QueueListenerLoop.force_flush`, or every
``flush_interval`` seconds; it swaps the buffer out under the lock and hands the
records to the sinks through :class:`~inferlog.pipeline._fanout.Fanout`. A mixin
rather than a class of its own because it works on the queue's buffer, lock and
counters, which ``QueueHandler._init_state`` sets (declared below for the type
checker).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final

from inferlog._diagnostics import report, report_once
from inferlog._feedback import shipping
from inferlog.pipeline import lifecycle
from inferlog.pipeline._overflow import dropped_summary

__all__ = ["QueueListenerLoop"]

_LISTENER_THREAD_NAME: Final = "inferlog-queue-listener"


def _ignore(_count: int) -> None:
    pass


class QueueListenerLoop:
    """The listener thread of a queue handler: drain, deliver, flush."""

    # Set by QueueHandler; declared for the type checker.
    _lock: Any
    _buffer: collections.deque[logging.LogRecord]
    _reentrant: list[logging.LogRecord]
    _wake: threading.Event
    _done: threading.Condition
    _not_full: threading.Condition
    _start_lock: Any
    _inline_lock: Any
    _thread: threading.Thread | None
    _closed: bool
    _stopping: bool
    _abandon: bool
    _busy: bool
    _waiters: int
    _accepted: int
    _delivered: int
    _drained_upto: int
    _flushed_upto: int
    _flush_wanted: int
    _sink_errors: int
    _dropped_pending: collections.Counter[str]
    _deadline: float | None
    _fanout: Any
    queue_size: int
    batch_size: int
    flush_interval: float
    shutdown_timeout: float
    overflow: str

    if TYPE_CHECKING:

        def _resolve_targets(self) -> list[logging.Handler]: ...
        def _plain_entry(
            self, target: logging.Handler
        ) -> Callable[[logging.LogRecord], object]: ...

    def start(self) -> None:
        """Start the listener thread (done automatically by the first record)."""
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name=_LISTENER_THREAD_NAME, daemon=True)
            self._thread = thread
            lifecycle.register_participant(self)  # type: ignore[arg-type]
            thread.start()

    def _run(self) -> None:
        shipping.set(True)  # this thread's own context: everything logged here is diverted
        try:
            while True:
                self._wake.wait(self.flush_interval)
                self._wake.clear()
                if self._abandon:
                    return
                self._drain()
                if self._abandon:
                    return
                if self._flush_wanted > self._flushed_upto or self._stopping:
                    upto = self._drained_upto
                    self._flush_targets()
                    with self._done:
                        self._flushed_upto = max(self._flushed_upto, upto)
                        self._done.notify_all()
                        if self._flush_wanted > self._flushed_upto:
                            self._wake.set()  # a flush arrived mid-cycle: go round again
                if self._stopping:
                    with self._lock:
                        if not self._buffer:
                            self._closed = True
                            return
        except BaseException as exc:  # pragma: no cover - last line of defence
            report(logging.ERROR, "queue listener stopped: %s: %s", type(exc).__name__, exc)
            with self._lock:
                self._closed = True
        finally:
            with self._done:
                self._done.notify_all()

    def _drain(self) -> None:
        """Deliver batches until the buffer is empty (or the shutdown gives up)."""
        while not self._abandon:
            swapped: collections.deque[logging.LogRecord] | None = None
            with self._lock:
                buffer = self._buffer
                if self._reentrant:
                    moved, self._reentrant = self._reentrant, []
                    buffer.extend(moved)
                    self._accepted += len(moved)
                if buffer:
                    # Swap rather than pop one by one: callers wait on this lock. Only
                    # the swapped-out deque may be read once the lock is released;
                    # the current one is filling up again.
                    self._buffer = collections.deque()
                    swapped = buffer
                    self._busy = True  # set under the lock: _drain_here relies on it
                    if self._waiters:
                        self._not_full.notify_all()
                    relieved = len(buffer) < self.queue_size // 2
                else:
                    self._drained_upto = self._accepted
                    relieved = True
                summary = self._take_summary() if relieved and self._dropped_pending else None
            taken = list(swapped) if swapped is not None else []
            if taken:
                try:
                    self._deliver(taken)
                finally:
                    self._busy = False
            if summary is not None:
                self._announce(summary)
                self._deliver([summary], count=False)
            if not taken:
                return

    def _take_summary(self) -> logging.LogRecord | None:
        """Turn pending drop counts into one summary record (lock held)."""
        if not self._dropped_pending:
            return None
        counts = dict(self._dropped_pending)
        self._dropped_pending.clear()
        return dropped_summary(counts, self.overflow, __file__)

    @staticmethod
    def _announce(summary: logging.LogRecord) -> None:
        """Put the drop summary on stderr too (called without the lock held)."""
        report(logging.WARNING, summary.getMessage())

    def _deliver(self, records: list[logging.LogRecord], *, count: bool = True) -> None:
        """Give ``records`` to every sink (see :class:`~inferlog.pipeline._fanout.Fanout`)."""
        self._fanout.deliver(
            records,
            self._resolve_targets(),
            step=self.batch_size,
            deadline=self._deadline,
            handle_plain=self._plain_entry,
            on_chunk=self._count_delivered if count else _ignore,
        )

    def _count_delivered(self, count: int) -> None:
        self._delivered += count

    def _sink_failed(self, target: logging.Handler, exc: Exception) -> None:
        self._sink_errors += 1
        report_once(
            f"queue-sink-error-{id(target)}",
            logging.ERROR,
            "sink %r raised %s: %s; further errors from it are counted, not shown",
            target,
            type(exc).__name__,
            exc,
        )

    def _flush_targets(self) -> None:
        for target in self._resolve_targets():
            try:
                target.flush()
            except Exception as exc:
                self._sink_failed(target, exc)

    def _deliver_inline(self, record: logging.LogRecord) -> None:
        """After shutdown: deliver on the caller's thread rather than lose the record."""
        token = shipping.set(True)
        try:
            with self._inline_lock:
                self._deliver([record])
                self._flush_targets()
        finally:
            shipping.reset(token)

    # -------------------------------------------------------------- flush and stats

    def force_flush(self, timeout: float | None = None) -> bool:
        """Deliver every record queued before the call and flush the sinks.

        Returns True when that finished within ``timeout`` seconds (default: the
        handler's ``shutdown_timeout``). Returns False at once on the listener thread.
        """
        if timeout is None:
            timeout = self.shutdown_timeout
        if self._closed:
            self._flush_targets()
            return True
        if threading.current_thread() is self._thread:
            return False
        with self._lock:
            target = self._accepted
        if target == 0 and self._thread is None:
            return True
        self.start()
        deadline = time.monotonic() + timeout
        with self._done:
            self._flush_wanted = max(self._flush_wanted, target)
        self._wake.set()
        with self._done:
            while self._flushed_upto < target:
                thread = self._thread
                if self._closed or thread is None or not thread.is_alive():
                    return self._flushed_upto >= target
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._done.wait(min(remaining, self.flush_interval))
                self._wake.set()
        return True

    def flush(self, timeout: float | None = None) -> None:
        """As :meth:`force_flush`, without the result (the stdlib ``flush`` signature)."""
        self.force_flush(timeout)
