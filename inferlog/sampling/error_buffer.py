"""Error-triggered buffering: hold what sampling drops until the request fails.

:class:`ErrorBufferHandler` holds the DEBUG/INFO records that sampling would drop, per
request (bounded by count and bytes), and hands them to its target only when the
request fails. :func:`~inferlog.sampling.buffered_request` marks a request's extent
and :func:`~inferlog.sampling.mark_request_failed` marks a failure that is not an
exception (:mod:`inferlog.sampling.request_block`).
"""

from __future__ import annotations

import logging
import logging.handlers
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any

from inferlog._diagnostics import Counters, report, report_once
from inferlog._options import check_handler, check_mapping
from inferlog._record import copy_record, iter_extras
from inferlog.sampling.filter import BUFFERED_ATTR, FAILURE_LEVEL, SAMPLE_RATE_ATTR, SamplingFilter
from inferlog.sampling.request_block import _BufferedRequest, _current_block, _in_use

__all__ = [
    "DEFAULT_BUFFER_CAPACITY",
    "DEFAULT_BUFFER_MAX_BYTES",
    "DEFAULT_BUFFER_MAX_REQUESTS",
    "ErrorBufferHandler",
]

#: Records held per request by :class:`ErrorBufferHandler` before the oldest is evicted.
DEFAULT_BUFFER_CAPACITY = 200
#: Approximate bytes held per request by :class:`ErrorBufferHandler`.
DEFAULT_BUFFER_MAX_BYTES = 256 * 1024
#: Requests with held records at once, per :class:`ErrorBufferHandler`.
DEFAULT_BUFFER_MAX_REQUESTS = 1000


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
        if target is not None:
            check_handler("target", target)
        super().__init__(capacity, flushLevel=FAILURE_LEVEL, target=target, flushOnClose=False)
        _in_use.error_buffers = True  # SampledLogger must now leave every call to the filters
        self.max_bytes = max_bytes
        self.max_requests = max_requests
        if isinstance(sampling, SamplingFilter):
            self.sampler = sampling
        elif sampling is None or isinstance(sampling, Mapping):
            arguments = check_mapping("sampling", sampling or {})
            try:
                self.sampler = SamplingFilter(**arguments)
            except (TypeError, ValueError) as err:
                raise type(err)(f"sampling: {err}") from None
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
            block = _current_block.get()
            key: object = (
                block if block is not None else getattr(record, self.sampler.request_id_field, None)
            )
            if key == "":
                key = None
            if key is not None and self.sampler.is_failure(record):
                if block is not None:
                    block.failed = True
                    # Records of this request logged outside the block (a thread that
                    # did not copy the context) are held under its id.
                    request_id = getattr(record, self.sampler.request_id_field, None)
                    if request_id is not None:
                        self._release(request_id)
                self._release(key)
            rate = self.sampler.decide(record)
            if rate is None:
                if block is not None and block.failed:
                    rate = 1.0
                elif key is not None:
                    self._hold(key, record, block)
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

    def _hold(self, key: object, record: logging.LogRecord, block: _BufferedRequest | None) -> None:
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
            if block is not None:
                block.handlers.add(self)
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
