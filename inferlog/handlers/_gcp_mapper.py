"""Per-handler state of the record-to-entry mapping shared by the two Google sinks.

:class:`RecordMapper` holds what a handler was configured with (project, labels,
source location) and what it works out once (the formatter's field names, the
insert-id source), and turns a ``LogRecord`` or a spooled record dict into the
:class:`~inferlog.handlers._gcp_entries.RecordParts` and extras that
:func:`~inferlog.handlers._gcp_entries.log_entry` and
:func:`~inferlog.handlers._gcp_entries.agent_line` take.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from inferlog._diagnostics import report_once
from inferlog.formatting import JsonFormatter, format_timestamp
from inferlog.handlers._gcp_entries import (
    AGENT_INSERT_ID,
    AGENT_SOURCE_LOCATION,
    FieldNames,
    RecordParts,
    source_location,
    split_record,
)
from inferlog.handlers._gcp_labels import InsertIds, string_labels
from inferlog.handlers._gcp_options import check_labels, check_project, project_from_environ

__all__ = ["Mapped", "RecordMapper"]


@dataclass
class Mapped:
    """One record ready to become a ``LogEntry`` or an agent line."""

    parts: RecordParts
    labels: dict[str, str]
    insert_id: str
    location: dict[str, str] | None


class RecordMapper:
    """Validated options and cached state of one Google sink (see the module doc).

    Raises ValueError naming ``project``, ``labels`` or ``source_location`` when
    they are malformed. The project defaults to ``GOOGLE_CLOUD_PROJECT`` (then
    ``GCLOUD_PROJECT``, ``GCP_PROJECT``).
    """

    def __init__(
        self, *, project: object, labels: object, source_location: object, owner: str
    ) -> None:
        if not isinstance(source_location, bool):
            raise ValueError(f"source_location must be True or False, got {source_location!r}")
        self.project = check_project(project) or project_from_environ(os.environ)
        self.labels = check_labels(labels)
        self.source_location = source_location
        self.owner = owner
        self.default_formatter = JsonFormatter()
        self.insert_ids = InsertIds()
        self._names_source: logging.Formatter | None = None
        self._names = FieldNames()

    def formatter(self, configured: logging.Formatter | None) -> tuple[JsonFormatter, FieldNames]:
        """Return the JSON formatter that builds record dicts, and the names it writes."""
        formatter = configured if isinstance(configured, JsonFormatter) else self.default_formatter
        if formatter is not self._names_source:
            self._names = FieldNames.for_formatter(formatter)
            self._names_source = formatter
        return formatter, self._names

    def map_record(
        self, record: logging.LogRecord, configured: logging.Formatter | None
    ) -> tuple[Mapped, dict[str, Any], JsonFormatter]:
        """Map ``record``; return the mapping, the record dict and the formatter used.

        The record dict is the formatter's :meth:`~inferlog.JsonFormatter.record_dict`
        (plain JSON types, the caps applied). A formatter that is not a JSON
        formatter supplies the ``message`` text.
        """
        formatter, names = self.formatter(configured)
        data = formatter.record_dict(record)
        if configured is not None and configured is not formatter:
            data[names.message] = configured.format(record)
        parts = split_record(data, names, move_trace=self.project is not None)
        parts.levelno = record.levelno
        if parts.timestamp is None:  # the formatter wrote it from record.created, else:
            parts.timestamp = format_timestamp(record.created)
        location = (
            source_location(record.pathname, record.lineno, record.funcName)
            if self.source_location
            else None
        )
        return self._finish(parts, self.insert_ids.next(), location), data, formatter

    def map_spooled(
        self, item: Mapping[str, Any], configured: logging.Formatter | None
    ) -> tuple[Mapped, dict[str, Any]]:
        """Map a record dict read back from the spool, keeping its insert id and location.

        Returns the mapping and the record dict without the spool's own keys.
        """
        data = {key: value for key, value in item.items() if key != "spool"}
        insert_id = data.pop(AGENT_INSERT_ID, None)
        location = data.pop(AGENT_SOURCE_LOCATION, None)
        _formatter, names = self.formatter(configured)
        parts = split_record(data, names, move_trace=self.project is not None)
        return (
            self._finish(
                parts,
                insert_id if isinstance(insert_id, str) and insert_id else self.insert_ids.next(),
                location if isinstance(location, dict) else None,
            ),
            data,
        )

    def _finish(
        self, parts: RecordParts, insert_id: str, location: dict[str, str] | None
    ) -> Mapped:
        labels, left_out = string_labels(self.labels, parts.labels)
        if left_out:
            report_once(
                f"gcp-labels-over-limit-{self.owner}",
                logging.WARNING,
                "%s: a record had more than 64 labels; %d left out (further cases are silent)",
                self.owner,
                left_out,
            )
        return Mapped(parts, labels, insert_id, location)

    @staticmethod
    def spool_extras(insert_id: str, location: Mapping[str, str] | None) -> dict[str, Any]:
        """The keys a spooled record dict carries so that a resend keeps id and location."""
        extras: dict[str, Any] = {AGENT_INSERT_ID: insert_id}
        if location:
            extras[AGENT_SOURCE_LOCATION] = dict(location)
        return extras
