"""The sampling decision: :class:`SamplingFilter`.

It keeps every error and a coherent, re-weightable fraction of the rest. The decision
for a record that carries a ``request_id`` (stamped by :class:`inferlog.ContextFilter`)
or a ``trace_id`` is a deterministic function of that id, so every record of one
request is kept or dropped together, in every process and service that shares the id,
and a higher rate keeps a superset of what a lower rate keeps.
"""

from __future__ import annotations

import logging
import math
import random
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any

from inferlog import schema
from inferlog._diagnostics import Counters, report_once
from inferlog._fork import renew_after_fork
from inferlog._options import check_bool, check_callable, check_mapping
from inferlog._record import copy_record
from inferlog._validation import check_level
from inferlog.sampling._decision import request_id_fraction, trace_id_fraction
from inferlog.sampling.bucket import _RateLimiter
from inferlog.sampling.debug import _env_forced, _forced
from inferlog.schema import STATUS, STATUS_ERROR

__all__ = [
    "BUFFERED_ATTR",
    "DEFAULT_KEEP_LEVEL",
    "DEFAULT_RATE",
    "FAILURE_LEVEL",
    "SAMPLE_RATE_ATTR",
    "SamplingFilter",
]

#: Fraction of successful requests kept when no rate is configured.
DEFAULT_RATE = 0.1
#: Records at this level and above are always kept.
DEFAULT_KEEP_LEVEL = logging.WARNING
#: Records at this level and above mark their request as failed.
FAILURE_LEVEL = logging.ERROR
#: Record attribute holding the probability with which a kept record was kept.
SAMPLE_RATE_ATTR = schema.SAMPLE_RATE
#: Record attribute set to ``True`` on records released by an :class:`ErrorBufferHandler`.
BUFFERED_ATTR = schema.SAMPLE_BUFFERED

# Hashing an id costs about a microsecond; requests log several records, so the
# fraction is cached. The cache is cleared when full rather than kept LRU: clearing is
# O(1) amortised and needs no lock.
_ID_CACHE_SIZE = 4096
_LOGGER_CACHE_SIZE = 1024
# Request ids seen failing, so that the rest of a failed request is kept whole.
_FAILED_IDS_SIZE = 10_000
# Python 3.12 lets a filter return a replacement record (gh-101307); before that the
# only way to annotate a record is in place.
_RECORD_REPLACEMENT = sys.version_info >= (3, 12)
# The methods whose rules SampledLogger repeats: one overridden leaves it to the filter.
_OWN_RULES = ("decide", "rate_for", "filter")
# The attributes that decide whether SampledLogger may take the decision early.
_EARLY_INPUTS = frozenset({"force", "keep_level", "_limiter", *_OWN_RULES})


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

    # Records below this level may be dropped by SampledLogger before they exist; 0
    # when they may not (kept by __setattr__; no class default, which would slow reads).
    _early_below: int

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
        request_id_field: str = schema.REQUEST_ID,
    ) -> None:
        self._early_below = 0
        super().__init__()
        if not isinstance(request_id_field, str) or not request_id_field.isidentifier():
            raise ValueError(
                f"request_id_field must be a non-empty identifier, got {request_id_field!r}"
            )
        #: Record attribute read for the request id (as ``ContextFilter``'s).
        self.request_id_field = request_id_field
        self.rate = _check_rate("rate", rate)
        self.logger_rates: dict[str, float] = check_mapping(
            "logger_rates", logger_rates or {}, _check_rate
        )
        self.model_rates: dict[str, float] = check_mapping(
            "model_rates", model_rates or {}, _check_rate
        )
        self.force = check_bool("force", force) or _env_forced()
        check_callable("clock", clock)
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
        renew_after_fork(self)

    def __setattr__(self, name: str, value: Any) -> None:
        # Settings changed at run time are checked as the constructor checks them.
        if name == "keep_level":
            value = check_level("keep_level", value)
        elif name == "force":
            value = check_bool("force", value)
        elif name == "rate":
            value = _check_rate("rate", value)
        object.__setattr__(self, name, value)
        if name in _EARLY_INPUTS:
            # Kept up to date here so that SampledLogger reads one attribute, not five.
            # (getattr, not __dict__: a materialised __dict__ slows every attribute read.)
            early = 0
            if (
                not getattr(self, "force", True)
                and getattr(self, "_limiter", None) is None
                and all(self._rule_is_ours(rule) for rule in _OWN_RULES)
            ):
                early = min(getattr(self, "keep_level", 0), FAILURE_LEVEL)
            object.__setattr__(self, "_early_below", early)

    def _rule_is_ours(self, name: str) -> bool:
        # Overridden in a subclass or replaced on the instance: not this class's rule.
        # (Changed on a class after the filter was made, it goes unseen.)
        method = getattr(self, name, None)
        return getattr(method, "__func__", None) is getattr(SamplingFilter, name)

    def after_fork_in_child(self) -> None:
        """Give a forked child a new lock (a parent thread may have held this one)."""
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
        return record.levelno >= FAILURE_LEVEL or getattr(record, STATUS, None) == STATUS_ERROR

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
        if levelno >= FAILURE_LEVEL or getattr(record, STATUS, None) == STATUS_ERROR:
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
            model_id = getattr(record, schema.MODEL_ID, None)
            if model_id is not None:
                version = getattr(record, schema.MODEL_VERSION, None)
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
        trace_id = getattr(record, schema.TRACE_ID, None)
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
