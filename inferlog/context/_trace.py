"""Where a request sits in a distributed trace: W3C ``traceparent`` and OpenTelemetry."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from typing import Any, Final, NamedTuple

_TRACEPARENT_RE: Final = re.compile(
    r"(?P<version>[0-9a-f]{2})-(?P<trace_id>[0-9a-f]{32})-"
    r"(?P<parent_id>[0-9a-f]{16})-(?P<flags>[0-9a-f]{2})"
)
_ZERO_TRACE_ID: Final = "0" * 32
_ZERO_SPAN_ID: Final = "0" * 16
_TRACEPARENT_V00_LENGTH: Final = 55


class _Trace(NamedTuple):
    """Where this scope sits in a distributed trace (all lowercase hex)."""

    trace_id: str
    span_id: str
    parent_span_id: str | None
    flags: str


def _new_trace_id() -> str:
    while True:
        # What secrets.token_hex does, without importing secrets (hmac, random, base64).
        candidate = os.urandom(16).hex()
        if candidate != _ZERO_TRACE_ID:
            return candidate


def _new_span_id() -> str:
    while True:
        candidate = os.urandom(8).hex()
        if candidate != _ZERO_SPAN_ID:
            return candidate


def _parse_traceparent(value: object) -> tuple[str, str, str] | None:
    """Return ``(trace_id, parent_id, flags)`` from a W3C ``traceparent``, or None.

    Follows W3C Trace Context level 1: lowercase hex only, version ``ff`` and
    all-zero ids are invalid, version ``00`` is exactly 55 characters, and a higher
    (future) version is read as 00 when its first four fields parse and anything
    after them is introduced by ``-``.
    """
    if not isinstance(value, str):
        return None
    value = value.strip(" \t")
    match = _TRACEPARENT_RE.match(value)
    if match is None:
        return None
    version, trace_id, parent_id, flags = match.group("version", "trace_id", "parent_id", "flags")
    if version == "ff" or trace_id == _ZERO_TRACE_ID or parent_id == _ZERO_SPAN_ID:
        return None
    if version == "00":
        if len(value) != _TRACEPARENT_V00_LENGTH:
            return None
    elif len(value) > _TRACEPARENT_V00_LENGTH and value[_TRACEPARENT_V00_LENGTH] != "-":
        return None
    return trace_id, parent_id, flags


class _OpenTelemetryLookup:
    """Reads the active OpenTelemetry span's ids without ever importing OpenTelemetry.

    A span can only be active if the application has imported ``opentelemetry.trace``,
    so looking in ``sys.modules`` is exact and costs one dict lookup; importing it
    here instead would slow the first record, could log from inside a filter, and
    would load OpenTelemetry into applications that do not use it. Once found,
    ``get_current_span`` is cached.
    """

    def __init__(self) -> None:
        self._get_current_span: Callable[[], Any] | None = None

    def active_span(self) -> tuple[str, str, str] | None:
        """Return ``(trace_id, span_id, flags)`` of the active span, or None."""
        get_current_span = self._get_current_span
        if get_current_span is None:
            module = sys.modules.get("opentelemetry.trace")
            if module is None:
                return None
            get_current_span = getattr(module, "get_current_span", None)
            if get_current_span is None:  # partially imported, or not the real package
                return None
            self._get_current_span = get_current_span
        span_context = get_current_span().get_span_context()
        if not span_context.is_valid:
            return None
        return (
            format(span_context.trace_id, "032x"),
            format(span_context.span_id, "016x"),
            format(int(span_context.trace_flags), "02x"),
        )


_opentelemetry = _OpenTelemetryLookup()
