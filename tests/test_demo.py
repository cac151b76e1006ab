"""``inferlog demo`` (what ``make demo`` runs) writes valid, correlated JSON lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from inferlog.cli import main

MODEL_FIELDS = ("model_id", "model_version", "latency_ms", "status")


def test_demo_command_writes_only_valid_json_lines_with_request_and_model_fields(
    tmp_path: Path,
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inferlog.cli", "demo", "--requests", "120", "--seed", "3"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    log_file = tmp_path / "logs" / "inferlog.jsonl"
    assert log_file.exists(), result.stderr
    lines = log_file.read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]  # every line must parse
    assert all(isinstance(r, dict) and r.get("request_id") for r in records)
    calls = [r for r in records if r.get("logger") == "inferlog.inference"]
    assert len(calls) == 120
    assert all(all(field in r for field in MODEL_FIELDS) for r in calls)
    assert {r["status"] for r in calls} == {"ok", "error"}
    failures = [r for r in calls if r["status"] == "error"]
    assert all(r["exception"]["stack"][0].startswith("Traceback") for r in failures)
    assert len({r["model_version"] for r in calls}) >= 4
    assert len({r["user_id"] for r in calls}) >= 3
    assert any(r.get("input_token_count") for r in calls)
    # The summary counts what is in the files, and says where they are.
    assert f"{len(records)} JSON records" in result.stdout
    assert f"({len(calls)} inference calls, {len(failures)} failed)" in result.stdout
    assert str(log_file.resolve()) in result.stdout


def test_demo_never_writes_the_simulated_card_number_or_email(tmp_path: Path) -> None:
    assert main(["demo", "--requests", "60", "--log-dir", str(tmp_path), "--workers", "2"]) == 0
    text = (tmp_path / "inferlog.jsonl").read_text(encoding="utf-8")
    assert "4111 1111 1111 1111" not in text
    assert "jane.doe@example.com" not in text
    assert "[REDACTED:CARD]" in text  # the prompt with PII was logged, redacted


def test_demo_rejects_a_non_positive_request_count(tmp_path: Path) -> None:
    assert main(["demo", "--requests", "0", "--log-dir", str(tmp_path)]) == 2


def test_demo_summary_counts_rotated_files_too(tmp_path: Path) -> None:
    from inferlog.demo import _summarise

    live = tmp_path / "inferlog.jsonl"
    rotated = tmp_path / "inferlog.20261129T070000.000000Z.jsonl"
    line = (
        '{"timestamp":"2026-11-29T07:00:00Z","request_id":"r","model_id":"m",'
        '"model_version":"1","latency_ms":1.0,"status":"ok"}\n'
    )
    rotated.write_text(line * 3, encoding="utf-8")
    live.write_text(line * 2, encoding="utf-8")
    summary = _summarise(live)
    assert (summary.records, summary.inference_records) == (5, 5)
    assert summary.files == [rotated, live]
