"""verify: a chain of 10k rows verifies; each kind of tampering is found at its row."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from inferlog.audit.chain import GENESIS_HASH, row_digest
from inferlog.audit.schema import CONTENT_COLUMNS
from inferlog.audit.verify import verify
from inferlog.audit.writer import AuditWriter, normalize_row


def _rows(count: int, start: int = 0) -> list[dict[str, object]]:
    return [
        {
            "timestamp": f"2026-12-01T{(start + i) // 3600:02d}:{(start + i) // 60 % 60:02d}"
            f":{(start + i) % 60:02d}.000000Z",
            "request_id": f"req-{start + i}",
            "model_id": "fraud-gbm",
            "model_version": "3.2.0",
            "status": "ok" if i % 7 else "error",
            "latency_ms": 12.5 + i,
            "parameters": '{"temperature":0.2}',
            "request_payload": f'{{"amount":{i}}}',
        }
        for i in range(count)
    ]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "audit.db"
    writer = AuditWriter(path)
    writer.append(_rows(10))
    writer.close()
    return path


def _execute(path: Path, sql: str, *params: object) -> None:
    conn = sqlite3.connect(path)
    with conn:
        conn.execute(sql, params)
    conn.close()


def test_chain_of_ten_thousand_rows_written_in_batches_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    writer = AuditWriter(path, synchronous="NORMAL")
    for start in range(0, 10_000, 500):
        writer.append(_rows(500, start))
    writer.close()

    result = verify(path)

    assert (result.ok, result.rows, result.first_seq, result.last_seq) == (True, 10_000, 1, 10_000)


def test_an_edited_row_is_named(db: Path) -> None:
    _execute(db, "UPDATE audit_log SET status = 'error' WHERE seq = 7")

    problem = verify(db).problem

    assert problem is not None
    assert (problem.kind, problem.seq, problem.request_id) == ("edited", 7, "req-6")


def test_an_edited_last_row_is_named(db: Path) -> None:
    _execute(db, "UPDATE audit_log SET response_payload = '\"changed\"' WHERE seq = 10")

    problem = verify(db).problem

    assert problem is not None
    assert (problem.kind, problem.seq) == ("edited", 10)


def test_a_deleted_row_is_named_by_its_position(db: Path) -> None:
    _execute(db, "DELETE FROM audit_log WHERE seq = 4")

    result = verify(db)

    assert result.problem is not None
    assert (result.problem.kind, result.problem.seq, result.rows) == ("deleted", 4, 3)


def test_deleted_first_rows_are_found(db: Path) -> None:
    _execute(db, "DELETE FROM audit_log WHERE seq <= 2")

    problem = verify(db).problem

    assert problem is not None
    assert (problem.kind, problem.seq) == ("deleted", 1)


def test_a_truncated_tail_is_found_through_the_head(db: Path) -> None:
    _execute(db, "DELETE FROM audit_log WHERE seq >= 9")

    problem = verify(db).problem

    assert problem is not None
    assert (problem.kind, problem.seq) == ("deleted", 9)


def test_an_inserted_copy_of_a_row_is_named(db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE audit_log SET seq = seq + 100 WHERE seq >= 6")
        conn.execute("UPDATE audit_log SET seq = seq - 99 WHERE seq >= 106")
        conn.execute(
            "INSERT INTO audit_log SELECT 6, timestamp, 'forged', user_id, model_id, model_version,"
            " status, error_code, latency_ms, input_token_count, output_token_count, parameters,"
            " request_payload, response_payload, redacted, logger, prev_hash, row_hash"
            " FROM audit_log WHERE seq = 5"
        )
    conn.close()

    problem = verify(db).problem

    assert problem is not None
    assert (problem.kind, problem.seq, problem.request_id) == ("inserted", 6, "forged")


def test_an_inserted_row_with_a_consistent_hash_is_named(db: Path) -> None:
    """A forger who recomputes the inserted row's own hash is still found at that row."""
    conn = sqlite3.connect(db)
    with conn:
        prev = conn.execute("SELECT row_hash FROM audit_log WHERE seq = 5").fetchone()[0]
        conn.execute("UPDATE audit_log SET seq = seq + 100 WHERE seq >= 6")
        conn.execute("UPDATE audit_log SET seq = seq - 99 WHERE seq >= 106")
        row = {"timestamp": "2026-12-01T00:00:05.500000Z", "request_id": "forged"}
        content = normalize_row(row)
        names = ", ".join(name for name, _ in CONTENT_COLUMNS)
        marks = ", ".join("?" * len(CONTENT_COLUMNS))
        conn.execute(
            f"INSERT INTO audit_log (seq, {names}, prev_hash, row_hash) VALUES (6, {marks}, ?, ?)",
            (*content, prev, row_digest(prev, content)),
        )
    conn.close()

    problem = verify(db).problem

    assert problem is not None
    assert (problem.kind, problem.seq) == ("inserted", 6)


def test_two_swapped_rows_are_named_as_reordered(db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE audit_log SET seq = 100 WHERE seq = 3")
        conn.execute("UPDATE audit_log SET seq = 3 WHERE seq = 4")
        conn.execute("UPDATE audit_log SET seq = 4 WHERE seq = 100")
    conn.close()

    problem = verify(db).problem

    assert problem is not None
    assert (problem.kind, problem.seq, problem.request_id) == ("reordered", 3, "req-3")


def test_a_chain_rewritten_after_a_deletion_still_shows_the_gap(db: Path) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("DELETE FROM audit_log WHERE seq = 5")
        prev = conn.execute("SELECT row_hash FROM audit_log WHERE seq = 4").fetchone()[0]
        names = [name for name, _ in CONTENT_COLUMNS]
        for seq in range(6, 11):
            values = conn.execute(
                f"SELECT {', '.join(names)} FROM audit_log WHERE seq = ?", (seq,)
            ).fetchone()
            digest = row_digest(prev, list(values))
            conn.execute(
                "UPDATE audit_log SET prev_hash = ?, row_hash = ? WHERE seq = ?",
                (prev, digest, seq),
            )
            prev = digest
        conn.execute("UPDATE audit_head SET row_hash = ?", (prev,))
    conn.close()

    problem = verify(db).problem

    assert problem is not None
    assert (problem.kind, problem.seq) == ("deleted", 6)


def test_with_a_key_a_recomputed_chain_is_found(tmp_path: Path) -> None:
    path = tmp_path / "keyed.db"
    writer = AuditWriter(path, key=b"secret")
    writer.append(_rows(5))
    writer.close()
    conn = sqlite3.connect(path)
    with conn:
        names = [name for name, _ in CONTENT_COLUMNS]
        conn.execute("UPDATE audit_log SET status = 'ok' WHERE seq = 1")
        values = conn.execute(f"SELECT {', '.join(names)} FROM audit_log WHERE seq = 1").fetchone()
        # Recomputed without the key: plain SHA-256.
        conn.execute(
            "UPDATE audit_log SET row_hash = ? WHERE seq = 1",
            (row_digest(GENESIS_HASH, list(values)),),
        )
    conn.close()

    assert verify(path, key=b"secret").problem is not None
    assert verify(path, key=b"secret").problem.kind == "edited"  # type: ignore[union-attr]


def test_a_keyed_chain_verified_without_the_key_says_so(tmp_path: Path) -> None:
    path = tmp_path / "keyed.db"
    writer = AuditWriter(path, key=b"secret")
    writer.append(_rows(2))
    writer.close()

    assert verify(path, key=b"secret").ok
    result = verify(path)
    assert result.problem is not None
    assert result.problem.kind == "key"


def test_verify_of_a_missing_file_raises_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        verify(tmp_path / "absent.db")
    assert not (tmp_path / "absent.db").exists()
