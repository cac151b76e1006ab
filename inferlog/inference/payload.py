"""Payload capture: an independent, JSON-able, capped copy of a request or response."""

from __future__ import annotations

from typing import Final

__all__ = [
    "capture_payload",
]

_TRUNCATION_MARKER: Final = "...[truncated {} chars]"


def _json_default(value: object) -> object:
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        item = getattr(value, "item", None)
        if not shape and callable(item):
            return item()  # a numpy scalar: its value
        # An array is described, never dumped: its values are rarely worth a log line.
        return {
            "type": type(value).__name__,
            "shape": list(shape),
            "dtype": str(getattr(value, "dtype", "")),
        }
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{memoryview(value).nbytes} bytes>"
    # Imported here: only values JSON cannot hold get this far.
    import datetime
    import decimal
    import pathlib
    import uuid

    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID, pathlib.PurePath)):
        return str(value)
    return repr(value)


def _repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:  # a __repr__ that raises
        return f"<unrepresentable {type(value).__name__}>"


def capture_payload(value: object, max_chars: int) -> object:
    """Return an independent, JSON-able copy of ``value``, cut to ``max_chars``.

    A string longer than the cap is cut with a marker; anything else whose JSON text
    is longer than the cap becomes that text, cut. Arrays are described by type,
    shape and dtype; what JSON cannot hold becomes its ``repr``. The copy means later
    changes to ``value`` do not change the record. Never raises.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        # str.__str__ gives a plain str even for a subclass with its own __str__.
        return _cut(str.__str__(value), max_chars)
    import json  # here: most payloads are strings and numbers, handled above

    try:
        text = json.dumps(value, default=_json_default, ensure_ascii=False, allow_nan=True)
    except Exception:  # circular, non-str keys, too deep, or a default that raised
        return _cut(_repr(value), max_chars)
    if len(text) > max_chars:
        return _cut(text, max_chars)
    return json.loads(text)


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + _TRUNCATION_MARKER.format(len(text) - max_chars)
