"""Retention: delete the oldest rows by age, count or size, keeping the chain verifiable.

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


def _used_bytes(conn: sqlite3.Connection) -> int:
    """Bytes of the database file in use (its pages less the free ones)."""
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    free = conn.execute("PRAGMA freelist_count").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    return int((pages - free) * size)


def _cutoff(
    conn: sqlite3.Connection,
    max_age: float | None,
    max_rows: int | None,
    max_bytes: int | None,
    now: float,
) -> int:
    """The highest ``seq`` to delete (0 for none): a prefix of the chain."""
    cutoff = 0
    last = conn.execute(f"SELECT MAX(seq) FROM {TABLE}").fetchone()[0]
    if last is None:
        return 0
    if max_rows is not None:
        cutoff = max(cutoff, int(last) - max_rows)
    if max_bytes is not None:
        used = _used_bytes(conn)
        if used > max_bytes:
            # Rows are of similar size: keep the share of them that fits, less a tenth
            # so that the next run is not due at once.
            (count,) = conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()
            keep = int(count * max_bytes / used * 0.9)
            cutoff = max(cutoff, int(last) - keep)
    # A cut-off before the epoch (a retention of centuries) keeps every row.
    if max_age is not None and now - max_age > 0:
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
    max_bytes: int | None = None,
    now: float,
) -> int:
    """:func:`prune` on an open connection (autocommit mode); returns rows deleted."""
    with immediate_transaction(conn):
        cutoff = _cutoff(conn, max_age, max_rows, max_bytes, now)
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
    max_bytes: int | None = None,
    now: float | None = None,
) -> int:
    """Delete the oldest rows by age (``max_age`` s), count (``max_rows``) or size.

    ``max_bytes`` bounds the bytes the rows take in the file: when they take more,
    the oldest go until about 90% of it is left. Returns how many rows were deleted
    (at most :data:`RETENTION_BATCH` per call). ``now`` defaults to the current time.
    The freed pages are reused by new rows; run ``VACUUM`` to shrink the file.
    """
    conn = connect(path, create=False)
    try:
        return prune_connection(
            conn,
            max_age=max_age,
            max_rows=max_rows,
            max_bytes=max_bytes,
            now=time.time() if now is None else now,
        )
    finally:
        conn.close()
