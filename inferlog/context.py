"""Request context: the correlation id and bound fields that follow one request.

A *scope* is an immutable snapshot (``request_id``, bound fields, incoming trace
position) held in a single :class:`contextvars.ContextVar`. Opening a scope, binding
and unbinding never change a snapshot in place: they build a new one and set the
variable, so a thread, task or outer scope still holding the old snapshot keeps
seeing exactly what it saw. Because the storage is a ``ContextVar`` (never a global
or a thread-local), asyncio tasks get their own copy for free and threads get one
through :mod:`inferlog.propagation`.

:class:`ContextFilter` copies the scope onto each ``LogRecord`` on the thread that
created it, which is what lets a queue listener thread format the record later.

This module is public; its main names are also re-exported from ``inferlog``.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import logging
import os
import re
import secrets
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from types import MappingProxyType, TracebackType
from typing import Any, Final, NamedTuple, ParamSpec, TypeVar, cast

from inferlog._diagnostics import report_once
from inferlog._record import STANDARD_RECORD_ATTRS

__all__ = [
    "REQUEST_ID_FIELD",
    "ContextFilter",
    "RequestScope",
    "bind",
    "current_context",
    "current_request_id",
    "new_request_id",
    "request_context",
    "unbind",
    "uuid7",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Name of the bound field (and, by default, of the record attribute) for the request id.
REQUEST_ID_FIELD: Final = "request_id"

# --------------------------------------------------------------------------- ids


class _UUIDv7Generator:
    """RFC 9562 UUIDv7 with a 42-bit per-millisecond counter (the RFC's "Method 1").

    Layout: 48-bit Unix milliseconds, version 7, the counter's top 12 bits in
    ``rand_a``, variant ``10``, the counter's low 30 bits and 32 fresh random bits in
    ``rand_b``. The counter restarts at a random value with its top bit clear each new
    millisecond (so at least 2**41 ids fit in one millisecond) and is incremented
    otherwise, which keeps ids strictly increasing within the process even when the
    wall clock stands still or steps backwards.
    """

    _COUNTER_BITS: Final = 42
    _COUNTER_MAX: Final = (1 << 42) - 1

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def reset_after_fork(self) -> None:
        """Give a forked child its own lock and counter.

        The lock may have been held by another parent thread at fork time, and a
        child continuing the parent's counter would mint the same sequence.
        """
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def next_int(self) -> int:
        """Return the next UUIDv7 as a 128-bit integer."""
        # One CSPRNG read per id (RFC 9562 asks for unguessable random bits): the low
        # 32 bits fill the tail, the top 41 seed the counter when a millisecond starts.
        rand = int.from_bytes(os.urandom(10), "big")
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._counter = rand >> 39
            else:
                # Same millisecond, or the clock went backwards: stay on the last
                # timestamp and count, so ordering never regresses.
                self._counter += 1
                if self._counter > self._COUNTER_MAX:
                    self._last_ms += 1
                    self._counter = rand >> 39
            unix_ms, counter = self._last_ms, self._counter
        return (
            (unix_ms & 0xFFFF_FFFF_FFFF) << 80
            | 0x7 << 76
            | (counter >> 30) << 64
            | 0b10 << 62
            | (counter & 0x3FFF_FFFF) << 32
            | (rand & 0xFFFF_FFFF)
        )

    def __call__(self) -> uuid.UUID:
        return uuid.UUID(int=self.next_int())


_uuid7_generator = _UUIDv7Generator()
if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_uuid7_generator.reset_after_fork)


def uuid7() -> uuid.UUID:
    """Return a new RFC 9562 version-7 UUID: time-ordered and monotonic in this process.

    ``uuid.uuid7`` only exists from Python 3.14, so inferlog carries its own.
    """
    return _uuid7_generator()


def new_request_id() -> str:
    """Return a new request id: a UUIDv7 in its canonical 36-character form.

    Version 7 starts with the creation time, so ids sort by time in log stores and
    index well, while 74 random/counter bits keep them unique across processes.
    """
    # Formatting the integer directly is several times cheaper than str(UUID(...)).
    h = f"{_uuid7_generator.next_int():032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


# --------------------------------------------------------------------------- trace ids

_TRACEPARENT_RE: Final = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-"
    r"(?P<parent_id>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})"
)
_ZERO_TRACE_ID: Final = "0" * 32
_ZERO_SPAN_ID: Final = "0" * 16
_TRACEPARENT_V00_LENGTH: Final = 55


class _Trace(NamedTuple):
    """Where this scope sits in a distributed trace (all lowercase hex)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    flags: str


def _new_trace_id() -> str:
    while True:
        candidate = secrets.token_hex(16)
        if candidate != _ZERO_TRACE_ID:
            return candidate


def _new_span_id() -> str:
    while True:
        candidate = secrets.token_hex(8)
        if candidate != _ZERO_SPAN_ID:
            return candidate


def _parse_traceparent(value: object) -> tuple[str, str, str] | None:
    """Return ``(trace_id, parent_id, flags)`` from a W3C ``traceparent``, or None.

    Follows W3C Trace Context level 1: lowercase hex only, version ``ff`` and
    all-zero ids are invalid, version ``00`` is exactly 55 characters, and a higher
    (future) version is read as 00 when its first four fields parse and anything
    after them is introduced by ``-``.
    """
    if not isinstance(value, str):
        return None
    value = value.strip(" \t")
    match = _TRACEPARENT_RE.match(value)
    if match is None:
        return None
    version, trace_id, parent_id, flags = match.group("version", "trace_id", "parent_id", "flags")
    if version == "ff" or trace_id == _ZERO_TRACE_ID or parent_id == _ZERO_SPAN_ID:
        return None
    if version == "00":
        if len(value) != _TRACEPARENT_V00_LENGTH:
            return None
    elif len(value) > _TRACEPARENT_V00_LENGTH and value[_TRACEPARENT_V00_LENGTH] != "-":
        return None
    return trace_id, parent_id, flags


# --------------------------------------------------------------------------- scope


class _Scope(NamedTuple):
    """One immutable snapshot of the request context.

    ``fields`` is a read-only view of a dict that nobody mutates after creation.
    """

    fields: Mapping[str, Any]
    trace: _Trace | None


_EMPTY_SCOPE: Final = _Scope(MappingProxyType({}), None)
_scope_var: contextvars.ContextVar[_Scope] = contextvars.ContextVar(
    "inferlog_scope", default=_EMPTY_SCOPE
)


def _set_scope(fields: Mapping[str, Any], trace: _Trace | None) -> contextvars.Token[_Scope]:
    return _scope_var.set(_Scope(MappingProxyType(dict(fields)), trace))


class RequestScope:
    """A request scope: use with ``with``/``async with`` or as a decorator.

    Built by :func:`request_context`. Entering sets a new snapshot (outer fields,
    then this scope's) and returns the request id; leaving puts back exactly the
    snapshot that was current before, whether the block ended normally or raised,
    and so also drops whatever :func:`bind` added inside. One instance may be entered
    again after it exits, and nested in itself, but not shared between threads or
    tasks that enter it at the same time; the decorator form needs no such care
    because it opens a fresh scope per call.
    """

    def __init__(
        self,
        request_id: str | None = None,
        traceparent: str | None = None,
        fields: Mapping[str, Any] | None = None,
    ) -> None:
        self._request_id = None if request_id is None else str(request_id)
        self._traceparent = traceparent
        self._fields: dict[str, Any] = dict(fields or {})
        self._saved: list[tuple[contextvars.Token[_Scope], _Scope]] = []

    def _fresh(self) -> RequestScope:
        return RequestScope(self._request_id, self._traceparent, self._fields)

    def __enter__(self) -> str:
        outer = _scope_var.get()
        fields = dict(outer.fields)
        fields.update(self._fields)
        request_id = self._request_id
        if request_id is None:
            # A nested scope belongs to the same request unless told otherwise.
            inherited = outer.fields.get(REQUEST_ID_FIELD)
            request_id = inherited if isinstance(inherited, str) else new_request_id()
        fields[REQUEST_ID_FIELD] = request_id
        trace = outer.trace
        parsed = _parse_traceparent(self._traceparent) if self._traceparent else None
        if parsed is not None:
            trace_id, parent_id, flags = parsed
            # The caller's span is our parent; this service gets a span of its own.
            trace = _Trace(trace_id, _new_span_id(), parent_id, flags)
        self._saved.append((_set_scope(fields, trace), outer))
        return request_id

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token, outer = self._saved.pop()
        try:
            _scope_var.reset(token)
        except (ValueError, RuntimeError):
            # The token belongs to another Context (e.g. a generator resumed
            # elsewhere): still restore the value, which is what the caller sees.
            _scope_var.set(outer)

    async def __aenter__(self) -> str:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    def __call__(self, fn: Callable[_P, _R]) -> Callable[_P, _R]:
        """Decorate a sync or async function so each call runs in a fresh scope.

        Generator functions are refused: a scope held open across ``yield`` would
        be visible to the consumer's code between steps.
        """
        if inspect.isgeneratorfunction(fn) or inspect.isasyncgenfunction(fn):
            raise TypeError(
                f"request_context cannot decorate the generator function {fn!r}; "
                "wrap the code that consumes the generator in 'with request_context():' instead"
            )
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                # Entered inside the coroutine, i.e. in the task that awaits it.
                with self._fresh():
                    return await fn(*args, **kwargs)

            return cast(Callable[_P, _R], async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            with self._fresh():
                return fn(*args, **kwargs)

        return wrapper


def request_context(
    request_id: str | None = None,
    *,
    traceparent: str | None = None,
    **fields: Any,
) -> RequestScope:
    """Open a request scope (context manager, async context manager or decorator).

    Args:
        request_id: The id to stamp on every record in the scope. ``None`` inherits
            the enclosing scope's id, or mints a new UUIDv7 (:func:`new_request_id`)
            when there is none; a decorated function gets a new one per call.
        traceparent: An incoming W3C ``traceparent`` value. When valid, records carry
            its trace id and a new span id of this scope; when invalid it is ignored.
            :func:`inferlog.propagation.extract_headers` returns it ready to pass.
        **fields: Fields bound for the scope, on top of (and overriding) the
            enclosing scope's.

    ``with request_context() as request_id:`` gives the scope's request id.
    """
    return RequestScope(request_id, traceparent, fields)


def bind(**fields: Any) -> None:
    """Add fields to the current scope (replacing ones of the same name).

    Copy-on-write: the snapshot other scopes, threads or tasks hold is untouched.
    Bindings end with the enclosing :func:`request_context`; outside any scope they
    last for the rest of the current context (thread or task), which suits a
    job-wide field in a worker. ``bind(request_id=...)`` changes the request id.
    """
    if not fields:
        return
    scope = _scope_var.get()
    merged = dict(scope.fields)
    merged.update(fields)
    _set_scope(merged, scope.trace)


def unbind(*names: str) -> None:
    """Remove fields from the current scope (copy-on-write); absent names are ignored."""
    scope = _scope_var.get()
    if not any(name in scope.fields for name in names):
        return
    _set_scope({k: v for k, v in scope.fields.items() if k not in names}, scope.trace)


def current_request_id() -> str | None:
    """Return the current scope's request id, or None outside any scope."""
    value = _scope_var.get().fields.get(REQUEST_ID_FIELD)
    return value if isinstance(value, str) else None


def current_context() -> dict[str, Any]:
    """Return a new dict of what :class:`ContextFilter` stamps, OpenTelemetry aside.

    That is the request id, every bound field, and ``trace_id``/``span_id`` when the
    scope holds a trace position. Changing the dict changes nothing else.
    """
    scope = _scope_var.get()
    snapshot = dict(scope.fields)
    if scope.trace is not None:
        snapshot["trace_id"] = scope.trace.trace_id
        snapshot["span_id"] = scope.trace.span_id
    return snapshot


# --------------------------------------------------------------------------- OpenTelemetry


class _OpenTelemetryLookup:
    """Reads the active OpenTelemetry span's ids without ever importing OpenTelemetry.

    A span can only be active if the application has imported ``opentelemetry.trace``,
    so looking in ``sys.modules`` is exact and costs one dict lookup; importing it
    here instead would slow the first record, could log from inside a filter, and
    would load OpenTelemetry into applications that do not use it. Once found,
    ``get_current_span`` is cached.
    """

    def __init__(self) -> None:
        self._get_current_span: Callable[[], Any] | None = None

    def active_span(self) -> tuple[str, str, str] | None:
        """Return ``(trace_id, span_id, flags)`` of the active span, or None."""
        get_current_span = self._get_current_span
        if get_current_span is None:
            module = sys.modules.get("opentelemetry.trace")
            if module is None:
                return None
            get_current_span = getattr(module, "get_current_span", None)
            if get_current_span is None:  # partially imported, or not the real package
                return None
            self._get_current_span = get_current_span
        span_context = get_current_span().get_span_context()
        if not span_context.is_valid:
            return None
        return (
            format(span_context.trace_id, "032x"),
            format(span_context.span_id, "016x"),
            format(int(span_context.trace_flags), "02x"),
        )


_opentelemetry = _OpenTelemetryLookup()


# --------------------------------------------------------------------------- filter


class ContextFilter(logging.Filter):
    """Stamp the request id, bound fields and trace ids on each record; never drops.

    Put it where the record is created, on the caller's thread: on the
    ``QueueHandler`` (or the logger) rather than on handlers a listener thread runs,
    since the listener thread has no request context. Attributes the record already
    has win, so ``extra=`` beats a bound field and running the filter twice is
    harmless; bound fields named like standard ``LogRecord`` attributes are skipped.

    ``trace_id``/``span_id`` come from the active OpenTelemetry span when
    OpenTelemetry is in use and a span is active, otherwise from the ``traceparent``
    the scope was opened with.

    Args:
        name: As for :class:`logging.Filter`; only records from that logger subtree
            are stamped (all others pass through unstamped).
        fields: Bound fields to stamp; ``None`` (the default) stamps all of them.
            The request id is always stamped.
        request_id_field: Record attribute that receives the request id.
        trace: Whether to stamp ``trace_id`` and ``span_id``.
        opentelemetry: Whether to read ids from an active OpenTelemetry span.

    Usable from ``dictConfig``:
    ``{"()": "inferlog.ContextFilter", "fields": ["user_id"], "request_id_field": "rid"}``.
    """

    def __init__(
        self,
        name: str = "",
        *,
        fields: Iterable[str] | None = None,
        request_id_field: str = REQUEST_ID_FIELD,
        trace: bool = True,
        opentelemetry: bool = True,
    ) -> None:
        super().__init__(name)
        if not isinstance(request_id_field, str) or not request_id_field.isidentifier():
            raise ValueError(
                f"request_id_field must be a non-empty identifier, got {request_id_field!r}"
            )
        if request_id_field in STANDARD_RECORD_ATTRS:
            raise ValueError(
                f"request_id_field {request_id_field!r} is a standard LogRecord attribute"
            )
        if isinstance(fields, str):
            # A lone string would otherwise be read as a set of one-letter names.
            raise ValueError("fields must be a list of field names, not a string")
        self.fields: frozenset[str] | None = None if fields is None else frozenset(fields)
        self.request_id_field = request_id_field
        self.trace = bool(trace)
        self.opentelemetry = bool(opentelemetry)

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp ``record`` in place and return True; never raises."""
        if self.nlen and not super().filter(record):
            return True
        try:
            self._stamp(record)
        except Exception as exc:  # a broken field or tracer must not break the caller
            report_once(
                "context-filter-error",
                logging.WARNING,
                "ContextFilter could not stamp a record (%s: %s); further errors are silent",
                type(exc).__name__,
                exc,
            )
        return True

    def _stamp(self, record: logging.LogRecord) -> None:
        scope = _scope_var.get()
        attrs = record.__dict__
        wanted = self.fields
        for key, value in scope.fields.items():
            if key == REQUEST_ID_FIELD:
                key = self.request_id_field
            elif wanted is not None and key not in wanted:
                continue
            if key in attrs or key in STANDARD_RECORD_ATTRS:
                continue
            attrs[key] = value
        if not self.trace:
            return
        active = _opentelemetry.active_span() if self.opentelemetry else None
        if active is not None:
            trace_id, span_id = active[0], active[1]
        elif scope.trace is not None:
            trace_id, span_id = scope.trace.trace_id, scope.trace.span_id
        else:
            return
        attrs.setdefault("trace_id", trace_id)
        attrs.setdefault("span_id", span_id)
