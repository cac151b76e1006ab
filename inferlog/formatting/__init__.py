"""Formatters: one JSON object per line for machines, aligned columns for people.

:class:`JsonFormatter` (:mod:`inferlog.formatting.json`) is the formatter of the
pipeline; :class:`ConsoleFormatter` (:mod:`inferlog.formatting.console`) shows the same
records for development. The helpers they share read a record's timestamp, extras,
stack and exception (:func:`format_timestamp`, :func:`record_exception`).
"""

from __future__ import annotations

from inferlog.formatting._fields import format_timestamp, record_exception
from inferlog.formatting.console import (
    DEFAULT_CONSOLE_VALUE_CHARS,
    ConsoleFormatter,
    colour_wanted,
)
from inferlog.formatting.json import (
    DEFAULT_MAX_FIELD_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    MIN_FIELD_BYTES,
    MIN_RECORD_BYTES,
    JsonFormatter,
)

__all__ = [
    "DEFAULT_CONSOLE_VALUE_CHARS",
    "DEFAULT_MAX_FIELD_BYTES",
    "DEFAULT_MAX_RECORD_BYTES",
    "MIN_FIELD_BYTES",
    "MIN_RECORD_BYTES",
    "ConsoleFormatter",
    "JsonFormatter",
    "colour_wanted",
    "format_timestamp",
    "record_exception",
]
