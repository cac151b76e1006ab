"""Flush per invocation, for processes that may be frozen or end between calls.

An AWS Lambda function's process is frozen as soon as the handler returns, and a CLI
job may be killed right after its work: records still in a queue or in a sender
sink's buffer would wait, or be lost. :func:`flush_per_invocation` makes each call
wait, within a deadline, until what it logged was delivered.
"""

from __future__ import annotations

import asyncio
import functools
import inspect
import time
from collections.abc import Callable, Iterable
from typing import Any, Final, TypeVar, cast

from inferlog.pipeline.lifecycle import live_participants

__all__ = ["DEFAULT_INVOCATION_FLUSH_TIMEOUT", "flush_now", "flush_per_invocation"]

#: Longest an invocation waits for its records to be delivered, in seconds.
DEFAULT_INVOCATION_FLUSH_TIMEOUT: Final = 5.0

F = TypeVar("F", bound=Callable[..., Any])


def flush_now(
    timeout: float = DEFAULT_INVOCATION_FLUSH_TIMEOUT, handlers: Iterable[Any] = ()
) -> bool:
    """Deliver what every queue and sender sink of this process holds, within ``timeout``.

    Every lifecycle participant (queues first: their records then reach the sinks,
    then sinks with buffers of their own) with a ``force_flush(timeout)``, then
    ``handlers`` (objects with ``force_flush(timeout)`` or ``flush()``). Returns True
    when everything was delivered in time.
    """
    deadline = time.monotonic() + timeout
    done = True
    participants = [p for p in live_participants() if hasattr(p, "force_flush")]
    for target in [*participants, *handlers]:
        remaining = max(0.0, deadline - time.monotonic())
        force_flush = getattr(target, "force_flush", None)
        if force_flush is not None:
            done = bool(force_flush(remaining)) and done
        else:
            target.flush()
    return done


def flush_per_invocation(
    function: F | None = None,
    *,
    timeout: float = DEFAULT_INVOCATION_FLUSH_TIMEOUT,
    handlers: Iterable[Any] = (),
) -> Any:
    """Decorate a Lambda handler or job function so each call ends with :func:`flush_now`.

    Works on plain and ``async`` functions, with or without arguments
    (``@flush_per_invocation`` or ``@flush_per_invocation(timeout=2.0)``). The flush
    runs whether the function returns or raises; it never raises itself.
    """
    extra = tuple(handlers)

    def decorate(func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                try:
                    return await func(*args, **kwargs)
                finally:
                    # In a thread: the event loop keeps serving while the flush waits.
                    await asyncio.to_thread(_quietly, timeout, extra)

            return cast(F, async_wrapper)

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            finally:
                _quietly(timeout, extra)

        return cast(F, wrapper)

    return decorate(function) if function is not None else decorate


def _quietly(timeout: float, handlers: tuple[Any, ...]) -> None:
    try:
        flush_now(timeout, handlers)
    except Exception:  # the function's own result or exception is what matters
        pass
