"""JSON lines: :class:`JsonFormatter`, the formatter of the pipeline.

It builds the record in the order ``docs/schema.md`` gives, hands it to orjson in one
call and only falls back to the careful, budgeted walk
(:mod:`inferlog.formatting._bounds`) when orjson refuses the data or the output breaks
a size cap. Whatever the record holds, ``format()`` returns one valid JSON line and
never raises.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter

from inferlog import schema
from inferlog import schema as _schema
from inferlog._text import safe_str
from inferlog.formatting._coerce import fast_options
from inferlog.formatting._failure import failure_dict, failure_line
from inferlog.formatting._fields import (
    _NOT_EXTRAS,
    _extra_fields,
    _stack_lines,
    format_timestamp,
    output_order,
    record_exception,
)
from inferlog.formatting._fit import encode_field, fit_record
from inferlog.formatting._layout import (
    BYTES_FORMATS,
    SCHEMA_LAYOUT,
    build_layout,
    chain_default,
    check_choice,
    check_fields,
    check_names,
    check_size,
    encoder_default,
    iso_timestamp,
    reformatter,
)

__all__ = [
    "DEFAULT_MAX_FIELD_BYTES",
    "DEFAULT_MAX_RECORD_BYTES",
    "MIN_FIELD_BYTES",
    "MIN_RECORD_BYTES",
    "JsonFormatter",
]

#: Largest record by default, in bytes of UTF-8 without the newline: a CloudWatch Logs
#: event may be 256 KiB including 26 bytes of per-event overhead, and Google Cloud
#: Logging's limit for an entry is the same order, so a record of this size fits both.
DEFAULT_MAX_RECORD_BYTES: Final = 256 * 1024 - 26
#: Largest serialised value of one field by default: room for a long prompt or
#: response, while four such fields still fit one record.
DEFAULT_MAX_FIELD_BYTES: Final = 64 * 1024
#: How timestamps are written by default: RFC 3339, UTC, microseconds, ``Z``.
DEFAULT_TIMESTAMP_FORMAT: Final = "rfc3339"
#: How bytes values are written by default: as UTF-8 text, which is what they mostly are.
DEFAULT_BYTES_FORMAT: Final = "text"
#: Smallest accepted ``max_record_bytes``: the core fields and the note about dropped
#: fields must always fit.
MIN_RECORD_BYTES: Final = 1024
#: Smallest accepted ``max_field_bytes``: every truncation marker must fit.
MIN_FIELD_BYTES: Final = 256


#: Layouts (attribute names in order) whose plans a formatter keeps; cleared when full.
_PLAN_CACHE_LIMIT: Final = 4_096
#: The plan of a layout that takes the careful way (a key that is not a non-empty str).
_NO_PLAN: Final[tuple[tuple[str, str], ...]] = (("", ""),)


class JsonFormatter(OrjsonFormatter):
    """Format each record as one JSON object on one line, in the inferlog schema.

    Keys come in the order of :data:`inferlog.schema.FIELD_ORDER`, then static and
    extra fields in insertion order, then ``stack_info`` and ``exception``. Values of
    any type are written (see ``docs/schema.md`` for how odd ones look); a value
    larger than ``max_field_bytes`` and a record larger than ``max_record_bytes`` are
    cut with explicit markers. :meth:`format` never raises: if something fails, a
    minimal valid line names what failed. :meth:`record_dict` gives the same record
    as a dict, for sinks that send structured entries; :meth:`format` writes exactly
    that dict.

    It is a drop-in for python-json-logger's formatters: every option they document
    is accepted with the same meaning (``docs/migrating.md``), and where inferlog
    differs on purpose, ``tests/compat/pjl_differences.json`` says how and why.

    Args:
        fmt: a format string (``"%(levelname)s %(message)s"``) or a sequence of
            record attribute names, as python-json-logger reads it: the fields it
            names are written under those names instead of the schema's
            ``timestamp``, ``level``, ``logger`` and ``message``.
        datefmt: ``time.strftime`` format of ``asctime``.
        style: how ``fmt`` names fields: ``"%"``, ``"{"``, ``"$"`` or ``","``.
        validate: check ``fmt`` against ``style`` as ``logging.Formatter`` does.
        schema: ``"inferlog"`` (default) or ``"otel"``, which writes OpenTelemetry
            semantic-convention names (:data:`inferlog.schema.OTEL_NAMES`).
        rename_fields: ``{field: output_name}``, applied last (after ``schema``).
        rename_fields_keep_missing: write each ``rename_fields`` target as null when
            the record has no such field.
        static_fields: fields added to every record (service, env, host, ...); a
            record's own extra of the same name wins.
        defaults: like ``static_fields``, at the lowest priority.
        record_fields: standard record attributes to add after the core fields
            (``process``, ``threadName``, ``funcName``, ``lineno``, ``hostname``...,
            see :data:`~inferlog.formatting.RECORD_FIELDS`).
        reserved_attrs: record attributes that are never written as extras
            (default: every standard ``LogRecord`` attribute).
        timestamp: with ``fmt``, True or a key adds the record's time under
            ``"timestamp"`` or that key; without ``fmt`` a str renames ``timestamp``.
        timestamp_format: ``"rfc3339"`` (``2026-12-06T16:13:04.123456Z``) or
            ``"isoformat"`` (``2026-12-06T16:13:04.123456+00:00``, python-json-logger's).
        exception_field: ``"exception"`` (a ``{type, message, stack}`` object) or
            ``"exc_info"`` (python-json-logger's traceback text); ``exc_info_as_array``,
            or ``exc_info`` in ``fmt`` or in ``rename_fields``, choose ``"exc_info"``.
        exc_info_as_array: write ``exc_info`` as a list of lines.
        stack_info_as_array: write ``stack_info`` as a list of lines (default) or,
            with False, as one string.
        bytes_format: ``"text"`` (UTF-8, ``\\xNN`` for invalid bytes) or ``"base64"``.
        json_default: called for values orjson cannot write; when it raises, the value
            gets inferlog's representation.
        json_encoder: a ``json.JSONEncoder`` subclass whose ``default`` is used the same way.
        json_serializer: a ``json.dumps``-like callable that writes the final line.
        json_indent: indent the line (``True`` = 2 spaces, or an int or str).
        json_ensure_ascii: escape non-ASCII characters.
        prefix: text written before each JSON object.
        max_field_bytes: cap on the serialised value of one field.
        max_record_bytes: cap on the whole line, in UTF-8 bytes, newline excluded.
    """

    def __init__(
        self,
        fmt: str | Sequence[str] | None = None,
        datefmt: str | None = None,
        style: str = "%",
        validate: bool = True,
        *,
        schema: str = "inferlog",
        rename_fields: Mapping[str, str] | None = None,
        rename_fields_keep_missing: bool = False,
        static_fields: Mapping[str, Any] | None = None,
        defaults: Mapping[str, Any] | None = None,
        record_fields: Sequence[str] | None = None,
        reserved_attrs: Iterable[str] | None = None,
        timestamp: bool | str = False,
        timestamp_format: str = DEFAULT_TIMESTAMP_FORMAT,
        exception_field: str | None = None,
        exc_info_as_array: bool = False,
        stack_info_as_array: bool = True,
        bytes_format: str = DEFAULT_BYTES_FORMAT,
        json_default: Callable[[Any], Any] | None = None,
        json_encoder: type[json.JSONEncoder] | None = None,
        json_serializer: Callable[..., str] | None = None,
        json_indent: int | str | bool | None = None,
        json_ensure_ascii: bool = False,
        prefix: str = "",
        max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        if schema not in _SCHEMAS:
            raise ValueError(f"schema must be one of {', '.join(_SCHEMAS)}, got {schema!r}")
        renames = check_names("rename_fields", rename_fields)
        statics = check_fields("static_fields", static_fields)
        default_fields = check_fields("defaults", defaults)
        self.max_record_bytes = check_size("max_record_bytes", max_record_bytes, MIN_RECORD_BYTES)
        self.max_field_bytes = check_size("max_field_bytes", max_field_bytes, MIN_FIELD_BYTES)
        if self.max_field_bytes > self.max_record_bytes:
            raise ValueError(
                f"max_field_bytes ({max_field_bytes}) must not exceed "
                f"max_record_bytes ({max_record_bytes})"
            )
        if not isinstance(prefix, str):
            raise ValueError(f"prefix must be a str, got {prefix!r}")
        if json_encoder is not None:
            json_default = encoder_default(json_encoder)
        if json_default is not None and not callable(json_default):
            raise ValueError(f"json_default must be callable, got {json_default!r}")
        self._default = chain_default(
            json_default, check_choice("bytes_format", bytes_format, BYTES_FORMATS) == "base64"
        )
        super().__init__(
            rename_fields=renames, static_fields=statics, json_default=self._default, prefix=prefix
        )
        self.datefmt = datefmt
        self.defaults = default_fields
        self.schema = schema
        self.rename_fields_keep_missing = rename_fields_keep_missing
        self.timestamp = timestamp
        self.exc_info_as_array = exc_info_as_array
        self.stack_info_as_array = stack_info_as_array
        self.json_ensure_ascii = json_ensure_ascii
        self._reformat = reformatter(json_serializer, json_indent, json_ensure_ascii)
        self._layout = build_layout(
            fmt,
            style=style,
            validate=validate,
            record_fields=record_fields,
            reserved_attrs=reserved_attrs,
            timestamp=timestamp,
            timestamp_format=timestamp_format,
            exception_field=exception_field,
            exc_info_as_array=exc_info_as_array,
            stack_info_as_array=stack_info_as_array,
            renames=renames,
            keep_missing=rename_fields_keep_missing,
            has_defaults=bool(default_fields),
        )
        self._names: dict[str, str] = {}
        if schema == "otel":
            self._names.update(_schema.OTEL_NAMES)
        if isinstance(timestamp, str) and fmt is None:
            self._names[_schema.TIMESTAMP] = timestamp
        self._names.update(renames)
        outputs = [self._name(field) for field in _ALL_NAMED_FIELDS]
        clashes = sorted({name for name in outputs if outputs.count(name) > 1})
        if clashes:
            raise ValueError(f"rename_fields gives several fields the same name: {clashes}")
        # Fields that get their share of the record budget first when a record must be
        # cut: what identifies the record and what went wrong matter most.
        self._priority = [
            self._name(field)
            for field in (
                *_schema.CORE_FIELDS[:3],
                _schema.EXCEPTION_FIELD,
                _schema.OTEL_EXCEPTION_TYPE,
                _schema.OTEL_EXCEPTION_MESSAGE,
                _schema.MESSAGE,
                *_schema.INFERENCE_FIELDS,
                _schema.OTEL_EXCEPTION_STACKTRACE,
            )
        ]
        # Output names worked out once: format() runs for every record.
        self._core_out = tuple(self._name(field) for field in _schema.CORE_FIELDS)
        # Record layout -> (attribute, output name) of each extra, in output order.
        self._plans: dict[tuple[Any, ...], tuple[tuple[str, str], ...]] = {}
        self._inference_out = tuple(
            (field, self._name(field)) for field in _schema.INFERENCE_FIELDS
        )

    def _name(self, field: str) -> str:
        return self._names.get(field, field)

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one line of JSON; never raises.

        The line is the serialisation of :meth:`record_dict` (after ``prefix``).
        """
        try:
            return str(self.serialize_log_record(self._log_data(record)))
        except Exception as err:
            return failure_line(record, err)

    def record_dict(self, record: logging.LogRecord) -> dict[str, Any]:
        """Return the JSON-ready dict of ``record``: what :meth:`format` writes, as data.

        For sinks that send structured entries (a cloud logging API) rather than
        lines. The keys are the output names in schema order (``schema``,
        ``rename_fields`` and ``static_fields`` applied), the values are plain JSON
        types (``str`` keys; ``str``, ``int``, ``float``, ``bool``, ``None``,
        ``list``, ``dict``) cut to ``max_field_bytes``, the whole within
        ``max_record_bytes``, and the exception is the ``exception`` object (or the
        ``exception.*`` attributes under ``schema="otel"``). ``format(record)`` is
        ``prefix`` plus this dict serialised by orjson, byte for byte. Never raises:
        when formatting fails, the dict is the minimal one that names what failed.
        """
        try:
            data = orjson.loads(self.jsonify_log_record(self._log_data(record)))
        except Exception as err:
            return failure_dict(record, err)
        if not isinstance(data, dict):  # a jsonify_log_record override gone wrong
            return failure_dict(record, TypeError("the record is not an object"))
        return data

    def _log_data(self, record: logging.LogRecord) -> dict[str, Any]:
        """The fields of ``record`` before serialisation: add_fields, then process_log_record."""
        message_dict: dict[str, Any] = {}
        if isinstance(record.msg, dict) and not record.args:
            # python-json-logger's convention: a dict message becomes fields.
            message_dict = dict(record.msg)
        log_data: dict[str, Any] = {}
        self.add_fields(log_data, record, message_dict)
        return self.process_log_record(log_data)

    def add_fields(
        self,
        log_data: dict[str, Any],
        record: logging.LogRecord,
        message_dict: dict[str, Any],
    ) -> None:
        """Fill ``log_data`` from ``record`` in schema order.

        Override to add or change fields; call this first to keep the order.
        """
        if self._layout is not SCHEMA_LAYOUT:
            self._add_layout_fields(log_data, record, message_dict)
            return
        core = self._core_out
        log_data[core[0]] = format_timestamp(record.created)
        log_data[core[1]] = record.levelname
        log_data[core[2]] = record.name
        fields: dict[Any, Any] = {}
        if self.static_fields or message_dict:
            fields.update(self.static_fields)
            fields.update(message_dict)
        if message_dict:
            log_data[core[3]] = ""
        else:
            try:
                log_data[core[3]] = record.getMessage()
            except Exception as err:
                log_data[core[3]] = _unformattable(record, err, fields)
        if not fields:
            # The common record: its extras' output names and order follow from its
            # layout (attribute names in order), which one call site's records share.
            attrs = record.__dict__
            layout = tuple(attrs)
            plans = self._plans
            plan = plans.get(layout)
            if plan is None:
                if len(plans) >= _PLAN_CACHE_LIMIT:
                    plans.clear()
                plan = plans[layout] = self._plan(layout, tuple(log_data))
            if plan is not _NO_PLAN:
                for key, out in plan:
                    log_data[out] = attrs[key]
                self._add_tail(log_data, record)
                return
        extras = _extra_fields(record)
        if fields:
            fields.update(extras)
        else:
            fields = extras
        for key, out in output_order(fields, self._inference_out, self._names, log_data):
            log_data[out] = fields[key]
        self._add_tail(log_data, record)

    def _plan(
        self, layout: tuple[Any, ...], placed: tuple[str, ...]
    ) -> tuple[tuple[str, str], ...]:
        """(attribute, output name) of each extra of records with ``layout``, in the order
        add_fields writes them after the ``placed`` fields; _NO_PLAN for the careful way."""
        if not all(type(key) is str and key for key in layout):
            return _NO_PLAN
        extras = (key for key in layout if key not in _NOT_EXTRAS and key[0] != "_")
        return tuple(output_order(extras, self._inference_out, self._names, placed))

    def _add_tail(self, log_data: dict[str, Any], record: logging.LogRecord) -> None:
        if record.stack_info:
            stack = _stack_lines(record.stack_info)
            if self.schema == "otel" and stack is not None:
                log_data[self._name(_schema.STACK_INFO_FIELD)] = "\n".join(stack)
            else:
                log_data[self._name(_schema.STACK_INFO_FIELD)] = stack
        exception = record_exception(record)
        if exception is not None:
            self._add_exception(log_data, exception)

    def _add_layout_fields(
        self, log_data: dict[str, Any], record: logging.LogRecord, message_dict: dict[str, Any]
    ) -> None:
        """:meth:`add_fields` when python-json-logger's options change the fields."""
        layout = self._layout
        names = self._names
        fields: dict[Any, Any] = {**self.defaults, **self.static_fields, **message_dict}
        if layout.format_fields is None:
            core = self._core_out
            log_data[core[0]] = self._timestamp(record.created)
            log_data[core[1]] = record.levelname
            log_data[core[2]] = record.name
            try:
                log_data[core[3]] = "" if message_dict else record.getMessage()
            except Exception as err:
                log_data[core[3]] = _unformattable(record, err, fields)
        else:
            for name in layout.format_fields:
                log_data[names.get(name, name)] = layout.attribute(self, record, name)
        for name in layout.record_fields:
            log_data[names.get(name, name)] = layout.attribute(self, record, name)
        fields.update(layout.extras(record))
        for key, out in output_order(fields, self._inference_out, names, log_data):
            log_data[out] = fields[key]
        if layout.timestamp_key is not None:
            log_data[self._name(layout.timestamp_key)] = self._timestamp(record.created)
        taken = layout.format_fields or ()
        if record.stack_info and _schema.STACK_INFO_FIELD not in taken:
            stack = layout.stack(record.stack_info)
            if self.schema == "otel" and isinstance(stack, list):
                stack = "\n".join(stack)
            log_data[self._name(_schema.STACK_INFO_FIELD)] = stack
        if not layout.exc_info:
            exception = record_exception(record)
            if exception is not None:
                self._add_exception(log_data, exception)
        elif "exc_info" not in taken and not message_dict.get("exc_info"):
            text = layout.exception_text(self, record)
            if text is not None:
                log_data[self._name("exc_info")] = text
        for out in layout.keep_missing:
            log_data.setdefault(out, None)

    def _timestamp(self, created: float) -> str:
        if self._layout.iso_timestamps:
            return iso_timestamp(created)
        return format_timestamp(created)

    def serialize_log_record(self, log_data: dict[str, Any]) -> str:
        """Return ``prefix`` and the line; indented or ASCII-only when asked for."""
        line = self.jsonify_log_record(log_data)
        if self._reformat is not None:
            line = self._reformat(line)
        return self.prefix + line

    def _add_exception(self, log_data: dict[str, Any], exception: Any) -> None:
        if self.schema == "otel" and isinstance(exception, Mapping):
            stack = exception.get("stack")
            if isinstance(stack, list):
                stack = "\n".join(safe_str(line) for line in stack)
            log_data[self._name(_schema.OTEL_EXCEPTION_TYPE)] = exception.get("type")
            log_data[self._name(_schema.OTEL_EXCEPTION_MESSAGE)] = exception.get("message")
            log_data[self._name(_schema.OTEL_EXCEPTION_STACKTRACE)] = stack
        else:
            log_data[self._name(_schema.EXCEPTION_FIELD)] = exception

    def line_bytes(self, record: logging.LogRecord) -> bytes | None:
        """``format(record)`` plus a newline, as UTF-8, for sinks that write bytes.

        Skips the round trip through ``str`` (a 3 KB record decoded and encoded
        again) when the output is exactly orjson's: returns None for a subclass, a
        ``prefix`` or a reformatting serializer, which take :meth:`format`. A JSON
        line holds no raw line break. Never raises.
        """
        if type(self) is not JsonFormatter or self.prefix or self._reformat is not None:
            return None
        try:
            return self._jsonify_bytes(self._log_data(record)) + b"\n"
        except Exception as err:
            return (failure_line(record, err) + "\n").encode("utf-8", "backslashreplace")

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        """Serialise ``log_data`` within the caps: one orjson call when it can."""
        return self._jsonify_bytes(log_data).decode("utf-8")

    def _jsonify_bytes(self, log_data: dict[str, Any]) -> bytes:
        cap = self.max_record_bytes - len(self.prefix.encode("utf-8", "replace"))
        encoded: bytes | None
        options = fast_options()
        try:
            encoded = orjson.dumps(log_data, default=self._default, option=options)
        except TypeError:
            try:
                # Dicts with int keys are common (class -> probability); orjson writes
                # them with OPT_NON_STR_KEYS, which costs too much to always turn on.
                encoded = orjson.dumps(
                    log_data,
                    default=self._default,
                    option=options | orjson.OPT_NON_STR_KEYS,
                )
            except TypeError:
                encoded = None
        encodings: list[bytes | None] | None = None
        if encoded is not None:
            size = len(encoded)
            # A record no bigger than the field cap cannot hold a field above it.
            if size <= self.max_field_bytes:
                return encoded
            if size <= cap:
                encodings = [encode_field(value, self._default) for value in log_data.values()]
                if all(
                    part is not None and len(part) <= self.max_field_bytes for part in encodings
                ):
                    return encoded
        return fit_record(log_data, cap, self.max_field_bytes, self._priority, encodings)


def _unformattable(record: logging.LogRecord, err: Exception, fields: dict[Any, Any]) -> str:
    """The message of a record whose ``msg % args`` failed; says why in ``fields``."""
    fields[_schema.MESSAGE_ERROR_FIELD] = f"{type(err).__name__}: {safe_str(err)}"
    fields[_schema.MESSAGE_ARGS_FIELD] = record.args
    return safe_str(record.msg)


_SCHEMAS: Final = schema.SCHEMAS
_ALL_NAMED_FIELDS: Final = (
    *schema.FIELD_ORDER,
    schema.STACK_INFO_FIELD,
    schema.EXCEPTION_FIELD,
)
