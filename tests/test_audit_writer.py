"""AuditWriter: private file mode, WAL, concurrent writers, one algorithm per chain."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from inferlog.audit.verify import verify
from inferlog.audit.writer import AuditWriter, ChainMismatchError, normalize_row


def _row(i: int, who: str = "t") -> dict[str, object]:
    return {"timestamp": "2026-12-01T00:00:00.000000Z", "request_id": f"{who}-{i}", "status": "ok"}


def test_database_and_wal_are_created_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    old = os.umask(0o022)
    try:
        writer = AuditWriter(path)
        writer.append([_row(1)])
    finally:
        os.umask(old)
    try:
        for name in ("audit.db", "audit.db-wal", "audit.db-shm"):
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600, name
        mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal"
    finally:
        writer.close()


def test_nothing_is_created_before_the_first_append(tmp_path: Path) -> None:
    AuditWriter(tmp_path / "audit.db")
    assert list(tmp_path.iterdir()) == []


def test_threads_sharing_a_writer_and_threads_with_their_own_keep_one_chain(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.db"
    shared = AuditWriter(path, synchronous="NORMAL")
    own = [AuditWriter(path, synchronous="NORMAL") for _ in range(3)]
    writers = [shared, shared, *own]
    start = threading.Barrier(len(writers))

    def work(index: int, writer: AuditWriter) -> None:
        start.wait()
        for batch in range(20):
            writer.append([_row(batch * 5 + k, f"w{index}") for k in range(5)])

    threads = [threading.Thread(target=work, args=(i, w)) for i, w in enumerate(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for writer in {*writers}:
        writer.close()

    result = verify(path)
    assert (result.ok, result.rows) == (True, len(writers) * 100)
    conn = sqlite3.connect(path)
    ids = {r[0] for r in conn.execute("SELECT request_id FROM audit_log")}
    assert len(ids) == len(writers) * 100


def test_a_keyed_writer_refuses_a_chain_written_without_a_key(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    plain = AuditWriter(path)
    plain.append([_row(1)])
    plain.close()

    with pytest.raises(ChainMismatchError, match="HMAC"):
        AuditWriter(path, key=b"k").append([_row(2)])
    assert verify(path).rows == 1


def test_normalize_row_gives_what_sqlite_gives_back() -> None:
    row = {
        "timestamp": "t",
        "latency_ms": 3,
        "input_token_count": True,
        "output_token_count": 2**70,
        "status": 5,
        "redacted": 1,
    }
    values = normalize_row(row)
    assert values[0] == "t"
    assert values[7] == 3.0
    assert isinstance(values[7], float)
    assert values[8] is None  # a bool is not a count
    assert values[9] is None  # beyond 64 bits
    assert values[5] == "5"
    assert normalize_row({"latency_ms": float("nan")})[7] is None
