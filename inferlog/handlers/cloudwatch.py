"""``CloudWatchHandler``: records to AWS CloudWatch Logs, never blocking, losing nothing.

A :class:`~inferlog.pipeline.sender.SenderSink`: the caller's thread (or the queue
listener) only formats the record and appends it to one bounded buffer; one sender
thread per handler, whatever the number of log streams, ships batches with
PutLogEvents. Every PutLogEvents rule is applied here (see
:mod:`inferlog.handlers._cloudwatch_limits`), groups and streams are created by the
sender when first used and again when they vanish, transient failures are retried
under the shared retry policy, and what cannot be delivered is spooled and sent again.
Needs the ``aws`` extra (boto3).
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import socket
import sys
from collections.abc import Callable
from typing import Any, Final

import orjson

from inferlog import schema
from inferlog._validation import check_seconds
from inferlog.formatting import JsonFormatter, format_timestamp
from inferlog.handlers import _cloudwatch_client as _aws
from inferlog.handlers._cloudwatch_emf import DEFAULT_EMF_NAMESPACE, add_metrics, check_emf_options
from inferlog.handlers._cloudwatch_limits import (
    EVENT_OVERHEAD_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_EVENT_AGE_MS,
    MAX_MESSAGE_BYTES,
    OVERSIZE_POLICIES,
    RETENTION_DAYS,
    OversizePolicy,
    event_size,
    fit_message,
    plan_batches,
    rejected_by_info,
    stream_name,
    template_fields,
)
from inferlog.pipeline.invocation import flush_per_invocation
from inferlog.pipeline.retry import Verdict
from inferlog.pipeline.sender import Entry, SenderSink

__all__ = [
    "DEFAULT_LOG_STREAM",
    "DEFAULT_OVERSIZE_MARKER",
    "CloudWatchHandler",
    "flush_per_invocation",
]

#: Log stream name template unless ``log_stream`` says otherwise.
DEFAULT_LOG_STREAM: Final = "{hostname}/{program}/{pid}"
#: What ``oversize="split"`` or ``"truncate"`` appends where it cut a message.
DEFAULT_OVERSIZE_MARKER: Final = " [inferlog: message cut at the CloudWatch event limit]"
#: What an event says when its record formatted to nothing (CloudWatch needs a character).
EMPTY_MESSAGE: Final = "(empty message)"
#: Longest a record waits before its batch is sent, in seconds.
DEFAULT_CLOUDWATCH_BATCH_INTERVAL: Final = 1.0
_GROUP_RE: Final = re.compile(r"[.\-_/#A-Za-z0-9]{1,512}")
_MAX_MARKER_BYTES: Final = 1024
# Fields the stream template gets from the process rather than from the record.
_PROCESS_FIELDS: Final = frozenset({"hostname", "pid", "program"})


def _program() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else ""
    return name or "python"


def _check_str(option: str, value: object, *, allow_none: bool = False) -> str | None:
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or not value:
        raise TypeError(f"{option} must be a non-empty string, got {value!r}")
    return value


class CloudWatchHandler(SenderSink):
    """Ship records to a CloudWatch Logs group through one buffer and one sender thread.

    Args:
        log_group: The log group (created when missing, unless ``create_group=False``).
        log_stream: Stream name template: ``{hostname}``, ``{pid}``, ``{program}``,
            ``{date}`` (the record's UTC date), ``{logger}``, ``{level}`` and any record
            field such as ``{model_id}`` (``-`` where absent).
        region_name, profile_name, endpoint_url: How to build the boto3 client.
        boto3_client: A ready ``logs`` client instead (not rebuilt after fork).
        client_factory: A callable returning a ``logs`` client (called on the sender
            thread, and again in a forked child).
        create_group, create_stream: Create what is missing, when first used and
            whenever CloudWatch says it no longer exists.
        retention_days: Retention set on a group this handler creates (one of
            CloudWatch's allowed values).
        batch_interval, max_batch_count, max_batch_bytes: When a batch is sent; the
            counts are capped at CloudWatch's 10,000 events and 1,048,576 bytes.
        oversize: ``"split"`` a message over the 1 MiB event limit into several
            events, or ``"truncate"`` it; either way cut on a UTF-8 boundary.
        oversize_marker: Appended where a message was cut.
        emf: Make inference records Embedded Metric Format documents (metrics
            ``latency_ms``, token counts, ``Invocations``, ``Errors``).
        emf_namespace, emf_dimensions: The EMF metric namespace, and record fields
            used as dimensions besides ``model_id`` and ``model_version``.
        connect_timeout, read_timeout: boto3 socket timeouts, in seconds.
        **options: Every option of :class:`~inferlog.pipeline.sender.SenderSink`
            (``level``, ``buffer_size``, ``overflow``, ``retry_deadline``, ``spool``,
            ``health_interval``, ``shutdown_timeout``, ...).
    """

    max_request_count = MAX_BATCH_EVENTS
    max_request_bytes = MAX_BATCH_BYTES

    def __init__(
        self,
        *,
        log_group: str,
        log_stream: str = DEFAULT_LOG_STREAM,
        region_name: str | None = None,
        profile_name: str | None = None,
        endpoint_url: str | None = None,
        boto3_client: Any = None,
        client_factory: Callable[[], Any] | None = None,
        create_group: bool = True,
        create_stream: bool = True,
        retention_days: int | None = None,
        batch_interval: float = DEFAULT_CLOUDWATCH_BATCH_INTERVAL,
        max_batch_count: int | None = None,
        max_batch_bytes: int | None = None,
        oversize: str = "split",
        oversize_marker: str = DEFAULT_OVERSIZE_MARKER,
        emf: bool = False,
        emf_namespace: str = DEFAULT_EMF_NAMESPACE,
        emf_dimensions: list[str] | tuple[str, ...] = (),
        connect_timeout: float = _aws.DEFAULT_CONNECT_TIMEOUT,
        read_timeout: float = _aws.DEFAULT_READ_TIMEOUT,
        **options: Any,
    ) -> None:
        super().__init__(
            batch_interval=batch_interval,
            max_batch_count=max_batch_count,
            max_batch_bytes=max_batch_bytes,
            **options,
        )
        if not isinstance(log_group, str) or not _GROUP_RE.fullmatch(log_group):
            raise ValueError(
                "log_group must be 1-512 characters of letters, digits and . - _ / #, "
                f"got {log_group!r}"
            )
        self.log_group = log_group
        if not isinstance(log_stream, str) or not log_stream:
            raise ValueError(f"log_stream must be a non-empty template string, got {log_stream!r}")
        self._stream_fields = template_fields(log_stream)
        self._static_stream = set(self._stream_fields) <= _PROCESS_FIELDS
        self._static_name: tuple[int, str] = (0, "")
        self.log_stream = log_stream
        self.region_name = _check_str("region_name", region_name, allow_none=True)
        self.profile_name = _check_str("profile_name", profile_name, allow_none=True)
        self.endpoint_url = _check_str("endpoint_url", endpoint_url, allow_none=True)
        if client_factory is not None and not callable(client_factory):
            raise TypeError(f"client_factory must be callable, got {client_factory!r}")
        if boto3_client is not None and client_factory is not None:
            raise ValueError("give either boto3_client or client_factory, not both")
        self._given_client = boto3_client
        self._client_factory = client_factory
        self.create_group = bool(create_group)
        self.create_stream = bool(create_stream)
        if retention_days is not None and (
            isinstance(retention_days, bool) or retention_days not in RETENTION_DAYS
        ):
            raise ValueError(
                f"retention_days must be one of {', '.join(map(str, RETENTION_DAYS))} "
                f"(or None), got {retention_days!r}"
            )
        self.retention_days = retention_days
        if oversize not in OVERSIZE_POLICIES:
            raise ValueError(
                f"oversize must be one of {', '.join(OVERSIZE_POLICIES)}, got {oversize!r}"
            )
        self.oversize: OversizePolicy = "split" if oversize == "split" else "truncate"
        if not isinstance(oversize_marker, str) or (
            len(oversize_marker.encode("utf-8", "surrogatepass")) > _MAX_MARKER_BYTES
        ):
            raise ValueError(
                f"oversize_marker must be a string of at most {_MAX_MARKER_BYTES} UTF-8 bytes"
            )
        self.oversize_marker = oversize_marker
        self.emf = bool(emf)
        self.emf_namespace, self.emf_dimensions = check_emf_options(emf_namespace, emf_dimensions)
        self.connect_timeout = check_seconds("connect_timeout", connect_timeout, positive=True)
        self.read_timeout = check_seconds("read_timeout", read_timeout, positive=True)
        #: The largest message of one event (CloudWatch's limit unless a test lowers it).
        self.max_message_bytes = MAX_MESSAGE_BYTES
        self.formatter = JsonFormatter()
        self.reset_client()

    # ---------------------------------------------------------------- records to entries

    _process_cache: dict[str, object]

    def _process_values(self) -> dict[str, object]:
        pid = os.getpid()
        if self._process_cache.get("pid") != pid:
            self._process_cache = {
                "pid": pid,
                "hostname": socket.gethostname(),
                "program": _program(),
            }
        return self._process_cache

    def _stream(self, fields: dict[str, object], timestamp_ms: int) -> str:
        if self._static_stream:
            # A template of process fields only: one name per process.
            pid = os.getpid()
            if self._static_name[0] != pid:
                self._static_name = (pid, stream_name(self.log_stream, self._process_values()))
            return self._static_name[1]
        values = dict(self._process_values())
        for name in self._stream_fields:
            if name in _PROCESS_FIELDS:
                continue
            if name == "date":
                moment = datetime.datetime.fromtimestamp(timestamp_ms / 1000, datetime.timezone.utc)
                values[name] = moment.strftime("%Y-%m-%d")
            elif fields.get(name) is not None:
                values[name] = fields[name]
        return stream_name(self.log_stream, values)

    def _entries(self, text: str, levelno: int, timestamp_ms: int, stream: str) -> list[Entry]:
        if self.emf:
            text = self._with_metrics(text, timestamp_ms)
        if not text:
            text = EMPTY_MESSAGE  # CloudWatch refuses an empty message
        size = len(text.encode("utf-8", "surrogatepass"))
        if size <= self.max_message_bytes:
            return [Entry(timestamp_ms, levelno, text, size + EVENT_OVERHEAD_BYTES, stream)]
        pieces = fit_message(text, self.max_message_bytes, self.oversize, self.oversize_marker)
        return [Entry(timestamp_ms, levelno, p, event_size(p), stream) for p in pieces]

    def _with_metrics(self, text: str, timestamp_ms: int) -> str:
        try:
            doc = orjson.loads(text)
        except orjson.JSONDecodeError:
            return text
        if isinstance(doc, dict) and add_metrics(
            doc, timestamp_ms, self.emf_namespace, self.emf_dimensions
        ):
            return orjson.dumps(doc).decode("utf-8")
        return text

    def prepare(self, record: logging.LogRecord) -> Entry | list[Entry]:
        """Format ``record`` (JSON by default) into one entry, or several when split."""
        timestamp_ms = int(record.created * 1000)
        fields: dict[str, object] = {"logger": record.name, "level": record.levelname}
        for name in self._stream_fields:
            if name not in fields and name not in _PROCESS_FIELDS:
                fields[name] = getattr(record, name, None)
        entries = self._entries(
            self.format(record), record.levelno, timestamp_ms, self._stream(fields, timestamp_ms)
        )
        return entries[0] if len(entries) == 1 else entries

    def spool_dict(self, entry: Entry) -> dict[str, Any]:
        """Return the record dict of ``entry`` (its JSON message, without EMF metadata)."""
        try:
            doc = orjson.loads(entry.payload)
        except (orjson.JSONDecodeError, TypeError):
            doc = None
        if isinstance(doc, dict):
            if "_aws" in doc:
                for key in ("_aws", "Invocations", "Errors"):
                    doc.pop(key, None)
            return doc
        return {
            schema.TIMESTAMP: format_timestamp(entry.timestamp_ms / 1000),
            schema.LEVEL: logging.getLevelName(entry.levelno),
            schema.LOGGER: "inferlog.cloudwatch",
            schema.MESSAGE: str(entry.payload),
        }

    def entry_from_spool(self, item: dict[str, Any]) -> Entry | list[Entry] | None:
        """Rebuild entries from a spooled record dict (stream from this process's template)."""
        doc = {key: value for key, value in item.items() if key != "spool"}
        timestamp_ms = _parse_timestamp_ms(doc.get(schema.TIMESTAMP))
        if timestamp_ms is None:
            return None
        level = logging.getLevelName(str(doc.get(schema.LEVEL, "INFO")))
        fields = dict(doc)
        fields["logger"] = doc.get(schema.LOGGER)
        entries = self._entries(
            orjson.dumps(doc, default=repr).decode("utf-8"),
            level if isinstance(level, int) else logging.INFO,
            timestamp_ms,
            self._stream(fields, timestamp_ms),
        )
        return entries[0] if len(entries) == 1 else entries

    # ---------------------------------------------------------------- sending

    def reset_client(self) -> None:
        """Forget the client and the streams known to exist (after fork)."""
        self._client: Any = self._given_client
        self._group_ready = False
        self._ready_streams: set[str] = set()
        self._process_cache = {}

    def _get_client(self) -> Any:
        if self._client is None:
            if self._client_factory is not None:
                client = self._client_factory()
            else:
                client = _aws.make_client(
                    region_name=self.region_name,
                    profile_name=self.profile_name,
                    endpoint_url=self.endpoint_url,
                    connect_timeout=self.connect_timeout,
                    read_timeout=self.read_timeout,
                )
            if self.emf:
                _aws.add_emf_header(client)
            self._client = client
        return self._client

    def _ensure_stream(self, client: Any, stream: str) -> None:
        if stream in self._ready_streams:
            return
        if not self._group_ready:
            if self.create_group:
                try:
                    client.create_log_group(logGroupName=self.log_group)
                except Exception as exc:
                    if _aws.error_code(exc) != "ResourceAlreadyExistsException":
                        raise
                else:
                    if self.retention_days is not None:
                        client.put_retention_policy(
                            logGroupName=self.log_group, retentionInDays=self.retention_days
                        )
            self._group_ready = True
        if self.create_stream:
            try:
                client.create_log_stream(logGroupName=self.log_group, logStreamName=stream)
            except Exception as exc:
                if _aws.error_code(exc) != "ResourceAlreadyExistsException":
                    raise
        self._ready_streams.add(stream)

    def _put(self, client: Any, stream: str, entries: list[Entry]) -> Any:
        events = [{"timestamp": e.timestamp_ms, "message": e.payload} for e in entries]
        return client.put_log_events(
            logGroupName=self.log_group, logStreamName=stream, logEvents=events
        )

    def send_request(self, entries: list[Entry]) -> list[tuple[Entry, str]]:
        """PutLogEvents for one stream's batch; returns the events CloudWatch refused."""
        client = self._get_client()
        stream = str(entries[0].key)
        self._ensure_stream(client, stream)
        try:
            response = self._put(client, stream, entries)
        except Exception as exc:
            code = _aws.error_code(exc)
            if code == "DataAlreadyAcceptedException":
                return []
            if code != "ResourceNotFoundException" or not (self.create_group or self.create_stream):
                raise
            # Deleted behind our back (or by a retention job): create it again, once.
            self._group_ready = False
            self._ready_streams.discard(stream)
            self._ensure_stream(client, stream)
            response = self._put(client, stream, entries)
        refused = rejected_by_info(response.get("rejectedLogEventsInfo"), len(entries))
        return [(entries[index], reason) for index, reason in sorted(refused.items())]

    def classify_error(self, exc: BaseException) -> Verdict:
        """Throttling, 5xx and transport errors retry; InvalidParameter splits;
        credential errors stop the sender; the rest is rejected to the spool."""
        recreate = self.create_group or self.create_stream
        verdict = _aws.classify(exc, recreate=recreate, fallback=super().classify_error)
        if verdict is Verdict.RETRY and _aws.error_code(exc) == "ResourceNotFoundException":
            self._group_ready = False
            self._ready_streams.clear()
        return verdict

    def plan_requests(
        self, entries: list[Entry]
    ) -> tuple[list[list[Entry]], list[tuple[Entry, str]]]:
        """Apply the PutLogEvents rules: per stream, time order, 24 h span, age limits."""
        max_age_ms = MAX_EVENT_AGE_MS
        if self.retention_days is not None:
            max_age_ms = min(max_age_ms, self.retention_days * 86_400_000)
        return plan_batches(
            entries,
            int(self._now() * 1000),
            max_count=self.max_batch_count,
            max_bytes=self.max_batch_bytes,
            max_age_ms=max_age_ms,
        )

    def _now(self) -> float:
        return datetime.datetime.now(datetime.timezone.utc).timestamp()


def _parse_timestamp_ms(value: object) -> int | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return int(value)
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return int(moment.timestamp() * 1000)
