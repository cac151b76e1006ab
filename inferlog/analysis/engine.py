"""DuckDB underneath every analysis: one connection, one load, per-file accounting.

DuckDB is imported here and only here (``pip install 'inferlog[analysis]'``). The
files are read once, by DuckDB's own parallel JSON reader, into a temporary table of
just the columns an analysis needs; DuckDB keeps that table, and any sort a query
needs, within :data:`DEFAULT_MEMORY_LIMIT` by spilling to a temporary directory, so
memory does not grow with the size of the logs.

A line that is not a JSON object is read as a row with every column NULL; such rows
(and objects with none of the core fields ``timestamp``, ``level``, ``logger``,
``message``) are what :class:`FileReport` counts as unreadable. A gzip file cut short,
which DuckDB refuses outright, is read up to the cut by :mod:`inferlog.reader` instead.
"""

from __future__ import annotations

import gzip
import os
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final

import orjson

from inferlog import schema
from inferlog.analysis.errors import InputError, MissingExtraError
from inferlog.reader import InvalidLine, compressed_data_note, iter_file_records

__all__ = [
    "CORE_COLUMNS",
    "DEFAULT_MEMORY_LIMIT",
    "FILENAME_COLUMN",
    "RECORDS_TABLE",
    "UNREADABLE_SQL",
    "FileReport",
    "account",
    "connect",
    "duckdb_module",
    "fans_out",
    "load_records",
    "materialize",
    "quote_identifier",
    "quote_literal",
    "read_json_sql",
]

#: DuckDB's memory ceiling for one analysis; beyond it, sorts and tables spill to disk.
DEFAULT_MEMORY_LIMIT: Final = "1GB"
#: Name of the temporary table :func:`load_records` fills.
RECORDS_TABLE: Final = "inferlog_records"
#: Column that holds the file each row came from.
FILENAME_COLUMN: Final = "filename"
#: Every record has these; a row without any of them was not a record.
CORE_COLUMNS: Final[Mapping[str, str]] = dict.fromkeys(schema.CORE_FIELDS, "VARCHAR")
# Longest line DuckDB accepts; inferlog's formatter caps records well below this.
_MAX_OBJECT_BYTES: Final = 16 * 1024 * 1024


def duckdb_module() -> ModuleType:
    """Import and return :mod:`duckdb`, or raise :class:`MissingExtraError` naming the extra."""
    try:
        import duckdb
    except ImportError as err:
        raise MissingExtraError("duckdb", "analysis") from err
    return duckdb  # type: ignore[no-any-return]


#: The first DuckDB release that streams one scan into every query reading it.
_FAN_OUT_RELEASE: Final = (2, 0)


def fans_out() -> bool:
    """Whether this DuckDB streams a scan shared by several aggregations (2.0 and later).

    Older releases first store all the rows of a common table expression read more
    than once, so memory would grow with the logs.
    """
    release = duckdb_module().__version__.split(".")[:2]
    try:
        return tuple(int(part) for part in release) >= _FAN_OUT_RELEASE
    except ValueError:  # pragma: no cover - a development build's version string
        return False


def connect(*, memory_limit: str = DEFAULT_MEMORY_LIMIT, threads: int | None = None) -> Any:
    """Return a new in-memory DuckDB connection set up for log analysis (UTC, bounded)."""
    duckdb = duckdb_module()
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET memory_limit = {quote_literal(memory_limit)}")
    con.execute(f"SET temp_directory = {quote_literal(tempfile.gettempdir())}")
    # Aggregates do not need file order; keeping it would hold rows back in memory.
    con.execute("SET preserve_insertion_order = false")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    return con


def quote_identifier(name: str) -> str:
    """Return ``name`` as a double-quoted SQL identifier (``gen_ai.request.model`` too)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(text: str) -> str:
    """Return ``text`` as a single-quoted SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def read_json_sql(files: Sequence[str] | str, columns: Mapping[str, str]) -> str:
    """Return the DuckDB ``read_json(...)`` call that reads ``columns`` from ``files``.

    ``files`` is a list of paths or one glob/URL (``s3://bucket/logs/*.jsonl.gz``);
    ``columns`` maps field names to DuckDB types. Unreadable lines become NULL rows.
    """
    if isinstance(files, str):
        source = quote_literal(files)
    else:
        source = "[" + ", ".join(quote_literal(f) for f in files) + "]"
    spec = ", ".join(
        f"{quote_literal(name)}: {quote_literal(kind)}" for name, kind in columns.items()
    )
    return (
        f"read_json({source}, format = 'newline_delimited', columns = {{{spec}}}, "
        f"records = true, ignore_errors = true, maximum_object_size = {_MAX_OBJECT_BYTES}, "
        "filename = true)"
    )


@dataclass
class FileReport:
    """What one file held: rows read, and lines skipped because they were not records."""

    path: str
    records: int = 0
    unreadable: int = 0
    #: The file ends in a line cut short (its writer was stopped mid-write).
    torn: bool = False
    #: Why part of the file could not be read at all (a gzip stream cut short).
    note: str = ""
    details: list[InvalidLine] = field(default_factory=list)


#: How much of a plain file's end is read at a time to find its last line.
_TAIL_STEP: Final = 1 << 20


def _unreadable_tail(tail: bytes) -> bool:
    """Whether ``tail``, a last line without its newline, is not a record: torn.

    A line of blanks is nothing; a JSON object with a core field is a record whose
    writer only missed the newline, and nothing of it was lost.
    """
    body = tail.strip()
    if not body:
        return False
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return True
    # As UNREADABLE_SQL counts it: an object whose core fields are all missing or null.
    return not (isinstance(value, dict) and any(value.get(c) is not None for c in CORE_COLUMNS))


def _ends_torn(path: str) -> bool:
    """Whether plain file ``path`` ends in an unreadable line without its newline."""
    try:
        with open(path, "rb") as handle:
            start = end = handle.seek(0, os.SEEK_END)
            tail = b""
            # Back from the end, a step at a time, to the newline before the last line.
            while start > 0:
                start = max(0, start - _TAIL_STEP)
                handle.seek(start)
                tail = handle.read(end - start)
                if tail.endswith(b"\n"):
                    return False
                if b"\n" in tail:
                    break
    except OSError:
        return False
    return _unreadable_tail(tail.rpartition(b"\n")[2])


def _salvage(path: str, directory: str, report: FileReport) -> str:
    """Copy what ``path`` holds up to its damage into a plain file DuckDB can read."""
    target = os.path.join(directory, f"salvaged-{len(os.listdir(directory))}.jsonl")
    invalid: list[InvalidLine] = []
    with open(target, "wb") as out:
        for record in iter_file_records(path, on_invalid=invalid.append):
            out.write(orjson.dumps(record) + b"\n")
    report.details.extend(invalid)
    report.unreadable += sum(1 for line in invalid if not line.is_note)
    report.torn = any(line.torn for line in invalid if not line.is_note)
    report.note = next((line.excerpt for line in invalid if line.is_note), "")
    return target


@contextmanager
def _salvage_directory() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="inferlog-salvage-") as directory:
        yield directory


#: Seconds between two progress reports of a long query.
PROGRESS_INTERVAL: Final = 0.2


@contextmanager
def _progress(con: Any, on_progress: Callable[[float], None] | None) -> Iterator[None]:
    """While the block runs, report DuckDB's progress from a thread (if asked to)."""
    if on_progress is None:
        yield
        return
    con.execute("SET enable_progress_bar = true")
    con.execute("SET enable_progress_bar_print = false")
    done = threading.Event()

    def poll() -> None:
        while not done.wait(PROGRESS_INTERVAL):
            share = con.query_progress()
            if share >= 0:
                on_progress(float(share))

    poller = threading.Thread(target=poll, name="inferlog-progress", daemon=True)
    poller.start()
    try:
        yield
    finally:
        done.set()
        poller.join()


#: SQL condition true for a row that was not a record (every core field NULL).
UNREADABLE_SQL: Final = " AND ".join(f"{quote_identifier(c)} IS NULL" for c in CORE_COLUMNS)


def materialize(
    con: Any,
    table: str,
    files: Sequence[str],
    columns: Mapping[str, str],
    select: Callable[[str], str],
    *,
    on_progress: Callable[[float], None] | None = None,
) -> tuple[dict[str, FileReport], dict[str, str]]:
    """``CREATE TEMP TABLE table AS select(source)``, ``source`` reading ``files``.

    ``source`` is the :func:`read_json_sql` call over ``files`` for ``columns`` plus
    the core fields and :data:`FILENAME_COLUMN`. A gzip file cut short is salvaged
    and read again. Returns the reports to fill (by path given) and the map from the
    names DuckDB read back to those paths. ``on_progress`` gets the share done (0 to
    100) every :data:`PROGRESS_INTERVAL` seconds while DuckDB reads.
    """
    wanted = {**CORE_COLUMNS, **columns}
    reports = {path: FileReport(path) for path in files}
    duckdb = duckdb_module()
    with _salvage_directory() as directory:
        reading = {path: path for path in files}
        while True:
            source = read_json_sql(list(reading.values()), wanted)
            try:
                with _progress(con, on_progress):
                    con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS {select(source)}")
                break
            except duckdb.OutOfMemoryException as err:
                raise InputError(
                    f"DuckDB ran out of memory reading the logs ({err}); "
                    "give it more with --memory-limit"
                ) from err
            except (duckdb.IOException, duckdb.InvalidInputException) as err:
                unsalvaged = [p for p, r in reading.items() if r == p]
                broken = [p for p in unsalvaged if p in str(err)]
                if not broken:
                    # Some gzip errors name no file ("Input is not a GZIP stream", from
                    # bytes after the stream that Python's gzip reads past, or a
                    # damaged one): read every gzip file not read that way yet.
                    broken = [p for p in unsalvaged if p.endswith(".gz")]
                if not broken:
                    raise InputError(f"cannot read the logs: {err}") from err
                for path in broken:
                    reading[path] = _salvage(path, directory, reports[path])
    return reports, {read: path for path, read in reading.items()}


def account(
    reports: dict[str, FileReport],
    originals: Mapping[str, str],
    counts: Iterable[tuple[str, int, int]],
) -> list[FileReport]:
    """Fill ``reports`` from ``(file read, lines, unreadable lines)`` rows; in given order."""
    for name, lines, unreadable in counts:
        report = reports.get(originals.get(name, name))
        if report is None:  # pragma: no cover - DuckDB names files as it was given them
            continue
        report.records += int(lines) - int(unreadable)
        report.unreadable += int(unreadable)
    for report in reports.values():
        if not report.unreadable:
            continue  # a torn last line is an unreadable one
        if not report.path.endswith(".gz"):
            report.torn = report.torn or _ends_torn(report.path)
        else:
            # Decompressed to its end to see its last line. Older DuckDB releases (the
            # last for Python 3.10) also read a cut gzip stream up to the cut without
            # an error: say so as a newer one makes us say.
            torn, note = _gzip_end(report.path)
            report.torn = report.torn or torn
            report.note = report.note or note
    return list(reports.values())


def _gzip_end(path: str) -> tuple[bool, str]:
    """Whether gzip file ``path`` ends in an unreadable line without its newline, and
    the note for compressed data that stops being readable ("" when it is whole)."""
    tail = b""
    try:
        with gzip.open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                _before, newline, after = chunk.rpartition(b"\n")
                tail = after if newline else tail + after
    except (EOFError, gzip.BadGzipFile, OSError, zlib.error) as err:
        return False, compressed_data_note(err)  # where reading stopped: no line
    return _unreadable_tail(tail), ""


def load_records(con: Any, files: Sequence[str], columns: Mapping[str, str]) -> list[FileReport]:
    """Read ``columns`` of every line of ``files`` into :data:`RECORDS_TABLE`, once.

    Returns one :class:`FileReport` per file, in the order given. The core fields are
    always read (they tell a record from an unreadable line), and so is the file name.
    """
    reports, originals = materialize(
        con, RECORDS_TABLE, files, columns, lambda source: f"SELECT * FROM {source}"
    )
    counts = con.execute(
        f"SELECT {FILENAME_COLUMN}, count(*), count(*) FILTER (WHERE {UNREADABLE_SQL}) "
        f"FROM {RECORDS_TABLE} GROUP BY {FILENAME_COLUMN}"
    ).fetchall()
    return account(reports, originals, counts)
