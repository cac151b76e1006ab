"""The end-to-end benchmark harness runs every setup and writes figures (not a timed test).

``benchmarks/bench_pipeline.py`` is run as ``make bench`` runs it, only tiny: every
setup in its own process, one round of 200 records. Nothing here looks at how fast
anything is; only that each setup ran, drained, and gave a positive figure.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import bench_pipeline

SCRIPT = Path(bench_pipeline.__file__)


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value > 0


@pytest.mark.slow
def test_every_setup_writes_positive_figures(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    command = [sys.executable, str(SCRIPT), "--records", "200", "--rounds", "1"]
    command += ["--warm-up", "50", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=100, check=False)
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text("utf-8"))

    assert sorted(figures["setups"]) == sorted(bench_pipeline.SETUPS)
    expected_figures = {
        "caller": {"null_p50_us", "null_p99_us", "queue_p50_us", "queue_p99_us"},
        "sampling": {"level_ns", "sampled_ns", "ratio"},
        "redaction-32k": {"redactor_us", "naive_us", "speedup"},
        "throughput-stdlib": {"records_per_s", "wall_s"},
        "throughput-inferlog": {"records_per_s", "wall_s"},
    }
    for setup, names in expected_figures.items():
        assert names <= set(figures["setups"][setup]), setup
    not_positive = [
        (setup, name)
        for setup, by_name in figures["setups"].items()
        for name, stats in by_name.items()
        for value in (*stats["runs"], stats["median"], stats["min"], stats["max"])
        if not _positive(value)
    ]
    assert not_positive == []
    assert sorted(figures["medians"]) == sorted(bench_pipeline.CPU_SETUPS)
    assert {
        "inferlog-full_to_A",
        "inferlog-no-redaction_to_C",
        "caller_p50_to_null",
        "caller_p99_to_null",
        "sampled_to_level",
        "skipped_early_to_level",
        "redaction_32k_speedup",
        "throughput_inferlog_to_stdlib",
    } <= set(figures["ratios"])
    assert all(_positive(value) for value in figures["ratios"].values())
    # The Markdown tables: one row per setup, each with its label.
    for label in bench_pipeline.LABELS.values():
        assert f"| {label} |" in done.stdout


def test_a_subset_of_setups_runs_alone(tmp_path: Path) -> None:
    out = tmp_path / "figures.json"
    command = [sys.executable, str(SCRIPT), "--records", "50", "--rounds", "1"]
    command += ["--warm-up", "10", "--setups", "sampling", "--json", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=100, check=False)
    assert done.returncode == 0, done.stderr
    figures = json.loads(out.read_text("utf-8"))
    assert list(figures["setups"]) == ["sampling"]
    assert list(figures["ratios"]) == ["sampled_to_level", "skipped_early_to_level"]
    assert figures["medians"] == {}


def test_bad_sizes_are_refused() -> None:
    command = [sys.executable, str(SCRIPT), "--records", "0"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=100, check=False)
    assert done.returncode == 2
    assert "--records" in done.stderr
