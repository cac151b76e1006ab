"""A process pool whose tasks run in the caller's request context.

Kept apart from the rest of :mod:`inferlog.propagation` because importing
``ProcessPoolExecutor`` loads ``multiprocessing``, which most applications of
inferlog never need.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from typing import ParamSpec, TypeVar

from inferlog.propagation.snapshot import ContextSnapshot

__all__ = [
    "ContextProcessPoolExecutor",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")


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
