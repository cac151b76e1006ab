"""The non-blocking pipeline: a bounded queue in front of the sinks, and its listener.

:class:`QueueHandler` is what the application's loggers write to. On the caller's
thread it does only what must happen there: it applies its filters (where
``ContextFilter`` stamps the request id), copies the record, turns ``exc_info`` into
data (a traceback holds frames that must not outlive the call), formats the message
only when its arguments could change later, and appends the copy to a bounded
buffer. One listener thread per handler takes records off in batches and hands them
to the sinks, which is where formatting, redaction and I/O happen.

Design, after the OpenTelemetry SDK's batch processor:

* the buffer is bounded (``queue_size``); when it is full the ``overflow`` policy
  decides what goes (``drop_oldest``, ``drop_newest`` or ``block`` for at most
  ``block_timeout`` seconds), records at ERROR and above are never dropped in favour
  of lower ones, every drop is counted by level, and one ``inferlog.dropped`` summary
  record reaches the sinks when the pressure ends;
* the listener wakes when ``batch_size`` records are waiting, when an ERROR arrives,
  on :meth:`QueueHandler.flush`, or every ``flush_interval`` seconds;
* every sink gets its own copy of each record, in the order the sinks were
  configured (see :mod:`inferlog.pipeline._fanout`), so what a sink writes depends
  only on its own filters;
* :meth:`QueueHandler.shutdown` and :func:`shutdown_all` drain within a deadline and
  spool, per sink, what that sink had not acknowledged (see
  :mod:`inferlog.pipeline.spool`), printing the count;
  :func:`shutdown_all` runs at interpreter exit, at the exit of a ``multiprocessing``
  child, and from the SIGTERM handler that :func:`install_signal_handlers` installs;
* ``os.register_at_fork`` gives a forked child a fresh, empty buffer, fresh locks and
  (lazily) its own listener, so the child's records arrive and it never waits on a
  lock some parent thread held at fork time;
* :meth:`QueueHandler.process_sender` and :func:`install_process_sender` carry
  records from ``multiprocessing`` / ``ProcessPoolExecutor`` workers (spawn or fork)
  to the parent's sinks;
* records logged while a sink is shipping (by botocore, urllib3, google.auth, grpc or
  anything else on the listener thread, or inside :func:`suppress_logging`) are never
  fed back into a queue.
"""

from __future__ import annotations

import collections
import logging
import logging.handlers
import os
import queue as queue_module
import threading
import time
from collections.abc import Callable, Iterable
from typing import Final, TypedDict

from inferlog import _feedback
from inferlog._feedback import FEEDBACK_LOGGERS, divert, shipping, suppress_logging
from inferlog._validation import check_level, check_seconds
from inferlog.pipeline._fanout import Fanout
from inferlog.pipeline._listener import QueueListenerLoop
from inferlog.pipeline._overflow import (
    DROPPED_LOGGER_NAME,
    OVERFLOW_POLICIES,
    OverflowPolicy,
    choose_victim,
)
from inferlog.pipeline._processes import (
    ProcessQueueHandler,
    ProcessSender,
    install_process_sender,
    open_channel,
)
from inferlog.pipeline._queue_shutdown import ListenerControl, QueueShutdown
from inferlog.pipeline._sinks import BatchHandler, SinkTargets
from inferlog.pipeline._snapshot import IMMUTABLE_ARG_TYPES, snapshot_record
from inferlog.pipeline.lifecycle import (
    DEFAULT_SHUTDOWN_TIMEOUT,
    STAGE_QUEUE,
    ShutdownReport,
    install_signal_handlers,
    shutdown_all,
)

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_BLOCK_TIMEOUT",
    "DEFAULT_FLUSH_INTERVAL",
    "DEFAULT_OVERFLOW",
    "DEFAULT_QUEUE_SIZE",
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "DROPPED_LOGGER_NAME",
    "FEEDBACK_LOGGERS",
    "OVERFLOW_POLICIES",
    "BatchHandler",
    "OverflowPolicy",
    "ProcessQueueHandler",
    "ProcessSender",
    "QueueHandler",
    "QueueStats",
    "ShutdownReport",
    "install_process_sender",
    "install_signal_handlers",
    "shutdown_all",
    "suppress_logging",
]

#: Records that may wait in one queue before the overflow policy applies.
DEFAULT_QUEUE_SIZE: Final = 10_000
#: What a full queue gives up: the oldest record below ERROR.
DEFAULT_OVERFLOW: Final[OverflowPolicy] = "drop_oldest"
#: Longest a caller waits for room under ``overflow="block"``: None, as long as the
#: listener runs (back-pressure, no loss). A number of seconds makes block lossy.
DEFAULT_BLOCK_TIMEOUT: Final[float | None] = None
#: Records handed to a sink at once, and the queue length that wakes the listener.
DEFAULT_BATCH_SIZE: Final = 512
#: Longest a record waits before the listener wakes on its own, in seconds.
DEFAULT_FLUSH_INTERVAL: Final = 0.1

_ERROR: Final = logging.ERROR


class QueueStats(TypedDict):
    """Counters of one :class:`QueueHandler`, as returned by :meth:`QueueHandler.stats`.

    ``suppressed`` counts records kept out of every queue by the feedback guard in
    the whole process; the other counters are this handler's.
    """

    queued: int
    accepted: int
    delivered: int
    dropped: dict[str, int]
    dropped_total: int
    spilled: int
    sink_errors: int
    suppressed: int
    queue_size: int
    overflow: str
    running: bool


_new_object = object.__new__


# ------------------------------------------------------------------ QueueHandler


class QueueHandler(QueueListenerLoop, QueueShutdown, logging.handlers.QueueHandler):
    """Put records on a bounded queue that one listener thread delivers to ``handlers``.

    Args:
        queue: Accepted for the stdlib's signature (Python 3.12+ ``dictConfig``
            passes one); inferlog keeps its own bounded buffer, so only the
            ``maxsize`` of a ``queue.Queue`` is used, as ``queue_size``.
        handlers: The sinks: handler objects, or handler names from the same
            ``dictConfig`` (``"file"`` or ``"cfg://handlers.file"``), resolved when
            the first record arrives.
        queue_size: Records that may wait before ``overflow`` applies.
        overflow: ``"drop_oldest"`` (evict the oldest record below ERROR),
            ``"drop_newest"`` (refuse the incoming record unless it is ERROR+ and a
            lower one can be evicted), or ``"block"`` (wait for room as long as the
            listener runs; with ``block_timeout``, at most that long
            for room, then behave as ``drop_newest``).
        block_timeout: Longest wait under ``"block"``, in seconds; None (the
            default) waits as long as the listener runs, so nothing is dropped.
        batch_size: Records per ``handle_batch`` call, and the queue length that
            wakes the listener early.
        flush_interval: Longest a record waits before the listener wakes.
        shutdown_timeout: Deadline used by :meth:`close` and the ``listener.stop``.
        spill_path: File for records still undelivered at a shutdown deadline; by
            default ``inferlog-spill-<pid>.jsonl`` in the temp directory.
        respect_handler_level: Give each sink only records at or above its level.
        handle_sigterm: Call :func:`install_signal_handlers` (main thread only), so
            SIGTERM drains the queue before the process ends.
        level: Handler level, as for any handler.

    Records logged on the listener thread are never queued (see
    :func:`suppress_logging`). Values passed with ``extra=`` are read later by the
    listener, as with the stdlib ``QueueHandler``: do not mutate them after logging.
    """

    def __init__(
        self,
        queue: object | None = None,
        *,
        handlers: Iterable[logging.Handler | str] | None = None,
        queue_size: int = DEFAULT_QUEUE_SIZE,
        overflow: OverflowPolicy = DEFAULT_OVERFLOW,
        block_timeout: float | None = DEFAULT_BLOCK_TIMEOUT,
        batch_size: int = DEFAULT_BATCH_SIZE,
        flush_interval: float = DEFAULT_FLUSH_INTERVAL,
        shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
        spill_path: str | os.PathLike[str] | None = None,
        respect_handler_level: bool = True,
        handle_sigterm: bool = False,
        level: int | str = logging.NOTSET,
    ) -> None:
        if isinstance(queue, queue_module.Queue) and queue.maxsize > 0:
            queue_size = queue.maxsize
        if not isinstance(queue_size, int) or isinstance(queue_size, bool) or queue_size < 1:
            raise ValueError(f"queue_size must be a positive integer, got {queue_size!r}")
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(f"overflow must be one of {OVERFLOW_POLICIES}, got {overflow!r}")
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if block_timeout is not None:
            check_seconds("block_timeout", block_timeout)
        check_seconds("shutdown_timeout", shutdown_timeout)
        check_seconds("flush_interval", flush_interval, positive=True)
        if spill_path is not None and not isinstance(spill_path, (str, os.PathLike)):
            raise TypeError(f"spill_path must be a str or os.PathLike, got {spill_path!r}")
        if handle_sigterm not in (True, False):
            raise TypeError(f"handle_sigterm must be True or False, got {handle_sigterm!r}")
        logging.Handler.__init__(self, check_level("level", level))
        self.queue = queue  # type: ignore[assignment]  # unused; see the docstring
        self.queue_size = queue_size
        self.overflow: OverflowPolicy = overflow
        self.block_timeout = None if block_timeout is None else float(block_timeout)
        self.batch_size = batch_size
        self.flush_interval = float(flush_interval)
        self.shutdown_timeout = float(shutdown_timeout)
        self.spill_path = os.fspath(spill_path) if spill_path is not None else None
        self.respect_handler_level = bool(respect_handler_level)
        self._control = ListenerControl(self)
        cls = type(self)
        self._fast_path = (
            cls.emit is QueueHandler.emit
            and cls.prepare is QueueHandler.prepare
            and cls.enqueue is QueueHandler.enqueue
        )
        self._set_specs(handlers)
        self._init_state()
        self._closed = False
        self._shutdown_report: ShutdownReport | None = None
        self._senders: dict[str, ProcessSender] = {}
        if handle_sigterm:
            install_signal_handlers(timeout=self.shutdown_timeout)

    # -------------------------------------------------------------- state

    #: Queues feed the sinks, so they drain first (see :mod:`inferlog.pipeline.lifecycle`).
    lifecycle_stage: Final = STAGE_QUEUE

    def _init_state(self) -> None:
        """(Re)create everything a fork must not share; see :meth:`after_fork_in_child`."""
        self._lock = threading.RLock()  # reentrant: a signal handler may interrupt emit
        self._not_full = threading.Condition(self._lock)
        self._done = threading.Condition(threading.RLock())
        self._wake = threading.Event()
        self._start_lock = threading.RLock()
        self._inline_lock = threading.RLock()
        self._buffer: collections.deque[logging.LogRecord] = collections.deque()
        # Records logged by a signal handler that interrupted this thread while it held
        # the lock: the buffer may be mid-iteration, so they wait here (list.append is
        # atomic) until the listener moves them in.
        self._reentrant: list[logging.LogRecord] = []
        self._thread: threading.Thread | None = None
        self._receivers: list[tuple[threading.Thread, threading.Event]] = []
        self._stopping = False
        self._abandon = False
        self._fanout = Fanout(
            respect_handler_level=self.respect_handler_level, on_error=self._sink_failed
        )
        self._waiters = 0
        self._accepted = 0
        self._delivered = 0
        self._evicted = 0
        self._drained_upto = 0
        self._flushed_upto = 0
        self._flush_wanted = 0
        self._deadline: float | None = None  # the shutdown deadline, once one is set
        self._pending_at_shutdown = 0
        self._busy = False  # the listener holds a batch taken from the buffer
        self._dropped_pending: collections.Counter[str] = collections.Counter()
        self._dropped_total: collections.Counter[str] = collections.Counter()
        self._spilled = 0
        self._sink_errors = 0

    def _set_specs(self, handlers: Iterable[logging.Handler | str] | None) -> None:
        self._sinks = SinkTargets(handlers)

    def _resolve_targets(self) -> list[logging.Handler]:
        return self._sinks.resolve(self)

    @property  # type: ignore[override]
    def listener(self) -> ListenerControl:
        """Stdlib-shaped control of the listener: ``start()``, ``stop()``, ``handlers``.

        Python 3.12+ ``dictConfig`` assigns a stdlib ``QueueListener`` here; its
        handlers become this handler's sinks and the stdlib listener is not used.
        """
        return self._control

    @listener.setter
    def listener(self, value: object) -> None:
        if isinstance(value, logging.handlers.QueueListener):
            self._set_specs(list(value.handlers))

    # -------------------------------------------------------------- caller side

    def handle(self, record: logging.LogRecord) -> bool:  # type: ignore[override]
        """Filter ``record`` and queue a prepared copy; never takes the handler lock.

        Records logged while shipping (see :func:`suppress_logging`) are diverted.
        Unless a subclass overrides ``emit``, ``prepare`` or ``enqueue``, their work
        is done here in one frame: this is the caller's hot path.
        """
        if shipping.get() or (
            _feedback.network_shipping and record.name.startswith(FEEDBACK_LOGGERS)
        ):
            divert(record)
            return False
        return self._handle_unguarded(record)

    def _handle_unguarded(self, record: logging.LogRecord) -> bool:
        """``handle`` without the feedback guard: how another queue's listener feeds this one."""
        rv = True
        if self.filters:
            rv = self.filter(record)
            if not rv:
                return False
            if isinstance(rv, logging.LogRecord):  # Python 3.12+: a filter may swap it
                record = rv
        if not self._fast_path:
            self.emit(record)
            return rv
        try:
            # prepare(), inlined
            new = _new_object(record.__class__)
            attrs = new.__dict__ = record.__dict__.copy()
            if attrs.get("exc_info"):
                new = self.prepare(record)
            else:
                args = attrs.get("args")
                if args and not (
                    type(args) is tuple
                    and all(map(IMMUTABLE_ARG_TYPES.__contains__, map(type, args)))
                ):
                    new = self.prepare(record)
            # enqueue(), inlined for the common case: room in the buffer
            if self._thread is None or self._closed or self._lock._is_owned():
                self.enqueue(new)
                return rv
            with self._lock:
                buffer = self._buffer
                if self._closed or len(buffer) >= self.queue_size:
                    length = -1
                else:
                    buffer.append(new)
                    self._accepted += 1
                    length = len(buffer)
            if length < 0:
                self.enqueue(new)
            elif (length >= self.batch_size or new.levelno >= _ERROR) and not self._wake.is_set():
                self._wake.set()
        except Exception:
            self.handleError(record)
        return rv

    def emit(self, record: logging.LogRecord) -> None:
        """Queue a prepared copy of ``record``; never raises."""
        try:
            self.enqueue(self.prepare(record))
        except Exception:
            self.handleError(record)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:  # type: ignore[override]
        """Return the copy of ``record`` that is queued; override to add caller-side work.

        The copy keeps ``msg``, ``args`` and every extra. The exception becomes data
        at ``record.exception`` (``exc_info`` and ``exc_text`` cleared). The message
        is formatted now only when an argument is of a type that could change.
        """
        return snapshot_record(record)

    def enqueue(self, record: logging.LogRecord) -> None:
        """Put a prepared record on the buffer, applying the overflow policy."""
        if self._thread is None and not self._closed:
            self.start()
        if self._lock._is_owned():
            # Re-entered from a signal handler on this thread: the interrupted code may
            # be iterating over the buffer, so do not touch it.
            self._reentrant.append(record)
            self._poke()
            return
        with self._lock:
            if self._closed:
                inline = True
            else:
                inline = False
                buffer = self._buffer
                if len(buffer) < self.queue_size:
                    buffer.append(record)
                    self._accepted += 1
                    length = len(buffer)
                else:
                    length = self._overflow(record)
                    inline = length < 0
        if inline:
            self._deliver_inline(record)
            return
        if (length >= self.batch_size or record.levelno >= _ERROR) and not self._wake.is_set():
            self._wake.set()

    def _count_drop(self, record: logging.LogRecord) -> None:
        self._dropped_pending[record.levelname] += 1
        self._dropped_total[record.levelname] += 1

    def _overflow(self, record: logging.LogRecord) -> int:
        """Apply the overflow policy with the lock held; return the new queue length."""
        buffer = self._buffer
        if self.overflow == "block" and threading.current_thread() is not self._thread:
            limit = self.block_timeout
            deadline = None if limit is None else time.monotonic() + limit
            self._wake.set()
            while len(self._buffer) >= self.queue_size and not self._closed:
                remaining = self.flush_interval if deadline is None else deadline - time.monotonic()
                if remaining <= 0:
                    break
                listener = self._thread
                # A listener that was started and has ended will make no room: drop
                # with a count rather than hang. One still starting (ident None) will.
                if listener is None or (listener.ident is not None and not listener.is_alive()):
                    break
                self._waiters += 1
                try:
                    self._not_full.wait(min(remaining, self.flush_interval))
                finally:
                    self._waiters -= 1
            buffer = self._buffer
            if self._closed:
                return -1  # shut down while we waited: the caller delivers inline
            if len(buffer) < self.queue_size:
                buffer.append(record)
                self._accepted += 1
                return len(buffer)
        victim = choose_victim(buffer, record, self.overflow)
        if victim >= 0:
            self._count_drop(buffer[victim])
            del buffer[victim]
            self._evicted += 1
            buffer.append(record)
            self._accepted += 1
            return len(buffer)
        self._count_drop(record)
        return len(buffer)

    @staticmethod
    def _plain_entry(target: logging.Handler) -> Callable[[logging.LogRecord], object]:
        # A queue behind this queue (a slow sink given its own) must not take this
        # listener's records for feedback.
        return target._handle_unguarded if isinstance(target, QueueHandler) else target.handle

    def stats(self) -> QueueStats:
        """Return the handler's counters (a snapshot)."""
        with self._lock:
            thread = self._thread
            return {
                "queued": len(self._buffer),
                "accepted": self._accepted,
                "delivered": self._delivered,
                "dropped": dict(self._dropped_total),
                "dropped_total": sum(self._dropped_total.values()),
                "spilled": self._spilled,
                "sink_errors": self._sink_errors,
                "suppressed": _feedback.suppressed_count,
                "queue_size": self.queue_size,
                "overflow": self.overflow,
                "running": bool(thread is not None and thread.is_alive() and not self._closed),
            }

    # -------------------------------------------------------------- processes

    def process_sender(
        self, context: str | None = None, level: int | str | None = None
    ) -> ProcessSender:
        """Return a picklable sender that worker processes log through to these sinks.

        Pass it to :func:`install_process_sender` in each worker, typically as a
        ``ProcessPoolExecutor`` ``initializer``. ``context`` is the
        ``multiprocessing`` start method of the workers (``"spawn"``, ``"fork"``,
        ``"forkserver"``; default: the platform's). ``level`` is the root level the
        workers get (default: this process's root level now), since their records
        reach the sinks without passing this process's loggers. A receiver thread
        moves their records into this queue; it stops at shutdown, after draining.
        """
        import multiprocessing

        method = multiprocessing.get_context(context).get_start_method()
        existing = self._senders.get(method)
        if existing is not None:
            return existing
        sender, thread, stop = open_channel(context, level, self.enqueue)
        self._senders[method] = sender
        self._receivers.append((thread, stop))
        self.start()  # live, so shutdown_all stops and drains the receiver too
        thread.start()
        return sender
