"""Carrying the request context into threads and thread pools."""

from __future__ import annotations

import contextvars
import functools
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

__all__ = [
    "ContextThread",
    "ContextThreadPoolExecutor",
    "wrap",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


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
