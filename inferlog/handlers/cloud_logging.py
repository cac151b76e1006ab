"""Ship records to Google Cloud Logging through google-cloud-logging's ``entries.write``.

:class:`CloudLoggingHandler` is a :class:`~inferlog.pipeline.sender.SenderSink`: the
caller (or the queue listener) only turns a record into a ``LogEntry`` and appends it
to a bounded buffer; one sender thread per handler sends requests of up to 1,000
entries and 4 MiB (the service takes 10 MB), retries what can succeed, and spools
what cannot be delivered. See ``docs/gcp.md``.
"""

from __future__ import annotations

import logging
import os
import re
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any, Final

from inferlog._validation import check_seconds
from inferlog.handlers._gcp_entries import MAX_ENTRY_BYTES, fit_entry, log_entry
from inferlog.handlers._gcp_errors import RETRYABLE_ENTRY_CODES, decide, partial_errors
from inferlog.handlers._gcp_mapper import Mapped, RecordMapper
from inferlog.handlers._gcp_options import default_resource
from inferlog.handlers._gcp_writers import Write, writer_for
from inferlog.pipeline.retry import Verdict
from inferlog.pipeline.sender import Entry, SenderSink
from inferlog.reader import timestamp_seconds

try:
    import google.cloud.logging_v2 as _google_logging
except ImportError as _missing:  # pragma: no cover - the extra is installed in tests
    raise ImportError(
        "CloudLoggingHandler needs google-cloud-logging: pip install 'inferlog[gcp]'"
    ) from _missing

__all__ = [
    "DEFAULT_LOG_NAME",
    "DEFAULT_REQUEST_TIMEOUT",
    "DEFAULT_TRANSPORT",
    "MAX_REQUEST_BYTES",
    "MAX_REQUEST_COUNT",
    "TRANSPORTS",
    "CloudLoggingHandler",
]

#: The log the entries go to: ``projects/<project>/logs/inferlog``.
DEFAULT_LOG_NAME: Final = "inferlog"
#: REST keeps integers as JSON integers on the wire and needs no gRPC channel, which
#: does not survive ``fork()``; ``"grpc"`` is accepted too.
DEFAULT_TRANSPORT: Final = "rest"
#: Longest one gRPC ``WriteLogEntries`` call may take, in seconds (the REST client
#: applies its own 60 s).
DEFAULT_REQUEST_TIMEOUT: Final = 30.0
#: Accepted values of ``transport``.
TRANSPORTS: Final = ("rest", "grpc")
#: Entries per ``entries.write`` request.
MAX_REQUEST_COUNT: Final = 1_000
#: Bytes of entries (compact JSON) per request: well under the service's 10 MB even
#: when the client's JSON encoder escapes every non-ASCII character.
MAX_REQUEST_BYTES: Final = 4 * 1024 * 1024

#: A log id: letters, digits, ``/ _ - .``, at most 512 characters.
_LOG_NAME_RE: Final = re.compile(r"[A-Za-z0-9/_\-.]{1,512}")
_VERDICTS: Final = {
    "retry": Verdict.RETRY,
    "split": Verdict.SPLIT,
    "credentials": Verdict.CREDENTIALS,
    "reject": Verdict.REJECT,
}


class _Payload:
    """One ``LogEntry`` as it travels through retries of its request."""

    __slots__ = ("entry", "location", "refusal", "settled")

    def __init__(self, entry: dict[str, Any], location: dict[str, str] | None) -> None:
        self.entry = entry
        self.location = location
        #: Written, or refused for good, by an earlier attempt of the same request.
        self.settled = False
        #: Why the service refused it for good, when it did.
        self.refusal: str | None = None


class _NoProject(ValueError):
    """Neither the options, the environment nor the client name a project."""


class _EntriesToRetry(Exception):
    """A partial failure left entries that failed with a retryable code."""


def _check_resource(value: object) -> dict[str, Any] | None:
    if value is None:
        return None
    as_dict = getattr(value, "_asdict", None)  # google.cloud.logging.Resource: a namedtuple
    data = as_dict() if callable(as_dict) else value
    if not isinstance(data, Mapping) or not isinstance(data.get("type"), str) or not data["type"]:
        raise ValueError(
            "resource must be a google.cloud.logging.Resource or a mapping "
            f"{{'type': str, 'labels': {{str: str}}}}, got {value!r}"
        )
    labels = data.get("labels") or {}
    if not isinstance(labels, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in labels.items()
    ):
        raise ValueError(f"resource labels must map str to str, got {labels!r}")
    return {"type": data["type"], "labels": dict(labels)}


class CloudLoggingHandler(SenderSink):
    """Send records to Google Cloud Logging as structured ``LogEntry`` objects.

    Each record becomes one entry: ``jsonPayload`` from the JSON formatter's record
    (integers stay integers over REST), ``severity`` the nearest LogSeverity to its
    level (custom levels included), ``timestamp`` from ``record.created``,
    ``trace``/``spanId`` from its ``trace_id``/``span_id`` (the request context, an
    OpenTelemetry span or an incoming ``traceparent``), ``httpRequest`` for the
    middleware's access records, ``sourceLocation``, string ``labels`` (at most
    64) and an ``insertId`` fixed when the record is prepared, so a retried request
    does not store an entry twice. An entry over 250,000 bytes is cut in its
    payload, with a marker, before it joins a request.

    Requests go out with ``partialSuccess``: the entries the service refuses are
    spooled with its reason (or retried, when their code is retryable) and the rest
    are stored. UNAVAILABLE, INTERNAL, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, HTTP
    429 and 5xx and connection failures are retried with backoff and jitter;
    INVALID_ARGUMENT splits the request to isolate the bad entry; PERMISSION_DENIED
    and UNAUTHENTICATED stop sending (records go to the spool) with one clear error.

    Args:
        project: The project to write to; default ``GOOGLE_CLOUD_PROJECT`` (then
            ``GCLOUD_PROJECT``, ``GCP_PROJECT``), else the client's project.
            Without a project known at configuration, traces stay payload fields.
        log_name: The log id (``projects/<project>/logs/<log_name>``).
        labels: Labels on every entry (str to str, at most 64); a record's own
            ``extra={"labels": {...}}`` adds to them and wins on a clash.
        resource: The monitored resource, a ``google.cloud.logging.Resource`` or
            ``{"type": ..., "labels": {...}}``. Default: worked out from Cloud Run /
            Cloud Functions environment variables, else ``global``; the metadata
            server is never asked.
        client: A ready ``google.cloud.logging.Client``, or the package's generated
            ``LoggingServiceV2Client`` (kept after a fork).
        client_factory: A callable returning either kind of client, called on the
            sender thread and again in a forked child. Default: the application
            default credentials and ``transport``.
        transport: For the default client: ``"rest"`` (default, a
            ``google.cloud.logging.Client`` over HTTP) or ``"grpc"`` (a
            ``LoggingServiceV2Client``, called without its own retries).
        request_timeout: Longest one gRPC call through a ``LoggingServiceV2Client``
            may take, in seconds.
        source_location: Whether entries carry the file, line and function.
        **options: Every option of :class:`~inferlog.pipeline.sender.SenderSink`
            (``level``, ``buffer_size``, ``overflow``, ``batch_interval``,
            ``max_batch_count``, ``max_batch_bytes``, ``retry_deadline``, ``spool``,
            ``health_interval``, ``shutdown_timeout``, ...).

    Usable from ``dictConfig``:
    ``{"()": "inferlog.handlers.CloudLoggingHandler", "project": "my-project"}``.
    """

    max_request_count = MAX_REQUEST_COUNT
    max_request_bytes = MAX_REQUEST_BYTES

    def __init__(
        self,
        *,
        project: str | None = None,
        log_name: str = DEFAULT_LOG_NAME,
        labels: Mapping[str, str] | None = None,
        resource: Any = None,
        client: Any = None,
        client_factory: Callable[[], Any] | None = None,
        transport: str = DEFAULT_TRANSPORT,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        source_location: bool = True,
        **options: Any,
    ) -> None:
        super().__init__(**options)
        self._mapper = RecordMapper(
            project=project,
            labels=labels,
            source_location=source_location,
            owner=type(self).__name__,
        )
        if not isinstance(log_name, str) or not _LOG_NAME_RE.fullmatch(log_name):
            raise ValueError(
                "log_name must be 1-512 characters of letters, digits and / _ - ., "
                f"got {log_name!r}"
            )
        self.log_name = log_name
        self._resource = _check_resource(resource)
        if client_factory is not None and not callable(client_factory):
            raise ValueError(f"client_factory must be callable, got {client_factory!r}")
        if client is not None and client_factory is not None:
            raise ValueError("give either client or client_factory, not both")
        if client is not None and not (
            hasattr(client, "logging_api") or hasattr(client, "write_log_entries")
        ):
            raise ValueError(
                "client must be a google.cloud.logging.Client or a LoggingServiceV2Client, "
                f"got {type(client).__name__}"
            )
        if transport not in TRANSPORTS:
            raise ValueError(f"transport must be one of {', '.join(TRANSPORTS)}, got {transport!r}")
        self.transport = transport
        self.request_timeout = check_seconds("request_timeout", request_timeout, positive=True)
        self._given_client = client
        self._client_factory = client_factory
        #: Entries larger than this (JSON bytes) are cut in their payload.
        self.max_entry_bytes = MAX_ENTRY_BYTES
        self.reset_client()

    @property
    def project(self) -> str | None:
        """The project given or found in the environment (the client's is used later)."""
        return self._mapper.project

    # ---------------------------------------------------------------- records to entries

    def _entry(self, mapped: Mapped, levelno: int, created: float, data: dict[str, Any]) -> Entry:
        body = log_entry(
            mapped.parts,
            project=self._mapper.project,
            insert_id=mapped.insert_id,
            labels=mapped.labels,
            location=mapped.location,
        )
        body, size = fit_entry(body, self.max_entry_bytes)
        return Entry(
            timestamp_ms=int(created * 1000),
            levelno=levelno,
            payload=_Payload(body, mapped.location),
            size=size,
            record=data,
        )

    def prepare(self, record: logging.LogRecord) -> Entry:
        """Turn ``record`` into one entry (its ``LogEntry`` and its spool dict)."""
        mapped, data, _formatter = self._mapper.map_record(record, self.formatter)
        return self._entry(mapped, record.levelno, record.created, data)

    def spool_dict(self, entry: Entry) -> dict[str, Any]:
        """Return the record dict, with the insert id and source location to keep."""
        payload: _Payload = entry.payload
        base = entry.record if entry.record is not None else dict(payload.entry)
        return {**base, **RecordMapper.spool_extras(payload.entry["insertId"], payload.location)}

    def entry_from_spool(self, item: dict[str, Any]) -> Entry | None:
        """Rebuild an entry from a spooled record dict, with its original insert id."""
        mapped, data = self._mapper.map_spooled(item, self.formatter)
        levelno = mapped.parts.levelno
        created = timestamp_seconds(mapped.parts.timestamp)
        if created is None:
            return None
        return self._entry(mapped, levelno, created, data)

    # ---------------------------------------------------------------- sending

    def reset_client(self) -> None:
        """Forget the client (after fork the factory makes a new one in the child)."""
        self._client: Any = self._given_client
        self._write: Write | None = None
        self._log_path: str | None = None

    def _make_client(self) -> Any:
        if self._client_factory is not None:
            return self._client_factory()
        if self.transport == "grpc":
            from google.cloud.logging_v2.services.logging_service_v2 import (
                LoggingServiceV2Client,
            )

            return LoggingServiceV2Client()
        make: Callable[..., Any] = _google_logging.Client
        return make(project=self._mapper.project, _use_grpc=False)

    def _writer(self) -> tuple[Write, str]:
        if self._write is None or self._log_path is None:
            if self._client is None:
                self._client = self._make_client()
            project = self._mapper.project or getattr(self._client, "project", None)
            if not project:
                raise _NoProject("no project: pass project= or set GOOGLE_CLOUD_PROJECT")
            self._log_path = f"projects/{project}/logs/{urllib.parse.quote(self.log_name, '')}"
            if self._resource is None:
                self._resource = default_resource(os.environ, project)
            self._write = writer_for(self._client, self.request_timeout)
        return self._write, self._log_path

    def send_request(self, entries: list[Entry]) -> list[tuple[Entry, str]]:
        """Write ``entries`` in one ``entries.write``; return those refused for good.

        Entries an earlier attempt of this request wrote are not sent again.
        """
        pending = [entry for entry in entries if not entry.payload.settled]
        if pending:
            write, log_path = self._writer()
            try:
                write([entry.payload.entry for entry in pending], log_path, self._resource or {})
            except Exception as exc:
                failed = partial_errors(exc)
                if failed is None:
                    raise
                self._settle(pending, failed)
            else:
                for entry in pending:
                    entry.payload.settled = True
        return [(e, e.payload.refusal) for e in entries if e.payload.refusal is not None]

    @staticmethod
    def _settle(pending: list[Entry], failed: Mapping[int, tuple[int, str]]) -> None:
        retry = 0
        for index, entry in enumerate(pending):
            outcome = failed.get(index)
            if outcome is not None and outcome[0] in RETRYABLE_ENTRY_CODES:
                retry += 1
                continue
            entry.payload.settled = True
            if outcome is not None:
                code, message = outcome
                entry.payload.refusal = f"refused by Cloud Logging (code {code}): {message}"
        if retry:
            raise _EntriesToRetry(f"{retry} entries failed with a retryable code")

    def classify_error(self, exc: BaseException) -> Verdict:
        """Retry transient failures; split on INVALID_ARGUMENT; stop on PERMISSION_DENIED."""
        if isinstance(exc, _EntriesToRetry):
            return Verdict.RETRY
        if isinstance(exc, _NoProject):  # like missing credentials: a human must act
            return Verdict.CREDENTIALS
        return _VERDICTS[decide(exc)]
