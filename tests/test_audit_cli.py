"""``inferlog audit verify/show/prune`` through add_parser and run, as the CLI wires them."""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path

import pytest

from inferlog.audit import cli
from inferlog.audit.writer import AuditWriter


def _parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="inferlog")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.add_parser(sub)
    return parser.parse_args(argv)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "audit.db"
    writer = AuditWriter(path)
    writer.append(
        [
            {
                "timestamp": "2026-12-01T00:00:00.000000Z",
                "request_id": f"req-{i}",
                "model_id": "chat",
                "status": "ok",
                "parameters": '{"temperature":0.7}',
                "request_payload": '{"prompt":"hello"}',
                "response_payload": '"hi there"',
                "redacted": 1,
            }
            for i in range(3)
        ]
    )
    writer.close()
    return path


def test_verify_prints_ok_and_exits_zero(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(_parse(["audit", "verify", str(db)])) == 0
    assert capsys.readouterr().out == "OK: 3 rows verified (seq 1..3)\n"


def test_verify_names_the_edited_row_and_exits_one(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE audit_log SET response_payload = '\"bye\"' WHERE seq = 2")
    conn.close()

    assert cli.run(_parse(["audit", "verify", "--json", str(db)])) == 1
    out = json.loads(capsys.readouterr().out)
    assert out["problem"]["kind"] == "edited"
    assert (out["problem"]["seq"], out["problem"]["request_id"]) == (2, "req-1")


def test_show_prints_the_call_with_parsed_payloads(
    db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.run(_parse(["audit", "show", "req-1", "--db", str(db)])) == 0
    call = json.loads(capsys.readouterr().out)
    assert call["request_payload"] == {"prompt": "hello"}
    assert call["parameters"] == {"temperature": 0.7}
    assert (call["seq"], call["redacted"]) == (2, True)


def test_show_of_an_unknown_request_exits_one(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(_parse(["audit", "show", "nope", "--db", str(db)])) == 1
    assert "no call with request_id 'nope'" in capsys.readouterr().err


def test_a_missing_database_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.run(_parse(["audit", "verify", str(tmp_path / "none.db")])) == 2
    assert "no audit database" in capsys.readouterr().err


def test_prune_keeps_the_chain_verifiable(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.run(_parse(["audit", "prune", str(db), "--max-rows", "1"])) == 0
    assert cli.run(_parse(["audit", "verify", str(db)])) == 0
    assert capsys.readouterr().out.splitlines()[-1] == "OK: 1 rows verified (seq 3..3)"


def test_prune_without_a_limit_is_a_usage_error(db: Path) -> None:
    assert cli.run(_parse(["audit", "prune", str(db)])) == 2
