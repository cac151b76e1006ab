"""Which fields a record gets beyond the schema: python-json-logger's options, parsed.

:class:`JsonFormatter` accepts the options of python-json-logger's formatters with the
same meaning (a format string naming the fields, ``defaults``, ``reserved_attrs``,
``timestamp``, ``exc_info_as_array``...). This module turns them, once, into a
:class:`FieldLayout` that the formatter consults per record; with none of them set the
layout is :data:`SCHEMA_LAYOUT` and the formatter's default path does not look at it.
"""

from __future__ import annotations

import base64
import datetime
import json
import logging
import re
import socket
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from inferlog import schema
from inferlog._record import STANDARD_RECORD_ATTRS
from inferlog.formatting._coerce import orjson_default

#: Format-string styles: the three of ``logging`` plus python-json-logger's comma list.
STYLES: Final = ("%", "{", "$", ",")
#: The pseudo-field holding the machine's host name (``socket.gethostname()``).
HOSTNAME_FIELD: Final = "hostname"
#: Standard record attributes ``record_fields`` may name, plus the host name.
RECORD_FIELDS: Final = (
    "process",
    "processName",
    "thread",
    "threadName",
    "taskName",
    "module",
    "funcName",
    "lineno",
    "pathname",
    "filename",
    "levelno",
    "created",
    "msecs",
    "relativeCreated",
    "asctime",
    HOSTNAME_FIELD,
)
#: ``exception_field`` values: inferlog's structured object, or python-json-logger's text.
EXCEPTION_FIELDS: Final = ("exception", "exc_info")
#: ``timestamp_format`` values: RFC 3339 with microseconds and ``Z``, or
#: ``datetime.isoformat()`` with ``+00:00`` as python-json-logger writes it.
TIMESTAMP_FORMATS: Final = ("rfc3339", "isoformat")
#: ``bytes_format`` values: UTF-8 text (``\\xNN`` for invalid bytes), or URL-safe base64.
BYTES_FORMATS: Final = ("text", "base64")

_PERCENT = re.compile(r"%\(([^)]+)\)")
_BRACE = re.compile(r"\{([^{}:!]+)[^{}]*\}")
_DOLLAR = re.compile(r"\$(?:\$|\{([^}]+)\}|([_a-zA-Z][_a-zA-Z0-9]*))")
_STYLE_CLASSES: Final[Mapping[str, type[logging.PercentStyle]]] = {
    "%": logging.PercentStyle,
    "{": logging.StrFormatStyle,
    "$": logging.StringTemplateStyle,
}


def parse_format(fmt: str | Sequence[str], style: str, validate: bool) -> tuple[str, ...]:
    """Return the field names ``fmt`` names, in order, as python-json-logger reads them.

    ``fmt`` is a ``logging`` format string in ``style`` (``%``, ``{``, ``$``), a comma
    separated list (``style=","``) or a sequence of names. With ``validate`` the string
    is checked the way ``logging.Formatter`` checks it.
    """
    if not isinstance(fmt, str):
        names = list(fmt)
        if not all(isinstance(name, str) and name for name in names):
            raise ValueError(f"fmt must be a str or a sequence of field names, got {fmt!r}")
        return tuple(names)
    if style not in STYLES:
        raise ValueError(f"style must be one of {', '.join(STYLES)}, got {style!r}")
    if style == ",":
        return tuple(part.strip() for part in fmt.split(",") if part.strip())
    if validate:
        _STYLE_CLASSES[style](fmt).validate()
    if style == "%":
        return tuple(_PERCENT.findall(fmt))
    if style == "{":
        return tuple(name.strip() for name in _BRACE.findall(fmt))
    return tuple(braced or named for braced, named in _DOLLAR.findall(fmt) if braced or named)


def check_record_fields(value: object) -> tuple[str, ...]:
    """Validate the ``record_fields`` option."""
    if value is None:
        return ()
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, Sequence) or not all(name in RECORD_FIELDS for name in names):
        raise ValueError(
            f"record_fields must be a list of names from {RECORD_FIELDS}, got {value!r}"
        )
    return tuple(names)


def check_choice(option: str, value: object, accepted: tuple[str, ...]) -> str:
    """Return ``value`` when it is one of ``accepted``; ValueError naming them otherwise."""
    if value not in accepted:
        raise ValueError(f"{option} must be one of {', '.join(accepted)}, got {value!r}")
    return str(value)


def check_names(option: str, value: object) -> dict[str, str]:
    """Validate a ``{field: output_name}`` option such as ``rename_fields``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{option} must be a mapping of str to str, got {type(value).__name__}")
    result: dict[str, str] = {}
    for key, new in value.items():
        if not isinstance(key, str) or not isinstance(new, str) or not new:
            raise ValueError(
                f"{option} must map field names to non-empty str, got {key!r}: {new!r}"
            )
        result[key] = new
    return result


def check_fields(option: str, value: object) -> dict[str, Any]:
    """Validate a ``{field: value}`` option such as ``static_fields``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{option} must be a mapping, got {type(value).__name__}")
    for key in value:
        if not isinstance(key, str):
            raise ValueError(f"{option} keys must be str, got {key!r}")
    return dict(value)


def check_size(option: str, value: object, minimum: int) -> int:
    """Validate a byte cap of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{option} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{option} must be at least {minimum} bytes, got {value}")
    return value


_hostname: str | None = None


def hostname() -> str:
    """The machine's host name, read on first use (not at construction) and cached."""
    global _hostname
    if _hostname is None:
        _hostname = socket.gethostname()
    return _hostname


def iso_timestamp(created: float) -> str:
    """``created`` as python-json-logger writes its ``timestamp``: ``isoformat()`` in UTC."""
    return datetime.datetime.fromtimestamp(created, tz=datetime.timezone.utc).isoformat()


@dataclass(frozen=True)
class FieldLayout:
    """The per-record choices that python-json-logger's options make.

    Attributes:
        format_fields: the fields named by ``fmt``, which replace the schema's core
            fields; None to write the schema's ``timestamp``, ``level``, ``logger``,
            ``message``.
        record_fields: standard record attributes written after the core fields.
        reserved: attribute names that are never extras (None: the standard ones).
        timestamp_key: with a format string, the key of an added timestamp, or None.
        iso_timestamps: write timestamps as ``datetime.isoformat()``.
        exc_info: write the exception as traceback text under ``exc_info``.
        exc_info_as_array: that text as a list of lines.
        stack_info_as_array: ``stack_info`` as a list of lines (else one string).
        keep_missing: rename targets to write as null when absent.
    """

    format_fields: tuple[str, ...] | None = None
    record_fields: tuple[str, ...] = ()
    reserved: frozenset[str] | None = None
    timestamp_key: str | None = None
    iso_timestamps: bool = False
    exc_info: bool = False
    exc_info_as_array: bool = False
    stack_info_as_array: bool = True
    keep_missing: tuple[str, ...] = ()

    def extras(self, record: logging.LogRecord) -> dict[Any, Any]:
        """The record's extra fields under ``reserved`` and the format's own fields."""
        skip = STANDARD_RECORD_ATTRS if self.reserved is None else self.reserved
        taken = self.format_fields or ()
        return {
            key: value
            for key, value in record.__dict__.items()
            if key not in skip
            and key not in taken
            and key != schema.EXCEPTION_FIELD
            and not (isinstance(key, str) and key.startswith("_"))
        }

    def attribute(self, formatter: logging.Formatter, record: logging.LogRecord, name: str) -> Any:
        """The value of record attribute ``name`` as python-json-logger writes it."""
        if name == "message":
            return "" if isinstance(record.msg, dict) else record.getMessage()
        if name == "asctime":
            return formatter.formatTime(record, formatter.datefmt)
        if name == HOSTNAME_FIELD:
            return hostname()
        if name == "exc_info":
            return self.exception_text(formatter, record)
        if name == "stack_info":
            return self.stack(record.stack_info) if record.stack_info else None
        return record.__dict__.get(name)

    def exception_text(self, formatter: logging.Formatter, record: logging.LogRecord) -> Any:
        """python-json-logger's ``exc_info``: the traceback text, or a list of its lines."""
        text: str | list[str]
        if record.exc_info:
            # python-json-logger's own formatException already splits into lines.
            text = formatter.formatException(record.exc_info)
        elif record.exc_text:
            text = record.exc_text
        else:
            # Behind a queue the exception travels as data (``record.exception``).
            prepared = record.__dict__.get(schema.EXCEPTION_FIELD)
            stack = prepared.get("stack") if isinstance(prepared, Mapping) else None
            if not isinstance(stack, list):
                return None
            text = [str(line) for line in stack]
        lines = text if isinstance(text, list) else text.splitlines()
        return lines if self.exc_info_as_array else "\n".join(lines)

    def stack(self, stack_info: str) -> Any:
        """``stack_info`` as a list of lines, or as the one string python-json-logger writes."""
        text = str(stack_info).rstrip("\n")
        return text.split("\n") if self.stack_info_as_array else text


#: The layout of a formatter given none of python-json-logger's options.
SCHEMA_LAYOUT: Final = FieldLayout()


def build_layout(
    fmt: str | Sequence[str] | None,
    *,
    style: str,
    validate: bool,
    record_fields: Sequence[str] | None,
    reserved_attrs: Iterable[str] | None,
    timestamp: bool | str,
    timestamp_format: str,
    exception_field: str | None,
    exc_info_as_array: bool,
    stack_info_as_array: bool,
    renames: Mapping[str, str],
    keep_missing: bool,
    has_defaults: bool,
) -> FieldLayout:
    """Check python-json-logger's options and turn them into the layout used per record.

    Returns :data:`SCHEMA_LAYOUT` itself when they change nothing (and there are no
    ``defaults``), so that the formatter can keep its default path.
    """
    fields = None if fmt is None else parse_format(fmt, style, validate)
    if exception_field is None:
        wanted = exc_info_as_array or "exc_info" in renames or "exc_info" in (fields or ())
        exception_field = "exc_info" if wanted else "exception"
    check_choice("exception_field", exception_field, EXCEPTION_FIELDS)
    check_choice("timestamp_format", timestamp_format, TIMESTAMP_FORMATS)
    if isinstance(reserved_attrs, str):
        raise ValueError(f"reserved_attrs must be a list of names, got {reserved_attrs!r}")
    stamp_key = None
    if timestamp and fields is not None:
        stamp_key = timestamp if isinstance(timestamp, str) else schema.TIMESTAMP
    layout = FieldLayout(
        format_fields=fields,
        record_fields=check_record_fields(record_fields),
        reserved=None if reserved_attrs is None else frozenset(reserved_attrs),
        timestamp_key=stamp_key,
        iso_timestamps=timestamp_format == "isoformat",
        exc_info=exception_field == "exc_info",
        exc_info_as_array=bool(exc_info_as_array),
        stack_info_as_array=bool(stack_info_as_array),
        keep_missing=tuple(renames.values()) if keep_missing else (),
    )
    if layout == SCHEMA_LAYOUT and not has_defaults:
        return SCHEMA_LAYOUT
    return layout


def chain_default(
    first: Callable[[Any], Any] | None,
    bytes_base64: bool,
    then: Callable[[Any], Any] = orjson_default,
) -> Callable[[Any], Any]:
    """An orjson ``default=`` hook: ``first`` (the user's), falling back to ``then``.

    A value ``first`` refuses (by raising) gets inferlog's representation, so a
    ``json_default`` written for one type never makes the record fail.
    """
    if first is None and not bytes_base64:
        return then

    def default(obj: Any) -> Any:
        if bytes_base64 and isinstance(obj, (bytes, bytearray)):
            return base64.urlsafe_b64encode(obj).decode("ascii")
        if first is not None:
            try:
                return first(obj)
            except Exception:
                pass
        return then(obj)

    return default


def encoder_default(json_encoder: object) -> Callable[[Any], Any]:
    """The ``default`` method of a ``json.JSONEncoder`` subclass given as ``json_encoder``."""
    if not (isinstance(json_encoder, type) and issubclass(json_encoder, json.JSONEncoder)):
        raise TypeError(f"json_encoder must be a json.JSONEncoder subclass, got {json_encoder!r}")
    default: Callable[[Any], Any] = json_encoder().default
    return default


def reformatter(
    serializer: Callable[..., str] | None, indent: int | str | bool | None, ensure_ascii: bool
) -> Callable[[str], str] | None:
    """What turns the compact line into the one asked for, or None to keep it as is.

    Indentation and ASCII escapes are what the stdlib ``json`` writes; orjson writes
    neither, so a line that asks for them is rewritten, a cost only they pay.
    """
    if isinstance(indent, bool):
        indent = 2 if indent else None
    if serializer is None and indent is None and not ensure_ascii:
        return None
    dumps: Callable[..., str] = json.dumps if serializer is None else serializer

    def rewrite(line: str) -> str:
        return dumps(json.loads(line), indent=indent, ensure_ascii=ensure_ascii)

    return rewrite
