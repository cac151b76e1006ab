"""Assert on your own log output: the records the pipeline would write, as dicts.

:func:`capture_records` runs every stage that :func:`inferlog.configure` installs
(request context, sampling, redaction, then :meth:`JsonFormatter.record_dict
<inferlog.formatting.JsonFormatter.record_dict>`) synchronously on the calling thread,
and keeps each record as the dict a sink would write::

    from inferlog.testing import capture_records

    with capture_records() as records:
        score(request)
    assert records[0]["model_id"] == "fraud-v3"

With pytest, the ``inferlog_records`` fixture (registered as a pytest plugin when
inferlog is installed) is the same, for the length of one test.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from inferlog._validation import check_level
from inferlog.context import ContextFilter
from inferlog.formatting import JsonFormatter
from inferlog.pipeline._snapshot import snapshot_record
from inferlog.redaction import RedactionFilter
from inferlog.sampling import SamplingFilter

__all__ = ["CaptureHandler", "capture_records"]


class CaptureHandler(logging.Handler):
    """A handler that keeps, as dicts, what the pipeline's sinks would write.

    Caller-side filters (context, then sampling) run on the record as on
    :class:`~inferlog.QueueHandler`; the kept copy is the one the queue would carry;
    redaction and formatting run on that copy as on a sink.

    Args:
        schema, static_fields: as for :class:`~inferlog.formatting.JsonFormatter`.
        redaction: True (default :class:`~inferlog.Redactor`), False, or a mapping of
            :class:`~inferlog.RedactionFilter` options.
        sampling: None (keep every record) or a mapping of
            :class:`~inferlog.SamplingFilter` options.
        formatter: the formatter whose ``record_dict`` is kept (overrides ``schema``
            and ``static_fields``).
    """

    def __init__(
        self,
        *,
        schema: str = "inferlog",
        static_fields: Mapping[str, Any] | None = None,
        redaction: bool | Mapping[str, Any] = True,
        sampling: Mapping[str, Any] | None = None,
        formatter: JsonFormatter | None = None,
    ) -> None:
        super().__init__()
        #: The captured records, in the order they were logged.
        self.records: list[dict[str, Any]] = []
        self._records_lock = threading.Lock()
        self.addFilter(ContextFilter())
        if sampling is not None:
            self.addFilter(SamplingFilter(**dict(sampling)))
        self._redaction: RedactionFilter | None = None
        if redaction is not False:
            self._redaction = RedactionFilter(**({} if redaction is True else dict(redaction)))
        self.json_formatter = formatter or JsonFormatter(schema=schema, static_fields=static_fields)

    def emit(self, record: logging.LogRecord) -> None:
        """Redact and format a copy of ``record`` and keep the dict; never raises."""
        try:
            copy = snapshot_record(record)
            if self._redaction is not None and not self._redaction.filter(copy):
                return
            data = self.json_formatter.record_dict(copy)
            with self._records_lock:
                self.records.append(data)
        except Exception:
            self.handleError(record)


@contextmanager
def capture_records(
    *,
    loggers: Sequence[str] = ("",),
    level: int | str = logging.DEBUG,
    schema: str = "inferlog",
    static_fields: Mapping[str, Any] | None = None,
    redaction: bool | Mapping[str, Any] = True,
    sampling: Mapping[str, Any] | None = None,
    formatter: JsonFormatter | None = None,
) -> Iterator[list[dict[str, Any]]]:
    """Capture what the pipeline would write from ``loggers`` while the block runs.

    Yields the list the records are appended to (as dicts, see
    :meth:`JsonFormatter.record_dict <inferlog.formatting.JsonFormatter.record_dict>`).
    The loggers get ``level`` for the block and their previous level back after it;
    other handlers are left alone. Options are those of :class:`CaptureHandler`.
    """
    numeric = check_level("level", level)
    handler = CaptureHandler(
        schema=schema,
        static_fields=static_fields,
        redaction=redaction,
        sampling=sampling,
        formatter=formatter,
    )
    attached = [logging.getLogger(name or None) for name in loggers]
    previous = [logger.level for logger in attached]
    for logger in attached:
        logger.addHandler(handler)
        logger.setLevel(numeric)
    try:
        yield handler.records
    finally:
        for logger, old in zip(attached, previous, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(old)
        handler.close()
