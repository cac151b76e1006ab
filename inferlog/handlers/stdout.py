"""JSON lines on stdout in the form the Cloud Run / GKE / Cloud Functions agent reads.

On those platforms the logging agent turns each JSON line a container writes into a
``LogEntry``, reading a few special fields (``severity``, ``message``,
``logging.googleapis.com/trace``, ...) and keeping the rest as ``jsonPayload``.
:class:`StructuredStdoutHandler` writes exactly those fields, so records carry their
severity, trace, labels and HTTP request with no client library, no credentials and
no network call from the process.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Any, Final, TextIO

import orjson

from inferlog._diagnostics import report_once
from inferlog.formatting import JsonFormatter
from inferlog.handlers._gcp_entries import (
    AGENT_FIELDS,
    FieldNames,
    InsertIds,
    agent_line,
    source_location,
    split_record,
    string_labels,
)
from inferlog.handlers._gcp_options import (
    GOOGLE_RUNTIMES,
    PROJECT_ENV_VARS,
    check_labels,
    check_project,
    detect_google_runtime,
    project_from_environ,
)
from inferlog.pipeline import BatchSink

__all__ = [
    "AGENT_FIELDS",
    "GOOGLE_RUNTIMES",
    "PROJECT_ENV_VARS",
    "StructuredStdoutHandler",
    "detect_google_runtime",
    "record_data",
]

#: Whether records carry ``logging.googleapis.com/sourceLocation`` by default.
DEFAULT_SOURCE_LOCATION: Final = True


def record_data(formatter: logging.Formatter, record: logging.LogRecord) -> dict[str, Any]:
    """Return the record dict ``formatter`` builds for ``record`` (a new dict).

    Uses ``formatter.record_dict`` when it has one, else parses what it formats.
    """
    build = getattr(formatter, "record_dict", None)
    if build is not None:
        return dict(build(record))
    data = orjson.loads(formatter.format(record))
    return data if isinstance(data, dict) else {"message": data}


class StructuredStdoutHandler(BatchSink):
    """Write each record as one JSON line on stdout with the logging agent's fields.

    Each line holds ``severity`` (the nearest LogSeverity to the record's level),
    ``time``, the record's own fields (``message`` among them), and where they apply
    ``logging.googleapis.com/trace`` (``projects/P/traces/T``), ``.../spanId``,
    ``.../labels``, ``httpRequest`` (for the middleware's access records),
    ``.../sourceLocation`` and ``.../insertId``. A record field whose name the agent
    would read specially is written as ``extra.<name>``. The caller's record, dicts
    and labels are never changed.

    The record fields come from the handler's formatter when it is a
    :class:`~inferlog.JsonFormatter` (its ``schema`` and ``rename_fields`` apply);
    with any other formatter, its text becomes ``message``.

    Args:
        level: The handler's level.
        stream: Where to write; None (the default) is whatever ``sys.stdout`` is at
            the time of writing.
        project: Project id for the trace field; default: ``GOOGLE_CLOUD_PROJECT``
            (then ``GCLOUD_PROJECT``, ``GCP_PROJECT``). Without one, ``trace_id``
            and ``span_id`` stay ordinary fields.
        labels: Labels added to every line (a mapping of str to str, at most 64); a
            record's own ``extra={"labels": {...}}`` adds to them and wins on a clash.
        source_location: Whether to write the file, line and function of the call.

    Usable from ``dictConfig``:
    ``{"()": "inferlog.handlers.StructuredStdoutHandler", "labels": {"service": "scoring"}}``.
    """

    def __init__(
        self,
        level: int | str = logging.NOTSET,
        *,
        stream: TextIO | None = None,
        project: str | None = None,
        labels: Mapping[str, str] | None = None,
        source_location: bool = DEFAULT_SOURCE_LOCATION,
    ) -> None:
        super().__init__(level)
        if stream is not None and not callable(getattr(stream, "write", None)):
            raise ValueError(f"stream must be a text stream with write(), got {stream!r}")
        if not isinstance(source_location, bool):
            raise ValueError(f"source_location must be True or False, got {source_location!r}")
        self.stream = stream
        self.project = check_project(project) or project_from_environ(os.environ)
        self.labels = check_labels(labels)
        self.source_location = source_location
        self._default_formatter = JsonFormatter()
        self._names_source: logging.Formatter | None = None
        self._names = FieldNames()
        self._insert_ids = InsertIds()

    def _formatter(self) -> tuple[JsonFormatter, FieldNames]:
        formatter = self.formatter
        if not isinstance(formatter, JsonFormatter):
            formatter = self._default_formatter
        if formatter is not self._names_source:
            self._names = FieldNames.for_formatter(formatter)
            self._names_source = formatter
        return formatter, self._names

    def prepare(self, record: logging.LogRecord) -> str:
        """Return the JSON line (without newline) for ``record``."""
        formatter, names = self._formatter()
        data = record_data(formatter, record)
        if self.formatter is not None and formatter is not self.formatter:
            data[names.message] = self.formatter.format(record)
        parts = split_record(data, names, move_trace=self.project is not None)
        labels, left_out = string_labels(self.labels, parts.labels)
        if left_out:
            report_once(
                "stdout-labels-over-limit",
                logging.WARNING,
                "StructuredStdoutHandler: a record had more than 64 labels; %d left out",
                left_out,
            )
        location = (
            source_location(record.pathname, record.lineno, record.funcName)
            if self.source_location
            else None
        )
        line = agent_line(
            parts,
            project=self.project,
            insert_id=self._insert_ids.next(),
            labels=labels,
            location=location,
        )
        return formatter.jsonify_log_record(line)

    def write_batch(self, items: list[Any], deadline: float | None) -> int:
        """Write the lines in one ``write`` call and flush; return how many were written."""
        stream = self.stream if self.stream is not None else sys.stdout
        text = "\n".join(items) + "\n"
        self.acquire()  # one line must never interleave with another thread's
        try:
            stream.write(text)
            stream.flush()
        except Exception as err:
            report_once(
                "stdout-write-failed",
                logging.ERROR,
                "StructuredStdoutHandler could not write to stdout (%s: %s); "
                "records are left to the queue's spool",
                type(err).__name__,
                err,
            )
            return 0
        finally:
            self.release()
        return len(items)

    def flush(self) -> None:
        """Flush the stream."""
        stream = self.stream if self.stream is not None else sys.stdout
        try:
            stream.flush()
        except Exception:
            pass
