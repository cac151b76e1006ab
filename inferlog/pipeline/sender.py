"""The sender core of the network sinks: one buffer, one thread, retries, spool, health.

A :class:`SenderSink` is a :class:`~inferlog.pipeline.BatchSink` whose
:meth:`write_batch` only appends prepared entries to one bounded buffer; one sender
thread per handler (started with the first record, never in ``__init__``) takes them
off in requests bounded by count, bytes and time, and ships them through the
subclass's :meth:`SenderSink.send_request`. What fails is classified by
:meth:`SenderSink.classify_error` (:class:`~inferlog.pipeline.retry.Verdict`):
transient failures are retried under one :class:`~inferlog.pipeline.retry.RetryPolicy`,
a request the service finds malformed is split, a credentials failure stops the
sender with one clear error, and what cannot be delivered goes to the
:class:`~inferlog.pipeline.Spool` with its reason. When the service stays
unreachable, later entries follow the earlier ones into the spool (so nothing
overtakes anything), and the spool is sent again, in order, once the service answers,
and at the next start.

The CloudWatch and Cloud Logging sinks are subclasses that only say how a record
becomes an entry and how a request is sent.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any, ClassVar, Final, cast

from inferlog import _feedback
from inferlog._diagnostics import Counters, report, report_once
from inferlog._validation import check_count, check_seconds
from inferlog.pipeline._overflow import OVERFLOW_POLICIES, OverflowPolicy
from inferlog.pipeline._sender_buffer import Entry, EntryBuffer
from inferlog.pipeline._sender_delivery import Courier, SinkSpools, group_by_key
from inferlog.pipeline.batch import BatchSink
from inferlog.pipeline.lifecycle import (
    STAGE_SINK,
    ShutdownReport,
    register_participant,
    unregister_participant,
)
from inferlog.pipeline.retry import (
    DEFAULT_RETRY_DEADLINE,
    DEFAULT_RETRY_INITIAL,
    DEFAULT_RETRY_MAXIMUM,
    RetryPolicy,
    Verdict,
    classify_transport_error,
)
from inferlog.pipeline.spool import resend

__all__ = [
    "DEFAULT_BATCH_INTERVAL",
    "DEFAULT_BUFFER_BYTES",
    "DEFAULT_BUFFER_SIZE",
    "DEFAULT_HEALTH_INTERVAL",
    "DEFAULT_SENDER_OVERFLOW",
    "HEALTH_COUNTERS",
    "HEALTH_LOGGER_NAME",
    "Entry",
    "SenderSink",
]

#: Entries one sink's buffer holds before its overflow policy applies.
DEFAULT_BUFFER_SIZE: Final = 10_000
#: Bytes (counted as the service counts them) one sink's buffer holds at most.
DEFAULT_BUFFER_BYTES: Final = 64 * 1024 * 1024
#: What a full buffer gives up (see ``inferlog.queueing``): the oldest entry below ERROR.
DEFAULT_SENDER_OVERFLOW: Final[OverflowPolicy] = "drop_oldest"
#: Longest a record waits in the buffer before it is sent, in seconds.
DEFAULT_BATCH_INTERVAL: Final = 1.0
#: Seconds between two health records; 0 turns them off.
DEFAULT_HEALTH_INTERVAL: Final = 60.0
#: Longest ``write_batch`` waits for room under ``overflow="block"``, in seconds.
DEFAULT_SENDER_BLOCK_TIMEOUT: Final = 0.1
#: Deadline of :meth:`SenderSink.close` and of a no-argument ``flush``, in seconds.
DEFAULT_SENDER_SHUTDOWN_TIMEOUT: Final = 5.0
#: Parent of the loggers health records are written to (``inferlog.health.<sink>``).
#: Sender sinks never ship records of these loggers themselves.
HEALTH_LOGGER_NAME: Final = "inferlog.health"
#: The counters of :meth:`SenderSink.health`, in the order the health record lists them.
HEALTH_COUNTERS: Final[tuple[str, ...]] = ("sent", "retried", "rejected", "spooled", "dropped")

_SENDER_THREAD_NAME: Final = "inferlog-sender"
_JOIN_GRACE: Final = 0.5
_NEVER: Final = float("inf")


class SenderSink(BatchSink):
    """Base of the network sinks: buffer, sender thread, retries, spool, health.

    Subclasses set the service's maximums (:attr:`max_request_count`,
    :attr:`max_request_bytes`) and override :meth:`prepare` (a record to an
    :class:`Entry`), :meth:`send_request` and :meth:`classify_error`; the other hooks
    have working defaults.

    Args:
        level: The handler's level.
        buffer_size: Entries the buffer holds before ``overflow`` applies.
        buffer_bytes: Entry bytes the buffer holds before ``overflow`` applies.
        overflow: ``"drop_oldest"``, ``"drop_newest"`` or ``"block"`` (waits at most
            ``block_timeout`` seconds, then drops the new entry); ERROR and above are
            never dropped for lower levels. Drops are counted (``dropped``).
        batch_interval: Longest an entry waits before its request is sent, in seconds.
        max_batch_count: Entries per request (at most :attr:`max_request_count`).
        max_batch_bytes: Bytes per request (at most :attr:`max_request_bytes`).
        retry_initial, retry_maximum, retry_deadline: The :class:`RetryPolicy`.
        retry_policy: A ready policy instead (tests pass one with a seeded ``rng``).
        spool: Spool file or directory for what cannot be delivered (default: the
            temp directory, see :class:`~inferlog.pipeline.Spool`).
        resend_on_start: Send what this sink's spool holds when the sender starts.
        health_interval: Seconds between health records (0: none).
        shutdown_timeout: Deadline of :meth:`close` and of ``flush()``, in seconds.
    """

    lifecycle_stage: int = STAGE_SINK
    #: Largest number of entries the service accepts in one request.
    max_request_count: ClassVar[int] = 1_000
    #: Largest request, in bytes as :attr:`Entry.size` counts them.
    max_request_bytes: ClassVar[int] = 1024 * 1024

    def __init__(
        self,
        *,
        level: int | str = logging.NOTSET,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
        buffer_bytes: int = DEFAULT_BUFFER_BYTES,
        overflow: str = DEFAULT_SENDER_OVERFLOW,
        block_timeout: float = DEFAULT_SENDER_BLOCK_TIMEOUT,
        batch_interval: float = DEFAULT_BATCH_INTERVAL,
        max_batch_count: int | None = None,
        max_batch_bytes: int | None = None,
        retry_initial: float = DEFAULT_RETRY_INITIAL,
        retry_maximum: float = DEFAULT_RETRY_MAXIMUM,
        retry_deadline: float = DEFAULT_RETRY_DEADLINE,
        retry_policy: RetryPolicy | None = None,
        spool: str | os.PathLike[str] | None = None,
        resend_on_start: bool = True,
        health_interval: float = DEFAULT_HEALTH_INTERVAL,
        shutdown_timeout: float = DEFAULT_SENDER_SHUTDOWN_TIMEOUT,
    ) -> None:
        super().__init__(level=level)
        self.buffer_size = check_count("buffer_size", buffer_size)
        self.buffer_bytes = check_count("buffer_bytes", buffer_bytes)
        if overflow not in OVERFLOW_POLICIES:
            raise ValueError(
                f"overflow must be one of {', '.join(OVERFLOW_POLICIES)}, got {overflow!r}"
            )
        self.overflow = cast(OverflowPolicy, overflow)
        self.block_timeout = check_seconds("block_timeout", block_timeout)
        self.batch_interval = check_seconds("batch_interval", batch_interval)
        self.max_batch_count = self._limit(
            "max_batch_count", max_batch_count, self.max_request_count
        )
        self.max_batch_bytes = self._limit(
            "max_batch_bytes", max_batch_bytes, self.max_request_bytes
        )
        self.retry_policy = retry_policy or RetryPolicy(
            initial=retry_initial, maximum=retry_maximum, deadline=retry_deadline
        )
        self.spools = SinkSpools(spool)
        self.resend_on_start = bool(resend_on_start)
        self.health_interval = check_seconds("health_interval", health_interval)
        self.shutdown_timeout = check_seconds("shutdown_timeout", shutdown_timeout)
        self.addFilter(self._not_own_records)
        self._fresh_state()

    @staticmethod
    def _limit(option: str, value: int | None, service_max: int) -> int:
        if value is None:
            return service_max
        number = check_count(option, value)
        if number > service_max:
            raise ValueError(f"{option} must be between 1 and {service_max}, got {value!r}")
        return number

    def _fresh_state(self) -> None:
        # Everything a forked child must not inherit.
        self._buffer = EntryBuffer(
            self.buffer_size, self.buffer_bytes, self.overflow, self.block_timeout
        )
        self._cond = self._buffer.cond
        self.counters = Counters()
        self._courier = Courier(
            self,
            policy=self.retry_policy,
            spools=self.spools,
            counters=self.counters,
            cond=self._cond,
        )
        self._thread: threading.Thread | None = None
        self._sender_ident: int | None = None
        self._finished: ShutdownReport | None = None
        self._next_health = 0.0

    # ---------------------------------------------------------------- subclass hooks

    def send_request(self, entries: list[Entry]) -> list[tuple[Entry, str]]:
        """Ship ``entries`` in one request; override.

        Runs on the sender thread inside ``suppress_logging``. Raise on failure (the
        exception goes to :meth:`classify_error`); return the entries the service
        accepted the request but refused, each with the reason.
        """
        raise NotImplementedError

    def classify_error(self, exc: BaseException) -> Verdict:
        """Say what a failure of :meth:`send_request` means; override for the service.

        The default retries transport failures and rejects everything else.
        """
        return classify_transport_error(exc) or Verdict.REJECT

    def plan_requests(
        self, entries: list[Entry]
    ) -> tuple[list[list[Entry]], list[tuple[Entry, str]]]:
        """Turn one chunk into the requests to send, in order, and the entries to divert.

        ``entries`` is bounded by ``max_batch_count``/``max_batch_bytes``. The default
        makes one request per :attr:`Entry.key`, in order of first appearance;
        override to apply the service's rules (order, span) and return the entries
        that must not be sent at all, each with the reason (they go to the spool).
        """
        return group_by_key(entries), []

    def split_request(self, entries: list[Entry], exc: BaseException) -> list[list[Entry]] | None:
        """Return smaller requests after a :attr:`Verdict.SPLIT` failure, or None to give up.

        The default halves the request; one entry cannot be halved.
        """
        if len(entries) < 2:
            return None
        middle = len(entries) // 2
        return [entries[:middle], entries[middle:]]

    def spool_dict(self, entry: Entry) -> dict[str, Any]:
        """Return the record dict written to the spool for ``entry``."""
        if entry.record is not None:
            return entry.record
        if isinstance(entry.payload, dict):
            return entry.payload
        return {"timestamp_ms": entry.timestamp_ms, "message": str(entry.payload)}

    def entry_from_spool(self, item: dict[str, Any]) -> Entry | list[Entry] | None:
        """Turn a spooled record dict back into entries (None: it cannot be resent)."""
        return None

    def reset_client(self) -> None:
        """Forget the service client (after fork); override. Called on any thread."""

    # ---------------------------------------------------------------- the caller's side

    def _not_own_records(self, record: logging.LogRecord) -> bool:
        # Records made on the sender thread (botocore's, the sink's own) and health
        # records never enter this sink: shipping would feed itself.
        name = record.name
        if (isinstance(name, str) and name.startswith(HEALTH_LOGGER_NAME)) or (
            self._sender_ident is not None and record.thread == self._sender_ident
        ):
            _feedback.divert(record)
            return False
        return True

    def write_batch(self, items: list[Any], deadline: float | None) -> int:
        """Append prepared entries to the buffer; acknowledges all of them.

        Past the shutdown they go straight to the spool. A full buffer applies the
        overflow policy and counts the drops; never waits longer than ``block_timeout``.
        """
        entries: list[Entry] = []
        for item in items:  # prepare() may split one record into several entries
            if isinstance(item, list):
                entries.extend(item)
            else:
                entries.append(item)
        if self._finished is not None:
            self._courier.write_spool(entries, "received after the sink shut down")
            return len(items)
        wake_at = (self.max_batch_count, self.max_batch_bytes)
        for entry in entries:
            if self._buffer.put(entry, deadline, wake_at) is not None:
                self._count_drop()
        self._ensure_started()
        return len(items)

    def _count_drop(self) -> None:
        self.counters.add("dropped")
        report_once(
            f"sender-dropped-{id(self)}",
            logging.WARNING,
            "%s %r: buffer full (%d entries); dropping under overflow=%s, counted in "
            "health()['dropped']",
            type(self).__name__,
            self.name,
            self.buffer_size,
            self.overflow,
        )

    @property
    def started(self) -> bool:
        """Whether the sender thread has been started."""
        return self._thread is not None

    def _ensure_started(self) -> None:
        if self._thread is not None:
            return
        with self._cond:
            if self._thread is not None or self._finished is not None:
                return
            thread = threading.Thread(
                target=self._run, name=f"{_SENDER_THREAD_NAME}-{self.name or id(self)}"
            )
            thread.daemon = True
            self._thread = thread
        register_participant(self)
        thread.start()

    def health(self) -> dict[str, int]:
        """Return the counters: sent, retried, rejected, spooled, dropped, and buffered."""
        counts = self.counters.snapshot()
        out = {name: counts.get(name, 0) for name in HEALTH_COUNTERS}
        with self._cond:
            out["buffered"] = len(self._buffer)
        return out

    # ---------------------------------------------------------------- flush and lifecycle

    def force_flush(self, timeout: float | None = None) -> bool:
        """Wait until every entry buffered before the call was delivered or spooled.

        Returns True when that happened within ``timeout`` seconds (default
        ``shutdown_timeout``); False at once on the sender thread.
        """
        if timeout is None:
            timeout = self.shutdown_timeout
        if threading.get_ident() == self._sender_ident:
            return False
        return self._buffer.wait_taken(timeout, self._sender_alive)

    def _sender_alive(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive()

    def flush(self, timeout: float | None = None) -> None:
        """As :meth:`force_flush` without the result (the stdlib ``flush`` signature)."""
        self.force_flush(timeout)

    def begin_shutdown(self) -> None:
        """Stop waiting for fuller requests: send what is buffered now. Never blocks."""
        with self._cond:
            self._buffer.closing = True
            self._courier.closing = True
            self._cond.notify_all()

    def finish_shutdown(self, deadline: float) -> ShutdownReport:
        """Deliver what is buffered until ``deadline`` (monotonic), then spool the rest.

        What the deadline catches inside a network call is spooled too (it may also
        arrive). Idempotent: a second call reports nothing.
        """
        self.begin_shutdown()
        courier = self._courier
        with self._cond:
            if self._finished is not None:
                return ShutdownReport()
            pending = len(self._buffer) + len(courier.inflight)
            courier.stop_at = deadline
            thread = self._thread
            while self._sender_alive() and (self._buffer or courier.inflight):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
        self.cancel()  # wakes a backoff at once: its request goes to the spool
        if thread is not None and thread is not threading.current_thread():
            thread.join(max(0.0, min(deadline - time.monotonic(), _JOIN_GRACE)))
        with self._cond:
            left = self._buffer.drain()
            report = ShutdownReport(handlers=1, pending=pending)
            self._finished = report
        stuck = courier.take_stuck()
        count, where = courier.write_spool(
            stuck, "in flight at the shutdown deadline; may also arrive"
        )
        more, where_left = courier.write_spool(left, "undelivered at the shutdown deadline")
        report.spilled = count + more
        report.spill_paths = [w for w in (where, where_left) if w]
        report.timed_out = bool(left or stuck)
        with self._cond:
            self._buffer.finished(len(left))
        unregister_participant(self)
        return report

    def after_fork_in_child(self) -> None:
        """Give the child an empty buffer, fresh locks, no thread and a fresh client."""
        self._fresh_state()
        self.reset_cancel()
        self.reset_client()

    def close(self) -> None:
        """Deliver what is buffered within ``shutdown_timeout``, spool the rest; idempotent."""
        if self._thread is not None:
            self.finish_shutdown(time.monotonic() + self.shutdown_timeout)
        elif self._finished is None:
            self._finished = ShutdownReport()
        super().close()

    # ---------------------------------------------------------------- the sender thread

    def _run(self) -> None:
        self._sender_ident = threading.get_ident()
        courier = self._courier
        if self.resend_on_start:
            self._resend_spooled()
        self._next_health = time.monotonic() + self.health_interval
        while True:
            chunk = self._next_chunk()
            if chunk is None:
                break
            if courier.outage_since is not None and time.monotonic() >= courier.next_probe:
                self._resend_spooled()
            try:
                courier.ship(chunk)
            except Exception as exc:  # a bug in a hook must not kill the sender
                report(
                    logging.ERROR, "%s %r: sender error: %r", type(self).__name__, self.name, exc
                )
                courier.give_up(list(courier.inflight), f"sender error: {exc!r}")
            courier.done()
            with self._cond:
                self._buffer.finished(len(chunk))
            self._maybe_health()
        self._maybe_health(force=True)

    def _next_chunk(self) -> list[Entry] | None:
        """Wait for a request's worth of entries (or a probe or health tick); None: stop."""
        buffer = self._buffer
        courier = self._courier
        with self._cond:
            while True:
                now = time.monotonic()
                if buffer.ready(
                    now, self.batch_interval, self.max_batch_count, self.max_batch_bytes
                ):
                    return buffer.take(self.max_batch_count, self.max_batch_bytes)
                if buffer.closing:
                    return None
                due = self._next_health if self.health_interval else _NEVER
                if courier.outage_since is not None:
                    due = min(due, courier.next_probe)
                if now >= due:
                    return []
                wait = due - now
                if buffer:
                    wait = min(wait, buffer.oldest_at + self.batch_interval - now)
                self._cond.wait(None if wait == _NEVER else max(wait, 0.0))

    # ---------------------------------------------------------------- resending the spool

    def resend_items(self, items: list[dict[str, Any]]) -> int:
        """Send spooled record dicts again, in order; return how many are finished with.

        The count is from the start of ``items`` (what :func:`inferlog.pipeline.resend`
        removes from the spool): delivered, or refused for good (kept in this sink's
        refused spool with the reason). Stops at the first run of records the service
        did not take; those stay where they were. Runs on the calling thread; used by
        ``inferlog spool resend`` and by the sender itself.
        """
        return self._courier.resend(items, self.entry_from_spool, self.max_batch_count)

    def _resend_spooled(self) -> None:
        # This sink's files from this process and from processes gone, in order.
        self._courier.resend_left_over(lambda path: resend(path, self))

    def _maybe_health(self, *, force: bool = False) -> None:
        if not self.health_interval:
            return
        now = time.monotonic()
        if not force and now < self._next_health:
            return
        self._next_health = now + self.health_interval
        counts = self.health()
        label = self.name or type(self).__name__
        try:
            logging.getLogger(f"{HEALTH_LOGGER_NAME}.{label}").info(
                "sink health: %s",
                ", ".join(f"{k}={v}" for k, v in counts.items()),
                extra={"sink": label, "health": counts},
            )
        except Exception:  # pragma: no cover - a user's handler must not stop the sender
            pass
