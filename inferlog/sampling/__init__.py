"""Sampling: keep every error and a coherent, re-weightable fraction of the rest.

:class:`SamplingFilter` decides whether a record is kept. The decision for a record
that carries a ``request_id`` (stamped by :class:`inferlog.ContextFilter`) or a
``trace_id`` is a deterministic function of that id, so every record of one request is
kept or dropped together, in every process and service that shares the id, and a
higher rate keeps a superset of what a lower rate keeps. Records at WARNING and above,
and records of a failed call (``status == "error"``), are always kept. Every kept
record carries ``sample_rate``, the probability with which it was kept, so that counts
can be re-weighted.

:class:`ErrorBufferHandler` adds error-triggered buffering: the DEBUG/INFO records
that sampling would drop are held per request (bounded by count and bytes) and handed
to the target handler only when the request fails.

:func:`force_sampling` turns sampling off for one request (the middleware calls it for
requests that carry :data:`DEBUG_HEADER`); :data:`DEBUG_ENV_VAR` and the ``force``
argument turn it off for a whole process or filter.

Where each part lives: :mod:`~inferlog.sampling.filter` (the decision),
``_decision`` (the id hashes), :mod:`~inferlog.sampling.bucket` (rate-limit mode),
:mod:`~inferlog.sampling.debug` (the override), :mod:`~inferlog.sampling.error_buffer`
and :mod:`~inferlog.sampling.request_block` (error-triggered buffering). The names
below are imported from their module on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from inferlog._lazy import lazy_exports

if TYPE_CHECKING:
    from inferlog.sampling._decision import (
        request_id_fraction,
        trace_id_fraction,
    )
    from inferlog.sampling.bucket import (
        RATE_WINDOW_SECONDS,
        TokenBucket,
    )
    from inferlog.sampling.debug import (
        DEBUG_ENV_VAR,
        DEBUG_HEADER,
        debug_requested,
        force_sampling,
        sampling_forced,
    )
    from inferlog.sampling.early import SampledLogger
    from inferlog.sampling.error_buffer import (
        DEFAULT_BUFFER_CAPACITY,
        DEFAULT_BUFFER_MAX_BYTES,
        DEFAULT_BUFFER_MAX_REQUESTS,
        ErrorBufferHandler,
    )
    from inferlog.sampling.filter import (
        BUFFERED_ATTR,
        DEFAULT_KEEP_LEVEL,
        DEFAULT_RATE,
        FAILURE_LEVEL,
        SAMPLE_RATE_ATTR,
        SamplingFilter,
    )
    from inferlog.sampling.request_block import (
        buffered_request,
        mark_request_failed,
    )

# Names are imported from their module on first use, so that code needing one part
# (the middleware needs the debug override, not the error buffer's handler) does
# not load the others.
__getattr__, __dir__ = lazy_exports(
    __name__,
    {
        "request_id_fraction": "inferlog.sampling._decision",
        "trace_id_fraction": "inferlog.sampling._decision",
        "RATE_WINDOW_SECONDS": "inferlog.sampling.bucket",
        "TokenBucket": "inferlog.sampling.bucket",
        "DEBUG_ENV_VAR": "inferlog.sampling.debug",
        "DEBUG_HEADER": "inferlog.sampling.debug",
        "debug_requested": "inferlog.sampling.debug",
        "force_sampling": "inferlog.sampling.debug",
        "sampling_forced": "inferlog.sampling.debug",
        "DEFAULT_BUFFER_CAPACITY": "inferlog.sampling.error_buffer",
        "DEFAULT_BUFFER_MAX_BYTES": "inferlog.sampling.error_buffer",
        "DEFAULT_BUFFER_MAX_REQUESTS": "inferlog.sampling.error_buffer",
        "ErrorBufferHandler": "inferlog.sampling.error_buffer",
        "buffered_request": "inferlog.sampling.request_block",
        "mark_request_failed": "inferlog.sampling.request_block",
        "BUFFERED_ATTR": "inferlog.sampling.filter",
        "DEFAULT_KEEP_LEVEL": "inferlog.sampling.filter",
        "DEFAULT_RATE": "inferlog.sampling.filter",
        "FAILURE_LEVEL": "inferlog.sampling.filter",
        "SAMPLE_RATE_ATTR": "inferlog.sampling.filter",
        "SamplingFilter": "inferlog.sampling.filter",
        "SampledLogger": "inferlog.sampling.early",
    },
)

__all__ = [
    "BUFFERED_ATTR",
    "DEBUG_ENV_VAR",
    "DEBUG_HEADER",
    "DEFAULT_BUFFER_CAPACITY",
    "DEFAULT_BUFFER_MAX_BYTES",
    "DEFAULT_BUFFER_MAX_REQUESTS",
    "DEFAULT_KEEP_LEVEL",
    "DEFAULT_RATE",
    "FAILURE_LEVEL",
    "RATE_WINDOW_SECONDS",
    "SAMPLE_RATE_ATTR",
    "ErrorBufferHandler",
    "SampledLogger",
    "SamplingFilter",
    "TokenBucket",
    "buffered_request",
    "debug_requested",
    "force_sampling",
    "mark_request_failed",
    "request_id_fraction",
    "sampling_forced",
    "trace_id_fraction",
]
