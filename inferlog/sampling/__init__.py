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
"""

from __future__ import annotations

from inferlog.sampling._decision import request_id_fraction, trace_id_fraction
from inferlog.sampling.bucket import RATE_WINDOW_SECONDS, TokenBucket
from inferlog.sampling.debug import (
    DEBUG_ENV_VAR,
    DEBUG_HEADER,
    debug_requested,
    force_sampling,
    sampling_forced,
)
from inferlog.sampling.error_buffer import (
    DEFAULT_BUFFER_CAPACITY,
    DEFAULT_BUFFER_MAX_BYTES,
    DEFAULT_BUFFER_MAX_REQUESTS,
    ErrorBufferHandler,
    buffered_request,
    mark_request_failed,
)
from inferlog.sampling.filter import (
    BUFFERED_ATTR,
    DEFAULT_KEEP_LEVEL,
    DEFAULT_RATE,
    FAILURE_LEVEL,
    SAMPLE_RATE_ATTR,
    SamplingFilter,
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
