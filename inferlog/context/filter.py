"""Stamping the request context on records: :class:`ContextFilter`."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from inferlog import schema
from inferlog._diagnostics import report_once
from inferlog._options import check_bool, check_names, check_text
from inferlog._record import STANDARD_RECORD_ATTRS
from inferlog.context._state import REQUEST_ID_FIELD, _state_var
from inferlog.context._trace import _opentelemetry

__all__ = [
    "ContextFilter",
]


class ContextFilter(logging.Filter):
    """Stamp the request id, bound fields and trace ids on each record; never drops.

    Put it where the record is created, on the caller's thread: on the
    ``QueueHandler`` (or the logger) rather than on handlers a listener thread runs,
    since the listener thread has no request context. Attributes the record already
    has win, so ``extra=`` beats a bound field and running the filter twice is
    harmless; bound fields named like standard ``LogRecord`` attributes are skipped.

    ``trace_id``/``span_id`` come from the active OpenTelemetry span when
    OpenTelemetry is in use and a span is active, otherwise from the ``traceparent``
    the scope was opened with.

    Args:
        name: As for :class:`logging.Filter`; only records from that logger subtree
            are stamped (all others pass through unstamped).
        fields: Bound fields to stamp; ``None`` (the default) stamps all of them.
            The request id is always stamped.
        request_id_field: Record attribute that receives the request id.
        trace: Whether to stamp ``trace_id`` and ``span_id``.
        opentelemetry: Whether to read ids from an active OpenTelemetry span.

    Usable from ``dictConfig``:
    ``{"()": "inferlog.ContextFilter", "fields": ["user_id"], "request_id_field": "rid"}``.
    """

    def __init__(
        self,
        name: str = "",
        *,
        fields: Iterable[str] | None = None,
        request_id_field: str = REQUEST_ID_FIELD,
        trace: bool = True,
        opentelemetry: bool = True,
    ) -> None:
        super().__init__(check_text("name", name))
        if not isinstance(request_id_field, str) or not request_id_field.isidentifier():
            raise ValueError(
                f"request_id_field must be a non-empty identifier, got {request_id_field!r}"
            )
        if request_id_field in STANDARD_RECORD_ATTRS:
            raise ValueError(
                f"request_id_field {request_id_field!r} is a standard LogRecord attribute"
            )
        if isinstance(fields, str):
            # A lone string would otherwise be read as a set of one-letter names.
            raise ValueError("fields must be a list of field names, not a string")
        self.fields: frozenset[str] | None = (
            None if fields is None else frozenset(check_names("fields", fields))
        )
        self.request_id_field = request_id_field
        self.trace = check_bool("trace", trace)
        self.opentelemetry = check_bool("opentelemetry", opentelemetry)

    def filter(self, record: logging.LogRecord) -> bool:
        """Stamp ``record`` in place and return True; never raises."""
        if self.nlen and not super().filter(record):
            return True
        try:
            self._stamp(record)
        except Exception as exc:  # a broken field or tracer must not break the caller
            report_once(
                "context-filter-error",
                logging.WARNING,
                "ContextFilter could not stamp a record (%s: %s); further errors are silent",
                type(exc).__name__,
                exc,
            )
        return True

    def _stamp(self, record: logging.LogRecord) -> None:
        state = _state_var.get()
        attrs = record.__dict__
        wanted = self.fields
        for key, value in state.own.items():
            if key == REQUEST_ID_FIELD:
                key = self.request_id_field
            elif wanted is not None and key not in wanted:
                continue
            if key in attrs or key in STANDARD_RECORD_ATTRS:
                continue
            attrs[key] = value
        if not self.trace:
            return
        active = _opentelemetry.active_span() if self.opentelemetry else None
        if active is not None:
            trace_id, span_id = active[0], active[1]
        elif state.trace is not None:
            trace_id, span_id = state.trace.trace_id, state.trace.span_id
        else:
            return
        attrs.setdefault(schema.TRACE_ID, trace_id)
        attrs.setdefault(schema.SPAN_ID, span_id)
