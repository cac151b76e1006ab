"""Fields derived from a call's payloads: intent, token counts and vector lengths.

The ``intent_classifier`` and ``token_counter`` given to
:func:`~inferlog.inference.inference` are the application's own code: they are called
with the payload itself, and whatever they raise is reported once and ignored, so
they can never fail the call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from inferlog import schema
from inferlog._diagnostics import report_once
from inferlog.inference.payload import _cut

if TYPE_CHECKING:
    from inferlog.inference.api import Inference

__all__ = ["count_tokens", "derive_request_fields", "derive_response_fields"]


def _vector_length(value: object) -> int | None:
    """Length of an array-like payload: last axis of an array, or a flat list of numbers."""
    if isinstance(value, (str, bytes, bytearray, dict)):
        return None
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        if shape and isinstance(shape[-1], int):
            return int(shape[-1])
        return None
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    ):
        return len(value)
    return None


def _call_user(what: str, fn: Callable[[Any], Any], value: object) -> Any:
    """``fn(value)``, or None when it raises (reported once per kind of callable)."""
    try:
        return fn(value)
    except Exception as exc:
        report_once(
            f"inference-{what}-error",
            logging.WARNING,
            "inference %s %r raised %s: %s; further errors are silent",
            what,
            fn,
            type(exc).__name__,
            exc,
        )
        return None


def count_tokens(counter: Callable[[Any], int | None], payload: object) -> int | None:
    """The token count ``counter`` gives for ``payload``; None unless it is an ``int``."""
    count = _call_user("token_counter", counter, payload)
    if isinstance(count, int) and not isinstance(count, bool):
        return count
    return None


def derive_request_fields(spec: Inference, fields: dict[str, Any], payload: object) -> None:
    """Add ``intent``, ``input_token_count`` and ``input_vector_length`` where not set."""
    if spec.intent_classifier is not None and schema.INTENT not in fields:
        intent = _call_user("intent_classifier", spec.intent_classifier, payload)
        if intent is not None:
            fields[schema.INTENT] = _cut(str(intent), spec.max_payload_chars)
    _derive_common(spec, fields, payload, schema.INPUT_TOKEN_COUNT, schema.INPUT_VECTOR_LENGTH)


def derive_response_fields(spec: Inference, fields: dict[str, Any], payload: object) -> None:
    """Add ``output_token_count`` and ``output_vector_length`` where not set."""
    _derive_common(spec, fields, payload, schema.OUTPUT_TOKEN_COUNT, schema.OUTPUT_VECTOR_LENGTH)


def _derive_common(
    spec: Inference, fields: dict[str, Any], payload: object, tokens_field: str, length_field: str
) -> None:
    if spec.token_counter is not None and tokens_field not in fields:
        count = count_tokens(spec.token_counter, payload)
        if count is not None:
            fields[tokens_field] = count
    if length_field not in fields:
        length = _vector_length(payload)
        if length is not None:
            fields[length_field] = length
