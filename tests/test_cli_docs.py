"""docs/analysis.md: every console command runs as printed; printed output matches."""

from __future__ import annotations

import os
import random
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from inferlog.cli import EXIT_FOUND
from tests.analysis_logs import mixed_calls, write

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "analysis.md"

pytest.importorskip("duckdb")


def console_blocks() -> list[tuple[list[str], str]]:
    """(commands, expected output) of each console block; output only after one command."""
    blocks = []
    for body in re.findall(r"```console\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL):
        lines = body.splitlines()
        commands = [line[2:] for line in lines if line.startswith("$ ")]
        output = "\n".join(line for line in lines if not line.startswith("$ "))
        blocks.append((commands, output))
    return blocks


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("docs")
    (directory / "logs").mkdir()
    rng = random.Random(4)
    calls = mixed_calls(600, seed=4)
    for record in calls:
        record["request_payload"] = {"features": {"amount": round(rng.uniform(1, 500), 2)}}
    write(directory / "logs" / "inferlog.20270115T080000.000000Z.jsonl.gz", calls[:300])
    write(directory / "logs" / "inferlog.jsonl", calls[300:])
    return directory


@pytest.mark.slow
@pytest.mark.parametrize(("commands", "output"), console_blocks())
def test_console_block_runs_as_printed(commands: list[str], output: str, workdir: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "inferlog"
        result = subprocess.run(
            [sys.executable, "-m", "inferlog", *argv[1:]],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode in (0, EXIT_FOUND), result.stderr
        if output.strip():
            assert result.stdout.rstrip("\n") == output.rstrip("\n")


def test_the_page_shows_every_query_target() -> None:
    targets = {
        m for cmds, _ in console_blocks() for c in cmds for m in re.findall(r"--query (\w+)", c)
    }
    assert targets == {"cloudwatch", "bigquery"}  # duckdb's form is checked by test_cli_stats
