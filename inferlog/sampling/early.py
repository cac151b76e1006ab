"""Sampling before the record exists: an opt-in logger adapter.

A :class:`SamplingFilter` decides on a record, so a record it drops has already been
built (``LogRecord``, caller lookup, ``extra=`` merged): several microseconds for
nothing, where a record below the logger's level costs a tenth of one. When the
decision can be taken from what is known before the record exists (the level, the
``extra=`` fields, the request context), :class:`SampledLogger` takes it there, with
the filter's own rules, rates and caches, and builds only the records the filter
would keep. Whatever it cannot decide exactly it leaves to the filter.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, MutableMapping
from typing import Any

from inferlog import schema
from inferlog.context._state import _state_var
from inferlog.sampling.debug import _forced
from inferlog.sampling.filter import FAILURE_LEVEL, SamplingFilter
from inferlog.sampling.request_block import _in_use

__all__ = ["SampledLogger"]

_NO_FIELDS: Mapping[str, Any] = {}
_ABSENT: Any = object()
_INFO = logging.INFO
_DEBUG = logging.DEBUG
_STATUS = schema.STATUS
_ERROR = schema.STATUS_ERROR
_REQUEST_ID = schema.REQUEST_ID
_MODEL_ID = schema.MODEL_ID
_MODEL_VERSION = schema.MODEL_VERSION


class _Known:
    """What :meth:`SamplingFilter.rate_for` reads, before a record exists."""

    __slots__ = ("model_id", "model_version", "name")

    def __init__(self, name: str, model_id: object, model_version: object) -> None:
        self.name = name
        self.model_id = model_id
        self.model_version = model_version


class SampledLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger adapter that skips the records ``sampling`` would drop, before building them.

    Use it where most successful calls are sampled out and the calls are hot::

        log = inferlog.SampledLogger("app.model", sampling=pipeline.sampling)
        log.info("scored", extra={"model_id": "fraud", "latency_ms": 3.1})

    A call is skipped when the logger's level filters it out, or when ``sampling``
    would certainly drop its record: a success below ``keep_level`` and ERROR, of a
    request whose ``request_id`` (from ``extra=`` or the request context, as
    :class:`~inferlog.ContextFilter` stamps it) falls outside the rate. Every other
    call is logged as usual and ``sampling`` decides on the record: WARNING and above,
    ``status="error"``, the rest of a failed request, the debug override, records
    without a request id (decided at random), rate-limit mode, a subclass that
    replaces ``decide``, ``rate_for`` or ``filter``, and every call once the process has an
    :class:`~inferlog.sampling.ErrorBufferHandler` (it may hold any record sampling
    drops, in a :func:`~inferlog.sampling.buffered_request` block or by request id).
    Where ``model_rates`` apply, a call is skipped only if its record would be
    dropped whether or not the ContextFilter stamps the context's model fields.

    ``sampling`` must be the filter that decides on these records on their way to
    every handler (``Pipeline.sampling`` after :func:`inferlog.configure`): a record
    skipped here reaches no handler at all. ``extra`` is merged under each call's own
    ``extra=``. Caller information (file, line, function) is the caller's.
    """

    def __init__(
        self,
        logger: logging.Logger | str,
        sampling: SamplingFilter,
        extra: Mapping[str, object] | None = None,
    ) -> None:
        if isinstance(logger, str):
            logger = logging.getLogger(logger)
        if not isinstance(logger, logging.Logger):
            raise TypeError(f"logger must be a logging.Logger or a name, got {logger!r}")
        if not isinstance(sampling, SamplingFilter):
            raise TypeError(f"sampling must be a SamplingFilter, got {sampling!r}")
        if extra is not None and not isinstance(extra, Mapping):
            raise TypeError(f"extra must be a mapping or None, got {extra!r}")
        super().__init__(logger, dict(extra) if extra else None)
        #: The filter whose decision is taken early.
        self.sampling = sampling

    @classmethod
    def from_logger(
        cls, logger: logging.Logger | str, extra: Mapping[str, object] | None = None
    ) -> SampledLogger:
        """An adapter for ``logger`` bound to the sampling filter its records meet.

        For pipelines built with ``logging.config.dictConfig``, where the filter
        object is not at hand: the one :class:`SamplingFilter` on ``logger`` itself,
        or else the one that every handler its records reach carries (handlers at
        ``keep_level`` or above, which never get what the adapter skips, aside).
        Raises ValueError naming the handler when there is none, or more than one,
        or when a handler its records reach has none: that handler would lose the
        records the adapter skipped.
        """
        if isinstance(logger, str):
            logger = logging.getLogger(logger)
        if not isinstance(logger, logging.Logger):
            raise TypeError(f"logger must be a logging.Logger or a name, got {logger!r}")
        own = [f for f in logger.filters if isinstance(f, SamplingFilter)]
        if len(own) > 1:
            raise ValueError(f"logger {logger.name!r} has {len(own)} SamplingFilters")
        if own:
            return cls(logger, own[0], extra)
        handlers: list[logging.Handler] = []
        current: logging.Logger | None = logger
        while current is not None:
            handlers.extend(current.handlers)
            current = current.parent if current.propagate else None
        carried = {id(f): f for h in handlers for f in h.filters if isinstance(f, SamplingFilter)}
        if len(carried) != 1:
            raise ValueError(
                f"the handlers that records of {logger.name!r} reach carry "
                f"{len(carried)} SamplingFilters; need exactly one"
            )
        (found,) = carried.values()
        # What the adapter may skip is below this level: a handler above it never
        # sees such records, and needs no filter.
        lowest_kept = min(found.keep_level, FAILURE_LEVEL)
        for handler in handlers:
            if handler.level < lowest_kept and found not in handler.filters:
                raise ValueError(
                    f"records of {logger.name!r} reach handler {_described(handler)} without its "
                    f"SamplingFilter: it would lose the records the adapter skipped"
                )
        return cls(logger, found, extra)

    def skips(self, level: int, extra: Mapping[str, object] | None = None) -> bool:
        """Return True when a call at ``level`` with these ``extra=`` fields would be
        filtered out by the logger's level, or certainly dropped by ``sampling``."""
        # Runs on every call of the adapter: locals and C calls only on the way to a
        # drop, and the request context read only for what extra= does not give.
        # Never raises: a call it cannot decide on is logged, for the filter to decide.
        if not self.logger.isEnabledFor(level):
            return True
        flt = self.sampling
        in_use = _in_use
        # _early_below folds in keep_level, ERROR, force, rate-limit mode and a
        # subclass's own decide() or rate_for(). An ErrorBufferHandler anywhere in the
        # process may hold any record sampling drops (in a buffered_request block, or
        # by request id), and the debug override keeps everything.
        if level >= flt._early_below or in_use.error_buffers or (in_use.forced and _forced.get()):
            return False
        try:
            given = extra if extra is not None else _NO_FIELDS
            if self.extra:
                given = {**self.extra, **given}
            get = given.get
            # As ContextFilter stamps them: the context's values unless extra= has them.
            status = get(_STATUS, _ABSENT)
            request_id = get(flt.request_id_field, _ABSENT)
            fields = None
            if status is _ABSENT or request_id is _ABSENT:
                fields = _state_var.get().own
                if status is _ABSENT:
                    status = fields.get(_STATUS)
                if request_id is _ABSENT:
                    request_id = fields.get(_REQUEST_ID)
            if status == _ERROR:
                return False
            if type(request_id) is not str or not request_id or request_id in flt._failed:
                return False
            rate = flt.rate
            if flt.model_rates or flt.logger_rates:
                rate = self._rate(get, fields)
            if rate >= 1.0:
                return False
            if rate <= 0.0:
                return True
            fraction = flt._id_cache.get(request_id)
            if fraction is None:
                fraction = flt._fraction(None, request_id)  # type: ignore[arg-type]
            return bool(fraction >= rate)
        except Exception:
            return False

    def _rate(self, get: Any, fields: Mapping[str, Any] | None) -> float:
        """The filter's rate for a call, by model and logger name, taken high.

        A model field missing from ``extra=`` reaches the record from the request
        context only when the ContextFilter stamps it (its ``fields=`` may leave it
        out), so the rate is worked out for each of those outcomes and the highest
        kept: a call is skipped only when the filter would drop its record anyway.
        """
        name = self.logger.name
        rate_for = self.sampling.rate_for
        model_ids = [get(_MODEL_ID, _ABSENT)]
        versions = [get(_MODEL_VERSION, _ABSENT)]
        for choices, field in ((model_ids, _MODEL_ID), (versions, _MODEL_VERSION)):
            if choices[0] is _ABSENT:
                if fields is None:
                    fields = _state_var.get().own
                choices[:] = [None, fields.get(field)]
        return max(
            rate_for(_Known(name, model_id, version))  # type: ignore[arg-type]
            for model_id in model_ids
            for version in versions
        )

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        """Merge the adapter's ``extra`` under the call's own (the stdlib replaces it)."""
        if self.extra:
            kwargs["extra"] = {**self.extra, **(kwargs.get("extra") or {})}
        return msg, kwargs

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        """Log ``msg`` at ``level`` unless :meth:`skips` says the record would be dropped."""
        if not isinstance(level, int):
            self.logger.log(level, msg, *args, **kwargs)  # the stdlib's answer to that
            return
        self._forward(level, msg, args, kwargs)

    def info(
        self, msg: object, *args: object, extra: Mapping[str, object] | None = None, **kwargs: Any
    ) -> None:
        """Log at INFO unless the record would be dropped."""
        if not self.skips(_INFO, extra):
            kwargs["extra"] = extra
            self._emit(_INFO, msg, args, kwargs)

    def debug(
        self, msg: object, *args: object, extra: Mapping[str, object] | None = None, **kwargs: Any
    ) -> None:
        """Log at DEBUG unless the record would be dropped."""
        if not self.skips(_DEBUG, extra):
            kwargs["extra"] = extra
            self._emit(_DEBUG, msg, args, kwargs)

    # The methods below are the stdlib adapter's, called straight rather than through
    # LoggerAdapter's own frames: a logger class whose findCaller counts every frame
    # above the first outside the logging module (structlog's LoggerFactory installs
    # one) would otherwise name LoggerAdapter.warning as the caller.

    def warning(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at WARNING (never sampled out unless ``keep_level`` is above it)."""
        self._forward(logging.WARNING, msg, args, kwargs)

    def warn(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Deprecated alias of :meth:`warning`, as the stdlib's."""
        warnings.warn(
            "The 'warn' method is deprecated, use 'warning' instead", DeprecationWarning, 2
        )
        self._forward(logging.WARNING, msg, args, kwargs)

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at ERROR (never sampled out)."""
        self._forward(logging.ERROR, msg, args, kwargs)

    def exception(self, msg: object, *args: object, exc_info: Any = True, **kwargs: Any) -> None:
        """Log at ERROR with the exception being handled (never sampled out)."""
        kwargs["exc_info"] = exc_info
        self._forward(logging.ERROR, msg, args, kwargs)

    def critical(self, msg: object, *args: object, **kwargs: Any) -> None:
        """Log at CRITICAL (never sampled out)."""
        self._forward(logging.CRITICAL, msg, args, kwargs)

    def _forward(
        self, level: int, msg: object, args: tuple[object, ...], kwargs: dict[str, Any]
    ) -> None:
        if not self.skips(level, kwargs.get("extra")):
            self._emit(level, msg, args, kwargs, 3)

    def _emit(
        self,
        level: int,
        msg: object,
        args: tuple[object, ...],
        kwargs: dict[str, Any],
        frames: int = 2,
    ) -> None:
        msg, merged = self.process(msg, kwargs)
        # This frame and the adapter's methods above it are not the caller (a stdlib
        # adapter method above them is skipped by the logging module, being its own).
        merged["stacklevel"] = merged.get("stacklevel", 1) + frames
        self.logger.log(level, msg, *args, **merged)


def _described(handler: logging.Handler) -> str:
    """A handler as an error message names it: its dictConfig name first, if it has one."""
    name = handler.get_name()
    return f"{name!r} ({handler!r})" if name else repr(handler)
