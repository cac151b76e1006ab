"""What every formatter reads from a record: timestamp, extras, stack and exception."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Final

from inferlog import schema
from inferlog._exceptions import describe_exception
from inferlog._record import STANDARD_RECORD_ATTRS, iter_extras
from inferlog._text import safe_str

#: The last second formatted and its text: records come in bursts within one second,
#: and strftime is most of the cost of a timestamp. A tuple, so that replacing it is
#: atomic for concurrent formatters.
_last_second: tuple[int, str] = (0, "1970-01-01T00:00:00")


def format_timestamp(created: float) -> str:
    """Return ``created`` (seconds since the epoch) as RFC 3339 UTC with microseconds.

    Rounds to the nearest microsecond the way ``datetime.fromtimestamp`` does.
    """
    global _last_second
    second = math.floor(created)
    micro = round((created - second) * 1_000_000)
    if micro >= 1_000_000:
        second += 1
        micro -= 1_000_000
    cached = _last_second
    if cached[0] != second:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second))
        cached = _last_second = (second, text)
    return f"{cached[1]}.{micro:06d}Z"


def record_exception(record: logging.LogRecord) -> Any:
    """Return the ``exception`` object of ``record``, or None when it has none.

    ``exc_info`` wins when set; otherwise a description an earlier stage (a queue
    handler) left in ``record.exception``; otherwise the traceback text that the
    stdlib leaves in ``exc_text``.
    """
    exc_info = record.exc_info
    if isinstance(exc_info, BaseException):
        exc_info = (type(exc_info), exc_info, exc_info.__traceback__)
    if isinstance(exc_info, tuple) and len(exc_info) == 3 and exc_info[0] is not None:
        return describe_exception(exc_info)
    prepared = record.__dict__.get(schema.EXCEPTION_FIELD)
    if prepared is not None:
        return prepared
    if record.exc_text:
        lines = str(record.exc_text).rstrip("\n").split("\n")
        kind, _, message = lines[-1].partition(": ")
        return {"type": kind, "message": message, "stack": lines}
    return None


def _stack_lines(stack_info: object) -> list[str] | None:
    if not stack_info:
        return None
    if isinstance(stack_info, list):
        return [safe_str(line) for line in stack_info]
    return safe_str(stack_info).rstrip("\n").split("\n")


#: Record attributes that are never extras; ``exception`` is written last, on its own.
_NOT_EXTRAS: Final = STANDARD_RECORD_ATTRS | {schema.EXCEPTION_FIELD}


def output_order(
    keys: Iterable[Any],
    inference_out: Sequence[tuple[str, str]],
    names: Mapping[str, str],
    placed: Iterable[Any],
) -> list[tuple[Any, Any]]:
    """``(key, output name)`` of each extra field, in the order a line holds them.

    The inference fields first, in schema order (``inference_out`` gives their output
    names), then the others as given, renamed by ``names``; a name already ``placed``
    or taken by an earlier field gets :data:`~inferlog.schema.COLLISION_PREFIX`, so an
    extra called "level" or "timestamp" does not hide the real one.
    """
    rest = list(keys)
    order: list[tuple[Any, Any]] = []
    for field, out in inference_out:
        if field in rest:
            rest.remove(field)
            order.append((field, out))
    taken = {*placed, *(out for _field, out in order)}
    for key in rest:
        out = names.get(key, key) if names else key
        if out in taken:
            out = f"{schema.COLLISION_PREFIX}{out}"
        taken.add(out)
        order.append((key, out))
    return order


def _extra_fields(record: logging.LogRecord) -> dict[Any, Any]:
    """The ``extra=`` fields of ``record`` (what iter_extras yields), minus ``exception``."""
    try:
        # One comprehension instead of iter_extras' generator: this runs per record.
        return {
            key: value
            for key, value in record.__dict__.items()
            if key not in _NOT_EXTRAS and key[0] != "_"
        }
    except (TypeError, IndexError, KeyError):
        # A non-str key (``extra={1: ...}``) or an empty one: take the careful way.
        return {key: value for key, value in _extras(record) if key != schema.EXCEPTION_FIELD}


def _extras(record: logging.LogRecord) -> Iterator[tuple[Any, Any]]:
    try:
        yield from list(iter_extras(record))
    except Exception:
        # ``extra={1: ...}`` puts a non-str key into the record's __dict__, which
        # iter_extras does not expect; such a record must still be written.
        for key, value in record.__dict__.items():
            if isinstance(key, str) and (key in STANDARD_RECORD_ATTRS or key.startswith("_")):
                continue
            yield key, value
