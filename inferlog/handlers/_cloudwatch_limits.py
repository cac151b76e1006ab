"""The rules of CloudWatch Logs' PutLogEvents, as pure functions over entries.

CloudWatch refuses (or silently drops) what breaks these rules, and moto's server
does not enforce them, so they are applied here, before any request is made:

* a request holds at most :data:`MAX_BATCH_EVENTS` events and at most
  :data:`MAX_BATCH_BYTES` bytes, each event counting its message's UTF-8 length plus
  :data:`EVENT_OVERHEAD_BYTES`;
* one event's message is at most :data:`MAX_MESSAGE_BYTES` (longer ones are split or
  cut on a UTF-8 character boundary, with a marker);
* the events of a request are in timestamp order, and span less than 24 hours;
* an event more than 14 days old (or older than the group's retention) or more than
  two hours in the future is refused: it is diverted, with the reason, not sent.

Nothing here talks to AWS; :mod:`inferlog.handlers.cloudwatch` does.
"""

from __future__ import annotations

import string
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Final, Literal, Protocol, TypeVar

__all__ = [
    "EVENT_OVERHEAD_BYTES",
    "MAX_BATCH_BYTES",
    "MAX_BATCH_EVENTS",
    "MAX_BATCH_SPAN_MS",
    "MAX_EVENT_AGE_MS",
    "MAX_EVENT_FUTURE_MS",
    "MAX_MESSAGE_BYTES",
    "RETENTION_DAYS",
    "event_size",
    "fit_message",
    "plan_batches",
    "rejected_by_info",
    "stream_name",
    "template_fields",
    "time_rule_broken",
]

#: Most events in one PutLogEvents request.
MAX_BATCH_EVENTS: Final = 10_000
#: Most bytes in one request: the sum of each message's UTF-8 length plus the overhead.
MAX_BATCH_BYTES: Final = 1_048_576
#: Bytes CloudWatch adds to each event's message length when it counts a request.
EVENT_OVERHEAD_BYTES: Final = 26
#: Largest message of one event, in UTF-8 bytes (one event must also fit a request).
MAX_MESSAGE_BYTES: Final = MAX_BATCH_BYTES - EVENT_OVERHEAD_BYTES
#: A request's events span less than this many milliseconds (24 hours).
MAX_BATCH_SPAN_MS: Final = 24 * 3600 * 1000
#: Events older than this (14 days), in milliseconds, are refused.
MAX_EVENT_AGE_MS: Final = 14 * 24 * 3600 * 1000
#: Events further in the future than this (2 hours), in milliseconds, are refused.
MAX_EVENT_FUTURE_MS: Final = 2 * 3600 * 1000
#: The values PutRetentionPolicy accepts for ``retentionInDays``.
RETENTION_DAYS: Final[tuple[int, ...]] = (
    1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
    1096, 1827, 2192, 2557, 2922, 3288, 3653,
)  # fmt: skip
#: Longest log stream name, and the characters a stream name may not contain.
MAX_STREAM_NAME_CHARS: Final = 512
_STREAM_FORBIDDEN: Final = str.maketrans({":": "_", "*": "_"})

OversizePolicy = Literal["split", "truncate"]
#: The values of the handler's ``oversize`` option.
OVERSIZE_POLICIES: Final[tuple[str, ...]] = ("split", "truncate")


class Timed(Protocol):
    """What the batch planner reads of an entry."""

    timestamp_ms: int
    size: int
    key: Hashable


E = TypeVar("E", bound=Timed)


def event_size(message: str) -> int:
    """Return the bytes one event with ``message`` counts for in a request."""
    return len(message.encode("utf-8", "surrogatepass")) + EVENT_OVERHEAD_BYTES


def _cut(data: bytes, limit: int) -> int:
    """Return the largest length <= ``limit`` that ends ``data`` on a character boundary."""
    if limit >= len(data):
        return len(data)
    end = max(limit, 0)
    # A UTF-8 continuation byte is 0b10xxxxxx: step back to the start of its character.
    while end > 0 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return end


def fit_message(message: str, max_bytes: int, policy: OversizePolicy, marker: str) -> list[str]:
    """Return ``message`` as messages of at most ``max_bytes`` UTF-8 bytes each.

    A message that fits comes back alone. Otherwise ``"truncate"`` keeps the start
    and ends it with ``marker``; ``"split"`` cuts it into consecutive pieces, each
    but the last ending with ``marker``. Cuts fall on character boundaries, so every
    piece is valid UTF-8. ``max_bytes`` must leave room for the marker and at least
    one four-byte character.
    """
    data = message.encode("utf-8", "surrogatepass")
    if len(data) <= max_bytes:
        return [message]
    tail = marker.encode("utf-8", "surrogatepass")
    room = max_bytes - len(tail)
    if room < 4:
        raise ValueError(f"max_bytes {max_bytes} leaves no room beside the marker {marker!r}")
    pieces: list[str] = []
    start = 0
    while True:
        rest = len(data) - start
        if rest <= max_bytes:
            pieces.append(data[start:].decode("utf-8", "surrogatepass"))
            return pieces
        end = start + _cut(data[start:], room)
        pieces.append(data[start:end].decode("utf-8", "surrogatepass") + marker)
        if policy == "truncate":
            return pieces
        start = end


def time_rule_broken(
    timestamp_ms: int, now_ms: int, max_age_ms: int = MAX_EVENT_AGE_MS
) -> str | None:
    """Return why CloudWatch would refuse an event at ``timestamp_ms``, or None."""
    if timestamp_ms < now_ms - max_age_ms:
        days = max_age_ms / 86_400_000
        return f"older than {days:g} days: CloudWatch Logs refuses it"
    if timestamp_ms > now_ms + MAX_EVENT_FUTURE_MS:
        return "more than 2 hours in the future: CloudWatch Logs refuses it"
    return None


def plan_batches(
    entries: Sequence[E],
    now_ms: int,
    *,
    max_count: int = MAX_BATCH_EVENTS,
    max_bytes: int = MAX_BATCH_BYTES,
    max_age_ms: int = MAX_EVENT_AGE_MS,
) -> tuple[list[list[E]], list[tuple[E, str]]]:
    """Split ``entries`` into requests that obey every PutLogEvents rule.

    Returns ``(batches, diverted)``: the batches, each of one key (log stream),
    sorted by timestamp (stable: entries of one timestamp keep their order), within
    ``max_count`` events, ``max_bytes`` bytes and a span under 24 hours; and the
    entries that break a time rule, each with the reason.
    """
    diverted: list[tuple[E, str]] = []
    by_key: dict[Hashable, list[E]] = {}
    for entry in entries:
        reason = time_rule_broken(entry.timestamp_ms, now_ms, max_age_ms)
        if reason is not None:
            diverted.append((entry, reason))
        else:
            by_key.setdefault(entry.key, []).append(entry)
    batches: list[list[E]] = []
    for group in by_key.values():
        group.sort(key=lambda entry: entry.timestamp_ms)
        batch: list[E] = []
        size = 0
        for entry in group:
            if batch and (
                len(batch) >= max_count
                or size + entry.size > max_bytes
                or entry.timestamp_ms - batch[0].timestamp_ms >= MAX_BATCH_SPAN_MS
            ):
                batches.append(batch)
                batch, size = [], 0
            batch.append(entry)
            size += entry.size
        if batch:
            batches.append(batch)
    return batches, diverted


def rejected_by_info(info: Mapping[str, Any] | None, count: int) -> dict[int, str]:
    """Return ``{index: reason}`` for the events a ``rejectedLogEventsInfo`` names.

    ``tooOldLogEventEndIndex`` and ``expiredLogEventEndIndex`` are exclusive ends
    (events before them were refused); ``tooNewLogEventStartIndex`` is the first
    refused event of the too-new tail.
    """
    refused: dict[int, str] = {}
    if not info:
        return refused
    too_new = info.get("tooNewLogEventStartIndex")
    if isinstance(too_new, int):
        for index in range(max(too_new, 0), count):
            refused[index] = "refused by CloudWatch Logs: too far in the future"
    for field, reason in (
        ("expiredLogEventEndIndex", "refused by CloudWatch Logs: older than the retention"),
        ("tooOldLogEventEndIndex", "refused by CloudWatch Logs: too old"),
    ):
        end = info.get(field)
        if isinstance(end, int):
            for index in range(min(end, count)):
                refused.setdefault(index, reason)
    return refused


def template_fields(template: str) -> list[str]:
    """Return the field names of a ``str.format`` template; ValueError if it is malformed."""
    names: list[str] = []
    for _literal, field, spec, conversion in string.Formatter().parse(template):
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise ValueError(
                "log_stream template fields must be plain names such as {hostname}, "
                f"got {{{field}}}"
            )
        names.append(field)
    return names


def stream_name(template: str, values: Mapping[str, object]) -> str:
    """Render a log stream name: fields from ``values`` (missing ones become ``-``).

    ``:`` and ``*`` (refused by CloudWatch) become ``_``; the name is cut to 512
    characters and is never empty.
    """

    class _Fields(dict[str, object]):
        def __missing__(self, key: str) -> object:
            return "-"

    name = template.format_map(_Fields(values)).translate(_STREAM_FORBIDDEN)
    return name[:MAX_STREAM_NAME_CHARS] or "-"
