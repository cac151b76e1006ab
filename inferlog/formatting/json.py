"""JSON lines: :class:`JsonFormatter`, the formatter of the pipeline.

It builds the record in the order ``docs/schema.md`` gives, hands it to orjson in one
call and only falls back to the careful, budgeted walk
(:mod:`inferlog.formatting._bounds`) when orjson refuses the data or the output breaks
a size cap. Whatever the record holds, ``format()`` returns one valid JSON line and
never raises.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, Final

import orjson
from pythonjsonlogger.orjson import OrjsonFormatter

from inferlog import schema
from inferlog import schema as _schema
from inferlog._diagnostics import report_once
from inferlog._text import safe_str
from inferlog.formatting._bounds import (
    fit_str,
    json_size,
    safe_key,
    to_json_safe,
)
from inferlog.formatting._coerce import (
    MARKER_RESERVE,
    clean_text,
    fast_options,
    orjson_default,
)
from inferlog.formatting._fields import (
    _extra_fields,
    _stack_lines,
    format_timestamp,
    record_exception,
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
#: Smallest accepted ``max_record_bytes``: the core fields and the note about dropped
#: fields must always fit.
MIN_RECORD_BYTES: Final = 1024
#: Smallest accepted ``max_field_bytes``: every truncation marker must fit.
MIN_FIELD_BYTES: Final = 256
#: Bytes kept free in a record that is being cut for the ``dropped_fields`` note.
_DROPPED_NOTE_BYTES: Final = 320
#: Longest message and error text in the minimal line written when formatting failed.
_FAILURE_TEXT_CHARS: Final = 2_000


#: Marks "not tried yet"; orjson never encodes a value as zero bytes.
_NOT_ENCODED: Final = b""


def _encode_field(value: Any) -> bytes | None:
    """One orjson attempt at a single field; None when orjson refuses it."""
    try:
        return orjson.dumps(
            value, default=orjson_default, option=fast_options() | orjson.OPT_NON_STR_KEYS
        )
    except TypeError:
        return None


def _field_value(value: Any, budget: int, encoded: bytes | None = _NOT_ENCODED) -> tuple[Any, int]:
    """Return ``value`` ready for orjson within ``budget`` bytes, and its size.

    Most fields of a record that needed the careful path are fine on their own (one
    lone surrogate, one huge payload): those are encoded once, by orjson, and kept
    as a :class:`orjson.Fragment`; only the others are walked. ``encoded`` is the
    field's encoding when the caller already tried (None: orjson refused it).
    """
    if encoded is _NOT_ENCODED:
        encoded = _encode_field(value)
    if encoded is not None and len(encoded) <= budget:
        size = len(encoded)
        return (orjson.loads(encoded) if _Fragment is None else _Fragment(encoded)), size
    return to_json_safe(value, budget)


#: orjson.Fragment (orjson 3.9.x and later) embeds bytes already encoded.
_Fragment: Any = getattr(orjson, "Fragment", None)


def _validate_names(option: str, value: object) -> dict[str, str]:
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


def _validate_size(option: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{option} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{option} must be at least {minimum} bytes, got {value}")
    return value


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

    Args:
        schema: ``"inferlog"`` (default) or ``"otel"``, which writes OpenTelemetry
            semantic-convention names (:data:`inferlog.schema.OTEL_NAMES`).
        rename_fields: ``{field: output_name}``, applied last (after ``schema``).
        static_fields: fields added to every record (service, env, host, ...); a
            record's own extra of the same name wins.
        max_field_bytes: cap on the serialised value of one field.
        max_record_bytes: cap on the whole line, in UTF-8 bytes, newline excluded.
    """

    def __init__(
        self,
        *,
        schema: str = "inferlog",
        rename_fields: Mapping[str, str] | None = None,
        static_fields: Mapping[str, Any] | None = None,
        max_field_bytes: int = DEFAULT_MAX_FIELD_BYTES,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        if schema not in _SCHEMAS:
            raise ValueError(f"schema must be one of {', '.join(_SCHEMAS)}, got {schema!r}")
        renames = _validate_names("rename_fields", rename_fields)
        if static_fields is not None and not isinstance(static_fields, Mapping):
            raise ValueError(f"static_fields must be a mapping, got {type(static_fields).__name__}")
        statics = dict(static_fields or {})
        for key in statics:
            if not isinstance(key, str):
                raise ValueError(f"static_fields keys must be str, got {key!r}")
        self.max_record_bytes = _validate_size(
            "max_record_bytes", max_record_bytes, MIN_RECORD_BYTES
        )
        self.max_field_bytes = _validate_size("max_field_bytes", max_field_bytes, MIN_FIELD_BYTES)
        if self.max_field_bytes > self.max_record_bytes:
            raise ValueError(
                f"max_field_bytes ({max_field_bytes}) must not exceed "
                f"max_record_bytes ({max_record_bytes})"
            )
        super().__init__(rename_fields=renames, static_fields=statics, json_default=orjson_default)
        self.schema = schema
        self._names: dict[str, str] = {}
        if schema == "otel":
            self._names.update(_schema.OTEL_NAMES)
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
            return self._failure_line(record, err)

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
            return dict(self._failure_dict(record, err))
        if not isinstance(data, dict):  # a jsonify_log_record override gone wrong
            return dict(self._failure_dict(record, TypeError("the record is not an object")))
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
                log_data[core[3]] = safe_str(record.msg)
                fields[_schema.MESSAGE_ERROR_FIELD] = f"{type(err).__name__}: {safe_str(err)}"
                fields[_schema.MESSAGE_ARGS_FIELD] = record.args
        extras = _extra_fields(record)
        if fields:
            fields.update(extras)
        else:
            fields = extras
        for field, out in self._inference_out:
            if field in fields:
                log_data[out] = fields.pop(field)
        names = self._names
        for key, value in fields.items():
            out = names.get(key, key) if names else key
            if out in log_data:
                # An extra called "level" or "timestamp" must not hide the real one.
                out = f"{_schema.COLLISION_PREFIX}{out}"
            log_data[out] = value
        if record.stack_info:
            stack = _stack_lines(record.stack_info)
            if self.schema == "otel" and stack is not None:
                log_data[self._name(_schema.STACK_INFO_FIELD)] = "\n".join(stack)
            else:
                log_data[self._name(_schema.STACK_INFO_FIELD)] = stack
        exception = record_exception(record)
        if exception is not None:
            self._add_exception(log_data, exception)

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

    def jsonify_log_record(self, log_data: dict[str, Any]) -> str:
        """Serialise ``log_data`` within the caps: one orjson call when it can."""
        cap = self.max_record_bytes - len(self.prefix.encode("utf-8", "replace"))
        encoded: bytes | None
        options = fast_options()
        try:
            encoded = orjson.dumps(log_data, default=orjson_default, option=options)
        except TypeError:
            try:
                # Dicts with int keys are common (class -> probability); orjson writes
                # them with OPT_NON_STR_KEYS, which costs too much to always turn on.
                encoded = orjson.dumps(
                    log_data,
                    default=orjson_default,
                    option=options | orjson.OPT_NON_STR_KEYS,
                )
            except TypeError:
                encoded = None
        encodings: list[bytes | None] | None = None
        if encoded is not None:
            size = len(encoded)
            # A record no bigger than the field cap cannot hold a field above it.
            if size <= self.max_field_bytes:
                return encoded.decode("utf-8")
            if size <= cap:
                encodings = [_encode_field(value) for value in log_data.values()]
                if all(
                    part is not None and len(part) <= self.max_field_bytes for part in encodings
                ):
                    return encoded.decode("utf-8")
        return self._careful(log_data, cap, encodings).decode("utf-8")

    def _careful(
        self, log_data: dict[str, Any], cap: int, encodings: list[bytes | None] | None = None
    ) -> bytes:
        """Convert field by field within the budgets, most important fields first.

        ``encodings`` are the fields' orjson encodings when they were already tried.
        """
        items = list(log_data.items())
        position = {key: index for index, (key, _value) in enumerate(items)}
        order = [position[key] for key in self._priority if key in position]
        chosen = set(order)
        order += [index for index in range(len(items)) if index not in chosen]
        left = cap - 2 - _DROPPED_NOTE_BYTES  # {} and room to say what was dropped
        kept: dict[int, tuple[str, Any]] = {}
        dropped: list[str] = []
        for index in order:
            key, value = items[index]
            name = safe_key(key)
            key_size = json_size(name) + 2  # the colon, and a comma
            budget = min(self.max_field_bytes, left - key_size)
            if budget < MARKER_RESERVE:
                dropped.append(name)
                continue
            converted, size = _field_value(
                value, budget, _NOT_ENCODED if encodings is None else encodings[index]
            )
            kept[index] = (name, converted)
            left -= key_size + size
        result: dict[str, Any] = {}
        for index in sorted(kept):
            name, converted = kept[index]
            result[name] = converted
        if dropped:
            note = (
                f"{len(dropped)} field(s) left out to fit the {cap}-byte record cap: "
                + ", ".join(dropped)
            )
            key_size = json_size(_schema.DROPPED_FIELDS_FIELD) + 2
            result[_schema.DROPPED_FIELDS_FIELD] = fit_str(note, _DROPPED_NOTE_BYTES - key_size)[0]
        encoded = orjson.dumps(result)
        if len(encoded) > cap:  # pragma: no cover - the budgets above make this impossible
            raise RuntimeError(f"record of {len(encoded)} bytes exceeds cap {cap}")
        return encoded

    def _failure_line(self, record: logging.LogRecord, err: BaseException) -> str:
        """The minimal line written when formatting failed: it says what failed."""
        line = self._failure_dict(record, err)
        try:
            return orjson.dumps(line).decode("utf-8")
        except Exception:  # pragma: no cover - only str values; kept as a last resort
            return '{"message":"<inferlog: record could not be formatted>"}'

    def _failure_dict(self, record: logging.LogRecord, err: BaseException) -> dict[str, str]:
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
                line[field] = clean_text(read()[:_FAILURE_TEXT_CHARS])
            except Exception:
                line[field] = "<unavailable>"
        try:
            error = f"{type(err).__name__}: {safe_str(err)}"
            line[_schema.FORMAT_ERROR_FIELD] = clean_text(error[:_FAILURE_TEXT_CHARS])
        except Exception:  # pragma: no cover - safe_str does not raise
            line[_schema.FORMAT_ERROR_FIELD] = "<unavailable>"
        return line


_SCHEMAS: Final = schema.SCHEMAS
_ALL_NAMED_FIELDS: Final = (
    *schema.FIELD_ORDER,
    schema.STACK_INFO_FIELD,
    schema.EXCEPTION_FIELD,
)
