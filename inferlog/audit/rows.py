"""From an inference record to an audit row.

An inference record is one with ``model_id`` and ``status`` fields (what
:func:`inferlog.inference` logs). Its row keeps the named columns of
:data:`~inferlog.audit.schema.CONTENT_COLUMNS`; ``parameters`` holds ``temperature``,
``top_p``, ``seed`` and every other field of the record that has no column of its
own (``max_tokens``, ``intent``, ``trace_id``...), except ``sample_rate`` and the
``exception`` object.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Final

import orjson

from inferlog import schema
from inferlog._record import iter_extras
from inferlog._safe import clean_text, coerce, safe_str
from inferlog.audit.schema import format_timestamp

__all__ = ["is_inference_record", "record_from_dict", "row_from_record", "to_json"]

_OWN_COLUMNS: Final = frozenset(
    {
        schema.REQUEST_ID,
        schema.USER_ID,
        schema.MODEL_ID,
        schema.MODEL_VERSION,
        schema.STATUS,
        schema.ERROR_CODE,
        schema.LATENCY_MS,
        schema.INPUT_TOKEN_COUNT,
        schema.OUTPUT_TOKEN_COUNT,
        schema.REQUEST_PAYLOAD,
        schema.RESPONSE_PAYLOAD,
        schema.SAMPLE_RATE,
        schema.EXCEPTION_FIELD,
    }
)
_FIRST_PARAMETERS: Final = (schema.TEMPERATURE, schema.TOP_P, schema.SEED)


def is_inference_record(record: logging.LogRecord) -> bool:
    """Whether ``record`` describes one inference call (has ``model_id`` and ``status``)."""
    attributes = record.__dict__
    return schema.MODEL_ID in attributes and schema.STATUS in attributes


_ORJSON_OPTIONS: Final = orjson.OPT_NON_STR_KEYS


def to_json(value: object) -> str | None:
    """``value`` as JSON text (None stays None); what JSON cannot hold becomes a string."""
    if value is None:
        return None
    try:
        return orjson.dumps(value, default=coerce, option=_ORJSON_OPTIONS).decode("utf-8")
    except (TypeError, ValueError, RecursionError):  # lone surrogates, huge ints, cycles
        pass
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, default=coerce)
    except (TypeError, ValueError, RecursionError):
        text = json.dumps(safe_str(value), ensure_ascii=False)
    return clean_text(text)


def row_from_record(record: logging.LogRecord, *, redacted: bool) -> dict[str, Any]:
    """The audit row of inference record ``record`` (its content columns)."""
    attributes = record.__dict__
    parameters: dict[str, Any] = {
        name: attributes[name] for name in _FIRST_PARAMETERS if attributes.get(name) is not None
    }
    for name, value in iter_extras(record):
        if isinstance(name, str) and (name in _OWN_COLUMNS or name in parameters):
            continue
        parameters[str(name)] = value
    return {
        "timestamp": format_timestamp(record.created),
        "request_id": attributes.get(schema.REQUEST_ID),
        "user_id": attributes.get(schema.USER_ID),
        "model_id": attributes.get(schema.MODEL_ID),
        "model_version": attributes.get(schema.MODEL_VERSION),
        "status": attributes.get(schema.STATUS),
        "error_code": attributes.get(schema.ERROR_CODE),
        "latency_ms": attributes.get(schema.LATENCY_MS),
        "input_token_count": attributes.get(schema.INPUT_TOKEN_COUNT),
        "output_token_count": attributes.get(schema.OUTPUT_TOKEN_COUNT),
        "parameters": to_json(parameters),
        "request_payload": to_json(attributes.get(schema.REQUEST_PAYLOAD)),
        "response_payload": to_json(attributes.get(schema.RESPONSE_PAYLOAD)),
        "redacted": 1 if redacted else 0,
        "logger": record.name,
    }


_SPOOL_KEYS: Final = frozenset({"timestamp", "level", "logger", "message", "spool"})


def record_from_dict(item: dict[str, Any]) -> logging.LogRecord:
    """Rebuild an inference record from a spooled record dict (for re-sending)."""
    from inferlog.reader import timestamp_seconds  # only on the resend path

    record = logging.makeLogRecord(
        {k: v for k, v in item.items() if isinstance(k, str) and k not in _SPOOL_KEYS}
    )
    record.name = str(item.get("logger", record.name))
    record.msg = str(item.get("message", ""))
    created = timestamp_seconds(item.get("timestamp"))
    if created is not None:
        record.created = created
    return record
