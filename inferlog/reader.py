"""Read JSON-lines log files back as records, in time order.

:func:`read_records` streams records from plain and gzip-compressed files, the way
:class:`inferlog.handlers.RotatingJsonFileHandler` leaves them: an active file plus
rotated ones, possibly from several processes. Only the files whose time ranges
overlap are open at once, so a directory of hundreds of rotated files costs a few
descriptors and one record per open file of memory.

A line that is not a JSON object is skipped and reported, never raised: the usual
one is the torn last line of a file whose writer was killed in the middle of a
``write``.
"""

from __future__ import annotations

import gzip
import heapq
import itertools
import logging
import os
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime, timezone
from typing import Any, Final, NamedTuple, Union

import orjson

from inferlog._diagnostics import report

__all__ = [
    "DEFAULT_REORDER_WINDOW",
    "InvalidLine",
    "PathArg",
    "expand_paths",
    "iter_file_records",
    "read_records",
    "timestamp_seconds",
]

#: Records held back to put slightly out-of-order lines (several processes appending
#: to one file, each a batch at a time) back in order; 0 turns reordering off.
DEFAULT_REORDER_WINDOW: Final[int] = 10_000
#: Longest excerpt of an invalid line kept in :class:`InvalidLine` and reports.
MAX_EXCERPT_CHARS: Final[int] = 200

#: A file or directory path, as ``str`` or ``os.PathLike``.
PathArg = Union[str, "os.PathLike[str]"]

_TIMESTAMP_RE: Final = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(Z|[+-]\d{2}:?\d{2})?$",
    re.IGNORECASE,
)
_SKIPPED_SUFFIXES: Final = (".lock", ".tmp")


class InvalidLine(NamedTuple):
    """A line :func:`read_records` skipped."""

    path: str
    line_number: int
    excerpt: str
    #: True for the last line of a file that does not end in a newline.
    torn: bool

    @property
    def is_note(self) -> bool:
        """True for the entry that says where a gzip file stopped being readable
        (its excerpt is ``<compressed data ...>``): it stands for no line."""
        return self.excerpt.startswith("<")


OnInvalid = Callable[[InvalidLine], None]


def _report_invalid(invalid: InvalidLine) -> None:
    what = "torn last line" if invalid.torn else "invalid line"
    report(
        logging.WARNING,
        "skipped %s %d of %s: %r",
        what,
        invalid.line_number,
        invalid.path,
        invalid.excerpt,
    )


def timestamp_seconds(value: object) -> float | None:
    """Return an RFC 3339 ``timestamp`` as epoch seconds, or None if it is not one.

    A timestamp without an offset is taken as UTC, as inferlog writes them.
    """
    if not isinstance(value, str):
        return None
    match = _TIMESTAMP_RE.match(value.strip())
    if match is None:
        return None
    date, clock, fraction, offset = match.groups()
    micro = (fraction or "0")[:6].ljust(6, "0")
    if offset is None or offset.upper() == "Z":
        offset = "+00:00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    try:
        moment = datetime.fromisoformat(f"{date}T{clock}.{micro}{offset}")
    except ValueError:
        return None
    if moment.tzinfo is None:  # pragma: no cover - the regex always supplies one
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def expand_paths(paths: PathArg | Iterable[PathArg]) -> list[str]:
    """Turn ``paths`` (files and directories) into the list of files to read.

    A directory stands for the files in it (not recursively), hidden files and lock
    or temp files excepted. When both ``X`` and ``X.gz`` are present, ``X.gz`` is
    dropped: it is what a compression interrupted before removing ``X`` leaves.
    """
    items: Iterable[PathArg] = [paths] if isinstance(paths, (str, os.PathLike)) else paths
    files: list[str] = []
    seen: set[str] = set()
    for item in items:
        path = os.fspath(item)
        if os.path.isdir(path):
            children = sorted(
                os.path.join(path, name)
                for name in os.listdir(path)
                if not name.startswith(".") and not name.endswith(_SKIPPED_SUFFIXES)
            )
            candidates = [child for child in children if os.path.isfile(child)]
        else:
            candidates = [path]
        for candidate in candidates:
            key = os.path.abspath(candidate)
            if key not in seen:
                seen.add(key)
                files.append(candidate)
    absolute = {os.path.abspath(f) for f in files}
    return [f for f in files if not (f.endswith(".gz") and os.path.abspath(f)[:-3] in absolute)]


def _lines(path: str) -> Iterator[bytes]:
    if not path.endswith(".gz"):
        try:
            plain = open(path, "rb")  # noqa: SIM115 - closed by the with below
        except FileNotFoundError:
            # A rotated file compressed since it was listed: read what replaced it.
            if not os.path.exists(path + ".gz"):
                raise
            path += ".gz"
        else:
            with plain:
                yield from plain
            return
    with gzip.open(path, "rb") as compressed:
        yield from compressed


_BOM: Final = b"\xef\xbb\xbf"


def iter_file_records(
    path: PathArg, *, on_invalid: OnInvalid | None = None
) -> Iterator[dict[str, Any]]:
    """Yield the records of one plain or gzip file, in file order.

    Invalid lines go to ``on_invalid`` (default: a warning on inferlog's diagnostics
    channel) and are skipped. A gzip file cut short yields what it holds and is
    reported as a torn last line.
    """
    name = os.fspath(path)
    handle = on_invalid or _report_invalid
    number = 0
    try:
        for number, raw in enumerate(_lines(name), start=1):
            torn = not raw.endswith(b"\n")
            body = raw.strip()
            if number == 1 and body.startswith(_BOM):
                body = body[len(_BOM) :]  # a file saved by a Windows editor
            if not body:
                continue
            try:
                value = orjson.loads(body)
            except orjson.JSONDecodeError:
                value = None
            if isinstance(value, dict):
                yield value
                continue
            excerpt = body[:MAX_EXCERPT_CHARS].decode("utf-8", "replace")
            handle(InvalidLine(name, number, excerpt, torn))
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        handle(InvalidLine(name, number + 1, compressed_data_note(err), True))


def compressed_data_note(err: BaseException) -> str:
    """What to say of a gzip file whose data stops being readable with ``err``."""
    if isinstance(err, EOFError):
        return f"<compressed data cut short: {err}>"
    # Bytes after the stream that are not another stream, or a corrupt stream.
    return f"<compressed data unreadable from here on: {err}>"


class _Stream:
    """One file being merged: its next record and that record's sort key."""

    __slots__ = ("key", "last_key", "order", "record", "records")

    def __init__(self, records: Iterator[dict[str, Any]], order: int) -> None:
        self.records = records
        self.order = order
        self.last_key = float("-inf")
        self.key = float("-inf")
        self.record: dict[str, Any] | None = None

    def advance(self) -> bool:
        record = next(self.records, None)
        if record is None:
            self.record = None
            return False
        key = timestamp_seconds(record.get("timestamp"))
        # A record without a usable timestamp keeps its place in its file.
        self.key = self.last_key if key is None else key
        self.last_key = self.key
        self.record = record
        return True


def _first_key(path: str, on_invalid: OnInvalid | None) -> float | None:
    """The sort key of the first record of ``path``, None if it has none.

    The lines skipped before the first record are reported when the merge reads the
    file; a file with no record is read whole here, so its skipped lines are
    reported here.
    """
    skipped: list[InvalidLine] = []
    stream = _Stream(iter_file_records(path, on_invalid=skipped.append), 0)
    try:
        if stream.advance():
            return stream.key
    finally:
        stream.records.close()  # type: ignore[attr-defined]
    for invalid in skipped:
        (on_invalid or _report_invalid)(invalid)
    return None


def _merge(files: list[str], on_invalid: OnInvalid | None) -> Iterator[dict[str, Any]]:
    # Files are opened in the order of their first record, and only once the merge
    # reaches that time, so that consecutive rotated files are read one after the
    # other while files from different writers that overlap are interleaved.
    starts = sorted(
        (key, order, path)
        for order, path in enumerate(files)
        if (key := _first_key(path, on_invalid)) is not None
    )
    waiting = iter(starts)
    upcoming = next(waiting, None)
    active: list[tuple[float, int, _Stream]] = []
    while active or upcoming is not None:
        while upcoming is not None and (not active or upcoming[0] <= active[0][0]):
            _start, order, path = upcoming
            stream = _Stream(iter_file_records(path, on_invalid=on_invalid), order)
            if stream.advance():
                heapq.heappush(active, (stream.key, order, stream))
            upcoming = next(waiting, None)
        if not active:
            continue
        _key, order, stream = active[0]
        assert stream.record is not None
        yield stream.record
        if stream.advance():
            heapq.heapreplace(active, (stream.key, order, stream))
        else:
            heapq.heappop(active)


def read_records(
    paths: PathArg | Iterable[PathArg],
    *,
    on_invalid: OnInvalid | None = None,
    reorder_window: int = DEFAULT_REORDER_WINDOW,
) -> Iterator[dict[str, Any]]:
    """Stream the records of plain and ``.gz`` JSON-lines files, oldest first.

    Args:
        paths: one path or several; a directory stands for the files in it (see
            :func:`expand_paths`).
        on_invalid: called with an :class:`InvalidLine` for every skipped line;
            by default each one is reported on stderr through inferlog's
            diagnostics channel.
        reorder_window: how many records are held back to restore time order
            within a file that several processes appended to; 0 yields each
            file's records in file order.

    Records are merged by their ``timestamp`` (RFC 3339); one without a readable
    timestamp keeps its place after the record before it. Records with equal
    timestamps keep file order.
    """
    if reorder_window < 0:
        raise ValueError(f"reorder_window must be >= 0, not {reorder_window}")
    merged = _merge(expand_paths(paths), on_invalid)
    if reorder_window == 0:
        yield from merged
        return
    held: list[tuple[float, int, dict[str, Any]]] = []
    counter = itertools.count()
    last_key = float("-inf")
    for record in merged:
        key = timestamp_seconds(record.get("timestamp"))
        last_key = last_key if key is None else key
        heapq.heappush(held, (last_key, next(counter), record))
        if len(held) > reorder_window:
            yield heapq.heappop(held)[2]
    while held:
        yield heapq.heappop(held)[2]
