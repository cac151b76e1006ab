"""The ``inferlog`` entry point: lazy imports, a missing extra, progress and tables."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from inferlog.cli import EXIT_MISSING_EXTRA
from inferlog.cli._output import render_table
from inferlog.cli._progress import ProgressBar
from tests.analysis_logs import call, write

ROOT = Path(__file__).resolve().parent.parent


def test_import_inferlog_loads_neither_the_cli_nor_duckdb() -> None:
    code = (
        "import sys, inferlog; "
        "print(sorted(m for m in sys.modules if m.startswith(('inferlog.cli', "
        "'inferlog.analysis', 'duckdb', 'matplotlib'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"


def test_a_missing_duckdb_exits_4_naming_the_extra(tmp_path: Path) -> None:
    blocker = tmp_path / "block"
    blocker.mkdir()
    (blocker / "duckdb.py").write_text("raise ImportError('duckdb is blocked here')\n")
    write(tmp_path / "a.jsonl", [call(1)])
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(blocker), str(ROOT)]))
    result = subprocess.run(
        [sys.executable, "-m", "inferlog", "stats", str(tmp_path / "a.jsonl")],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == EXIT_MISSING_EXTRA
    assert "pip install 'inferlog[analysis]'" in result.stderr


def test_help_lists_every_command_and_the_exit_codes() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inferlog", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    for command in ("demo", "stats", "trace", "replay", "drift"):
        assert command in result.stdout
    assert "4 missing optional dependency" in result.stdout


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only() -> None:
    piped, terminal = io.StringIO(), Terminal()
    for stream in (piped, terminal):
        with ProgressBar(10, "work", stream=stream) as bar:
            bar.advance(10)
    assert piped.getvalue() == ""
    assert "work 10/10" in terminal.getvalue()
    assert "100%" in terminal.getvalue()
    assert terminal.getvalue().endswith("\r")


def test_tables_fit_the_width_by_leaving_out_columns_then_stacking() -> None:
    columns = ["model_id", "records", "calls", "latency_mean_ms", "latency_p50_ms"]
    rows = [
        {
            "model_id": "chat-llm",
            "records": 10,
            "calls": 10.0,
            "latency_mean_ms": 1.5,
            "latency_p50_ms": 2.0,
        }
    ]
    wide = render_table(columns, rows, width=None)
    assert wide.splitlines()[0].split() == ["model", "records", "calls", "mean", "ms", "p50", "ms"]
    narrow = render_table(columns, rows, width=30)
    assert all(len(line) <= 30 for line in narrow.splitlines()[:2])
    assert "records, mean ms left out to fit" in narrow
    stacked = render_table(columns, rows, width=12)
    assert stacked.splitlines()[0].split() == ["model", "chat-llm"]
