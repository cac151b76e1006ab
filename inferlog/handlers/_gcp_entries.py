"""Pure mapping from an inferlog record dict to Google Cloud Logging's shapes.

Both Google sinks share it: :class:`~inferlog.handlers.CloudLoggingHandler` builds a
``LogEntry`` (the JSON form of ``entries.write``) and
:class:`~inferlog.handlers.StructuredStdoutHandler` builds the one-line JSON object
that the Cloud Run / GKE / Cloud Functions logging agent turns into a ``LogEntry``.
Nothing here does I/O or imports a Google library, so tests call every function
directly.

What moves out of the payload into the entry's own fields (and so is removed from
``jsonPayload``): ``timestamp``, ``level``, ``trace_id``, ``span_id`` (when they are
valid ids) and ``labels``. The access record's fields stay in the payload and are
also summarised as ``httpRequest``.
"""

from __future__ import annotations

import functools
import itertools
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, NamedTuple

import orjson

from inferlog import schema
from inferlog._safe import MORE_KEYS_KEY, safe_str, to_json_safe

__all__ = [
    "AGENT_FIELDS",
    "LABELS_FIELD",
    "LOG_SEVERITIES",
    "MAX_ENTRY_BYTES",
    "FieldNames",
    "RecordParts",
    "agent_line",
    "entry_size",
    "fit_entry",
    "http_request",
    "level_number",
    "log_entry",
    "severity_for_level",
    "source_location",
    "split_record",
    "trace_name",
]

#: Cloud Logging's ``LogSeverity`` names and their numbers, in order.
LOG_SEVERITIES: Final[Mapping[str, int]] = {
    "DEFAULT": 0,
    "DEBUG": 100,
    "INFO": 200,
    "NOTICE": 300,
    "WARNING": 400,
    "ERROR": 500,
    "CRITICAL": 600,
    "ALERT": 700,
    "EMERGENCY": 800,
}
#: Where the stdlib levels sit on the LogSeverity scale; levels between two of them
#: are placed proportionally, so ``25`` (half way from INFO to WARNING) is NOTICE.
_LEVEL_ANCHORS: Final = ((0, 0), (10, 100), (20, 200), (30, 400), (40, 500), (50, 600))
#: Above CRITICAL each 10 levels is one more step (60 is ALERT, 70 EMERGENCY).
_SEVERITY_PER_LEVEL_ABOVE: Final = 10

#: Cloud Logging's limit for one entry is 256 KiB as the service counts it (on its
#: own encoding); entries are cut to this many bytes of JSON, which leaves a margin.
MAX_ENTRY_BYTES: Final = 250_000
#: A record field holding a dict of per-record labels (``extra={"labels": {...}}``).
LABELS_FIELD: Final = "labels"

#: The special fields the logging agent reads from a JSON line on stdout.
AGENT_SEVERITY: Final = "severity"
AGENT_MESSAGE: Final = "message"
AGENT_TIME: Final = "time"
AGENT_TRACE: Final = "logging.googleapis.com/trace"
AGENT_SPAN_ID: Final = "logging.googleapis.com/spanId"
AGENT_LABELS: Final = "logging.googleapis.com/labels"
AGENT_HTTP_REQUEST: Final = "httpRequest"
AGENT_SOURCE_LOCATION: Final = "logging.googleapis.com/sourceLocation"
AGENT_INSERT_ID: Final = "logging.googleapis.com/insertId"
#: Every special field :func:`agent_line` may write.
AGENT_FIELDS: Final = frozenset(
    {
        AGENT_SEVERITY,
        AGENT_MESSAGE,
        AGENT_TIME,
        AGENT_TRACE,
        AGENT_SPAN_ID,
        AGENT_LABELS,
        AGENT_HTTP_REQUEST,
        AGENT_SOURCE_LOCATION,
        AGENT_INSERT_ID,
    }
)
#: Fields the agent would also treat specially; a payload field so named is renamed
#: so that user data is never read as an instruction to the agent.
_AGENT_RESERVED: Final = AGENT_FIELDS | {
    "timestamp",
    "timestampSeconds",
    "timestampNanos",
    "logging.googleapis.com/operation",
    "logging.googleapis.com/trace_sampled",
}

_TRACE_ID_RE: Final = re.compile(r"[0-9a-f]{32}")
_SPAN_ID_RE: Final = re.compile(r"[0-9a-f]{16}")
_ZERO_TRACE: Final = "0" * 32
_ZERO_SPAN: Final = "0" * 16


@functools.lru_cache(maxsize=256)
def severity_for_level(levelno: int) -> str:
    """Return the LogSeverity name nearest to stdlib level ``levelno``.

    The standard levels map to their namesakes (WARNING to WARNING, 50 to CRITICAL);
    a custom level maps to the nearest defined severity, ties going to the more
    severe one: ``25`` is NOTICE, ``15`` is INFO, ``60`` is ALERT, ``5`` is DEBUG.
    """
    if levelno <= 0:
        return "DEFAULT"
    scale: float = 0.0
    top_level, top_value = _LEVEL_ANCHORS[-1]
    if levelno >= top_level:
        scale = top_value + (levelno - top_level) * _SEVERITY_PER_LEVEL_ABOVE
    else:
        for (low, low_value), (high, high_value) in itertools.pairwise(_LEVEL_ANCHORS):
            if low <= levelno < high:
                scale = low_value + (levelno - low) * (high_value - low_value) / (high - low)
                break
    best = "DEFAULT"
    best_distance = float("inf")
    for name, value in LOG_SEVERITIES.items():
        distance = abs(value - scale)
        if distance <= best_distance:  # <=: a tie goes to the later, more severe one
            best, best_distance = name, distance
    return best


def level_number(level: object) -> int:
    """Return the stdlib level number of a record dict's ``level`` (a name or a number).

    Unknown names give ``logging.NOTSET``, which maps to severity DEFAULT.
    """
    if isinstance(level, int) and not isinstance(level, bool):
        return level
    if isinstance(level, str):
        found = logging.getLevelName(level)
        if isinstance(found, int):
            return found
        if level.startswith("Level "):  # what getLevelName gives for an unnamed level
            number = level[len("Level ") :]
            if number.isdigit():
                return int(number)
    return logging.NOTSET


def _is_hex(text: object, pattern: re.Pattern[str], zero: str) -> bool:
    return isinstance(text, str) and pattern.fullmatch(text) is not None and text != zero


def trace_name(project: str, trace_id: str) -> str:
    """Return the ``trace`` value Cloud Logging links to Cloud Trace: ``projects/P/traces/T``."""
    return f"projects/{project}/traces/{trace_id}"


def source_location(pathname: object, lineno: object, function: object) -> dict[str, str]:
    """Return a ``sourceLocation`` (``line`` as a string: it is an int64 in the API)."""
    location: dict[str, str] = {"file": safe_str(pathname)}
    if isinstance(lineno, int) and not isinstance(lineno, bool):
        location["line"] = str(lineno)
    if function:
        location["function"] = safe_str(function)
    return location


@dataclass(frozen=True)
class FieldNames:
    """The names the record dict uses for the fields the mapping reads.

    They differ from inferlog's own under ``JsonFormatter(schema="otel")`` or
    ``rename_fields``; :meth:`for_formatter` works them out from a formatter.
    """

    timestamp: str = schema.TIMESTAMP
    level: str = schema.LEVEL
    message: str = schema.MESSAGE
    trace_id: str = schema.TRACE_ID
    span_id: str = schema.SPAN_ID
    method: str = schema.METHOD
    path: str = schema.PATH
    status_code: str = schema.STATUS_CODE
    latency_ms: str = schema.LATENCY_MS
    client_address: str = schema.CLIENT_ADDRESS
    user_agent: str = schema.USER_AGENT
    response_size: str = schema.RESPONSE_SIZE
    labels: str = LABELS_FIELD

    @classmethod
    def for_formatter(cls, formatter: logging.Formatter | None) -> FieldNames:
        """Return the names ``formatter`` writes (inferlog's own for any other formatter)."""
        schema_name = getattr(formatter, "schema", "inferlog")
        renames = getattr(formatter, "rename_fields", None) or {}
        if schema_name != "otel" and not renames:
            return _DEFAULT_NAMES

        def name(field: str) -> str:
            out = renames.get(field)
            if isinstance(out, str):
                return out
            return schema.field_name(field, "otel" if schema_name == "otel" else "inferlog")

        return cls(**{key: name(value) for key, value in vars(_DEFAULT_NAMES).items()})


_DEFAULT_NAMES: Final = FieldNames()


def http_request(data: Mapping[str, Any], names: FieldNames = _DEFAULT_NAMES) -> dict[str, Any]:
    """Return the ``httpRequest`` of an access record, or ``{}`` for any other record.

    A record is an access record when it has both the method and the status code
    that :mod:`inferlog.middleware` writes.
    """
    method = data.get(names.method)
    status = data.get(names.status_code)
    if not isinstance(method, str) or isinstance(status, bool) or not isinstance(status, int):
        return {}
    request: dict[str, Any] = {"requestMethod": method, "status": status}
    path = data.get(names.path)
    if isinstance(path, str):
        request["requestUrl"] = path
    size = data.get(names.response_size)
    if isinstance(size, int) and not isinstance(size, bool):
        request["responseSize"] = str(size)  # int64: a string in the API's JSON
    agent = data.get(names.user_agent)
    if isinstance(agent, str):
        request["userAgent"] = agent
    address = data.get(names.client_address)
    if isinstance(address, str):
        request["remoteIp"] = address
    latency = data.get(names.latency_ms)
    if isinstance(latency, (int, float)) and not isinstance(latency, bool) and latency >= 0:
        request["latency"] = f"{latency / 1000:.9f}".rstrip("0").rstrip(".") + "s"
    return request


@dataclass
class RecordParts:
    """A record dict split into the payload and the values that get fields of their own."""

    payload: dict[str, Any]
    timestamp: str | None
    levelno: int
    trace_id: str | None
    span_id: str | None
    labels: Mapping[Any, Any] | None
    http_request: dict[str, Any]


def split_record(
    data: Mapping[str, Any], names: FieldNames = _DEFAULT_NAMES, *, move_trace: bool = True
) -> RecordParts:
    """Split a record dict; ``data`` is not changed (the payload is a new dict).

    With ``move_trace=False`` (no project is known, so no trace field can be written)
    ``trace_id`` and ``span_id`` stay in the payload.
    """
    payload = dict(data)
    timestamp = payload.pop(names.timestamp, None)
    level = payload.pop(names.level, None)
    trace_id = payload.get(names.trace_id)
    span_id = payload.get(names.span_id)
    if move_trace and _is_hex(trace_id, _TRACE_ID_RE, _ZERO_TRACE):
        del payload[names.trace_id]
        if _is_hex(span_id, _SPAN_ID_RE, _ZERO_SPAN):
            del payload[names.span_id]
        else:
            span_id = None
    else:
        trace_id = span_id = None
    labels = payload.get(names.labels)
    if isinstance(labels, Mapping):
        del payload[names.labels]
    else:
        labels = None
    return RecordParts(
        payload=payload,
        timestamp=timestamp if isinstance(timestamp, str) else None,
        levelno=level_number(level),
        trace_id=trace_id,
        span_id=span_id,
        labels=labels,
        http_request=http_request(data, names),
    )


class _Keys(NamedTuple):
    """Where the fields of their own go: a LogEntry's names, or the agent's."""

    trace: str
    span_id: str
    labels: str
    http_request: str
    source_location: str


_ENTRY_KEYS: Final = _Keys("trace", "spanId", "labels", "httpRequest", "sourceLocation")
_AGENT_KEYS: Final = _Keys(
    AGENT_TRACE, AGENT_SPAN_ID, AGENT_LABELS, AGENT_HTTP_REQUEST, AGENT_SOURCE_LOCATION
)


def _own_fields(
    out: dict[str, Any],
    keys: _Keys,
    parts: RecordParts,
    project: str | None,
    labels: dict[str, str],
    location: dict[str, str] | None,
) -> None:
    """Add trace, span, labels, HTTP request and source location to ``out``, under ``keys``."""
    if parts.trace_id is not None and project:
        out[keys.trace] = trace_name(project, parts.trace_id)
        if parts.span_id is not None:
            out[keys.span_id] = parts.span_id
    if labels:
        out[keys.labels] = labels
    if parts.http_request:
        out[keys.http_request] = parts.http_request
    if location:
        out[keys.source_location] = location


def log_entry(
    parts: RecordParts,
    *,
    project: str | None,
    insert_id: str,
    labels: dict[str, str],
    location: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return the ``LogEntry`` (JSON form) of a split record.

    ``labels`` are the entry's final labels (see :func:`string_labels`); the trace is
    only set when ``project`` is known, since it must name the project.
    """
    entry: dict[str, Any] = {
        "insertId": insert_id,
        "severity": severity_for_level(parts.levelno),
        "jsonPayload": parts.payload,
    }
    if parts.timestamp is not None:
        entry["timestamp"] = parts.timestamp
    _own_fields(entry, _ENTRY_KEYS, parts, project, labels, location)
    return entry


def agent_line(
    parts: RecordParts,
    *,
    project: str | None,
    insert_id: str,
    labels: dict[str, str],
    location: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Return the object of one stdout line in the form the logging agent reads.

    ``severity`` and ``time`` first, then the payload (``message`` stays where the
    record has it), then the other special fields. A payload field whose name the
    agent would read as special (``severity``, ``httpRequest``, ...) is renamed
    with the ``extra.`` prefix.
    """
    line: dict[str, Any] = {AGENT_SEVERITY: severity_for_level(parts.levelno)}
    if parts.timestamp is not None:
        line[AGENT_TIME] = parts.timestamp
    for key, value in parts.payload.items():
        if key in _AGENT_RESERVED and key != AGENT_MESSAGE:
            key = f"{schema.COLLISION_PREFIX}{key}"
        line[key] = value
    _own_fields(line, _AGENT_KEYS, parts, project, labels, location)
    line[AGENT_INSERT_ID] = insert_id
    return line


def entry_size(entry: Mapping[str, Any]) -> int:
    """Bytes of ``entry`` as JSON (what a REST request carries for it)."""
    return len(orjson.dumps(entry, option=orjson.OPT_NON_STR_KEYS))


def fit_entry(
    entry: dict[str, Any], max_bytes: int = MAX_ENTRY_BYTES
) -> tuple[dict[str, Any], int]:
    """Return ``entry`` cut to ``max_bytes`` of JSON, and its size.

    Only ``jsonPayload`` is cut (with :mod:`inferlog._safe`'s markers, and the key
    ``"..."`` saying how many fields were left out), so the entry keeps its severity,
    trace, labels and insert id; a payload orjson cannot encode is made JSON-safe the
    same way. ``entry`` itself is not changed.
    """
    try:
        size = entry_size(entry)
    except TypeError:  # orjson refuses the payload (an int beyond 64 bits): walk it
        size = max_bytes + 1
    if size <= max_bytes:
        return entry, size
    payload = entry.get("jsonPayload", {})
    rest = {key: value for key, value in entry.items() if key != "jsonPayload"}
    budget = max_bytes - entry_size(rest) - len(b',"jsonPayload":')
    cut, _payload_size = to_json_safe(payload, budget)
    if not isinstance(cut, dict):  # pragma: no cover - a dict always converts to a dict
        cut = {MORE_KEYS_KEY: safe_str(cut)}
    fitted = {**rest, "jsonPayload": cut}
    return fitted, entry_size(fitted)
