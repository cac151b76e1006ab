"""Checking the chain: find the first edited, deleted, inserted or reordered row.

Rows are read in ``seq`` order, starting from the latest retention anchor (or the
genesis hash). Each row must hash to its ``row_hash`` (its content is intact) and
link to the row before it (``prev_hash``); the last row must be the recorded head.
The first row that fails is classified:

* **edited** -- its content no longer hashes to its ``row_hash``, and the next row
  still links to it (or its ``seq`` was changed);
* **inserted** -- the next row links past it, to the row before it;
* **reordered** -- it links to a row that comes *later* in ``seq`` order;
* **deleted** -- it links to a row that is not there (a gap in the chain), or the
  head records rows after the last one.

Without an HMAC key, someone who can write the file can also recompute every hash
after an edit; a gap in ``seq`` still shows, but a truncated tail with a rewritten
head does not. With a key, any change without the key is found.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Final, Literal

from inferlog.audit.chain import GENESIS_HASH, algorithm_for, row_digest
from inferlog.audit.schema import CONTENT_COLUMNS, TABLE, connect

__all__ = ["Problem", "ProblemKind", "VerifyResult", "verify"]

ProblemKind = Literal["edited", "deleted", "inserted", "reordered", "key"]

_NAMES: Final = tuple(name for name, _ in CONTENT_COLUMNS)
_SELECT: Final = f"SELECT seq, {', '.join(_NAMES)}, prev_hash, row_hash FROM {TABLE} ORDER BY seq"


@dataclass(frozen=True)
class Problem:
    """The first thing wrong with a chain: its kind and the row it concerns."""

    kind: ProblemKind
    seq: int | None
    request_id: str | None
    detail: str

    def __str__(self) -> str:
        where = f"row seq={self.seq}" if self.seq is not None else "chain"
        rid = f" (request_id={self.request_id})" if self.request_id else ""
        return f"{self.kind}: {where}{rid}: {self.detail}"


@dataclass(frozen=True)
class VerifyResult:
    """The outcome of :func:`verify`: ``ok``, rows checked, and the first problem."""

    ok: bool
    rows: int
    problem: Problem | None = None
    first_seq: int | None = None
    last_seq: int | None = None


@dataclass(frozen=True)
class _Row:
    seq: int
    request_id: str | None
    prev_hash: str
    row_hash: str
    intact: bool


def _rows(conn: sqlite3.Connection, key: bytes | None) -> Iterator[_Row]:
    rid_index = _NAMES.index("request_id")
    for raw in conn.execute(_SELECT):
        content = list(raw[1 : 1 + len(_NAMES)])
        prev_hash, row_hash = str(raw[-2]), str(raw[-1])
        intact = row_digest(prev_hash, content, key) == row_hash
        request_id = content[rid_index]
        yield _Row(
            int(raw[0]),
            request_id if isinstance(request_id, str) else None,
            prev_hash,
            row_hash,
            intact,
        )


def _seq_with_hash(conn: sqlite3.Connection, digest: str) -> int | None:
    found = conn.execute(
        f"SELECT seq FROM {TABLE} WHERE row_hash = ? LIMIT 1", (digest,)
    ).fetchone()
    return int(found[0]) if found else None


def _classify(
    conn: sqlite3.Connection,
    row: _Row,
    nxt: _Row | None,
    expected_prev: str,
    before_prev: str | None,
    prev_seq: int,
) -> Problem:
    if not row.intact:
        if nxt is not None and nxt.prev_hash == expected_prev:
            return Problem(
                "inserted",
                row.seq,
                row.request_id,
                "the next row links past this row to the one before it",
            )
        return Problem("edited", row.seq, row.request_id, "its content does not match its hash")
    if before_prev is not None and row.prev_hash == before_prev:
        return Problem(
            "inserted",
            prev_seq,
            None,
            f"row seq={row.seq} links past this row to the one before it",
        )
    linked_seq = _seq_with_hash(conn, row.prev_hash)
    if linked_seq is not None and linked_seq > row.seq:
        return Problem(
            "reordered",
            row.seq,
            row.request_id,
            f"it was written after row seq={linked_seq}, which now follows it",
        )
    if row.seq > prev_seq + 1:
        return Problem(
            "deleted",
            prev_seq + 1,
            None,
            f"rows seq {prev_seq + 1}..{row.seq - 1} are missing; row seq={row.seq} "
            "links to a row that is not there",
        )
    return Problem(
        "deleted",
        row.seq,
        row.request_id,
        f"a row before it is missing: it links to a row that is not there (after seq {prev_seq})",
    )


def verify(path: str | os.PathLike[str], *, key: bytes | None = None) -> VerifyResult:
    """Check the chain of the audit database at ``path``; never changes it.

    ``key`` is the HMAC key the chain was written with (None for plain SHA-256); a
    database chained with the other algorithm is reported as a problem of kind
    ``key``. Raises ``FileNotFoundError`` when there is no database.
    """
    conn = connect(path, create=False)
    try:
        conn.execute("BEGIN")  # one snapshot, even while writers append
        meta = dict(conn.execute("SELECT key, value FROM audit_meta").fetchall())
        algorithm = meta.get("hash")
        if algorithm is not None and algorithm != algorithm_for(key):
            need = "needs the HMAC key" if algorithm != "sha256" else "has no HMAC"
            return VerifyResult(
                False, 0, Problem("key", None, None, f"the chain uses {algorithm} and {need}")
            )
        anchor = conn.execute(
            "SELECT seq, row_hash FROM audit_anchor ORDER BY id DESC LIMIT 1"
        ).fetchone()
        expected_prev, prev_seq = (str(anchor[1]), int(anchor[0])) if anchor else (GENESIS_HASH, 0)
        before_prev: str | None = None
        count = 0
        first: int | None = None
        rows = _rows(conn, key)
        row = next(rows, None)
        while row is not None:
            nxt = next(rows, None)
            if first is None:
                first = row.seq
            if not row.intact or row.prev_hash != expected_prev:
                problem = _classify(conn, row, nxt, expected_prev, before_prev, prev_seq)
                return VerifyResult(False, count, problem, first, prev_seq or None)
            if row.seq != prev_seq + 1:
                kind: ProblemKind = "deleted" if row.seq > prev_seq + 1 else "edited"
                return VerifyResult(
                    False,
                    count,
                    Problem(
                        kind,
                        row.seq,
                        row.request_id,
                        f"its seq follows {prev_seq} with a gap; the chain was rewritten",
                    ),
                    first,
                    prev_seq or None,
                )
            count += 1
            before_prev, expected_prev, prev_seq = expected_prev, row.row_hash, row.seq
            row = nxt
        head = conn.execute("SELECT seq, row_hash FROM audit_head WHERE id = 1").fetchone()
        if head is not None and (int(head[0]), str(head[1])) != (prev_seq, expected_prev):
            if int(head[0]) > prev_seq:
                problem = Problem(
                    "deleted",
                    prev_seq + 1,
                    None,
                    f"the head records rows up to seq {head[0]}; they are missing",
                )
            else:
                problem = Problem(
                    "inserted",
                    prev_seq,
                    None,
                    f"rows after the recorded head (seq {head[0]}) were added",
                )
            return VerifyResult(False, count, problem, first, prev_seq or None)
        return VerifyResult(True, count, None, first, prev_seq or None)
    finally:
        conn.close()
