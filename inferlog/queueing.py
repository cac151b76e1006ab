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
* :meth:`QueueHandler.shutdown` and :func:`shutdown_all` drain within a deadline and
  spill what is left to a file (see :mod:`inferlog._spill`), printing the count;
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

import atexit
import collections
import contextlib
import contextvars
import dataclasses
import logging
import logging.handlers
import os
import pickle
import queue as queue_module
import signal
import sys
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import FrameType
from typing import Any, Final, Literal, Protocol, TypedDict, runtime_checkable

from inferlog._diagnostics import internal_logger, report, report_once
from inferlog._exceptions import EXCEPTION_ATTR, describe_exception
from inferlog._spill import spill_records

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
    "live_handlers",
    "shutdown_all",
    "suppress_logging",
]

OverflowPolicy = Literal["drop_oldest", "drop_newest", "block"]

#: The overflow policies :class:`QueueHandler` accepts.
OVERFLOW_POLICIES: Final[tuple[str, ...]] = ("drop_oldest", "drop_newest", "block")
#: Records that may wait in one queue before the overflow policy applies.
DEFAULT_QUEUE_SIZE: Final = 10_000
#: What a full queue gives up: the oldest record below ERROR.
DEFAULT_OVERFLOW: Final[OverflowPolicy] = "drop_oldest"
#: Longest a caller waits for room under ``overflow="block"``, in seconds.
DEFAULT_BLOCK_TIMEOUT: Final = 0.1
#: Records handed to a sink at once, and the queue length that wakes the listener.
DEFAULT_BATCH_SIZE: Final = 512
#: Longest a record waits before the listener wakes on its own, in seconds.
DEFAULT_FLUSH_INTERVAL: Final = 0.1
#: Deadline for draining at close, at exit and on SIGTERM, in seconds.
DEFAULT_SHUTDOWN_TIMEOUT: Final = 5.0
#: Logger name of the summary record emitted after records were dropped.
DROPPED_LOGGER_NAME: Final = "inferlog.dropped"
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

_LISTENER_THREAD_NAME: Final = "inferlog-queue-listener"
_RECEIVER_THREAD_NAME: Final = "inferlog-queue-receiver"
_RECEIVER_POLL: Final = 0.1
_ERROR: Final = logging.ERROR
# Message arguments of these types cannot change after the call, so formatting them
# can wait for the listener thread; anything else is formatted on the caller.
_IMMUTABLE_ARG_TYPES: Final[frozenset[type]] = frozenset(
    {str, int, float, bool, type(None), bytes, complex}
)

# ------------------------------------------------------------------ feedback guard

# True on a thread (or task) that is shipping records to a sink: the listener thread
# sets it for its whole life, :func:`suppress_logging` sets it for a block.
_shipping: contextvars.ContextVar[bool] = contextvars.ContextVar("inferlog_shipping", default=False)
_network_shipping = 0  # how many suppress_logging(network=True) blocks are open
_network_lock = threading.Lock()
_suppressed_count = 0


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
    global _network_shipping
    token = _shipping.set(True)
    if network:
        with _network_lock:
            _network_shipping += 1
    try:
        yield
    finally:
        if network:
            with _network_lock:
                _network_shipping -= 1
        _shipping.reset(token)


_diverting: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "inferlog_diverting", default=False
)


def _divert(record: logging.LogRecord) -> None:
    """Count a suppressed record and show it on the diagnostics channel if it matters."""
    global _suppressed_count
    _suppressed_count += 1
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


# ------------------------------------------------------------------ public types


@runtime_checkable
class BatchHandler(Protocol):
    """A sink that takes records in batches from the listener (cloud sinks do).

    The listener calls ``handle_batch`` with up to ``batch_size`` records at or
    above the handler's level, in order; the handler applies its own filters. A
    handler without ``handle_batch`` gets ``handle(record)`` once per record.
    """

    level: int

    def handle_batch(self, records: Sequence[logging.LogRecord]) -> None:
        """Ship ``records``; must not raise (report through ``handleError``)."""


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


@dataclasses.dataclass
class ShutdownReport:
    """What a shutdown achieved; returned by :func:`shutdown_all` and ``shutdown``."""

    #: Queue handlers that were shut down.
    handlers: int = 0
    #: Records waiting in the queues when the shutdown began.
    pending: int = 0
    #: Records written to spill files (or stderr) because the deadline passed.
    spilled: int = 0
    #: Where spilled records went.
    spill_paths: list[str] = dataclasses.field(default_factory=list)
    #: Records dropped by overflow over the handlers' lifetime, by level name.
    dropped: dict[str, int] = dataclasses.field(default_factory=dict)
    #: True when some handler had not finished by the deadline.
    timed_out: bool = False

    def merge(self, other: ShutdownReport) -> None:
        """Add ``other``'s figures to this report."""
        self.handlers += other.handlers
        self.pending += other.pending
        self.spilled += other.spilled
        self.spill_paths += [p for p in other.spill_paths if p not in self.spill_paths]
        for level, count in other.dropped.items():
            self.dropped[level] = self.dropped.get(level, 0) + count
        self.timed_out = self.timed_out or other.timed_out


# ------------------------------------------------------------------ registry

_instances: weakref.WeakSet[QueueHandler] = weakref.WeakSet()
_live: set[QueueHandler] = set()  # started and not yet shut down: strong references
# Reentrant, like every lock the shutdown path takes: a signal handler runs on the
# main thread, possibly while the code it interrupted holds one of them.
_registry_lock = threading.RLock()
_signal_depth = 0  # > 0 while an inferlog signal handler runs


def live_handlers() -> list[QueueHandler]:
    """Return the queue handlers of this process whose listener is running."""
    with _registry_lock:
        return list(_live)


_new_object = object.__new__


def _copy_record(record: logging.LogRecord) -> logging.LogRecord:
    # A shallow copy through __dict__ costs a fraction of copy.copy(record), which
    # goes through __reduce_ex__.
    new = _new_object(record.__class__)
    new.__dict__ = record.__dict__.copy()
    return new


def _args_are_immutable(args: object) -> bool:
    if type(args) is not tuple:
        return False
    # map() over a C-level predicate: no generator frame on the caller's hot path.
    return all(map(_IMMUTABLE_ARG_TYPES.__contains__, map(type, args)))


def _lock_is_owned(lock: Any) -> bool:
    """Whether the current thread holds ``lock`` (an ``RLock``)."""
    # RLock._is_owned is what threading.Condition itself relies on.
    is_owned = getattr(lock, "_is_owned", None)
    return bool(is_owned()) if is_owned is not None else False


def _handler_by_name(name: str) -> logging.Handler | None:
    getter = getattr(logging, "getHandlerByName", None)  # Python 3.12+
    if getter is not None:
        found = getter(name)
        return found if isinstance(found, logging.Handler) else None
    # Python 3.10/3.11 keep the same name -> handler map without a public accessor.
    return logging._handlers.get(name)  # type: ignore[attr-defined,no-any-return]


def _spec_name(spec: str) -> str:
    prefix = "cfg://handlers."
    return spec[len(prefix) :] if spec.startswith(prefix) else spec


class _ListenerControl:
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


# ------------------------------------------------------------------ QueueHandler


class QueueHandler(logging.handlers.QueueHandler):
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
            lower one can be evicted), or ``"block"`` (wait up to ``block_timeout``
            for room, then behave as ``drop_newest``).
        block_timeout: Longest wait under ``"block"``, in seconds.
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
        handlers: Iterable[logging.Handler | str] = (),
        queue_size: int = DEFAULT_QUEUE_SIZE,
        overflow: OverflowPolicy = DEFAULT_OVERFLOW,
        block_timeout: float = DEFAULT_BLOCK_TIMEOUT,
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
        for name, value in (
            ("block_timeout", block_timeout),
            ("shutdown_timeout", shutdown_timeout),
        ):
            if not isinstance(value, (int, float)) or value < 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if not isinstance(flush_interval, (int, float)) or flush_interval <= 0:
            raise ValueError(f"flush_interval must be a number > 0, got {flush_interval!r}")
        logging.Handler.__init__(self, level)
        self.queue = queue  # type: ignore[assignment]  # unused; see the docstring
        self.queue_size = queue_size
        self.overflow: OverflowPolicy = overflow
        self.block_timeout = float(block_timeout)
        self.batch_size = batch_size
        self.flush_interval = float(flush_interval)
        self.shutdown_timeout = float(shutdown_timeout)
        self.spill_path = os.fspath(spill_path) if spill_path is not None else None
        self.respect_handler_level = bool(respect_handler_level)
        self._specs: list[logging.Handler | str] = []
        self._config_handlers: Any = None
        self._targets: list[logging.Handler] = []
        self._unresolved = False
        self._control = _ListenerControl(self)
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
        with _registry_lock:
            _instances.add(self)
        if handle_sigterm:
            install_signal_handlers(timeout=self.shutdown_timeout)

    # -------------------------------------------------------------- state

    def _init_state(self) -> None:
        """(Re)create everything a fork must not share; see :func:`_after_fork_in_child`."""
        self._lock = threading.RLock()  # reentrant: a signal handler may interrupt emit
        self._not_full = threading.Condition(self._lock)
        self._done = threading.Condition(threading.RLock())
        self._wake = threading.Event()
        self._start_lock = threading.RLock()
        self._inline_lock = threading.RLock()
        self._buffer: collections.deque[logging.LogRecord] = collections.deque()
        self._thread: threading.Thread | None = None
        self._receivers: list[tuple[threading.Thread, threading.Event]] = []
        self._stopping = False
        self._abandon = False
        self._waiters = 0
        self._accepted = 0
        self._delivered = 0
        self._evicted = 0
        self._drained_upto = 0
        self._flushed_upto = 0
        self._flush_wanted = 0
        self._inflight: list[logging.LogRecord] = []
        self._cursor = 0
        self._busy = False  # the listener holds a batch taken from the buffer
        self._dropped_pending: collections.Counter[str] = collections.Counter()
        self._dropped_total: collections.Counter[str] = collections.Counter()
        self._spilled = 0
        self._sink_errors = 0

    def _set_specs(self, handlers: Iterable[logging.Handler | str]) -> None:
        # A list from dictConfig is a ConvertingList: iterating it (unlike indexing)
        # yields the raw names, and its configurator holds the configured handlers,
        # which would otherwise be garbage-collected once dictConfig returns.
        if isinstance(handlers, str):
            # A lone name would otherwise be read as a list of one-letter names.
            raise ValueError(f"handlers must be a list of handlers or names, not {handlers!r}")
        configurator = getattr(handlers, "configurator", None)
        if configurator is not None:
            self._config_handlers = configurator.config.get("handlers")
        specs = list(handlers)
        for spec in specs:
            if not isinstance(spec, (logging.Handler, str)):
                raise ValueError(f"handlers must hold handlers or handler names, got {spec!r}")
        self._specs = specs
        self._targets = []
        self._unresolved = bool(self._specs)

    def _resolve_targets(self) -> list[logging.Handler]:
        if not self._unresolved:
            return self._targets
        targets: list[logging.Handler] = []
        missing: list[str] = []
        for spec in self._specs:
            if isinstance(spec, logging.Handler):
                targets.append(spec)
                continue
            name = _spec_name(str(spec))
            found: object = None
            if self._config_handlers is not None:
                with contextlib.suppress(Exception):
                    found = self._config_handlers[name]
            if not isinstance(found, logging.Handler):
                found = _handler_by_name(name)
            if isinstance(found, logging.Handler) and found is not self:
                targets.append(found)
            else:
                missing.append(name)
        self._targets = targets
        if missing:
            report_once(
                f"queue-missing-handlers-{id(self)}-{missing}",
                logging.ERROR,
                "QueueHandler %r: no configured handler named %s; records go to the others",
                self.name,
                ", ".join(repr(m) for m in missing),
            )
        else:
            self._unresolved = False
            self._config_handlers = None
        return targets

    @property  # type: ignore[override]
    def listener(self) -> _ListenerControl:
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
        if _shipping.get() or (_network_shipping and record.name.startswith(FEEDBACK_LOGGERS)):
            _divert(record)
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
                    and all(map(_IMMUTABLE_ARG_TYPES.__contains__, map(type, args)))
                ):
                    new = self.prepare(record)
            # enqueue(), inlined for the common case: room in the buffer
            if self._thread is None or self._closed:
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
        new = _copy_record(record)
        exc_info = new.exc_info
        if exc_info:
            if exc_info is True:  # type: ignore[comparison-overlap]
                exc_info = sys.exc_info()
            new.__dict__[EXCEPTION_ATTR] = describe_exception(exc_info)
            new.exc_info = None
            new.exc_text = None
        args = new.args
        if args and not _args_are_immutable(args):
            try:
                new.msg = new.getMessage()
                new.args = ()
            except Exception:
                pass  # the sink's formatter reports the bad format string
        return new

    def enqueue(self, record: logging.LogRecord) -> None:
        """Put a prepared record on the buffer, applying the overflow policy."""
        if self._thread is None and not self._closed:
            self.start()
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
            deadline = time.monotonic() + self.block_timeout
            self._wake.set()
            while len(self._buffer) >= self.queue_size and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._waiters += 1
                try:
                    self._not_full.wait(remaining)
                finally:
                    self._waiters -= 1
            buffer = self._buffer
            if self._closed:
                return -1  # shut down while we waited: the caller delivers inline
            if len(buffer) < self.queue_size:
                buffer.append(record)
                self._accepted += 1
                return len(buffer)
        if self.overflow == "drop_oldest" or record.levelno >= _ERROR:
            victim = -1
            for index, queued in enumerate(buffer):
                if queued.levelno < _ERROR:
                    victim = index
                    break
            if victim < 0 and self.overflow == "drop_oldest" and record.levelno >= _ERROR:
                victim = 0
            if victim >= 0:
                self._count_drop(buffer[victim])
                del buffer[victim]
                self._evicted += 1
                buffer.append(record)
                self._accepted += 1
                return len(buffer)
        self._count_drop(record)
        return len(buffer)

    # -------------------------------------------------------------- listener side

    def start(self) -> None:
        """Start the listener thread (done automatically by the first record)."""
        with self._start_lock:
            if self._thread is not None or self._closed:
                return
            thread = threading.Thread(target=self._run, name=_LISTENER_THREAD_NAME, daemon=True)
            self._thread = thread
            with _registry_lock:
                _live.add(self)
            thread.start()

    def _run(self) -> None:
        _shipping.set(True)  # this thread's own context: everything logged here is diverted
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
        total = sum(counts.values())
        text = ", ".join(f"{level}={n}" for level, n in sorted(counts.items()))
        summary = logging.LogRecord(
            DROPPED_LOGGER_NAME,
            logging.WARNING,
            __file__,
            0,
            "inferlog dropped %d record(s) under back-pressure (overflow=%s): %s",
            (total, self.overflow, text),
            None,
        )
        summary.dropped = counts
        summary.dropped_total = total
        summary.overflow = self.overflow
        return summary

    @staticmethod
    def _announce(summary: logging.LogRecord) -> None:
        """Put the drop summary on stderr too (called without the lock held)."""
        report(logging.WARNING, summary.getMessage())

    def _deliver(self, records: list[logging.LogRecord], *, count: bool = True) -> None:
        targets = self._resolve_targets()
        self._inflight = records
        self._cursor = 0
        step = self.batch_size
        for start in range(0, len(records), step):
            if self._abandon:
                return
            self._cursor = start
            chunk = records[start : start + step]
            plain: list[tuple[logging.Handler, Callable[[logging.LogRecord], object], int]] = []
            for target in targets:
                handle_batch = getattr(target, "handle_batch", None)
                if handle_batch is None:
                    # A queue behind this queue (a slow sink given its own) must not
                    # take this listener's records for feedback.
                    sink_handle: Callable[[logging.LogRecord], object] = (
                        target._handle_unguarded
                        if isinstance(target, QueueHandler)
                        else target.handle
                    )
                    level = target.level if self.respect_handler_level else logging.NOTSET
                    plain.append((target, sink_handle, level))
                    continue
                level = target.level if self.respect_handler_level else logging.NOTSET
                wanted = [r for r in chunk if r.levelno >= level]
                if wanted:
                    try:
                        handle_batch(wanted)
                    except Exception as exc:
                        self._sink_failed(target, exc)
            if plain:
                for offset, record in enumerate(chunk):
                    if self._abandon:
                        return
                    self._cursor = start + offset
                    for target, sink_handle, level in plain:
                        if record.levelno < level:
                            continue
                        try:
                            sink_handle(record)
                        except Exception as exc:
                            self._sink_failed(target, exc)
            if count:
                self._delivered += len(chunk)
        self._inflight = []
        self._cursor = 0

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
        token = _shipping.set(True)
        try:
            with self._inline_lock:
                self._deliver([record])
                self._flush_targets()
        finally:
            _shipping.reset(token)

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
                "suppressed": _suppressed_count,
                "queue_size": self.queue_size,
                "overflow": self.overflow,
                "running": bool(thread is not None and thread.is_alive() and not self._closed),
            }

    # -------------------------------------------------------------- shutdown

    def _begin_shutdown(self) -> int:
        """Ask the listener to drain and stop; return how many records wait."""
        for _thread, stop in self._receivers:
            stop.set()
        with self._lock:
            pending = len(self._buffer)
            self._stopping = True
        if self._thread is None and pending:
            self.start()
        self._poke()
        return pending

    def _poke(self) -> None:
        """Wake the listener now; from a signal handler, without risking a deadlock."""
        if not _signal_depth:
            self._wake.set()
            return
        # Event.set() takes the Event's own lock, which the interrupted code may hold:
        # let another thread wait for it. The listener also wakes by itself within
        # flush_interval.
        threading.Thread(target=self._wake.set, name="inferlog-wake", daemon=True).start()

    def _finish_shutdown(self, deadline: float, pending: int) -> ShutdownReport:
        """Wait for the drain until ``deadline``; spill what is left."""
        result = ShutdownReport(handlers=1, pending=pending)
        current = threading.current_thread()
        for thread, _stop in self._receivers:
            if thread is not current:
                thread.join(max(0.0, deadline - time.monotonic()))
        self._receivers = []
        self._poke()
        listener = self._thread
        if _lock_is_owned(self._lock):
            # A signal interrupted this thread inside the enqueue critical section:
            # the listener cannot take the buffer until we return, so drain it here.
            self._drain_here(listener, deadline)
        elif listener is not None and listener is not current:
            listener.join(max(0.0, deadline - time.monotonic()))
        leftovers: list[logging.LogRecord] = []
        with self._lock:
            if listener is not None and listener.is_alive() and not self._closed:
                # Past the deadline: take back what the listener has not delivered.
                # The record a sink is writing right now is spilled too (it may also
                # arrive): a duplicate beats a loss.
                self._abandon = True
                result.timed_out = True
                inflight = self._inflight
                leftovers.extend(inflight[self._cursor :])
            leftovers.extend(self._buffer)
            self._buffer.clear()
            self._closed = True
            summary = self._take_summary()
            if self._waiters:
                self._not_full.notify_all()
        result.timed_out = result.timed_out or bool(leftovers)
        if summary is not None:
            self._announce(summary)
            if result.timed_out:
                leftovers.append(summary)
            else:
                self._deliver_inline(summary)
        if leftovers:
            count, where = spill_records(leftovers, self.spill_path)
            self._spilled += count
            result.spilled = count
            result.spill_paths.append(where)
        with _registry_lock:
            _live.discard(self)
        result.dropped = dict(self._dropped_total)
        self._shutdown_report = result
        with self._done:
            self._done.notify_all()
        return result

    def _drain_here(self, listener: threading.Thread | None, deadline: float) -> None:
        """Deliver the buffer on this thread, which holds the lock; stop at ``deadline``."""
        # The listener finishes the batch it holds, then blocks on our lock.
        while listener is not None and listener.is_alive() and self._busy:
            if time.monotonic() >= deadline:
                return
            time.sleep(0.001)
        with self._lock:
            pending = list(self._buffer)
            self._buffer.clear()
            self._closed = True  # the listener, once it gets the lock, finds nothing
        token = _shipping.set(True)
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
            _shipping.reset(token)

    def shutdown(self, timeout: float | None = None) -> ShutdownReport:
        """Drain the queue and flush the sinks within ``timeout`` seconds, then stop.

        Records still undelivered at the deadline are spilled (see ``spill_path``)
        and the count is printed to stderr. Idempotent: a second call returns the
        first call's report. Later records are delivered on the caller's thread.
        """
        if self._shutdown_report is not None:
            return self._shutdown_report
        if timeout is None:
            timeout = self.shutdown_timeout
        deadline = time.monotonic() + timeout
        pending = self._begin_shutdown()
        return self._finish_shutdown(deadline, pending)

    def close(self) -> None:
        """Shut down (drain within ``shutdown_timeout``) and release the handler.

        The sinks are flushed, not closed: they are handlers of their own, closed by
        ``logging.shutdown`` or whoever created them.
        """
        with contextlib.suppress(Exception):
            self.shutdown()
        logging.Handler.close(self)

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

        ctx = multiprocessing.get_context(context)
        method = ctx.get_start_method()
        existing = self._senders.get(method)
        if existing is not None:
            return existing
        if level is None:
            level = logging.getLogger().getEffectiveLevel()
        wire: Any = ctx.Queue()
        sender = ProcessSender(wire, logging._checkLevel(level))  # type: ignore[attr-defined]
        stop = threading.Event()
        thread = threading.Thread(
            target=self._receive, args=(wire, stop), name=_RECEIVER_THREAD_NAME, daemon=True
        )
        self._senders[method] = sender
        self._receivers.append((thread, stop))
        self.start()  # live, so shutdown_all stops and drains the receiver too
        thread.start()
        return sender

    def _receive(self, wire: Any, stop: threading.Event) -> None:
        _shipping.set(True)
        while True:
            try:
                item = wire.get(timeout=_RECEIVER_POLL)
            except queue_module.Empty:
                if stop.is_set():
                    return
                continue
            except (EOFError, OSError, ValueError):
                return
            try:
                record = logging.makeLogRecord(pickle.loads(item))
            except Exception as exc:
                report_once(
                    "queue-receive-error",
                    logging.ERROR,
                    "could not read a record from a worker process: %s: %s",
                    type(exc).__name__,
                    exc,
                )
                continue
            self.enqueue(record)

    # -------------------------------------------------------------- fork

    def _after_fork_in_child(self) -> None:
        """Forget the parent's buffer, locks and threads; the child starts afresh."""
        closed = self._closed
        self._init_state()
        self._closed = closed
        self._senders = {}
        self._shutdown_report = None if not closed else self._shutdown_report


# ------------------------------------------------------------------ processes


class ProcessSender:
    """The picklable end of a process queue: what a worker process logs into."""

    def __init__(self, wire: Any, level: int = logging.NOTSET) -> None:
        self._wire = wire
        #: Root level for the workers (see :meth:`QueueHandler.process_sender`).
        self.level = level

    def send(self, record: logging.LogRecord) -> None:
        """Serialise ``record`` (message formatted, exception as data) and send it."""
        self._wire.put(_record_to_wire(record))

    def __getstate__(self) -> dict[str, Any]:
        return {"_wire": self._wire, "level": self.level}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._wire = state["_wire"]
        self.level = state.get("level", logging.NOTSET)


def _record_to_wire(record: logging.LogRecord) -> bytes:
    data = dict(record.__dict__)
    exc_info = data.get("exc_info")
    if exc_info:
        data.setdefault(EXCEPTION_ATTR, describe_exception(exc_info))
    data["exc_info"] = None
    data["exc_text"] = None
    try:
        data["msg"] = record.getMessage()
        data["args"] = None
    except Exception:
        data["msg"] = f"{record.msg!r} % {record.args!r}"
        data["args"] = None
    try:
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        for key, value in list(data.items()):
            try:
                pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                data[key] = repr(value)
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


class ProcessQueueHandler(logging.Handler):
    """Worker-side handler: sends each record to the parent through a :class:`ProcessSender`.

    The message is formatted and the exception turned into data before sending, so
    nothing unpicklable crosses; extras that cannot be pickled travel as ``repr``.
    """

    def __init__(self, sender: ProcessSender, level: int | str = logging.NOTSET) -> None:
        super().__init__(level)
        self.sender = sender

    def emit(self, record: logging.LogRecord) -> None:
        """Send ``record``; never raises."""
        try:
            self.sender.send(record)
        except Exception:
            self.handleError(record)


def install_process_sender(
    sender: ProcessSender, level: int | str | None = None, *, context: bool = True
) -> ProcessQueueHandler:
    """Make ``sender`` the root logger's only handler in this (worker) process.

    Meant as a ``ProcessPoolExecutor(initializer=install_process_sender,
    initargs=(sender,))`` or ``multiprocessing.Pool`` initializer. Handlers inherited
    through fork are detached, not closed (they belong to the parent). With
    ``context`` the handler stamps request ids with :class:`inferlog.context.ContextFilter`.
    The root level becomes ``level``, by default the one the sender carries.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        if isinstance(old, QueueHandler):
            with old._lock:
                old._closed = True
    handler = ProcessQueueHandler(sender)
    if context:
        try:
            from inferlog.context import ContextFilter

            handler.addFilter(ContextFilter())
        except Exception:  # pragma: no cover - context support is optional here
            pass
    root.addHandler(handler)
    root.setLevel(sender.level if level is None else level)
    return handler


# ------------------------------------------------------------------ shutdown_all


_shutdown_lock = threading.RLock()


def shutdown_all(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> ShutdownReport:
    """Drain every live :class:`QueueHandler` in this process within one deadline.

    All listeners drain in parallel; what is undelivered at ``timeout`` seconds is
    spilled and counted. Safe to call twice, from an ``atexit`` hook and from a
    signal handler (the locks it takes are reentrant or taken with a timeout).
    """
    deadline = time.monotonic() + timeout
    result = ShutdownReport()
    if not _shutdown_lock.acquire(timeout=timeout):
        result.timed_out = True
        return result
    try:
        handlers = [h for h in live_handlers() if h._shutdown_report is None]
        pending = {id(h): h._begin_shutdown() for h in handlers}
        for handler in handlers:
            result.merge(handler._finish_shutdown(deadline, pending[id(handler)]))
    finally:
        _shutdown_lock.release()
    return result


def _exit_hook() -> None:
    # The longest shutdown_timeout among the live handlers: the user's deadline.
    with contextlib.suppress(Exception):
        timeout = max((h.shutdown_timeout for h in live_handlers()), default=0.0)
        shutdown_all(timeout or DEFAULT_SHUTDOWN_TIMEOUT)


# Registered at import, after ``logging`` registered its own hook: atexit runs hooks
# last-in first-out, so the queues drain before logging.shutdown closes the sinks.
atexit.register(_exit_hook)

_installed_signals: dict[int, Callable[[int, FrameType | None], Any]] = {}


def install_signal_handlers(
    signals: Iterable[int] = (signal.SIGTERM,), timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
) -> bool:
    """Drain every queue when one of ``signals`` arrives, then let the signal act.

    The handler runs :func:`shutdown_all` with ``timeout`` and then calls the handler
    that was installed before, or, if that was the default action, restores it and
    re-sends the signal, so the process still ends the way the signal says (a
    container sees exit by SIGTERM). Idempotent. Only possible on the main thread;
    returns False (with a diagnostic) elsewhere.
    """
    if threading.current_thread() is not threading.main_thread():
        report_once(
            "queue-signal-thread",
            logging.WARNING,
            "signal handlers can only be installed from the main thread; not installed",
        )
        return False
    for signum in signals:
        if signum in _installed_signals and signal.getsignal(signum) is _installed_signals[signum]:
            continue
        previous = signal.getsignal(signum)

        def _on_signal(received: int, frame: FrameType | None, _previous: Any = previous) -> None:
            global _signal_depth
            _signal_depth += 1
            try:
                shutdown_all(timeout)
            finally:
                _signal_depth -= 1
            if callable(_previous):
                _previous(received, frame)
            elif _previous == signal.SIG_IGN:
                return
            else:
                signal.signal(received, signal.SIG_DFL)
                os.kill(os.getpid(), received)

        signal.signal(signum, _on_signal)
        _installed_signals[signum] = _on_signal
    return True


# ------------------------------------------------------------------ fork safety


def _after_fork_in_child() -> None:
    global _registry_lock, _shutdown_lock, _network_lock, _network_shipping
    _registry_lock = threading.RLock()
    _shutdown_lock = threading.RLock()
    _network_lock = threading.Lock()
    _network_shipping = 0
    _live.clear()
    for handler in list(_instances):
        handler._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _ForkToken:
    """Weak-referenceable key for ``multiprocessing.util.register_after_fork``."""


_mp_token = _ForkToken()


def _register_exit_in_child(_token: object) -> None:
    # A multiprocessing child ends with os._exit after running its finalizers, so
    # atexit hooks never run there; a finalizer does.
    from multiprocessing import util

    util.Finalize(None, _exit_hook, exitpriority=100)


def _register_multiprocessing_exit() -> None:
    try:
        from multiprocessing import util
    except Exception:  # pragma: no cover - no multiprocessing on this platform
        return
    util.register_after_fork(_mp_token, _register_exit_in_child)


_register_multiprocessing_exit()
