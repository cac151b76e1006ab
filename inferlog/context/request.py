"""Request contexts: open one, bind fields to it, read it.

:func:`request_context` opens one (a context manager, async context manager and
decorator); :func:`bind` and :func:`unbind` change the current one copy-on-write;
:func:`current_request_id` and :func:`current_context` read it.
"""

from __future__ import annotations

import contextvars
import functools
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, ParamSpec, TypeVar, cast

from inferlog import schema
from inferlog._deprecation import renamed_names
from inferlog.context._state import REQUEST_ID_FIELD, _ContextState, _set_state, _state_var
from inferlog.context._trace import _new_span_id, _parse_traceparent, _Trace
from inferlog.context.ids import new_request_id

__all__ = [
    "RequestContext",
    "bind",
    "current_context",
    "current_request_id",
    "request_context",
    "unbind",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


class RequestContext:
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
        self._saved: list[tuple[contextvars.Token[_ContextState], _ContextState]] = []

    def _fresh(self) -> RequestContext:
        return RequestContext(self._request_id, self._traceparent, self._fields)

    def __enter__(self) -> str:
        outer = _state_var.get()
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
        self._saved.append((_set_state(fields, trace), outer))
        return request_id

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        token, outer = self._saved.pop()
        try:
            _state_var.reset(token)
        except (ValueError, RuntimeError):
            # The token belongs to another Context (e.g. a generator resumed
            # elsewhere): still restore the value, which is what the caller sees.
            _state_var.set(outer)

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
        import inspect  # here: only decorating needs it, and it is costly to import

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
) -> RequestContext:
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
    return RequestContext(request_id, traceparent, fields)


def bind(**fields: Any) -> None:
    """Add fields to the current scope (replacing ones of the same name).

    Copy-on-write: the snapshot other scopes, threads or tasks hold is untouched.
    Bindings end with the enclosing :func:`request_context`; outside any scope they
    last for the rest of the current context (thread or task), which suits a
    job-wide field in a worker. ``bind(request_id=...)`` changes the request id.
    """
    if not fields:
        return
    state = _state_var.get()
    merged = dict(state.fields)
    merged.update(fields)
    _set_state(merged, state.trace)


def unbind(*names: str) -> None:
    """Remove fields from the current scope (copy-on-write); absent names are ignored."""
    state = _state_var.get()
    if not any(name in state.fields for name in names):
        return
    _set_state({k: v for k, v in state.fields.items() if k not in names}, state.trace)


def current_request_id() -> str | None:
    """Return the current scope's request id, or None outside any scope."""
    value = _state_var.get().fields.get(REQUEST_ID_FIELD)
    return value if isinstance(value, str) else None


def current_context() -> dict[str, Any]:
    """Return a new dict of what :class:`ContextFilter` stamps, OpenTelemetry aside.

    That is the request id, every bound field, and ``trace_id``/``span_id`` when the
    scope holds a trace position. Changing the dict changes nothing else.
    """
    state = _state_var.get()
    snapshot = dict(state.fields)
    if state.trace is not None:
        snapshot[schema.TRACE_ID] = state.trace.trace_id
        snapshot[schema.SPAN_ID] = state.trace.span_id
    return snapshot


# Old names of this module, still served with a DeprecationWarning.
__getattr__ = renamed_names(__name__, {"RequestScope": ("RequestContext", RequestContext)})
