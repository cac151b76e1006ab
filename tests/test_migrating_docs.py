"""docs/migrating.md: every before/after block runs as printed, in a fresh interpreter.

The AWS blocks talk to this session's moto server (``AWS_ENDPOINT_URL``); each block
runs with a temporary directory as its working directory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from inferlog.integrations.servers import uvicorn_log_config
from inferlog.reader import read_records

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "migrating.md"
TEXT = PAGE.read_text(encoding="utf-8")


def _blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", TEXT, re.DOTALL | re.MULTILINE)


PYTHON_BLOCKS = _blocks("python")


def _run(code: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_page_has_a_before_and_after_for_each_library() -> None:
    libraries = ["pythonjsonlogger", "structlog", "loguru", "watchtower", "google.cloud"]
    befores, afters = PYTHON_BLOCKS[0::2], PYTHON_BLOCKS[1::2]
    assert len(libraries) == len(befores) == len(afters)
    for library, before, after in zip(libraries, befores, afters, strict=True):
        assert library in before
        assert "inferlog" not in before
        assert "inferlog" in after


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_each_block_runs_as_printed(index: int, tmp_path: Path, moto_url: str) -> None:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    result = _run(PYTHON_BLOCKS[index], tmp_path, env)
    assert 0 == result.returncode, result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_python_json_logger_blocks_differ_only_by_the_factory(tmp_path: Path) -> None:
    before, after = PYTHON_BLOCKS[:2]
    assert after == before.replace("pythonjsonlogger.json.JsonFormatter", "inferlog.JsonFormatter")
    outputs = [_run(block, tmp_path, dict(os.environ)).stdout for block in (before, after)]
    lines = [json.loads(output) for output in outputs]
    for line in lines:
        del line["asctime"]
    assert lines[0] == lines[1]


@pytest.mark.slow
def test_the_loguru_after_block_writes_the_record_into_inferlogs_file(tmp_path: Path) -> None:
    (after,) = [b for b in PYTHON_BLOCKS if "forward_to_logging" in b]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    assert 0 == _run(after, tmp_path, env).returncode
    (record,) = list(read_records(tmp_path / "logs" / "inferlog.jsonl"))
    assert ("scored tx-1", "fraud-v3") == (record["message"], record["model_id"])


def test_the_uvicorn_log_config_file_is_uvicorn_log_config() -> None:
    (shown,) = _blocks("json")
    assert uvicorn_log_config("logs/inferlog.jsonl") == json.loads(shown)


@pytest.mark.slow
def test_the_watchtower_after_block_delivers_to_cloudwatch(tmp_path: Path, moto_url: str) -> None:
    import boto3

    (after,) = [b for b in PYTHON_BLOCKS if "CloudWatchHandler(" in b]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "AWS_ENDPOINT_URL": moto_url}
    assert 0 == _run(after, tmp_path, env).returncode
    client = boto3.client("logs", endpoint_url=moto_url, region_name="us-east-1")
    events = client.get_log_events(logGroupName="inference", logStreamName="api")["events"]
    records = [json.loads(e["message"]) for e in events if e["message"].startswith("{")]
    assert any(r["model_id"] == "fraud-v3" and r["logger"] == "fraud" for r in records)
