"""``inferlog spool resend`` and ``inferlog audit`` are reachable from the command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferlog import read_records
from inferlog.cli import main
from inferlog.pipeline import Spool


def test_spool_resend_appends_the_sinks_records_to_a_file_and_empties_the_spool(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spool = tmp_path / "spool.jsonl"
    Spool(spool).write(
        [
            {"timestamp": "2026-12-06T10:00:00.000Z", "level": "INFO", "message": f"m{i}"}
            for i in range(3)
        ],
        sink="inferlog.file",
        reason="test",
    )
    Spool(spool).write([{"message": "other"}], sink="inferlog.cloudwatch", reason="test")
    out = tmp_path / "logs" / "again.jsonl"
    code = main(["spool", "resend", str(spool), "--file", str(out), "--sink", "inferlog.file"])
    assert 0 == code
    assert ["m0", "m1", "m2"] == [r["message"] for r in read_records(out)]
    left = [json.loads(line)["message"] for line in spool.read_text().splitlines()]
    assert ["other"] == left
    assert "resent 3 record(s); 0 left" in capsys.readouterr().out


def test_spool_resend_of_a_missing_spool_is_an_input_error(tmp_path: Path) -> None:
    assert 3 == main(["spool", "resend", str(tmp_path / "nope"), "--file", str(tmp_path / "x")])


def test_audit_is_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["audit", "--help"])
    assert 0 == exited.value.code
    assert "verify" in capsys.readouterr().out
