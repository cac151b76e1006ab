"""The access record is certain and truthful: unclosed WSGI bodies, clients that go away."""

from __future__ import annotations

import asyncio
import gc
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import flask
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse

from inferlog.context import ContextFilter, current_request_id
from inferlog.inference import inference
from inferlog.middleware import DEFAULT_ACCESS_LOGGER_NAME, ASGIMiddleware, WSGIMiddleware
from tests.helpers import RecordCollector

app_log = logging.getLogger("app.lifecycle")


class AccessWaiter(RecordCollector):
    """Keeps records; lets a test wait for the n-th access record without sleeping."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def emit(self, record: logging.LogRecord) -> None:
        super().emit(record)
        with self._changed:
            self._changed.notify_all()

    def access(self) -> list[logging.LogRecord]:
        return self.named(DEFAULT_ACCESS_LOGGER_NAME)

    def wait_access(self, count: int, timeout: float = 10.0) -> list[logging.LogRecord]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.access()) >= count, timeout)
        return self.access()


@pytest.fixture
def captured() -> Iterator[AccessWaiter]:
    handler = AccessWaiter()
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(old_level)


# --------------------------------------------------------------------------- WSGI


def build_flask() -> flask.Flask:
    app = flask.Flask("lifecycle")

    @app.get("/score")
    def score() -> dict[str, Any]:
        app_log.info("scoring")
        return {"score": 0.1}

    @app.get("/stream")
    def stream() -> flask.Response:
        def body() -> Iterator[str]:
            for part in ("a", "bc", "def"):
                app_log.info("chunk", extra={"rid": current_request_id()})
                yield part

        return flask.Response(body(), mimetype="text/plain")

    app.wsgi_app = WSGIMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app


def test_wsgi_response_never_closed_still_logs_once_in_its_context(
    captured: AccessWaiter, capfd: pytest.CaptureFixture[str]
) -> None:
    client = build_flask().test_client()
    response = client.get("/score")  # not buffered, never closed: only the status read
    assert 200 == response.status_code
    request_id = response.headers["X-Request-ID"]
    del response
    gc.collect()
    (access,) = captured.access()
    assert (request_id, 200, "ok") == (access.request_id, access.status_code, access.status)
    assert request_id == captured.named("app.lifecycle")[0].request_id
    assert "different Context" not in capfd.readouterr().err
    assert current_request_id() is None


def test_wsgi_unclosed_streamed_body_logs_once_when_collected(captured: AccessWaiter) -> None:
    client = build_flask().test_client()
    response = client.get("/stream")
    assert 200 == response.status_code
    first = next(iter(response.response))
    assert b"a" == first
    del response
    gc.collect()
    (access,) = captured.access()
    assert ("ok", 1) == (access.status, access.response_size)
    assert [access.request_id] == [r.rid for r in captured.named("app.lifecycle")]


def test_wsgi_exhausted_then_closed_then_collected_logs_exactly_once(
    captured: AccessWaiter,
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"xy", b"z"]

    result: Any = WSGIMiddleware(app)(
        {"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda *a: lambda d: None
    )
    assert [b"xy", b"z"] == list(result)
    result.close()
    result.close()
    del result
    gc.collect()
    assert [3] == [r.response_size for r in captured.access()]


def test_wsgi_response_collected_on_another_thread_logs_in_the_request_context(
    captured: AccessWaiter,
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        app_log.info("body", extra={"rid": current_request_id()})
        yield b"ok"

    holder: list[Any] = [WSGIMiddleware(app)({"REQUEST_METHOD": "GET"}, lambda *a: None)]
    assert b"ok" == next(iter(holder[0]))

    def drop() -> None:
        holder.clear()
        gc.collect()

    thread = threading.Thread(target=drop)
    thread.start()
    thread.join(timeout=10)
    (access,) = captured.access()
    assert [access.request_id] == [r.rid for r in captured.named("app.lifecycle")]
    assert current_request_id() is None


def test_wsgi_under_wsgiref_streams_and_logs_once(captured: AccessWaiter) -> None:
    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, build_flask().wsgi_app, handler_class=QuietHandler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
            client.sendall(b"GET /stream HTTP/1.0\r\nHost: x\r\n\r\n")
            data = b""
            while chunk := client.recv(4096):
                data += chunk
    finally:
        thread.join(timeout=10)
        server.server_close()
    assert data.endswith(b"abcdef")
    (access,) = captured.wait_access(1)
    assert (200, 6, "ok") == (access.status_code, access.response_size, access.status)


# --------------------------------------------------------------------------- ASGI

CHUNKS = 2_000


def build_streaming_api(started: threading.Event) -> ASGIMiddleware:
    api = FastAPI()

    @api.get("/generate")
    async def generate() -> StreamingResponse:
        async def tokens() -> AsyncIterator[str]:
            async with inference("llm", "1") as call:
                async for token in call.astream(_paced()):
                    yield token

        async def _paced() -> AsyncIterator[str]:
            for number in range(CHUNKS):
                if number == 1:
                    started.set()
                yield f"token{number} "
                # Paces the stream so the client can leave in the middle of it.
                await asyncio.sleep(0.005)

        return StreamingResponse(tokens(), media_type="text/plain")

    return ASGIMiddleware(api)


@pytest.mark.slow
def test_asgi_client_gone_mid_stream_gives_an_error_access_record(
    captured: AccessWaiter,
) -> None:
    started = threading.Event()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        build_streaming_api(started), log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        client = socket.create_connection(("127.0.0.1", port), timeout=10)
        client.sendall(b"GET /generate HTTP/1.1\r\nHost: x\r\n\r\n")
        assert b"200" in client.recv(4096)
        assert started.wait(10)
        client.close()  # the client goes away mid-stream
        (access,) = captured.wait_access(1, timeout=20)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    (call,) = [r for r in captured.records if getattr(r, "model_id", None) == "llm"]
    assert ("error", "cancelled") == (call.status, call.error_code)
    assert ("error", "cancelled", 200, logging.WARNING) == (
        access.status,
        access.error_code,
        access.status_code,
        access.levelno,
    )
    assert call.request_id == access.request_id
    assert 0 < access.response_size
