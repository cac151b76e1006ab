"""The shutdown half of :class:`~inferlog.pipeline.queue.QueueHandler`, and its listener control.

The queue takes part in the process lifecycle (:class:`~inferlog.pipeline.lifecycle.Lifecycle`):
:meth:`QueueShutdown.begin_shutdown` asks the listener to drain and stop,
:meth:`QueueShutdown.finish_shutdown` waits for it until the deadline and then spools,
for each sink, exactly the records that sink has not acknowledged, after that sink's
own filters. A mixin rather than a module of functions because every step works on
the queue's buffer, lock and listener thread; the attributes it relies on are set by
``QueueHandler._init_state``.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import weakref
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Final

from inferlog._feedback import shipping
from inferlog._validation import check_seconds
from inferlog.pipeline import lifecycle
from inferlog.pipeline._fanout import sink_name
from inferlog.pipeline.lifecycle import ShutdownReport, lock_is_owned
from inferlog.pipeline.spool import spill_records

if TYPE_CHECKING:
    from inferlog.pipeline.queue import QueueHandler

__all__ = ["ListenerControl", "QueueShutdown"]

#: How long a shutdown that gave up waits for a cancelled sink to hand back the batch
#: it holds, so that what is spooled is exactly what it did not take.
CANCEL_GRACE_SECONDS: Final = 0.25


class ListenerControl:
    """The ``listener`` of a :class:`QueueHandler`: stdlib-shaped start and stop."""

    def __init__(self, owner: QueueHandler) -> None:
        self._owner = weakref.ref(owner)

    @property
    def handlers(self) -> tuple[logging.Handler, ...]:
        """The sinks the listener delivers to (resolved on first use)."""
        owner = self._owner()
        return tuple(owner._resolve_targets()) if owner is not None else ()

    def start(self) -> None:
        """Start the listener thread now rather than at the first record."""
        owner = self._owner()
        if owner is not None:
            owner.start()

    def stop(self) -> None:
        """Drain and stop, as :meth:`QueueHandler.shutdown` with its default deadline."""
        owner = self._owner()
        if owner is not None:
            owner.shutdown()


class QueueShutdown:
    """Draining, spooling at the deadline, closing and fork handling of a queue handler."""

    # Set by QueueHandler; declared for the type checker.
    _lock: Any
    _buffer: Any
    _reentrant: list[logging.LogRecord]
    _wake: threading.Event
    _done: threading.Condition
    _not_full: threading.Condition
    _thread: threading.Thread | None
    _receivers: list[tuple[threading.Thread, threading.Event]]
    _stopping: bool
    _closed: bool
    _abandon: bool
    _busy: bool
    _waiters: int
    _spilled: int
    _deadline: float | None
    _pending_at_shutdown: int
    _shutdown_report: ShutdownReport | None
    _senders: dict[str, Any]
    _dropped_total: Any
    _fanout: Any
    spill_path: str | None
    batch_size: int
    shutdown_timeout: float

    if TYPE_CHECKING:

        def start(self) -> None: ...
        def _init_state(self) -> None: ...
        def _resolve_targets(self) -> list[logging.Handler]: ...
        def _take_summary(self) -> logging.LogRecord | None: ...
        def _announce(self, summary: logging.LogRecord) -> None: ...
        def _deliver(self, records: list[logging.LogRecord], *, count: bool = True) -> None: ...
        def _deliver_inline(self, record: logging.LogRecord) -> None: ...
        def _flush_targets(self) -> None: ...

    # -------------------------------------------------------------- Lifecycle

    def begin_shutdown(self) -> None:
        """Ask the listener to drain and stop (the :class:`Lifecycle` protocol)."""
        for _thread, stop in self._receivers:
            stop.set()
        with self._lock:
            self._pending_at_shutdown = len(self._buffer)
            self._stopping = True
        if self._thread is None and self._pending_at_shutdown:
            self.start()
        self._poke()

    def _poke(self) -> None:
        """Wake the listener now; from a signal handler, without risking a deadlock."""
        if not lifecycle.signal_depth:
            self._wake.set()
            return
        # Event.set() takes the Event's own lock, which the interrupted code may hold:
        # let another thread wait for it. The listener also wakes by itself within
        # flush_interval.
        threading.Thread(target=self._wake.set, name="inferlog-wake", daemon=True).start()

    def finish_shutdown(self, deadline: float) -> ShutdownReport:
        """Wait for the drain until ``deadline``; spool what each sink did not take."""
        if self._shutdown_report is not None:
            return self._shutdown_report
        result = ShutdownReport(handlers=1, pending=self._pending_at_shutdown)
        self._deadline = deadline
        current = threading.current_thread()
        for thread, _stop in self._receivers:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._receivers = []
        self._poke()
        listener = self._thread
        if lock_is_owned(self._lock):
            # A signal interrupted this thread inside the enqueue critical section:
            # the listener cannot take the buffer until we return, so drain it here.
            self._drain_here(listener, deadline)
        elif listener is not None and listener is not current:
            listener.join(max(0.0, deadline - time.monotonic()))
            if listener.is_alive():
                self._give_up(listener)
        leftovers: list[tuple[logging.Handler, list[logging.LogRecord]]] = []
        with self._lock:
            if self._abandon:
                result.timed_out = True
                leftovers = self._fanout.undelivered()
            queued = list(self._buffer) + self._reentrant
            self._reentrant = []
            self._buffer.clear()
            self._closed = True
            summary = self._take_summary()
            if self._waiters:
                self._not_full.notify_all()
        if summary is not None:
            self._announce(summary)
            if result.timed_out or queued:
                queued.append(summary)
            else:
                self._deliver_inline(summary)
        if queued:
            result.timed_out = True
            leftovers = _merge(leftovers, self._resolve_targets(), queued)
        for target, records in leftovers:
            self._spool(target, records, result)
        lifecycle.unregister_participant(self)  # type: ignore[arg-type]
        result.dropped = dict(self._dropped_total)
        self._shutdown_report = result
        with self._done:
            self._done.notify_all()
        return result

    def _give_up(self, listener: threading.Thread) -> None:
        """Past the deadline: stop the listener, and let cancelled sinks return."""
        self._abandon = True
        self._fanout.abandon = True
        for target in self._resolve_targets():
            cancel = getattr(target, "cancel", None)
            if cancel is not None:
                with contextlib.suppress(Exception):
                    cancel()
        # A sink honouring cancel returns within the grace with its acknowledgement,
        # so the spool holds exactly what it did not take. One stuck in I/O keeps its
        # record: that one is spooled too and may also arrive (a duplicate, not a loss).
        listener.join(CANCEL_GRACE_SECONDS)

    def _spool(
        self, target: logging.Handler, records: list[logging.LogRecord], result: ShutdownReport
    ) -> None:
        index = next((i for i, t in enumerate(self._resolve_targets()) if t is target), 0)
        count, where = spill_records(
            records,
            self.spill_path,
            list(target.filters),
            sink=sink_name(target, index),
            formatter=target.formatter,
        )
        self._spilled += count
        result.spilled += count
        if where and where not in result.spill_paths:
            result.spill_paths.append(where)

    def _drain_here(self, listener: threading.Thread | None, deadline: float) -> None:
        """Deliver the buffer on this thread, which holds the lock; stop at ``deadline``."""
        # The listener finishes the batch it holds, then blocks on our lock.
        while listener is not None and listener.is_alive() and self._busy:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.001)
        with self._lock:
            pending = list(self._buffer) + self._reentrant
            self._reentrant = []
            self._buffer.clear()
            self._closed = True  # the listener, once it gets the lock, finds nothing
        token = shipping.set(True)
        try:
            step = self.batch_size
            for start in range(0, len(pending), step):
                if time.monotonic() >= deadline:
                    with self._lock:
                        self._buffer.extendleft(reversed(pending[start:]))
                    return
                self._deliver(pending[start : start + step])
            self._flush_targets()
        finally:
            shipping.reset(token)

    def shutdown(self, timeout: float | None = None) -> ShutdownReport:
        """Drain the queue and flush the sinks within ``timeout`` seconds, then stop.

        Records still undelivered at the deadline are spooled (see ``spill_path``),
        each for the sink that did not take it, and the count is printed to stderr.
        Idempotent: a second call returns the first call's report. Later records are
        delivered on the caller's thread.
        """
        if timeout is not None:
            check_seconds("timeout", timeout)
        if self._shutdown_report is not None:
            return self._shutdown_report
        if timeout is None:
            timeout = self.shutdown_timeout
        deadline = time.monotonic() + timeout
        self.begin_shutdown()
        return self.finish_shutdown(deadline)

    def close(self) -> None:
        """Shut down (drain within ``shutdown_timeout``) and release the handler.

        The sinks are flushed, not closed: they are handlers of their own, closed by
        ``logging.shutdown`` or whoever created them.
        """
        with contextlib.suppress(Exception):
            self.shutdown()
        logging.Handler.close(self)  # type: ignore[arg-type]

    def after_fork_in_child(self) -> None:
        """Forget the parent's buffer, locks and threads; the child starts afresh."""
        closed = self._closed
        self._init_state()
        self._closed = closed
        self._senders = {}
        self._shutdown_report = None if not closed else self._shutdown_report

    def retire_inherited(self) -> None:
        """Mark this handler closed in a worker that inherited it through fork.

        It belongs to the parent: it is neither drained nor closed here, and records
        reach it only through the worker's own sender.
        """
        with self._lock:
            self._closed = True


def _merge(
    partial: list[tuple[logging.Handler, list[logging.LogRecord]]],
    targets: Iterable[logging.Handler],
    queued: list[logging.LogRecord],
) -> list[tuple[logging.Handler, list[logging.LogRecord]]]:
    """Add the records no sink has seen yet to each sink's undelivered ones."""
    by_sink = {id(t): (t, list(records)) for t, records in partial}
    for target in targets:
        by_sink.setdefault(id(target), (target, []))[1].extend(queued)
    return list(by_sink.values())
