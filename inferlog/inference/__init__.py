"""One record per model-inference call: timing, outcome, parameters and payloads.

:func:`inference` builds an :class:`Inference`, which is a context manager (sync and
async) and a decorator (functions, coroutine functions, generator and async generator
functions). Each call it covers gets an :class:`InferenceCall` handle to report what
happened (payloads, token counts, vector lengths, first token, extra fields), and ends
with exactly one ``LogRecord`` whose ``extra=`` fields follow the inferlog schema:
``request_id``, ``model_id``, ``model_version``, ``latency_ms``, token counts,
sampling parameters, ``status``, ``error_code``, ``intent``, payloads, and for
streams ``time_to_first_token_ms``.

A call outside any request scope opens one for its duration, so the record and every
record logged inside the call share a request id; inside a scope it uses the scope's.
Exceptions are recorded with their stack and re-raised unchanged.

Where each part lives: :mod:`~inferlog.inference.api` (:func:`inference`,
:class:`Inference`), :mod:`~inferlog.inference.call` (:class:`InferenceCall` and the
record it builds), :mod:`~inferlog.inference.payload` (:func:`capture_payload`),
``_derived`` (intent classification, token counting, vector lengths), ``_wrappers``
(the decorator's sync, async and generator wrappers) and ``_activation`` (which call
is current).
"""

from __future__ import annotations

from inferlog.inference._activation import current_inference
from inferlog.inference.api import (
    DEFAULT_LOGGER_NAME,
    DEFAULT_MAX_PAYLOAD_CHARS,
    DEFAULT_MESSAGE,
    Inference,
    inference,
)
from inferlog.inference.call import InferenceCall
from inferlog.inference.payload import capture_payload
from inferlog.schema import CANCELLED_ERROR_CODE, STATUS_ERROR, STATUS_OK

__all__ = [
    "CANCELLED_ERROR_CODE",
    "DEFAULT_LOGGER_NAME",
    "DEFAULT_MAX_PAYLOAD_CHARS",
    "DEFAULT_MESSAGE",
    "STATUS_ERROR",
    "STATUS_OK",
    "Inference",
    "InferenceCall",
    "capture_payload",
    "current_inference",
    "inference",
]
