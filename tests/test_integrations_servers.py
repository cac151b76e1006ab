"""uvicorn's and gunicorn's loggers reach the pipeline (``inferlog.integrations.servers``).

A real uvicorn server on 127.0.0.1 (in a thread, on a socket bound and listening
before it starts, so a request simply waits in the backlog until it serves), and
gunicorn's real ``glogging.Logger``.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gunicorn.config
import gunicorn.glogging
import pytest
import uvicorn

import inferlog
from inferlog.integrations._forward import ForwardHandler
from inferlog.integrations.servers import SERVER_LOGGERS, uvicorn_log_config
from inferlog.reader import read_records

Receive = Callable[[], Any]
Send = Callable[[dict[str, Any]], Any]


async def app(scope: dict[str, Any], receive: Receive, send: Send) -> None:
    """The smallest ASGI app: 200 and a word."""
    assert "http" == scope["type"]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _serve_one_request(config: uvicorn.Config, path: str = "/score") -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    port = sock.getsockname()[1]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
            assert b"ok" == response.read()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()


@pytest.fixture
def pipeline_file(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "app.jsonl"
    yield path
    inferlog.shutdown()


def test_configure_captures_uvicorns_access_log_from_a_real_server(pipeline_file: Path) -> None:
    # uvicorn configures its loggers (propagate=False) when its Config is built, which
    # under `uvicorn app:app` happens before the application calls configure().
    config = uvicorn.Config(app, lifespan="off")
    inferlog.configure(filename=pipeline_file, console=False)
    _serve_one_request(config, "/score?x=1")
    inferlog.shutdown()
    records = list(read_records(pipeline_file))
    access = [record for record in records if record["logger"] == "uvicorn.access"]
    assert 1 == len(access)
    assert "GET /score?x=1" in access[0]["message"]
    assert any(record["logger"] == "uvicorn.error" for record in records)


def test_the_documented_log_config_runs_uvicorn_through_inferlog(tmp_path: Path) -> None:
    log_file = tmp_path / "logs" / "inferlog.jsonl"
    config_file = tmp_path / "log_config.json"
    config_file.write_text(json.dumps(uvicorn_log_config(log_file)), encoding="utf-8")
    try:
        _serve_one_request(uvicorn.Config(app, lifespan="off", log_config=str(config_file)))
    finally:
        inferlog.shutdown()
    access = [r for r in read_records(log_file) if r["logger"] == "uvicorn.access"]
    assert 1 == len(access)
    assert '"GET /score HTTP/1.1" 200' in access[0]["message"]


def test_gunicorns_loggers_are_captured(pipeline_file: Path) -> None:
    glog = gunicorn.glogging.Logger(gunicorn.config.Config())
    inferlog.configure(filename=pipeline_file, console=False, capture_servers=True)
    glog.error("worker %s timed out", 7)
    glog.access_log.info("GET / 200")
    inferlog.shutdown()
    by_logger = {r["logger"]: r["message"] for r in read_records(pipeline_file)}
    assert {"gunicorn.error": "worker 7 timed out", "gunicorn.access": "GET / 200"} == by_logger


def test_capture_is_off_when_asked_and_undone_when_the_pipeline_goes(pipeline_file: Path) -> None:
    pipeline = inferlog.configure(filename=pipeline_file, console=False, capture_servers=True)
    names = [name for loggers in SERVER_LOGGERS.values() for name in loggers]

    def forwarders() -> list[str]:
        return [
            name
            for name in names
            for handler in logging.getLogger(name).handlers
            if isinstance(handler, ForwardHandler) and handler.target is pipeline.queue_handler
        ]

    assert names == forwarders()
    pipeline.detach()
    assert [] == forwarders()
    inferlog.configure(filename=pipeline_file, console=False, capture_servers=False)
    assert not any(
        isinstance(handler, ForwardHandler)
        for n in names
        for handler in logging.getLogger(n).handlers
    )


def test_a_record_that_propagates_to_the_queue_anyway_is_written_once(pipeline_file: Path) -> None:
    inferlog.configure(filename=pipeline_file, console=False, capture_servers=True)
    logging.getLogger("uvicorn").propagate = True  # as with uvicorn's log_config=None
    logging.getLogger("uvicorn.error").info("started")
    inferlog.shutdown()
    assert ["started"] == [r["message"] for r in read_records(pipeline_file)]


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"capture_servers": "yes"}, "capture_servers"),
        ({"capture_warnings": "on"}, "capture_warnings"),
    ],
)
def test_configure_refuses_a_bad_capture_option_before_building(
    options: dict[str, Any], named: str, tmp_path: Path
) -> None:
    with pytest.raises(TypeError, match=named):
        inferlog.configure(filename=tmp_path / "x.jsonl", console=False, **options)
    assert not (tmp_path / "x.jsonl").exists()
