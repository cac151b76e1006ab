"""Retention: delete the oldest rows by age or count, keeping the chain verifiable.

Rows are only ever deleted from the start of the chain, in one ``BEGIN IMMEDIATE``
transaction that also writes an anchor row (``audit_anchor``): the position and hash
of the last deleted row, how many rows went and when. :func:`~inferlog.audit.verify`
starts from the latest anchor, so the remaining rows still verify, and the anchors
are the record of what retention removed.
"""

from __future__ import annotations

import os
import sqlite3
import time
from typing import Final

from inferlog.audit.schema import TABLE, connect, format_timestamp, immediate_transaction

__all__ = ["RETENTION_BATCH", "prune", "prune_connection"]

#: Most rows one retention run deletes, so that it never holds the lock for long.
RETENTION_BATCH: Final = 100_000


def _cutoff(
    conn: sqlite3.Connection, max_age: float | None, max_rows: int | None, now: float
) -> int:
    """The highest ``seq`` to delete (0 for none): a prefix of the chain."""
    cutoff = 0
    last = conn.execute(f"SELECT MAX(seq) FROM {TABLE}").fetchone()[0]
    if last is None:
        return 0
    if max_rows is not None:
        cutoff = max(cutoff, int(last) - max_rows)
    if max_age is not None:
        limit = format_timestamp(now - max_age)
        # The prefix ends before the first row young enough to keep: rows from several
        # processes may interleave their timestamps a little, and only a prefix can go.
        young = conn.execute(
            f"SELECT MIN(seq) FROM {TABLE} WHERE timestamp >= ?", (limit,)
        ).fetchone()[0]
        cutoff = max(cutoff, int(last) if young is None else int(young) - 1)
    first = conn.execute(f"SELECT MIN(seq) FROM {TABLE}").fetchone()[0]
    return min(cutoff, int(first) - 1 + RETENTION_BATCH)


def prune_connection(
    conn: sqlite3.Connection,
    *,
    max_age: float | None = None,
    max_rows: int | None = None,
    now: float,
) -> int:
    """:func:`prune` on an open connection (autocommit mode); returns rows deleted."""
    with immediate_transaction(conn):
        cutoff = _cutoff(conn, max_age, max_rows, now)
        found = conn.execute(f"SELECT row_hash FROM {TABLE} WHERE seq = ?", (cutoff,)).fetchone()
        if cutoff <= 0 or found is None:
            return 0
        deleted = conn.execute(f"DELETE FROM {TABLE} WHERE seq <= ?", (cutoff,)).rowcount
        conn.execute(
            "INSERT INTO audit_anchor (seq, row_hash, rows_deleted, pruned_at) VALUES (?, ?, ?, ?)",
            (cutoff, found[0], deleted, format_timestamp(now)),
        )
    return int(deleted)


def prune(
    path: str | os.PathLike[str],
    *,
    max_age: float | None = None,
    max_rows: int | None = None,
    now: float | None = None,
) -> int:
    """Delete rows older than ``max_age`` seconds and beyond the newest ``max_rows``.

    Returns how many rows were deleted (at most :data:`RETENTION_BATCH` per call).
    ``now`` defaults to the current time. The freed pages are reused by new rows; run
    ``VACUUM`` to shrink the file.
    """
    conn = connect(path, create=False)
    try:
        return prune_connection(
            conn, max_age=max_age, max_rows=max_rows, now=time.time() if now is None else now
        )
    finally:
        conn.close()
