"""Carry the request context across threads, pools, processes and HTTP.

What needs help and what does not:

* asyncio tasks copy the current context when they are created
  (``asyncio.create_task``, ``gather``, ``TaskGroup``, ``asyncio.to_thread``): nothing
  to do. ``loop.run_in_executor`` does not copy it: pass ``wrap(fn)``.
* A ``threading.Thread`` starts with an empty context: use :class:`ContextThread`
  or ``Thread(target=wrap(fn))``.
* ``concurrent.futures.ThreadPoolExecutor`` runs tasks in the worker's own context:
  use :class:`ContextThreadPoolExecutor`.
* A process shares no memory with its parent (spawn) or a stale copy of it (fork):
  use :class:`ContextProcessPoolExecutor`, :func:`wrap_for_process`, or
  :func:`init_process_context` as a pool initializer, all built on the picklable
  :class:`ContextSnapshot`.
* Another service: :func:`inject_headers` on the way out, :func:`extract_headers` on
  the way in (``X-Request-ID`` and W3C ``traceparent``).

This module is public: import from ``inferlog.propagation``.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
import math
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Generic, ParamSpec, TypeVar, overload

from inferlog import schema
from inferlog._diagnostics import report_once
from inferlog.context._state import _EMPTY_STATE, _ContextState, _state_var
from inferlog.context._trace import (
    _new_span_id,
    _new_trace_id,
    _opentelemetry,
    _parse_traceparent,
    _Trace,
)
from inferlog.context.request import current_request_id

__all__ = [
    "MAX_REQUEST_ID_LENGTH",
    "REQUEST_ID_HEADER",
    "TRACEPARENT_HEADER",
    "ContextProcessPoolExecutor",
    "ContextSnapshot",
    "ContextThread",
    "ContextThreadPoolExecutor",
    "extract_headers",
    "init_process_context",
    "inject_headers",
    "is_valid_request_id",
    "wrap",
    "wrap_for_process",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_H = TypeVar("_H", bound=MutableMapping[str, str])

# --------------------------------------------------------------------------- threads


def wrap(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Return ``fn`` bound to a copy of the current context, for running elsewhere.

    The context is captured now; each call runs in its own copy of it, so the
    wrapped function may run in several threads at once and what one call binds is
    not seen by the next.
    """
    captured = contextvars.copy_context()

    @functools.wraps(fn)
    def run_in_captured_context(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        return captured.copy().run(fn, *args, **kwargs)

    return run_in_captured_context


class ContextThread(threading.Thread):
    """A ``threading.Thread`` that runs in a copy of the context it was created in.

    Takes the same arguments as ``threading.Thread``, and subclasses may override
    ``run`` as usual. The context is captured in ``__init__``, not in ``start``,
    because the thread is usually created inside the request it works for.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        captured = contextvars.copy_context()
        run = self.run
        # Shadow ``run`` on the instance rather than overriding it on the class, so
        # a subclass's own ``run`` also executes inside the captured context.
        self.run = functools.partial(captured.run, run)  # type: ignore[method-assign]


class ContextThreadPoolExecutor(ThreadPoolExecutor):
    """A ``ThreadPoolExecutor`` whose ``submit`` and ``map`` carry the caller's context.

    Each task runs in a copy of the context current at ``submit`` (``map`` submits
    one task per item), so concurrent requests sharing the pool never see each
    other's ids, and a worker thread keeps nothing from one task to the next.
    """

    def submit(self, fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_R]:
        """Schedule ``fn(*args, **kwargs)`` to run in a copy of the current context."""
        return super().submit(
            functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        )


# --------------------------------------------------------------------------- processes

_JSON_MAX_DEPTH: Final = 32


def _is_jsonable(value: object, depth: int = 0) -> bool:
    """True for values that survive JSON and pickle unchanged in meaning."""
    if depth > _JSON_MAX_DEPTH:
        return False
    if value is None or isinstance(value, (bool, int, str)):
        return True
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, (list, tuple)):
        return all(_is_jsonable(item, depth + 1) for item in value)
    if isinstance(value, dict):
        return all(
            isinstance(key, str) and _is_jsonable(item, depth + 1) for key, item in value.items()
        )
    return False


@dataclass(frozen=True)
class ContextSnapshot:
    """A picklable copy of the current scope, to re-open in another process.

    Holds the request id, the bound fields whose values are JSON-able (str, int,
    finite float, bool, None, and lists/tuples/str-keyed dicts of those) and the
    trace position. Other fields (a client object, a numpy array, ...) are left out
    rather than risking a pickling error or a large copy; their names are in
    ``dropped``. Build one with :meth:`capture`.
    """

    fields: Mapping[str, Any] = field(default_factory=dict)
    trace: tuple[str, str, str | None, str] | None = None
    dropped: tuple[str, ...] = ()

    @classmethod
    def capture(cls) -> ContextSnapshot:
        """Snapshot the current scope (an empty snapshot outside any scope)."""
        state = _state_var.get()
        kept: dict[str, Any] = {}
        dropped: list[str] = []
        for key, value in state.fields.items():
            if _is_jsonable(value):
                kept[key] = value
            else:
                dropped.append(key)
        if dropped:
            report_once(
                "snapshot-dropped:" + ",".join(sorted(dropped)),
                logging.DEBUG,
                "fields %s are not JSON-able and are not carried into other processes",
                sorted(dropped),
            )
        trace = None if state.trace is None else tuple(state.trace)
        return cls(kept, trace, tuple(dropped))  # type: ignore[arg-type]

    @property
    def request_id(self) -> str | None:
        """The snapshot's request id, or None."""
        value = self.fields.get(schema.REQUEST_ID)
        return value if isinstance(value, str) else None

    def _as_state(self, base: ContextSnapshot | None) -> _ContextState:
        fields = dict(base.fields) if base is not None else {}
        fields.update(self.fields)
        trace_tuple = self.trace or (base.trace if base is not None else None)
        trace = None if trace_tuple is None else _Trace(*trace_tuple)
        return _ContextState(MappingProxyType(fields), trace)

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        """Make this snapshot the current scope for a block, then restore.

        The snapshot *replaces* whatever scope is current, except for the job-wide
        scope set by :func:`init_process_context`, which it extends: a forked worker
        inherits its parent's scope from the moment of the fork, and layering on
        that would leak one request's fields into another's.
        """
        token = _state_var.set(self._as_state(_job_snapshot.get()))
        try:
            yield
        finally:
            _state_var.reset(token)

    def wrap(self, fn: Callable[_P, _R]) -> Callable[_P, _R]:
        """Return a picklable callable that runs ``fn`` inside this snapshot's scope."""
        return _ScopedCall(self, fn)


# The scope a pool initializer set for the whole worker process; per-task scopes
# extend it. A ContextVar rather than a global so it follows the worker's context.
_job_snapshot: contextvars.ContextVar[ContextSnapshot | None] = contextvars.ContextVar(
    "inferlog_job_snapshot", default=None
)


class _ScopedCall(Generic[_P, _R]):
    """Picklable ``fn`` bound to a snapshot: re-opens the scope where it is called."""

    def __init__(self, snapshot: ContextSnapshot, fn: Callable[_P, _R]) -> None:
        self.snapshot = snapshot
        self.fn = fn

    def __call__(self, *args: _P.args, **kwargs: _P.kwargs) -> _R:
        with self.snapshot.scope():
            return self.fn(*args, **kwargs)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.fn!r}, request_id={self.snapshot.request_id!r})"


def wrap_for_process(fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Return a picklable ``fn`` that runs in a snapshot of the current scope.

    For ``multiprocessing.Process(target=wrap_for_process(fn))``,
    ``Pool.apply_async(wrap_for_process(fn), ...)`` and the like; ``fn`` itself must
    be picklable (a module-level function).
    """
    return ContextSnapshot.capture().wrap(fn)


def init_process_context(snapshot: ContextSnapshot | None = None) -> None:
    """Pool initializer: open ``snapshot``'s scope for the worker's whole life.

    ``ProcessPoolExecutor(initializer=init_process_context,
    initargs=(ContextSnapshot.capture(),))`` gives every record the worker writes
    the job's request id and fields. ``None`` just clears what a forked worker
    inherited from its parent.
    """
    _job_snapshot.set(snapshot)
    _state_var.set(snapshot._as_state(None) if snapshot is not None else _EMPTY_STATE)


class ContextProcessPoolExecutor(ProcessPoolExecutor):
    """A ``ProcessPoolExecutor`` whose ``submit`` and ``map`` carry the caller's scope.

    Each call (each chunk, for ``map``) is wrapped with a :class:`ContextSnapshot`
    taken at submission, so it works with the spawn, forkserver and fork start
    methods alike. ``fn`` must be picklable as usual; fields that are not JSON-able
    stay behind (see :class:`ContextSnapshot`).
    """

    def submit(self, fn: Callable[_P, _R], /, *args: _P.args, **kwargs: _P.kwargs) -> Future[_R]:
        """Schedule ``fn(*args, **kwargs)`` in a worker, inside the caller's scope."""
        return super().submit(ContextSnapshot.capture().wrap(fn), *args, **kwargs)


# --------------------------------------------------------------------------- HTTP

#: Header carrying the request id.
REQUEST_ID_HEADER: Final = "X-Request-ID"
#: W3C Trace Context header (lowercase, as the specification writes it).
TRACEPARENT_HEADER: Final = "traceparent"
#: Longest request id accepted from a header.
MAX_REQUEST_ID_LENGTH: Final = 128

# Letters, digits and the punctuation found in UUIDs, ULIDs, base64 and
# "service:counter" style ids; nothing that could split a log line or a header.
_REQUEST_ID_RE: Final = re.compile(rf"[A-Za-z0-9._:+/=\-]{{1,{MAX_REQUEST_ID_LENGTH}}}")
_OWS: Final = " \t"


def is_valid_request_id(value: object) -> bool:
    """True if ``value`` is a request id safe to accept from, or send in, a header.

    1 to 128 characters from ``A-Z a-z 0-9 . _ : + / = -``.
    """
    return isinstance(value, str) and _REQUEST_ID_RE.fullmatch(value) is not None


def _set_header(headers: MutableMapping[str, str], name: str, value: str) -> None:
    # A plain dict is case-sensitive: drop other spellings so the receiver does not
    # see two request ids.
    lowered = name.lower()
    for key in [k for k in headers if isinstance(k, str) and k.lower() == lowered and k != name]:
        del headers[key]
    headers[name] = value


def _outgoing_trace() -> tuple[str, str, str]:
    """``(trace_id, parent_id, flags)`` for an outgoing call."""
    active = _opentelemetry.active_span()
    if active is not None:
        return active
    state = _state_var.get()
    if state.trace is not None:
        # Our scope's span is the downstream's parent, so its records link to ours.
        return state.trace.trace_id, state.trace.span_id, state.trace.flags
    trace = _Trace(_new_trace_id(), _new_span_id(), None, "01")
    if state is not _EMPTY_STATE:
        # Start the trace here and keep it for the rest of this scope, so later
        # records and calls of the same request share it (copy-on-write, like bind).
        _state_var.set(state._replace(trace=trace))
    return trace.trace_id, trace.span_id, trace.flags


@overload
def inject_headers(headers: None = None, *, request_id_header: str = ...) -> dict[str, str]: ...


@overload
def inject_headers(headers: _H, *, request_id_header: str = ...) -> _H: ...


def inject_headers(
    headers: MutableMapping[str, str] | None = None,
    *,
    request_id_header: str = REQUEST_ID_HEADER,
) -> MutableMapping[str, str]:
    """Write the request id and a W3C ``traceparent`` into ``headers`` and return it.

    ``headers`` defaults to a new dict; any mutable mapping works (a dict,
    ``httpx.Headers``, a ``requests`` headers object). The request id is written
    only when there is one and it is header-safe (see :func:`is_valid_request_id`).
    ``traceparent`` is version ``00`` with: the active OpenTelemetry span's ids when
    there is one; else the scope's trace id and span id (the incoming
    ``traceparent``'s trace); else a new trace id and span id with the sampled flag,
    which the current scope then keeps for its later records and calls.
    """
    if headers is None:
        headers = {}
    request_id = current_request_id()
    if request_id is not None and is_valid_request_id(request_id):
        _set_header(headers, request_id_header, request_id)
    trace_id, parent_id, flags = _outgoing_trace()
    _set_header(headers, TRACEPARENT_HEADER, f"00-{trace_id}-{parent_id}-{flags}")
    return headers


def _header_items(headers: object) -> Iterable[tuple[object, object]]:
    items = getattr(headers, "items", None)
    if callable(items):
        # Mapping, werkzeug Headers, starlette Headers, http.client.HTTPMessage.
        return items()  # type: ignore[no-any-return]
    if isinstance(headers, Iterable) and not isinstance(headers, (str, bytes)):
        # ASGI-style [(b"name", b"value"), ...].
        return headers
    return ()


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        # HTTP header bytes are ISO-8859-1 on the wire (RFC 9110 5.5).
        return bytes(value).decode("latin-1")
    return None


def _single_value(values: list[str]) -> str | None:
    """The one value sent, or None when absent or ambiguous (differing repeats)."""
    distinct = {value.strip(_OWS) for value in values}
    return distinct.pop() if len(distinct) == 1 else None


def extract_headers(
    headers: Mapping[str, str] | Iterable[tuple[Any, Any]] | Any,
    *,
    request_id_header: str = REQUEST_ID_HEADER,
) -> dict[str, str]:
    """Read and validate ``X-Request-ID`` and ``traceparent`` from incoming headers.

    Returns the keyword arguments for :func:`~inferlog.context.request_context`:
    ``with request_context(**extract_headers(request.headers)):``, holding
    ``request_id`` and/or ``traceparent`` only when present and valid. Header names
    match case-insensitively; ``headers`` may be any mapping, an object with
    ``items()`` or an iterable of ``(name, value)`` pairs, in str or bytes. Never
    raises: anything malformed is left out, so the scope mints a fresh id.

    A request id is accepted when :func:`is_valid_request_id` says so. A
    ``traceparent`` is accepted per W3C Trace Context: lowercase hex, version ``ff``
    and all-zero ids rejected, version ``00`` exactly 55 characters, a later version
    read through its first four fields; it is returned normalised to version ``00``.
    Differing repeats of a header are ambiguous and rejected.
    """
    try:
        wanted_request_id = request_id_header.lower()
        request_ids: list[str] = []
        traceparents: list[str] = []
        for raw_name, raw_value in _header_items(headers):
            name = _text(raw_name)
            if name is None:
                continue
            name = name.strip(_OWS).lower()
            if name == wanted_request_id:
                target = request_ids
            elif name == TRACEPARENT_HEADER:
                target = traceparents
            else:
                continue
            values = raw_value if isinstance(raw_value, (list, tuple)) else [raw_value]
            for value in values:
                text = _text(value)
                if text is not None:
                    target.append(text)
        result: dict[str, str] = {}
        request_id = _single_value(request_ids)
        if request_id is not None and is_valid_request_id(request_id):
            result[schema.REQUEST_ID] = request_id
        traceparent = _single_value(traceparents)
        parsed = _parse_traceparent(traceparent)
        if parsed is not None:
            result["traceparent"] = "00-{}-{}-{}".format(*parsed)
        return result
    except Exception as exc:  # a hostile headers object must not fail the request
        report_once(
            "extract-headers-error",
            logging.WARNING,
            "extract_headers could not read the headers (%s); ignoring them",
            type(exc).__name__,
        )
        return {}
