"""The audit database: its tables, and opening it safely.

One table, ``audit_log``, holds one row per inference call, in the order the rows
were written (``seq``). Plain ``sqlite3`` can query it::

    sqlite3 audit.db "SELECT seq, timestamp, model_id, status FROM audit_log"

``parameters`` and the payloads are JSON text (``json_extract`` works on them).
``prev_hash`` and ``row_hash`` form the hash chain (see :mod:`inferlog.audit.chain`);
``audit_head`` holds the last row's position and hash, ``audit_anchor`` one row per
retention run (the last deleted row's position and hash, so the chain still verifies
after old rows are gone), ``audit_meta`` the schema version and hash algorithm.
"""

from __future__ import annotations

import contextlib
import datetime
import os
import sqlite3
from collections.abc import Iterator
from typing import Final, Literal

__all__ = [
    "CONTENT_COLUMNS",
    "DEFAULT_BUSY_TIMEOUT",
    "SCHEMA_VERSION",
    "SYNCHRONOUS_MODES",
    "TABLE",
    "Synchronous",
    "connect",
    "format_timestamp",
    "immediate_transaction",
]

#: Version of the layout below, stored in ``audit_meta``.
SCHEMA_VERSION: Final = "1"
#: The table of calls.
TABLE: Final = "audit_log"
#: Seconds a writer waits for another process's transaction before giving up.
DEFAULT_BUSY_TIMEOUT: Final = 30.0

Synchronous = Literal["FULL", "NORMAL"]
#: Accepted ``synchronous`` settings: FULL survives power loss, NORMAL a process crash.
SYNCHRONOUS_MODES: Final[tuple[Synchronous, ...]] = ("FULL", "NORMAL")

#: The columns a row's hash covers, in hash order, with their SQL types.
CONTENT_COLUMNS: Final[tuple[tuple[str, str], ...]] = (
    ("timestamp", "TEXT"),
    ("request_id", "TEXT"),
    ("user_id", "TEXT"),
    ("model_id", "TEXT"),
    ("model_version", "TEXT"),
    ("status", "TEXT"),
    ("error_code", "TEXT"),
    ("latency_ms", "REAL"),
    ("input_token_count", "INTEGER"),
    ("output_token_count", "INTEGER"),
    ("parameters", "TEXT"),
    ("request_payload", "TEXT"),
    ("response_payload", "TEXT"),
    ("redacted", "INTEGER"),
    ("logger", "TEXT"),
)

_DDL: Final = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    seq INTEGER PRIMARY KEY,
    {", ".join(f"{name} {kind}" for name, kind in CONTENT_COLUMNS)},
    prev_hash TEXT NOT NULL,
    row_hash TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS {TABLE}_request_id ON {TABLE} (request_id);
CREATE TABLE IF NOT EXISTS audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    row_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_anchor (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    row_hash TEXT NOT NULL,
    rows_deleted INTEGER NOT NULL,
    pruned_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS audit_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def format_timestamp(epoch_seconds: float) -> str:
    """The ``timestamp`` text of ``epoch_seconds``: RFC 3339, UTC, microseconds.

    Fixed width, so text order is time order (retention compares the text).
    """
    moment = datetime.datetime.fromtimestamp(epoch_seconds, tz=datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _create_private(path: str) -> None:
    """Create ``path`` with mode 0o600 unless it exists (SQLite gives its -wal/-shm the same)."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        return
    os.close(fd)
    with contextlib.suppress(OSError):  # the umask may only have narrowed it
        os.chmod(path, 0o600)


@contextlib.contextmanager
def immediate_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT``, rolled back if the block raises.

    IMMEDIATE takes the write lock before the first read, so what the block reads
    (the chain head) cannot change before it writes.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def connect(
    path: str | os.PathLike[str],
    *,
    create: bool = True,
    synchronous: Synchronous = "FULL",
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> sqlite3.Connection:
    """Open the audit database at ``path`` in WAL mode, creating it (0o600) if asked.

    The connection is in autocommit mode (``isolation_level=None``): callers open
    their own ``BEGIN IMMEDIATE`` transactions. Raises ``FileNotFoundError`` when
    ``create`` is False and there is no database, ``sqlite3.Error`` when it cannot
    be opened.
    """
    where = os.fspath(path)
    if synchronous not in SYNCHRONOUS_MODES:
        raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, got {synchronous!r}")
    if create:
        _create_private(where)
    elif not os.path.exists(where):
        raise FileNotFoundError(f"no audit database at {where}")
    conn = sqlite3.connect(
        where, timeout=busy_timeout, isolation_level=None, check_same_thread=False
    )
    try:
        conn.execute(f"PRAGMA synchronous={synchronous}")
        if create:
            # WAL is a property of the file, set once by the writers; readers (verify,
            # show) leave it as it is.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.executescript(_DDL)
            conn.execute(
                "INSERT OR IGNORE INTO audit_meta (key, value) VALUES ('schema_version', ?)",
                (SCHEMA_VERSION,),
            )
    except BaseException:
        conn.close()
        raise
    return conn
