"""Run every example and check the JSON lines it writes."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from fastapi.testclient import TestClient

import inferlog

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def read_lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


def by_logger(lines: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == name]


def example_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    return env


@pytest.fixture
def shutdown_inferlog() -> Iterator[None]:
    yield
    inferlog.shutdown()


# --------------------------------------------------------------------------- FastAPI


def test_fastapi_llm_example(tmp_path: Path, shutdown_inferlog: None) -> None:
    example = load_example("fastapi_llm")
    log_file = tmp_path / "api.jsonl"
    example.setup_logging(str(log_file), console=False)
    with TestClient(example.app, raise_server_exceptions=False) as client:
        chat = client.post(
            "/v1/chat",
            json={"prompt": "How do I get a refund? I am jane@example.com", "user_id": "u-42"},
            headers={"X-Request-ID": "chat-1"},
        )
        stream = client.post("/v1/chat/stream", json={"prompt": "Tell me a story"})
        failed = client.post("/v1/chat", json={"prompt": "overload the GPU"})
    inferlog.shutdown()

    assert (200, "chat-1") == (chat.status_code, chat.headers["X-Request-ID"])
    assert stream.text.startswith("You asked about: Tell me a story.")
    assert 500 == failed.status_code
    lines = read_lines(log_file)
    calls = by_logger(lines, "inferlog.inference")
    access = by_logger(lines, "inferlog.access")
    assert 3 == len(calls) == len(access)

    answered, streamed, crashed = calls
    assert "chat-1" == answered["request_id"] == access[0]["request_id"]
    assert ("chat-llm", "2026-11-15", "ok", "billing", "u-42") == (
        answered["model_id"],
        answered["model_version"],
        answered["status"],
        answered["intent"],
        answered["user_id"],
    )
    assert answered["input_token_count"] > 0
    assert answered["output_token_count"] > 0
    assert "jane@example.com" not in json.dumps(answered)  # redacted by configure()
    assert "chat-api" == answered["service"]

    assert stream.headers["X-Request-ID"] == streamed["request_id"]
    assert 0 < streamed["time_to_first_token_ms"] <= streamed["latency_ms"]
    assert streamed["stream_chunks"] > 1
    assert streamed["response_payload"] == stream.text

    assert ("error", "RuntimeError") == (crashed["status"], crashed["error_code"])
    assert "CUDA out of memory" in crashed["exception"]["message"]
    assert failed.headers["X-Request-ID"] == access[2]["request_id"] == crashed["request_id"]
    assert (500, "error", "ERROR") == (
        access[2]["status_code"],
        access[2]["status"],
        access[2]["level"],
    )
    assert any("fake_llm" in line for line in access[2]["exception"]["stack"])


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.slow
def test_fastapi_llm_example_runs_under_uvicorn(tmp_path: Path) -> None:
    port = _free_port()
    log_file = tmp_path / "served.jsonl"
    server = subprocess.Popen(
        [
            sys.executable,
            str(EXAMPLES / "fastapi_llm.py"),
            *("--port", str(port), "--log-file", str(log_file)),
        ],
        cwd=tmp_path,
        env=example_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/v1/chat",
            data=json.dumps({"prompt": "reset my password"}).encode(),
            headers={"Content-Type": "application/json", "X-Request-ID": "served-1"},
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    assert "served-1" == response.headers["X-Request-ID"]
                    assert "served-1" == json.loads(response.read())["request_id"]
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "the example server did not start"
                time.sleep(0.1)
    finally:
        server.send_signal(signal.SIGINT)
        try:
            _, stderr = server.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            _, stderr = server.communicate()
    assert 0 == server.returncode, stderr.decode(errors="replace")
    lines = read_lines(log_file)
    (call,) = by_logger(lines, "inferlog.inference")
    (access,) = by_logger(lines, "inferlog.access")
    assert ("served-1", "account") == (call["request_id"], call["intent"])
    assert ("served-1", 200, "127.0.0.1") == (
        access["request_id"],
        access["status_code"],
        access["client_address"],
    )


# --------------------------------------------------------------------------- Flask


def test_flask_fraud_example(tmp_path: Path, shutdown_inferlog: None) -> None:
    example = load_example("flask_fraud")
    log_file = tmp_path / "fraud.jsonl"
    example.setup_logging(str(log_file), console=False)
    client = example.create_app().test_client()
    risky = {
        "transaction_id": "t-1",
        "amount": 912.0,
        "country": "US",
        "card_age_days": 3,
        "merchant_category": "gift_cards",
    }
    safe = dict(risky, transaction_id="t-2", amount=12.0, country="FR", card_age_days=900)
    safe["merchant_category"] = "grocery"
    unknown = dict(safe, transaction_id="t-3", merchant_category="crypto")
    responses = [
        client.post("/v1/score", json=body, buffered=True)
        for body in (risky, safe, unknown, {"no": "amount"})
    ]
    inferlog.shutdown()

    assert [200, 200, 500, 400] == [r.status_code for r in responses]
    assert ["decline", "approve"] == [r.json["decision"] for r in responses[:2]]
    lines = read_lines(log_file)
    calls = by_logger(lines, "inferlog.inference")
    access = by_logger(lines, "inferlog.access")
    assert [r.headers["X-Request-ID"] for r in responses] == [a["request_id"] for a in access]
    assert [r.headers["X-Request-ID"] for r in responses[:3]] == [c["request_id"] for c in calls]
    assert [4, 4] == [c["input_vector_length"] for c in calls[:2]]
    assert ["t-1", "t-2", "t-3"] == [c["transaction_id"] for c in calls]
    assert ("error", "FeatureError") == (calls[2]["status"], calls[2]["error_code"])
    assert [200, 200, 500, 400] == [a["status_code"] for a in access]
    assert "ERROR" == access[2]["level"]
    assert any("unknown merchant_category" in s for s in access[2]["exception"]["stack"])
    decisions = by_logger(lines, "fraud-api")
    assert ["decline", "approve"] == [d["decision"] for d in decisions if "decision" in d]


# --------------------------------------------------------------------------- batch


@pytest.mark.slow
def test_batch_scoring_example_in_a_process_pool(tmp_path: Path) -> None:
    log_file = tmp_path / "batch.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            str(EXAMPLES / "batch_scoring.py"),
            *("--rows", "60", "--workers", "2", "--log-file", str(log_file), "--no-console"),
        ],
        cwd=tmp_path,
        env=example_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    lines = read_lines(log_file)
    calls = by_logger(lines, "inferlog.inference")
    started, finished = by_logger(lines, "batch-scoring")
    run_id = started["request_id"]
    assert run_id in result.stdout
    assert 60 == len(calls)
    # The parent's scope reached every worker: one run id, the bound field, the job.
    assert {run_id} == {c["request_id"] for c in calls}
    assert {60} == {c["batch_size"] for c in calls}
    assert {"nightly"} == {c["job"] for c in calls}
    assert os.getpid() != calls[0]["worker_pid"]
    assert sorted(f"t-{i:06d}" for i in range(60)) == sorted(c["transaction_id"] for c in calls)
    failed = [c for c in calls if c["status"] == "error"]
    assert ["t-000024", "t-000049"] == sorted(c["transaction_id"] for c in failed)
    assert all(c["error_code"] == "KeyError" and c["exception"]["stack"] for c in failed)
    assert (60, 2) == (finished["rows"], finished["failed"])
