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
import sys
from collections.abc import Mapping
from typing import Any, Final, TextIO

from inferlog._diagnostics import report_once
from inferlog._validation import check_level
from inferlog.handlers._gcp_entries import AGENT_FIELDS, agent_line
from inferlog.handlers._gcp_mapper import RecordMapper
from inferlog.handlers._gcp_options import GOOGLE_RUNTIMES, PROJECT_ENV_VARS, detect_google_runtime
from inferlog.pipeline import BatchSink

__all__ = [
    "AGENT_FIELDS",
    "GOOGLE_RUNTIMES",
    "PROJECT_ENV_VARS",
    "StructuredStdoutHandler",
    "detect_google_runtime",
]

#: Whether records carry ``logging.googleapis.com/sourceLocation`` by default.
DEFAULT_SOURCE_LOCATION: Final = True


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
        super().__init__(check_level("level", level))
        if stream is not None and not callable(getattr(stream, "write", None)):
            raise ValueError(f"stream must be a text stream with write(), got {stream!r}")
        self.stream = stream
        self._mapper = RecordMapper(
            project=project,
            labels=labels,
            source_location=source_location,
            owner=type(self).__name__,
        )

    @property
    def project(self) -> str | None:
        """The project id the trace field names (None: traces stay ordinary fields)."""
        return self._mapper.project

    def prepare(self, record: logging.LogRecord) -> str:
        """Return the JSON line (without newline) for ``record``."""
        mapped, _data, formatter = self._mapper.map_record(record, self.formatter)
        line = agent_line(
            mapped.parts,
            project=self._mapper.project,
            insert_id=mapped.insert_id,
            labels=mapped.labels,
            location=mapped.location,
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
