"""What is standard on a ``logging.LogRecord`` and what the user added with ``extra=``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any, Final

# Built from a real record rather than a hand-written list so that attributes a newer
# Python adds (``taskName`` in 3.12) are recognised as standard, not as user extras.
_PROBE = logging.LogRecord("probe", logging.INFO, __file__, 0, "", None, None)

#: Private record attribute holding a dict shared by every copy of one record (one per
#: sink), where a stage that gives the same result on each copy (redaction with one
#: configuration) keeps what it computed on the first, to apply it to the others.
MEMO_ATTR: Final = "_inferlog_memo"

#: Attributes every ``LogRecord`` has, plus those that ``Formatter.format`` adds.
STANDARD_RECORD_ATTRS: frozenset[str] = frozenset({*vars(_PROBE), "message", "asctime", "taskName"})


def iter_extras(record: logging.LogRecord) -> Iterator[tuple[Any, Any]]:
    """Yield ``(name, value)`` for every non-standard, non-private attribute of ``record``.

    These are the ``extra=`` fields, the ones stamped by inferlog's filters and
    ``exception`` when a queue has prepared the record. Names are normally str, but
    ``extra={1: ...}`` puts other keys into the record's ``__dict__``: those are
    yielded as they are, never skipped, since their values may carry PII.
    """
    for key, value in record.__dict__.items():
        if isinstance(key, str) and (key in STANDARD_RECORD_ATTRS or key.startswith("_")):
            continue
        yield key, value


_new_object = object.__new__


def copy_record(record: logging.LogRecord) -> logging.LogRecord:
    """Return a shallow copy of ``record`` of the same class.

    Copies ``__dict__`` directly: a fraction of what ``copy.copy(record)`` costs
    through ``__reduce_ex__``, and what every caller-thread stage can afford.
    """
    new = _new_object(record.__class__)
    new.__dict__ = record.__dict__.copy()
    return new
