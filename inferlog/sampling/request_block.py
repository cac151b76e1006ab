"""The extent and outcome of one request, for error-triggered buffering.

:func:`buffered_request` marks where a request starts and ends;
:func:`mark_request_failed` marks a failure that is not an exception. Kept apart from
:class:`~inferlog.sampling.ErrorBufferHandler` so that code which only reports
outcomes (``inferlog.inference``, the middleware) does not load the handler's
dependencies.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inferlog.sampling.error_buffer import ErrorBufferHandler

__all__ = ["buffered_request", "mark_request_failed"]


class _BufferedRequest:
    """One :func:`buffered_request` block: whether it failed, who holds its records."""

    __slots__ = ("failed", "handlers")

    def __init__(self) -> None:
        self.failed = False
        self.handlers: set[ErrorBufferHandler] = set()


_current_block: ContextVar[_BufferedRequest | None] = ContextVar(
    "inferlog_buffered_request", default=None
)


class _InUse:
    """What the process has used, for good: SampledLogger reads none of it before."""

    __slots__ = ("error_buffers", "forced")

    def __init__(self) -> None:
        #: An ErrorBufferHandler was made: it may hold any record sampling drops (in a
        #: buffered_request block, or by request id), so none may be skipped early.
        self.error_buffers = False
        #: ``force_sampling(True)`` ran: the debug override must be read. For good,
        #: since a task or thread may carry a copy of the context after the block.
        self.forced = False


_in_use = _InUse()


@contextmanager
def buffered_request() -> Iterator[None]:
    """Mark the extent of one request for every :class:`ErrorBufferHandler`.

    Records that sampling drops inside the block are held; if the block ends with an
    exception (or an ERROR record was logged in it) they are written out, otherwise
    they are discarded when the block ends. Without a block, handlers group records by
    ``request_id`` and discard a request's records only when they need the room.
    """
    block = _BufferedRequest()
    token = _current_block.set(block)
    failed = False
    try:
        yield
    except BaseException:
        failed = True
        raise
    finally:
        _current_block.reset(token)
        for handler in list(block.handlers):
            handler._end(block, failed=failed or block.failed)


def mark_request_failed() -> None:
    """Mark the current :func:`buffered_request` block failed, without logging an error.

    Its held records are written out when the block ends. For outcomes that are not
    exceptions, such as a web handler that returns a 5xx response. Outside a block
    it does nothing.
    """
    block = _current_block.get()
    if block is not None:
        block.failed = True
