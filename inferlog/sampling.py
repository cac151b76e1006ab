"""Sampling: keep every error and a coherent, re-weightable fraction of the rest.

:class:`SamplingFilter` decides whether a record is kept. The decision for a record
that carries a ``request_id`` (stamped by :class:`inferlog.ContextFilter`) or a
``trace_id`` is a deterministic function of that id, so every record of one request is
kept or dropped together, in every process and service that shares the id, and a
higher rate keeps a superset of what a lower rate keeps. Records at WARNING and above,
and records of a failed call (``status == "error"``), are always kept. Every kept
record carries ``sample_rate``, the probability with which it was kept, so that counts
can be re-weighted.

:class:`ErrorBufferHandler` adds error-triggered buffering: the DEBUG/INFO records
that sampling would drop are held per request (bounded by count and bytes) and handed
to the target handler only when the request fails.

:func:`force_sampling` turns sampling off for one request (the middleware calls it for
requests that carry :data:`DEBUG_HEADER`); :data:`DEBUG_ENV_VAR` and the ``force``
argument turn it off for a whole process or filter.
"""

from __future__ import annotations

import logging
import logging.handlers
import math
import os
import random
import sys
import threading
import time
import weakref
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from hashlib import blake2b
from typing import Any

from inferlog._diagnostics import Counters, report, report_once
from inferlog._record import copy_record, iter_extras
from inferlog._validation import check_level

__all__ = [
    "BUFFERED_ATTR",
    "DEBUG_ENV_VAR",
    "DEBUG_HEADER",
    "DEFAULT_BUFFER_CAPACITY",
    "DEFAULT_BUFFER_MAX_BYTES",
    "DEFAULT_BUFFER_MAX_REQUESTS",
    "DEFAULT_KEEP_LEVEL",
    "DEFAULT_RATE",
    "FAILURE_LEVEL",
    "RATE_WINDOW_SECONDS",
    "SAMPLE_RATE_ATTR",
    "ErrorBufferHandler",
    "SamplingFilter",
    "TokenBucket",
    "buffered_request",
    "debug_requested",
    "force_sampling",
    "mark_request_failed",
    "request_id_fraction",
    "sampling_forced",
    "trace_id_fraction",
]

#: Fraction of successful requests kept when no rate is configured.
DEFAULT_RATE = 0.1
#: Records at this level and above are always kept.
DEFAULT_KEEP_LEVEL = logging.WARNING
#: Records at this level and above mark their request as failed.
FAILURE_LEVEL = logging.ERROR
#: Environment variable that, when set to 1/true/yes/on, keeps every record.
DEBUG_ENV_VAR = "INFERLOG_SAMPLING_DEBUG"
#: Request header that asks for full logging of one request (see :func:`debug_requested`).
DEBUG_HEADER = "X-Inferlog-Debug"
#: Record attribute holding the probability with which a kept record was kept.
SAMPLE_RATE_ATTR = "sample_rate"
#: Record attribute set to ``True`` on records released by an :class:`ErrorBufferHandler`.
BUFFERED_ATTR = "sample_buffered"
#: Records held per request by :class:`ErrorBufferHandler` before the oldest is evicted.
DEFAULT_BUFFER_CAPACITY = 200
#: Approximate bytes held per request by :class:`ErrorBufferHandler`.
DEFAULT_BUFFER_MAX_BYTES = 256 * 1024
#: Requests with held records at once, per :class:`ErrorBufferHandler`.
DEFAULT_BUFFER_MAX_REQUESTS = 1000
#: Length of the window over which rate-limit mode measures demand, in seconds.
RATE_WINDOW_SECONDS = 1.0

_TRUTHY = frozenset({"1", "true", "yes", "on"})
# Hashing an id costs about a microsecond; requests log several records, so the
# fraction is cached. The cache is cleared when full rather than kept LRU: clearing is
# O(1) amortised and needs no lock.
_ID_CACHE_SIZE = 4096
_LOGGER_CACHE_SIZE = 1024
# Request ids seen failing, so that the rest of a failed request is kept whole.
_FAILED_IDS_SIZE = 10_000
_TWO_POW_MINUS_53 = 2.0**-53
_TRACE_ID_HEX_LEN = 32
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# How a WSGI environ spells DEBUG_HEADER.
_WSGI_DEBUG_KEY = "HTTP_X_INFERLOG_DEBUG"
# Python 3.12 lets a filter return a replacement record (gh-101307); before that the
# only way to annotate a record is in place.
_RECORD_REPLACEMENT = sys.version_info >= (3, 12)

_forced: ContextVar[bool] = ContextVar("inferlog_sampling_forced", default=False)

# Objects whose locks must be new in a forked child: a lock that another thread held
# at fork time would otherwise stay held forever there (gunicorn, multiprocessing).
# The same approach as logging's own handler locks.
_fork_reinit: weakref.WeakSet[Any] = weakref.WeakSet()


def _reinit_locks_after_fork() -> None:
    for owner in list(_fork_reinit):
        owner._reinit_after_fork()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reinit_locks_after_fork)


def request_id_fraction(request_id: str) -> float:
    """Map a request id to a number in [0, 1), the same in every process and language.

    The number is the first 53 bits of the 8-byte BLAKE2b digest of the id's UTF-8
    bytes, read big-endian, divided by 2**53. A record is kept when this number is
    below its rate. Python's ``hash()`` is not used: it is randomised per process.
    """
    digest = blake2b(request_id.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return (int.from_bytes(digest, "big") >> 11) * _TWO_POW_MINUS_53


def trace_id_fraction(trace_id: str) -> float:
    """Map a W3C trace id (32 hex digits) to [0, 1) from its lower 64 bits.

    This is the quantity OpenTelemetry's ``TraceIdRatioBased`` sampler compares with
    its ratio, so a trace kept by that sampler at ratio ``r`` has its logs kept at rate
    ``r`` (up to rounding within 2**-53 of the boundary). A value that is not 32 hex
    digits is hashed like a request id.
    """
    # int(x, 16) alone would also accept signs, spaces and underscores.
    if len(trace_id) == _TRACE_ID_HEX_LEN and _HEX_DIGITS.issuperset(trace_id):
        return (int(trace_id[16:], 16) >> 11) * _TWO_POW_MINUS_53
    return request_id_fraction(trace_id)


@contextmanager
def force_sampling(enabled: bool = True) -> Iterator[None]:
    """Keep every record logged inside the block (the per-request debug override).

    ``enabled=False`` changes nothing, so a caller can write
    ``with force_sampling(debug_requested(headers)):`` unconditionally. The override
    lives in a context variable: it follows the request into asyncio tasks and into
    threads that run in a copy of the context, and ends with the block.
    """
    token = _forced.set(True) if enabled else None
    try:
        yield
    finally:
        if token is not None:
            _forced.reset(token)


def sampling_forced() -> bool:
    """Return whether the current context is inside :func:`force_sampling`."""
    return _forced.get()


def debug_requested(
    headers: Mapping[str, str] | Mapping[bytes, bytes] | Iterable[tuple[Any, Any]],
) -> bool:
    """Return whether request headers ask for full logging via :data:`DEBUG_HEADER`.

    Accepts a mapping of headers (Starlette, Django, ``requests``), a WSGI environ
    (``HTTP_X_INFERLOG_DEBUG``), or pairs: ASGI's ``(bytes, bytes)`` list, Werkzeug's
    ``Headers``. The name is matched case-insensitively; ``1``, ``true``, ``yes`` and
    ``on`` count as a request.
    """
    items: Iterable[tuple[Any, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    wanted = DEBUG_HEADER.lower()
    for name, value in items:
        name_s = name.decode("latin-1") if isinstance(name, bytes | bytearray) else str(name)
        if name_s != _WSGI_DEBUG_KEY and name_s.lower() != wanted:
            continue
        value_s = value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)
        return value_s.strip().lower() in _TRUTHY
    return False


def _env_forced() -> bool:
    return os.environ.get(DEBUG_ENV_VAR, "").strip().lower() in _TRUTHY


def _check_rate(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{name} must be a number between 0 and 1, got {value!r}")
    rate = float(value)
    if math.isnan(rate) or not 0.0 <= rate <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, got {value!r}")
    return rate


def _stamp(record: logging.LogRecord, rate: float) -> logging.LogRecord:
    """Return ``record`` carrying ``sample_rate``: a copy where Python allows it."""
    if _RECORD_REPLACEMENT:
        record = copy_record(record)
    setattr(record, SAMPLE_RATE_ATTR, rate)
    return record


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens a second, at most ``capacity`` saved.

    Args:
        rate: tokens added per second; must be positive.
        capacity: the most tokens that can be saved up, i.e. the largest burst;
            defaults to ``max(rate, 1)``. The bucket starts full.
        clock: a monotonic clock in seconds; inject a fake one in tests.
    """

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise ValueError(f"rate must be a positive number of tokens per second, got {rate!r}")
        cap = max(float(rate), 1.0) if capacity is None else capacity
        if isinstance(cap, bool) or not isinstance(cap, int | float) or not cap >= 1:
            raise ValueError(f"capacity must be a number >= 1, got {capacity!r}")
        self.rate = float(rate)
        self.capacity = float(cap)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._last = clock()
        _fork_reinit.add(self)

    def _reinit_after_fork(self) -> None:
        self._lock = threading.Lock()

    def try_take(self, tokens: float = 1.0) -> bool:
        """Take ``tokens`` if the bucket holds that many; return whether it did."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._last
            if elapsed > 0:
                self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
                self._last = now
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False

    @property
    def tokens(self) -> float:
        """Tokens in the bucket as of the last :meth:`try_take` (no refill)."""
        return self._tokens


class _RateLimiter:
    """Rate-limit mode: scales rates so kept records stay near ``per_second``.

    Demand (the sum of the unscaled rates of the records offered, i.e. how many would
    be kept without a limit) is measured per window; the next window's rates are
    multiplied by ``per_second / demand``. Scaling keeps decisions deterministic per
    request and ``sample_rate`` exact. The token bucket is the hard cap for the first
    window of a burst, before the scale has caught up; what it drops is counted and
    reported.
    """

    def __init__(
        self,
        per_second: float,
        burst: float | None,
        clock: Callable[[], float],
        counters: Counters,
    ) -> None:
        self.per_second = per_second
        self.bucket = TokenBucket(per_second, burst, clock)
        self._clock = clock
        self._counters = counters
        self._lock = threading.Lock()
        self._window_start = clock()
        self._demand = 0.0
        self._dropped = 0
        self.scale = 1.0
        _fork_reinit.add(self)

    def _reinit_after_fork(self) -> None:
        self._lock = threading.Lock()

    def scaled(self, rate: float) -> float:
        with self._lock:
            now = self._clock()
            elapsed = now - self._window_start
            if elapsed >= RATE_WINDOW_SECONDS:
                self._roll(elapsed)
                self._window_start = now
            self._demand += rate
            return rate * self.scale

    def _roll(self, elapsed: float) -> None:
        demand_per_second = self._demand / elapsed
        self.scale = (
            1.0 if demand_per_second <= self.per_second else self.per_second / demand_per_second
        )
        self._demand = 0.0
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            report(
                logging.WARNING,
                "sampling: rate limit of %g records/s dropped %d records in the last %.1f s",
                self.per_second,
                dropped,
                elapsed,
            )

    def admit(self) -> bool:
        if self.bucket.try_take():
            return True
        with self._lock:
            self._dropped += 1
        self._counters.add("rate_limited")
        return False


class SamplingFilter(logging.Filter):
    """Keep every error and a deterministic, per-request fraction of everything else.

    Put it on the caller-side handler after :class:`inferlog.ContextFilter`, so that
    records carry ``request_id``. Kept records get ``sample_rate``: 1.0 for records
    kept because of their level, a failure or an override, the rate otherwise.

    How a record is decided, in order:

    1. WARNING and above (``keep_level``) and ``status == "error"`` are kept; ERROR and
       above or ``status == "error"`` also mark the request failed, and the rest of a
       failed request is kept.
    2. The ``force`` flag, :data:`DEBUG_ENV_VAR` (read when the filter is built) and
       :func:`force_sampling` keep everything.
    3. The rate: ``model_rates["<model_id>@<model_version>"]``, else
       ``model_rates["<model_id>"]``, else the longest matching prefix of the logger
       name in ``logger_rates``, else ``rate``.
    4. The record is kept when :func:`request_id_fraction` of its ``request_id`` (or
       :func:`trace_id_fraction` of its ``trace_id``) is below the rate. A record with
       neither is decided on its own, at random.
    5. With ``max_per_second``, rates are scaled down so that about that many records a
       second are kept, and a token bucket of ``burst`` records caps bursts.

    Args:
        rate: fraction of successful requests kept, 0 to 1.
        logger_rates: rate by logger name; ``"app"`` applies to ``"app.model"`` too.
        model_rates: rate by ``model_id`` or ``"model_id@model_version"``.
        max_per_second: rate-limit mode: the most records kept per second.
        burst: the token bucket's size; defaults to ``max_per_second``.
        force: keep every record (the config-file debug override).
        keep_level: records at this level and above are always kept.
        clock: monotonic clock for rate-limit mode; inject one in tests.
        request_id_field: the record attribute holding the request id; match
            :class:`inferlog.ContextFilter`'s argument of the same name.
    """

    def __init__(
        self,
        rate: float = DEFAULT_RATE,
        logger_rates: Mapping[str, float] | None = None,
        model_rates: Mapping[str, float] | None = None,
        max_per_second: float | None = None,
        burst: float | None = None,
        force: bool = False,
        keep_level: int | str = DEFAULT_KEEP_LEVEL,
        clock: Callable[[], float] = time.monotonic,
        request_id_field: str = "request_id",
    ) -> None:
        super().__init__()
        if not isinstance(request_id_field, str) or not request_id_field.isidentifier():
            raise ValueError(
                f"request_id_field must be a non-empty identifier, got {request_id_field!r}"
            )
        #: Record attribute read for the request id (as ``ContextFilter``'s).
        self.request_id_field = request_id_field
        self.rate = _check_rate("rate", rate)
        self.logger_rates = {
            str(k): _check_rate(f"logger_rates[{k!r}]", v) for k, v in (logger_rates or {}).items()
        }
        self.model_rates = {
            str(k): _check_rate(f"model_rates[{k!r}]", v) for k, v in (model_rates or {}).items()
        }
        self.force = bool(force) or _env_forced()
        self.keep_level = check_level("keep_level", keep_level)
        #: Rare events: ``rate_limited`` records dropped by the token bucket.
        self.counters = Counters()
        self._limiter: _RateLimiter | None = None
        if max_per_second is not None:
            if (
                isinstance(max_per_second, bool)
                or not isinstance(max_per_second, int | float)
                or not max_per_second > 0
            ):
                raise ValueError(
                    f"max_per_second must be a positive number, got {max_per_second!r}"
                )
            if burst is not None and (
                isinstance(burst, bool) or not isinstance(burst, int | float) or not burst >= 1
            ):
                raise ValueError(f"burst must be a number >= 1, got {burst!r}")
            self._limiter = _RateLimiter(float(max_per_second), burst, clock, self.counters)
        self._id_cache: dict[str, float] = {}
        self._trace_cache: dict[str, float] = {}
        self._logger_cache: dict[str, float] = {}
        self._failed: OrderedDict[str, None] = OrderedDict()
        self._failed_lock = threading.Lock()
        _fork_reinit.add(self)

    def _reinit_after_fork(self) -> None:
        self._failed_lock = threading.Lock()

    def filter(self, record: logging.LogRecord) -> bool | logging.LogRecord:  # type: ignore[override]
        """Return the record (carrying ``sample_rate``) to keep it, ``False`` to drop it.

        On Python 3.12 and later the returned record is a copy, so other handlers of
        the same logger never see this filter's ``sample_rate``; before 3.12 the
        attribute is set in place. Never raises: a record it cannot decide on (an
        unhashable ``request_id``, an override of :meth:`decide` that fails) is kept.
        """
        try:
            rate = self.decide(record)
        except Exception as exc:
            # An exception here would surface in the application's logging call.
            report_once(
                f"sampling-decide-{type(exc).__name__}",
                logging.ERROR,
                "sampling: could not decide on a record, keeping it: %r",
                exc,
            )
            rate = 1.0
        if rate is None:
            return False
        return _stamp(record, rate)

    def is_failure(self, record: logging.LogRecord) -> bool:
        """Return whether ``record`` marks its request as failed (ERROR+ or status error)."""
        return record.levelno >= FAILURE_LEVEL or getattr(record, "status", None) == "error"

    def has_failed(self, request_id: object) -> bool:
        """Return whether a record of ``request_id`` marked it failed (recent ids only)."""
        if request_id is None:
            return False
        try:
            return request_id in self._failed
        except TypeError:
            return False

    def decide(self, record: logging.LogRecord) -> float | None:
        """Return the probability with which ``record`` is kept, or ``None`` to drop it.

        Does not change the record. Override to add a rule; call this for the rest.
        """
        # The common path (a success that is dropped) is kept free of method calls:
        # it runs for every record on the caller's thread.
        levelno = record.levelno
        if levelno >= FAILURE_LEVEL or getattr(record, "status", None) == "error":
            self._mark_failed(record)
            return 1.0
        if levelno >= self.keep_level or self.force or _forced.get():
            return 1.0
        request_id = getattr(record, self.request_id_field, None)
        if request_id is not None and request_id in self._failed:
            return 1.0
        rate = self.rate_for(record) if self.model_rates or self.logger_rates else self.rate
        limiter = self._limiter
        if limiter is not None:
            rate = limiter.scaled(rate)
        if rate <= 0.0:
            return 1.0 if record.__dict__.get(BUFFERED_ATTR) is True else None
        if rate < 1.0:
            fraction = self._id_cache.get(request_id) if type(request_id) is str else None
            if fraction is None:
                fraction = self._fraction(record, request_id)
            if fraction >= rate:
                # Released by an ErrorBufferHandler upstream: its request failed.
                return 1.0 if record.__dict__.get(BUFFERED_ATTR) is True else None
        if limiter is not None and not limiter.admit():
            return None
        return rate

    def rate_for(self, record: logging.LogRecord) -> float:
        """Return the configured rate for ``record`` (model, then logger, then default)."""
        if self.model_rates:
            model_id = getattr(record, "model_id", None)
            if model_id is not None:
                version = getattr(record, "model_version", None)
                if version is not None:
                    found = self.model_rates.get(f"{model_id}@{version}")
                    if found is not None:
                        return found
                found = self.model_rates.get(str(model_id))
                if found is not None:
                    return found
        if self.logger_rates:
            name = record.name
            cached = self._logger_cache.get(name)
            if cached is None:
                cached = self._logger_rate(name)
                if len(self._logger_cache) >= _LOGGER_CACHE_SIZE:
                    self._logger_cache.clear()
                self._logger_cache[name] = cached
            return cached
        return self.rate

    def _logger_rate(self, name: str) -> float:
        while True:
            found = self.logger_rates.get(name)
            if found is not None:
                return found
            dot = name.rfind(".")
            if dot < 0:
                return self.rate
            name = name[:dot]

    def _fraction(self, record: logging.LogRecord, request_id: object) -> float:
        if request_id is not None and request_id != "":
            key = request_id if isinstance(request_id, str) else str(request_id)
            fraction = self._id_cache.get(key)
            if fraction is None:
                fraction = request_id_fraction(key)
                if len(self._id_cache) >= _ID_CACHE_SIZE:
                    self._id_cache.clear()
                self._id_cache[key] = fraction
            return fraction
        trace_id = getattr(record, "trace_id", None)
        if trace_id:
            key = trace_id if isinstance(trace_id, str) else str(trace_id)
            fraction = self._trace_cache.get(key)
            if fraction is None:
                fraction = trace_id_fraction(key)
                if len(self._trace_cache) >= _ID_CACHE_SIZE:
                    self._trace_cache.clear()
                self._trace_cache[key] = fraction
            return fraction
        # No id to be coherent with: decide this record on its own.
        return random.random()

    def _mark_failed(self, record: logging.LogRecord) -> None:
        request_id = getattr(record, self.request_id_field, None)
        if request_id is None or request_id == "":
            return
        key = request_id if isinstance(request_id, str) else str(request_id)
        with self._failed_lock:
            self._failed[key] = None
            self._failed.move_to_end(key)
            while len(self._failed) > _FAILED_IDS_SIZE:
                self._failed.popitem(last=False)


class _BufferScope:
    """One :func:`buffered_request` block: whether it failed, who holds its records."""

    __slots__ = ("failed", "handlers")

    def __init__(self) -> None:
        self.failed = False
        self.handlers: set[ErrorBufferHandler] = set()


_scope: ContextVar[_BufferScope | None] = ContextVar("inferlog_buffer_scope", default=None)


@contextmanager
def buffered_request() -> Iterator[None]:
    """Mark the extent of one request for every :class:`ErrorBufferHandler`.

    Records that sampling drops inside the block are held; if the block ends with an
    exception (or an ERROR record was logged in it) they are written out, otherwise
    they are discarded when the block ends. Without a block, handlers group records by
    ``request_id`` and discard a request's records only when they need the room.
    """
    scope = _BufferScope()
    token = _scope.set(scope)
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        _scope.reset(token)
        for handler in list(scope.handlers):
            handler._end(scope, failed=failed or scope.failed)


def mark_request_failed() -> None:
    """Mark the current :func:`buffered_request` block failed, without logging an error.

    Its held records are written out when the block ends. For outcomes that are not
    exceptions, such as a web handler that returns a 5xx response. Outside a block
    it does nothing.
    """
    scope = _scope.get()
    if scope is not None:
        scope.failed = True


class _Held:
    __slots__ = ("evicted", "nbytes", "records", "request_id")

    def __init__(self, request_id: object) -> None:
        self.request_id = request_id
        self.records: deque[tuple[logging.LogRecord, int]] = deque()
        self.nbytes = 0
        self.evicted = 0


def _approx_size(record: logging.LogRecord) -> int:
    size = len(str(record.msg))
    for _key, value in iter_extras(record):
        if isinstance(value, str | bytes | bytearray):
            size += len(value)
        elif value is None or isinstance(value, int | float):
            size += 8
        else:
            try:
                size += len(repr(value))
            except Exception:
                size += 64
    return size


def _freeze(record: logging.LogRecord) -> logging.LogRecord:
    """Copy ``record`` with its message rendered, so later changes to args don't show."""
    held = copy_record(record)
    try:
        held.msg = record.getMessage()
        held.args = None
    except Exception:  # a bad format string is the formatter's to report, later
        pass
    return held


class ErrorBufferHandler(logging.handlers.MemoryHandler):
    """Sample records into ``target``, holding the dropped ones until their request fails.

    Records that its sampler keeps go straight to ``target`` with ``sample_rate``.
    DEBUG/INFO records it drops are held per request (per :func:`buffered_request`
    block, else per ``request_id``). When the request fails, with a record at ERROR or
    above or ``status == "error"``, or a :func:`buffered_request` block that raises,
    the held records go to ``target`` first, oldest first, with ``sample_rate`` 1.0
    and ``sample_buffered`` True, then the failing record. When the request succeeds
    they are discarded. Records with no request are sampled and never held.

    A subclass of :class:`logging.handlers.MemoryHandler` so that ``dictConfig``
    resolves ``target`` by handler name. Put this handler on the logger and its target
    (for example :class:`inferlog.QueueHandler`) in no logger's handlers. A
    :class:`SamplingFilter` downstream with the same rates is harmless: its decisions
    are the same, and it keeps records marked ``sample_buffered``.

    Args:
        capacity: records held per request; the oldest is evicted beyond it.
        target: the handler that receives kept and released records.
        max_bytes: approximate bytes held per request (message plus extras).
        max_requests: requests held at once; the least recently active request's
            records are discarded beyond it (as if it had succeeded).
        sampling: a :class:`SamplingFilter`, or its keyword arguments as a mapping.

    Evictions are counted in :attr:`counters` (``records_evicted``,
    ``requests_evicted``) and reported on the ``inferlog.internal`` logger.
    """

    def __init__(
        self,
        capacity: int = DEFAULT_BUFFER_CAPACITY,
        target: logging.Handler | None = None,
        *,
        max_bytes: int = DEFAULT_BUFFER_MAX_BYTES,
        max_requests: int = DEFAULT_BUFFER_MAX_REQUESTS,
        sampling: SamplingFilter | Mapping[str, Any] | None = None,
    ) -> None:
        for name, value in (
            ("capacity", capacity),
            ("max_bytes", max_bytes),
            ("max_requests", max_requests),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        super().__init__(capacity, flushLevel=FAILURE_LEVEL, target=target, flushOnClose=False)
        self.max_bytes = max_bytes
        self.max_requests = max_requests
        if isinstance(sampling, SamplingFilter):
            self.sampler = sampling
        elif sampling is None or isinstance(sampling, Mapping):
            self.sampler = SamplingFilter(**dict(sampling or {}))
        else:
            raise ValueError(
                f"sampling must be a SamplingFilter or a mapping of its arguments, got {sampling!r}"
            )
        #: ``records_evicted``, ``requests_evicted``, ``records_released``, ``records_discarded``.
        self.counters = Counters()
        self._held: OrderedDict[object, _Held] = OrderedDict()

    def shouldFlush(self, record: logging.LogRecord) -> bool:
        """Never: this handler releases per request, not when a shared buffer fills."""
        return False

    def emit(self, record: logging.LogRecord) -> None:
        """Forward, hold or release, as the class docstring describes."""
        try:
            scope = _scope.get()
            key: object = (
                scope if scope is not None else getattr(record, self.sampler.request_id_field, None)
            )
            if key == "":
                key = None
            if key is not None and self.sampler.is_failure(record):
                if scope is not None:
                    scope.failed = True
                    # Records of this request logged outside the block (a thread that
                    # did not copy the context) are held under its id.
                    request_id = getattr(record, self.sampler.request_id_field, None)
                    if request_id is not None:
                        self._release(request_id)
                self._release(key)
            rate = self.sampler.decide(record)
            if rate is None:
                if scope is not None and scope.failed:
                    rate = 1.0
                elif key is not None:
                    self._hold(key, record, scope)
                    return
                else:
                    return
            target = self.target
            if target is not None:
                # Always a copy: other handlers of the logger share ``record``.
                kept = copy_record(record)
                setattr(kept, SAMPLE_RATE_ATTR, rate)
                target.handle(kept)
        except Exception:
            self.handleError(record)

    def end_request(self, request_id: str, *, failed: bool) -> None:
        """Release (``failed=True``) or discard the records held for ``request_id``.

        For code that tracks request outcomes itself instead of using
        :func:`buffered_request`.
        """
        self._end(request_id, failed=failed)

    def held_count(self) -> int:
        """Return how many records are held, over all requests."""
        with self.lock:  # type: ignore[union-attr]
            return sum(len(h.records) for h in self._held.values())

    def flush(self) -> None:
        """Flush the target; held records stay held until their request ends."""
        target = self.target
        if target is not None:
            try:
                target.flush()
            except Exception as exc:  # logging.shutdown() re-raises what flush raises
                report(logging.WARNING, "error buffer: flushing the target failed: %r", exc)

    def close(self) -> None:
        """Discard what is held (the outcome of those requests is unknown) and close."""
        with self.lock:  # type: ignore[union-attr]
            discarded = sum(len(h.records) for h in self._held.values())
            self._held.clear()
        if discarded:
            self.counters.add("records_discarded", discarded)
        super().close()

    def _end(self, key: object, *, failed: bool) -> None:
        with self.lock:  # type: ignore[union-attr]
            held = self._held.get(key)
            # The request may have failed where this block could not see it: in a
            # thread that logged its error without the block's context.
            if failed or (held is not None and self.sampler.has_failed(held.request_id)):
                self._release(key)
                return
            self._held.pop(key, None)
        if held is not None and held.records:
            self.counters.add("records_discarded", len(held.records))

    def _hold(self, key: object, record: logging.LogRecord, scope: _BufferScope | None) -> None:
        held = self._held.get(key)
        if held is None:
            if len(self._held) >= self.max_requests:
                _old_key, old = self._held.popitem(last=False)
                self.counters.add("requests_evicted")
                self.counters.add("records_discarded", len(old.records))
                report_once(
                    "error-buffer-requests",
                    logging.WARNING,
                    "error buffer: more than %d requests held at once; the least recently "
                    "active are discarded (end requests with buffered_request())",
                    self.max_requests,
                )
            held = _Held(getattr(record, self.sampler.request_id_field, None))
            self._held[key] = held
            if scope is not None:
                scope.handlers.add(self)
        else:
            self._held.move_to_end(key)
        frozen = _freeze(record)
        size = _approx_size(frozen)
        held.records.append((frozen, size))
        held.nbytes += size
        while held.records and (len(held.records) > self.capacity or held.nbytes > self.max_bytes):
            _evicted, evicted_size = held.records.popleft()
            held.nbytes -= evicted_size
            held.evicted += 1
            self.counters.add("records_evicted")

    def _release(self, key: object) -> None:
        held = self._held.pop(key, None)
        if held is None:
            return
        target = self.target
        if target is not None:
            for record, _size in held.records:
                setattr(record, SAMPLE_RATE_ATTR, 1.0)
                setattr(record, BUFFERED_ATTR, True)
                target.handle(record)
            self.counters.add("records_released", len(held.records))
        if held.evicted:
            report(
                logging.WARNING,
                "error buffer: request %s failed; its %d oldest held records had been "
                "evicted (limits: %d records, %d bytes)",
                held.request_id,
                held.evicted,
                self.capacity,
                self.max_bytes,
            )
