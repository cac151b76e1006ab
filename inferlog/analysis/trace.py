"""``inferlog trace``: every record of one request, across files and processes, as a tree.

Records are found by ``request_id`` in every file given (rotated sets of several
processes and services included) and come back in time order. The tree: a request's
access record (written by the ASGI/WSGI middleware when the request ends) is the
parent of the records its span logged; a span whose access record names a
``parent_span_id`` hangs under that span's access record. Records of a request
without an access record are shown flat.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from inferlog import schema
from inferlog.analysis.selection import FieldFilter, TimeWindow, all_match
from inferlog.analysis.sources import resolve_paths
from inferlog.reader import OnInvalid, read_records

__all__ = [
    "ACCESS_LOGGER",
    "PARENT_SPAN_FIELD",
    "TraceNode",
    "build_tree",
    "describe",
    "find_request",
    "is_error",
    "walk",
]

#: Logger of the middleware's access records.
ACCESS_LOGGER: Final = "inferlog.access"
#: Field naming the span a span was called from, when a record carries it.
PARENT_SPAN_FIELD: Final = "parent_span_id"
_ERROR_LEVELS: Final = frozenset({"ERROR", "CRITICAL"})


def find_request(
    paths: str | Iterable[str],
    request_id: str,
    *,
    window: TimeWindow | None = None,
    filters: Iterable[FieldFilter] = (),
    on_invalid: OnInvalid | None = None,
) -> list[dict[str, Any]]:
    """Return the records whose ``request_id`` is ``request_id``, oldest first."""
    window = window or TimeWindow()
    chosen = tuple(filters)
    files = resolve_paths(paths)
    return [
        record
        for record in read_records(files, on_invalid=on_invalid)
        if record.get(schema.REQUEST_ID) == request_id
        and window.contains(record)
        and all_match(chosen, record)
    ]


@dataclass
class TraceNode:
    """One record and the records logged under it."""

    record: dict[str, Any]
    children: list[TraceNode] = field(default_factory=list)


def _is_access(record: Mapping[str, Any]) -> bool:
    return record.get(schema.LOGGER) == ACCESS_LOGGER or (
        schema.METHOD in record and schema.STATUS_CODE in record
    )


def is_error(record: Mapping[str, Any]) -> bool:
    """Whether ``record`` reports a failure (error status, error level or an exception)."""
    return (
        record.get(schema.STATUS) == "error"
        or str(record.get(schema.LEVEL, "")).upper() in _ERROR_LEVELS
        or schema.EXCEPTION_FIELD in record
    )


def build_tree(records: Iterable[dict[str, Any]]) -> list[TraceNode]:
    """Arrange a request's records (in time order) as a forest; see the module docs."""
    ordered = list(records)
    access: dict[Any, TraceNode] = {}
    for record in ordered:
        if _is_access(record):
            access.setdefault(record.get(schema.SPAN_ID), TraceNode(record))
    roots: list[TraceNode] = []
    for record in ordered:
        span = record.get(schema.SPAN_ID)
        parent = access.get(span)
        if parent is not None and parent.record is record:
            grand = access.get(record.get(PARENT_SPAN_FIELD))
            if grand is not None and grand is not parent:
                grand.children.append(parent)
            else:
                roots.append(parent)
        elif parent is not None:
            parent.children.append(TraceNode(record))
        elif len(access) == 1 and span is None:
            next(iter(access.values())).children.append(TraceNode(record))
        else:
            roots.append(TraceNode(record))
    # An access record is written when its request ends: show it where the request began.
    for node in [*roots, *access.values()]:
        node.children.sort(key=_start)
    roots.sort(key=_start)
    return roots


def _start(node: TraceNode) -> str:
    times = [str(node.record.get(schema.TIMESTAMP, ""))]
    times += [str(child.record.get(schema.TIMESTAMP, "")) for child in node.children]
    return min(times)


def walk(nodes: list[TraceNode], depth: int = 0) -> Iterator[tuple[int, TraceNode]]:
    """Yield ``(depth, node)`` for every node, parents before their children."""
    for node in nodes:
        yield depth, node
        yield from walk(node.children, depth + 1)


def describe(record: Mapping[str, Any]) -> str:
    """One line saying what ``record`` is: an access record, a call, or a message."""
    parts: list[str] = []
    if _is_access(record):
        parts.append(
            f"{record.get(schema.METHOD, '?')} {record.get(schema.PATH, '?')} -> "
            f"{record.get(schema.STATUS_CODE, '?')}"
        )
    elif schema.MODEL_ID in record:
        model = f"{record[schema.MODEL_ID]}@{record.get(schema.MODEL_VERSION, '-')}"
        parts.append(
            f"{record.get(schema.MESSAGE, 'inference')} {model} "
            f"{record.get(schema.STATUS, '')}".rstrip()
        )
        tokens = [record.get(schema.INPUT_TOKEN_COUNT), record.get(schema.OUTPUT_TOKEN_COUNT)]
        if any(t is not None for t in tokens):
            parts.append(f"tokens {tokens[0] or 0}/{tokens[1] or 0}")
    else:
        parts.append(str(record.get(schema.MESSAGE, "")))
    if record.get(schema.LATENCY_MS) is not None:
        parts.append(f"{float(record[schema.LATENCY_MS]):.1f} ms")
    exception = record.get(schema.EXCEPTION_FIELD)
    if isinstance(exception, Mapping):
        parts.append(f"{exception.get('type', 'Exception')}: {exception.get('message', '')}")
    elif record.get(schema.ERROR_CODE):
        parts.append(str(record[schema.ERROR_CODE]))
    return "  ".join(parts)
