"""The minimal record written when formatting failed: it says what failed."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Final

import orjson

from inferlog import schema as _schema
from inferlog._diagnostics import report_once
from inferlog._text import safe_str
from inferlog.formatting._coerce import clean_text
from inferlog.formatting._fields import format_timestamp

#: Longest message and error text in the minimal line written when formatting failed.
FAILURE_TEXT_CHARS: Final = 2_000


def failure_line(record: logging.LogRecord, err: BaseException) -> str:
    """The minimal line written when formatting failed: it says what failed."""
    line = failure_dict(record, err)
    try:
        return orjson.dumps(line).decode("utf-8")
    except Exception:  # pragma: no cover - only str values; kept as a last resort
        return '{"message":"<inferlog: record could not be formatted>"}'


def failure_dict(record: logging.LogRecord, err: BaseException) -> dict[str, str]:
    """The minimal record used when formatting failed; reports the failure once."""
    report_once(
        f"json-format:{type(err).__name__}",
        logging.ERROR,
        "JsonFormatter could not format a record (%s: %s); wrote a minimal line instead",
        type(err).__name__,
        safe_str(err),
    )
    line: dict[str, str] = {}
    readers: tuple[tuple[str, Callable[[], str]], ...] = (
        (_schema.TIMESTAMP, lambda: format_timestamp(record.created)),
        (_schema.LEVEL, lambda: str(record.levelname)),
        (_schema.LOGGER, lambda: str(record.name)),
        (_schema.MESSAGE, lambda: safe_str(record.msg)),
    )
    for field, read in readers:
        try:
            line[field] = clean_text(read()[:FAILURE_TEXT_CHARS])
        except Exception:
            line[field] = "<unavailable>"
    try:
        error = f"{type(err).__name__}: {safe_str(err)}"
        line[_schema.FORMAT_ERROR_FIELD] = clean_text(error[:FAILURE_TEXT_CHARS])
    except Exception:  # pragma: no cover - safe_str does not raise
        line[_schema.FORMAT_ERROR_FIELD] = "<unavailable>"
    return line
