"""The Python blocks of docs/gcp.md run as printed and do what the page says."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest

import inferlog
from inferlog.handlers import CloudLoggingHandler, StructuredStdoutHandler

PAGE = Path(__file__).resolve().parent.parent / "docs" / "gcp.md"
TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"


def _block(containing: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    return next(block for block in blocks if containing in block)


def test_every_python_block_is_covered_here() -> None:
    blocks = re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), re.DOTALL)
    markers = ("StructuredStdoutHandler(project=", "detect_google_runtime(os", "LOGGING = {")
    covered = [b for b in blocks if any(m in b for m in markers) or "configure(\n    handlers" in b]
    assert len(blocks) == len(covered) == 4


def test_the_stdout_example_prints_the_line_shown(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    exec(compile(_block("StructuredStdoutHandler(project="), str(PAGE), "exec"), {})
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line]
    line = next(item for item in lines if item.get("message") == "scored")
    assert list(line)[:4] == ["severity", "time", "logger", "message"]
    assert line["logging.googleapis.com/trace"] == f"projects/my-project/traces/{TRACE}"
    assert line["logging.googleapis.com/labels"] == {"service": "scoring", "tenant": "acme"}
    assert line["model_id"] == "fraud-gbm"
    assert set(line["logging.googleapis.com/sourceLocation"]) == {"file", "line", "function"}


def test_the_detection_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("K_SERVICE", "scoring")
    monkeypatch.setenv("K_REVISION", "scoring-00001")
    namespace: dict[str, object] = {}
    exec(compile(_block("detect_google_runtime(os"), str(PAGE), "exec"), namespace)
    assert namespace["on_google"] is True
    (handler,) = namespace["handlers"]  # type: ignore[misc]
    assert isinstance(handler, StructuredStdoutHandler)


def test_the_dict_config_example_builds_a_queue_in_front_of_the_cloud_sink() -> None:
    exec(compile(_block("LOGGING = {"), str(PAGE), "exec"), {})
    (queue,) = logging.getLogger().handlers
    assert isinstance(queue, inferlog.QueueHandler)
    cloud = logging.getHandlerByName("cloud") if hasattr(logging, "getHandlerByName") else None
    if cloud is not None:
        assert isinstance(cloud, CloudLoggingHandler)
        assert (cloud.project, cloud.log_name) == ("my-project", "scoring")


def test_the_configure_example_adds_the_cloud_sink(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {}
    try:
        exec(compile(_block("pipeline = inferlog.configure("), str(PAGE), "exec"), namespace)
        pipeline = namespace["pipeline"]
        assert isinstance(pipeline, inferlog.Pipeline)
        assert any(isinstance(sink, CloudLoggingHandler) for sink in pipeline.sinks)
    finally:
        inferlog.shutdown(timeout=2)
