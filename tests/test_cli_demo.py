"""``inferlog demo``: ends with stats on its own run, even when run twice in one directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from inferlog.cli import EXIT_USAGE, main

pytest.importorskip("duckdb")


def stats_calls(out: str) -> int:
    """Sum of the calls column of the stats table the demo printed last."""
    table = out.split("\ninferlog stats ", 1)[1].splitlines()[1:]
    header, *rows = table
    index = header.split().index("calls")
    # Group cells hold no spaces, so columns split on whitespace.
    return sum(int(row.split()[index].replace(",", "")) for row in rows if row.strip())


def test_a_second_run_in_the_same_directory_reports_only_itself(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--out", str(tmp_path), "--calls", "30", "--workers", "2"]) == 0
    first = capsys.readouterr().out
    assert main(["demo", "--out", str(tmp_path), "--calls", "20", "--workers", "2"]) == 0
    second = capsys.readouterr().out
    assert "(30 inference calls" in first
    assert stats_calls(first) == 30
    assert "(20 inference calls" in second
    assert stats_calls(second) == 20
    lines = [json.loads(x) for x in (tmp_path / "inferlog.jsonl").read_text().splitlines()]
    assert len({line["demo_run"] for line in lines}) == 2
    calls = [line for line in lines if line["logger"] == "inferlog.inference"]
    assert len(calls) == 50
    assert {c["sample_rate"] for c in calls} == {1.0}


def test_demo_rejects_bad_counts(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--out", str(tmp_path), "--calls", "0"]) == EXIT_USAGE
    assert "--calls must be at least 1" in capsys.readouterr().err
