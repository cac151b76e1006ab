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

This package is public: import from ``inferlog.propagation``. Its modules:
:mod:`~inferlog.propagation.threads`, :mod:`~inferlog.propagation.snapshot`,
:mod:`~inferlog.propagation.process_pool` (imported on first use: it loads
``multiprocessing``) and :mod:`~inferlog.propagation.headers`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inferlog._lazy import lazy_exports
from inferlog.propagation.headers import (
    MAX_REQUEST_ID_LENGTH,
    REQUEST_ID_HEADER,
    TRACEPARENT_HEADER,
    extract_headers,
    inject_headers,
    is_valid_request_id,
)
from inferlog.propagation.snapshot import ContextSnapshot, init_process_context, wrap_for_process
from inferlog.propagation.threads import ContextThread, ContextThreadPoolExecutor, wrap

if TYPE_CHECKING:
    from inferlog.propagation.process_pool import ContextProcessPoolExecutor

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


# ContextProcessPoolExecutor is imported on first use: it loads multiprocessing.
__getattr__, __dir__ = lazy_exports(
    __name__, {"ContextProcessPoolExecutor": "inferlog.propagation.process_pool"}
)
