"""Checking the values an inference record carries: coerce what is clear, mark the rest.

A value given to :func:`inferlog.inference` or an :class:`InferenceCall` method comes
from the request being served, so a wrong one must never raise into it. A value whose
meaning is unambiguous is coerced (``"12"`` tokens become ``12``); any other is kept
out of its field and explained under :data:`INVALID_FIELDS_FIELD`, and the first such
value of each field is reported once through the diagnostics channel.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from typing import Any, Final

from inferlog import schema
from inferlog._diagnostics import report_once
from inferlog._text import safe_str

__all__ = [
    "INVALID_FIELDS_FIELD",
    "Invalid",
    "check_field",
    "note_invalid",
]

#: Field of an inference record listing the values that were left out, by field name,
#: each with the reason (``{"temperature": "'hot' is not a number"}``).
INVALID_FIELDS_FIELD: Final = "invalid_fields"
# Longest representation of a rejected value quoted in its reason.
_MAX_QUOTED_CHARS: Final = 60


class Invalid(Exception):
    """A value that cannot go into its field; the message is the reason."""


def _quote(value: object) -> str:
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    if len(text) > _MAX_QUOTED_CHARS:
        text = text[: _MAX_QUOTED_CHARS - 3] + "..."
    return text


def _number(value: object) -> float:
    if isinstance(value, bool):
        raise Invalid(f"{_quote(value)} is not a number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise Invalid(f"{_quote(value)} is not a number") from None
    else:
        raise Invalid(f"{_quote(value)} is not a number")
    if not math.isfinite(number):
        raise Invalid(f"{_quote(value)} is not a finite number")
    return number


# What a JSON line can carry as a number here: orjson writes ints from -2**63 to
# 2**64 - 1, and readers (DuckDB, BigQuery) take 64 bits; beyond, it would be a string.
_INT_RANGE = range(-(2**63), 2**64)


def _integer(value: object) -> int:
    if isinstance(value, bool):
        raise Invalid(f"{_quote(value)} is not an integer")
    number: int | None = None
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        number = int(value)
    elif isinstance(value, str):
        try:
            number = int(value.strip())
        except ValueError:
            pass
    if number is None:
        raise Invalid(f"{_quote(value)} is not an integer")
    if number not in _INT_RANGE:
        raise Invalid(f"{_quote(value)} does not fit in 64 bits")
    return number


def _count(value: object) -> int:
    number = _integer(value)
    if number < 0:
        raise Invalid(f"{_quote(value)} is negative")
    return number


def _temperature(value: object) -> float:
    number = _number(value)
    if number < 0:
        raise Invalid(f"{_quote(value)} is negative")
    return number


def _top_p(value: object) -> float:
    number = _number(value)
    if not 0 <= number <= 1:
        raise Invalid(f"{_quote(value)} is not between 0 and 1")
    return number


def _text(value: object) -> str:
    if isinstance(value, str):
        if not value:
            raise Invalid("'' is empty")
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise Invalid(f"{_quote(value)} is not a string")


def _status(value: object) -> str:
    if value in (schema.STATUS_OK, schema.STATUS_ERROR):
        return str(value)
    raise Invalid(f"{_quote(value)} is not {schema.STATUS_OK!r} or {schema.STATUS_ERROR!r}")


_CHECKS: Final[dict[str, Callable[[object], Any]]] = {
    schema.TEMPERATURE: _temperature,
    schema.TOP_P: _top_p,
    schema.SEED: _integer,
    schema.INPUT_TOKEN_COUNT: _count,
    schema.OUTPUT_TOKEN_COUNT: _count,
    schema.INPUT_VECTOR_LENGTH: _count,
    schema.OUTPUT_VECTOR_LENGTH: _count,
    schema.USER_ID: _text,
    schema.INTENT: _text,
    schema.MODEL_VERSION: _text,
    schema.ERROR_CODE: _text,
    schema.STATUS: _status,
}


def check_field(name: str, value: object) -> Any:
    """Return ``value`` fit for field ``name`` (coerced where unambiguous).

    Fields without a rule are returned unchanged. Raises :class:`Invalid` with the
    reason when the value cannot go into the field.
    """
    check = _CHECKS.get(name)
    if check is None:
        return value
    return check(value)


def note_invalid(invalid: dict[str, str], name: str, reason: str) -> None:
    """Record that field ``name`` was left out for ``reason``, and report it once."""
    invalid[name] = reason
    report_once(
        f"inference-invalid-value:{name}",
        logging.WARNING,
        "inference left out an invalid %s (%s); see the record's %s. Further ones are silent",
        name,
        safe_str(reason),
        INVALID_FIELDS_FIELD,
    )
