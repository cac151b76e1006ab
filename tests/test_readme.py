"""The README's dictConfig snippet builds a working pipeline, exactly as printed."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

import inferlog

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_opens_with_the_two_setup_commands() -> None:
    first_block = re.search(r"```sh\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands == ["make demo", "make test"]


def test_readme_dictconfig_snippet_writes_json_lines_with_request_ids(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snippet = next(block for block in _python_blocks() if "dictConfig(LOGGING)" in block)
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, str(README), "exec"), {})
    log = logging.getLogger("fraud-api")
    with inferlog.request_context(user_id="u-7") as request_id:
        log.info("scored %s", "txn-1", extra={"model_id": "fraud-gbm", "score": 0.25})
        log.info("contact jane.doe@example.com")
    # The snippet's queue is not configure()'s, but shutdown() drains every queue.
    inferlog.shutdown(timeout=5)

    lines = (tmp_path / "logs" / "inferlog.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["message"] for r in records] == ["scored txn-1", "contact [REDACTED:EMAIL]"]
    first = records[0]
    assert list(first)[:6] == ["timestamp", "level", "logger", "message", "request_id", "user_id"]
    assert first["request_id"] == request_id
    assert first["model_id"] == "fraud-gbm"
    assert first["service"] == "fraud-api"


def test_readme_code_example_runs_and_logs_an_inference_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    snippet = next(block for block in _python_blocks() if "inferlog.configure()" in block)
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, str(README), "exec"), {})
    inferlog.shutdown(timeout=5)
    records = list(inferlog.read_records([tmp_path / "logs" / "inferlog.jsonl"]))
    inference_record = next(r for r in records if r.get("model_id") == "fraud-gbm")
    assert inference_record["status"] == "ok"
    assert inference_record["user_id"] == "u-42"
    assert inference_record["request_id"] == records[-1]["request_id"]
