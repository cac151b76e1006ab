"""A picklable snapshot of the request context, to re-open in another process."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Generic, ParamSpec, TypeVar

from inferlog import schema
from inferlog._diagnostics import report_once
from inferlog.context._state import _EMPTY_STATE, _ContextState, _new_state, _state_var
from inferlog.context._trace import (
    _Trace,
)

__all__ = [
    "ContextSnapshot",
    "init_process_context",
    "wrap_for_process",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


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
        return _new_state(fields, trace)

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
