"""Retention: old rows go, an anchor keeps the rest verifiable, writing goes on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.audit.retention import prune
from inferlog.audit.schema import format_timestamp
from inferlog.audit.verify import verify
from inferlog.audit.writer import AuditWriter

NOW = 1_800_000_000.0
DAY = 86_400.0


def _write(path: Path, ages_in_days: list[float]) -> None:
    writer = AuditWriter(path, synchronous="NORMAL")
    writer.append(
        [
            {"timestamp": format_timestamp(NOW - age * DAY), "request_id": f"r{i}", "status": "ok"}
            for i, age in enumerate(ages_in_days)
        ]
    )
    writer.close()


def test_rows_older_than_max_age_go_and_the_chain_still_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    _write(path, [40, 35, 31, 29, 2, 1])

    deleted = prune(path, max_age=30 * DAY, now=NOW)

    assert deleted == 3
    result = verify(path)
    assert (result.ok, result.rows, result.first_seq) == (True, 3, 4)
    anchor = sqlite3.connect(path).execute("SELECT seq, rows_deleted FROM audit_anchor").fetchall()
    assert anchor == [(3, 3)]


def test_only_a_prefix_goes_when_timestamps_interleave(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    _write(path, [40, 10, 40, 1])

    assert prune(path, max_age=30 * DAY, now=NOW) == 1
    assert verify(path).ok


def test_max_rows_keeps_the_newest_rows_and_writing_continues(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    _write(path, [5] * 10)

    assert prune(path, max_rows=4, now=NOW) == 6
    _write(path, [0, 0])
    assert prune(path, max_rows=4, now=NOW) == 2

    result = verify(path)
    assert (result.ok, result.rows, result.first_seq, result.last_seq) == (True, 4, 9, 12)


def test_pruning_nothing_leaves_no_anchor(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    _write(path, [1, 1])

    assert prune(path, max_age=30 * DAY, max_rows=10, now=NOW) == 0
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM audit_anchor").fetchone() == (0,)


def test_a_deleted_row_after_the_anchor_is_still_found(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    _write(path, [5] * 6)
    prune(path, max_rows=4, now=NOW)
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 3")
    conn.close()

    problem = verify(path).problem
    assert problem is not None
    assert (problem.kind, problem.seq) == ("deleted", 3)


@settings(max_examples=25, deadline=None)
@given(
    batches=st.lists(st.integers(min_value=1, max_value=6), min_size=1, max_size=6),
    keep=st.integers(min_value=0, max_value=12),
)
def test_any_sequence_of_writes_and_prunes_verifies(
    tmp_path_factory: pytest.TempPathFactory, batches: list[int], keep: int
) -> None:
    path = tmp_path_factory.mktemp("prune") / "audit.db"
    written = 0
    for size in batches:
        _write(path, [1.0] * size)
        written += size
        prune(path, max_rows=keep, now=NOW)
    result = verify(path)
    assert result.ok
    assert result.rows == min(keep, written)
