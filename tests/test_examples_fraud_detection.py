"""examples/fraud_detection: the README's commands, as printed, find the format change."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "examples" / "fraud_detection" / "README.md"

pytest.importorskip("sklearn")
pytest.importorskip("duckdb")


@pytest.mark.slow
def test_readme_commands_run_and_replay_finds_the_new_amount_format(tmp_path: Path) -> None:
    block = re.search(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert block is not None
    commands = [shlex.split(line) for line in block.group(1).splitlines() if line.strip()]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    outputs = []
    for command in commands:
        program = [sys.executable] if command[0] == "python" else [sys.executable, "-m", "inferlog"]
        args = [
            str(ROOT / a) if a.startswith("examples/") and a.endswith(".py") else a
            for a in command[1:]
        ]
        args = [a.replace("examples/", f"{ROOT}/examples/", 1) if ".py:" in a else a for a in args]
        result = subprocess.run(
            [*program, *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        outputs.append(result)
    serve, stats, same, shadow = outputs
    assert serve.returncode == 0, serve.stderr
    assert stats.returncode == 0, stats.stderr
    assert "fraud-logreg" in stats.stdout
    assert same.returncode == 0, same.stdout + same.stderr
    assert "300 agree (100.0%)" in same.stdout
    assert shadow.returncode == 1, shadow.stderr
    shapes = shadow.stdout.split("by input shape")[1]
    new_shape = next(line for line in shapes.splitlines() if line.startswith("{amount: string"))
    assert "0.0%" in new_shape
    assert "TypeError: amount must be a number" in new_shape
