"""Carrying the request context to and from other services in HTTP headers.

:func:`inject_headers` on the way out, :func:`extract_headers` on the way in
(``X-Request-ID`` and W3C ``traceparent``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, Final, TypeVar, overload

from inferlog import schema
from inferlog._diagnostics import report_once
from inferlog.context._state import _EMPTY_STATE, _state_var
from inferlog.context._trace import (
    _new_span_id,
    _new_trace_id,
    _opentelemetry,
    _parse_traceparent,
    _Trace,
)
from inferlog.context.request import current_request_id

__all__ = [
    "MAX_REQUEST_ID_LENGTH",
    "REQUEST_ID_HEADER",
    "TRACEPARENT_HEADER",
    "extract_headers",
    "inject_headers",
    "is_valid_request_id",
]

_H = TypeVar("_H", bound=MutableMapping[str, str])


#: Header carrying the request id.
REQUEST_ID_HEADER: Final = "X-Request-ID"
#: W3C Trace Context header (lowercase, as the specification writes it).
TRACEPARENT_HEADER: Final = "traceparent"
#: Longest request id accepted from a header.
MAX_REQUEST_ID_LENGTH: Final = 128

# Letters, digits and the punctuation found in UUIDs, ULIDs, base64 and
# "service:counter" style ids; nothing that could split a log line or a header.
_REQUEST_ID_RE: Final = re.compile(rf"[A-Za-z0-9._:+/=\-]{{1,{MAX_REQUEST_ID_LENGTH}}}")
_OWS: Final = " \t"


def is_valid_request_id(value: object) -> bool:
    """True if ``value`` is a request id safe to accept from, or send in, a header.

    1 to 128 characters from ``A-Z a-z 0-9 . _ : + / = -``.
    """
    return isinstance(value, str) and _REQUEST_ID_RE.fullmatch(value) is not None


def _set_header(headers: MutableMapping[str, str], name: str, value: str) -> None:
    # A plain dict is case-sensitive: drop other spellings so the receiver does not
    # see two request ids.
    lowered = name.lower()
    for key in [k for k in headers if isinstance(k, str) and k.lower() == lowered and k != name]:
        del headers[key]
    headers[name] = value


def _outgoing_trace() -> tuple[str, str, str]:
    """``(trace_id, parent_id, flags)`` for an outgoing call."""
    active = _opentelemetry.active_span()
    if active is not None:
        return active
    state = _state_var.get()
    if state.trace is not None:
        # Our scope's span is the downstream's parent, so its records link to ours.
        return state.trace.trace_id, state.trace.span_id, state.trace.flags
    trace = _Trace(_new_trace_id(), _new_span_id(), None, "01")
    if state is not _EMPTY_STATE:
        # Start the trace here and keep it for the rest of this scope, so later
        # records and calls of the same request share it (copy-on-write, like bind).
        _state_var.set(state._replace(trace=trace))
    return trace.trace_id, trace.span_id, trace.flags


@overload
def inject_headers(headers: None = None, *, request_id_header: str = ...) -> dict[str, str]: ...


@overload
def inject_headers(headers: _H, *, request_id_header: str = ...) -> _H: ...


def inject_headers(
    headers: MutableMapping[str, str] | None = None,
    *,
    request_id_header: str = REQUEST_ID_HEADER,
) -> MutableMapping[str, str]:
    """Write the request id and a W3C ``traceparent`` into ``headers`` and return it.

    ``headers`` defaults to a new dict; any mutable mapping works (a dict,
    ``httpx.Headers``, a ``requests`` headers object). The request id is written
    only when there is one and it is header-safe (see :func:`is_valid_request_id`).
    ``traceparent`` is version ``00`` with: the active OpenTelemetry span's ids when
    there is one; else the scope's trace id and span id (the incoming
    ``traceparent``'s trace); else a new trace id and span id with the sampled flag,
    which the current scope then keeps for its later records and calls.
    """
    if headers is None:
        headers = {}
    request_id = current_request_id()
    if request_id is not None and is_valid_request_id(request_id):
        _set_header(headers, request_id_header, request_id)
    trace_id, parent_id, flags = _outgoing_trace()
    _set_header(headers, TRACEPARENT_HEADER, f"00-{trace_id}-{parent_id}-{flags}")
    return headers


def _header_items(headers: object) -> Iterable[tuple[object, object]]:
    items = getattr(headers, "items", None)
    if callable(items):
        # Mapping, werkzeug Headers, starlette Headers, http.client.HTTPMessage.
        return items()  # type: ignore[no-any-return]
    if isinstance(headers, Iterable) and not isinstance(headers, (str, bytes)):
        # ASGI-style [(b"name", b"value"), ...].
        return headers
    return ()


def _text(value: object) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray)):
        # HTTP header bytes are ISO-8859-1 on the wire (RFC 9110 5.5).
        return bytes(value).decode("latin-1")
    return None


def _single_value(values: list[str]) -> str | None:
    """The one value sent, or None when absent or ambiguous (differing repeats)."""
    distinct = {value.strip(_OWS) for value in values}
    return distinct.pop() if len(distinct) == 1 else None


def extract_headers(
    headers: Mapping[str, str] | Iterable[tuple[Any, Any]] | Any,
    *,
    request_id_header: str = REQUEST_ID_HEADER,
) -> dict[str, str]:
    """Read and validate ``X-Request-ID`` and ``traceparent`` from incoming headers.

    Returns the keyword arguments for :func:`~inferlog.context.request_context`:
    ``with request_context(**extract_headers(request.headers)):``, holding
    ``request_id`` and/or ``traceparent`` only when present and valid. Header names
    match case-insensitively; ``headers`` may be any mapping, an object with
    ``items()`` or an iterable of ``(name, value)`` pairs, in str or bytes. Never
    raises: anything malformed is left out, so the scope mints a fresh id.

    A request id is accepted when :func:`is_valid_request_id` says so. A
    ``traceparent`` is accepted per W3C Trace Context: lowercase hex, version ``ff``
    and all-zero ids rejected, version ``00`` exactly 55 characters, a later version
    read through its first four fields; it is returned normalised to version ``00``.
    Differing repeats of a header are ambiguous and rejected.
    """
    try:
        wanted_request_id = request_id_header.lower()
        request_ids: list[str] = []
        traceparents: list[str] = []
        for raw_name, raw_value in _header_items(headers):
            name = _text(raw_name)
            if name is None:
                continue
            name = name.strip(_OWS).lower()
            if name == wanted_request_id:
                target = request_ids
            elif name == TRACEPARENT_HEADER:
                target = traceparents
            else:
                continue
            values = raw_value if isinstance(raw_value, (list, tuple)) else [raw_value]
            for value in values:
                text = _text(value)
                if text is not None:
                    target.append(text)
        result: dict[str, str] = {}
        request_id = _single_value(request_ids)
        if request_id is not None and is_valid_request_id(request_id):
            result[schema.REQUEST_ID] = request_id
        traceparent = _single_value(traceparents)
        parsed = _parse_traceparent(traceparent)
        if parsed is not None:
            result["traceparent"] = "00-{}-{}-{}".format(*parsed)
        return result
    except Exception as exc:  # a hostile headers object must not fail the request
        report_once(
            "extract-headers-error",
            logging.WARNING,
            "extract_headers could not read the headers (%s); ignoring them",
            type(exc).__name__,
        )
        return {}
