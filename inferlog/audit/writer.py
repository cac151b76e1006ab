"""Appending rows to the chain: one ``BEGIN IMMEDIATE`` transaction per batch.

Several threads and processes may append to one database. ``BEGIN IMMEDIATE``
takes SQLite's write lock before the chain head is read, so no two writers ever
link to the same head; a writer that finds the lock taken waits up to the busy
timeout. A batch is committed as a whole or not at all: when :meth:`AuditWriter.append`
returns, its rows are on disk (with ``synchronous=FULL``, even across a power loss).
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final, TypeVar

from inferlog._safe import clean_text, safe_str
from inferlog.audit.chain import GENESIS_HASH, algorithm_for, row_digest
from inferlog.audit.schema import (
    CONTENT_COLUMNS,
    DEFAULT_BUSY_TIMEOUT,
    TABLE,
    Synchronous,
    connect,
    immediate_transaction,
)

__all__ = ["AuditWriter", "ChainMismatchError", "normalize_row"]

_T = TypeVar("_T")
_NAMES: Final = tuple(name for name, _ in CONTENT_COLUMNS)
_INSERT: Final = (
    f"INSERT INTO {TABLE} (seq, {', '.join(_NAMES)}, prev_hash, row_hash) "
    f"VALUES ({', '.join('?' * (len(_NAMES) + 3))})"
)


_abandoned: list[sqlite3.Connection] = []


class ChainMismatchError(RuntimeError):
    """The database's chain uses another hash algorithm than this writer's key implies."""


def _as_text(value: object) -> str | None:
    # SQLite stores UTF-8: a lone surrogate becomes a visible escape rather than an error.
    if value is None:
        return None
    return clean_text(value if type(value) is str else safe_str(value))


def _as_real(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _as_int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    # SQLite integers are 64-bit signed; anything larger would not read back equal.
    return value if -(2**63) <= value < 2**63 else None


_CONVERT: Final = {"TEXT": _as_text, "REAL": _as_real, "INTEGER": _as_int}


def normalize_row(row: Mapping[str, Any]) -> list[Any]:
    """The content values of ``row`` in column order, as SQLite will give them back.

    The hash is computed over these exact values, so that what is read back for
    verification hashes the same: text columns hold str, REAL a finite float,
    INTEGER a 64-bit int; anything else becomes NULL.
    """
    return [_CONVERT[kind](row.get(name)) for name, kind in CONTENT_COLUMNS]


class AuditWriter:
    """Appends rows to one audit database; safe to share between threads.

    Args:
        path: The database file (created with mode 0o600 on first use).
        key: HMAC key, or None for plain SHA-256.
        synchronous: ``"FULL"`` or ``"NORMAL"`` (see :mod:`inferlog.audit.schema`).
        busy_timeout: Seconds to wait for another writer's transaction.

    The connection is opened on the first :meth:`append`, never in ``__init__``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        key: bytes | None = None,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
    ) -> None:
        self.path = os.fspath(path)
        self._key = key
        self._synchronous: Synchronous = synchronous
        self._busy_timeout = busy_timeout
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            conn = connect(
                self.path, synchronous=self._synchronous, busy_timeout=self._busy_timeout
            )
            try:
                self._check_algorithm(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _check_algorithm(self, conn: sqlite3.Connection) -> None:
        wanted = algorithm_for(self._key)
        with immediate_transaction(conn):
            conn.execute(
                "INSERT OR IGNORE INTO audit_meta (key, value) VALUES ('hash', ?)", (wanted,)
            )
            (found,) = conn.execute("SELECT value FROM audit_meta WHERE key = 'hash'").fetchone()
        if found != wanted:
            raise ChainMismatchError(
                f"audit database {self.path} is chained with {found}, but this writer "
                f"{'has' if self._key else 'has no'} HMAC key ({wanted}); configure the same key"
            )

    def append(self, rows: Sequence[Mapping[str, Any]]) -> int:
        """Append ``rows`` in one transaction; return how many were committed (all).

        Raises ``sqlite3.Error`` (nothing committed) when the database cannot be
        written, e.g. when another writer holds the lock beyond the busy timeout.
        """
        if not rows:
            return 0
        with self._lock:
            conn = self._connection()
            with immediate_transaction(conn):
                head = conn.execute("SELECT seq, row_hash FROM audit_head WHERE id = 1").fetchone()
                seq, prev = (int(head[0]), str(head[1])) if head else (0, GENESIS_HASH)
                values = []
                for row in rows:
                    content = normalize_row(row)
                    seq += 1
                    digest = row_digest(prev, content, self._key)
                    values.append((seq, *content, prev, digest))
                    prev = digest
                conn.executemany(_INSERT, values)
                conn.execute(
                    "INSERT INTO audit_head (id, seq, row_hash) VALUES (1, ?, ?) ON CONFLICT (id) "
                    "DO UPDATE SET seq = excluded.seq, row_hash = excluded.row_hash",
                    (seq, prev),
                )
        return len(rows)

    def run(self, action: Callable[[sqlite3.Connection], _T]) -> _T:
        """Call ``action(connection)`` while no other thread of this writer uses it."""
        with self._lock:
            return action(self._connection())

    def close(self) -> None:
        """Close the connection (a later :meth:`append` opens a new one); idempotent."""
        with self._lock:
            if self._conn is not None:
                conn, self._conn = self._conn, None
                conn.close()

    def forget_after_fork(self) -> None:
        """In a forked child: drop the parent's connection without touching it."""
        # SQLite forbids using a connection across fork, and closing it would let it
        # checkpoint or unlink the parent's WAL files: it is kept, unused, until exit.
        if self._conn is not None:
            _abandoned.append(self._conn)
        self._conn = None
        self._lock = threading.Lock()
