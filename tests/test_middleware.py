"""Tests for inferlog.middleware with real frameworks: FastAPI, uvicorn, Flask, wsgiref."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import AsyncIterator, Iterator
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, make_server

import flask
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.context import ContextFilter, current_request_id, new_request_id
from inferlog.formatting import JsonFormatter
from inferlog.inference import inference
from inferlog.middleware import (
    DEFAULT_ACCESS_LOGGER_NAME,
    ASGIMiddleware,
    WSGIMiddleware,
    report_exception,
)
from inferlog.propagation import is_valid_request_id
from inferlog.sampling import DEBUG_HEADER, ErrorBufferHandler, sampling_forced
from tests.helpers import RecordCollector

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class ListHandler(RecordCollector):
    """Keeps every record it receives."""

    def access(self) -> list[logging.LogRecord]:
        return self.named(DEFAULT_ACCESS_LOGGER_NAME)


@pytest.fixture
def captured() -> Iterator[ListHandler]:
    handler = ListHandler()
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)


class ModelError(RuntimeError):
    pass


# --------------------------------------------------------------------------- ASGI app

app_log = logging.getLogger("app")


def build_fastapi() -> FastAPI:
    api = FastAPI()

    @api.get("/predict")
    async def predict() -> dict[str, Any]:
        app_log.info("handling", extra={"forced": sampling_forced()})
        async with inference("llm", "1") as call:
            call.response("hi")
        return {"request_id": current_request_id()}

    @api.get("/boom")
    async def boom() -> None:
        with inference("llm", "1"):
            raise ModelError("model crashed")

    @api.get("/stream")
    async def stream() -> StreamingResponse:
        @inference("llm", "1")
        async def tokens() -> AsyncIterator[str]:
            for word in ("a ", "b ", "c"):
                await asyncio.sleep(0.005)
                yield word

        return StreamingResponse(tokens(), media_type="text/plain")

    @api.get("/teapot", status_code=418)
    async def teapot() -> dict[str, str]:
        return {"detail": "short and stout"}

    return api


@pytest.fixture
def asgi_client() -> Iterator[TestClient]:
    with TestClient(ASGIMiddleware(build_fastapi()), raise_server_exceptions=False) as client:
        yield client


def test_asgi_without_incoming_id_mints_one_and_echoes_it(
    captured: ListHandler, asgi_client: TestClient
) -> None:
    response = asgi_client.get("/predict", headers={"User-Agent": "pytest-agent"})
    assert 200 == response.status_code
    request_id = response.headers["X-Request-ID"]
    assert request_id == response.json()["request_id"]
    assert 36 == len(request_id)
    (access,) = captured.access()
    assert request_id == access.request_id
    assert ("GET", "/predict", 200, "ok") == (
        access.method,
        access.path,
        access.status_code,
        access.status,
    )
    assert "pytest-agent" == access.user_agent
    assert "testclient" == access.client_address
    assert len(response.content) == access.response_size
    assert access.latency_ms >= 0
    assert logging.INFO == access.levelno
    # Everything logged inside the request shares its id.
    (handled,) = captured.named("app")
    (model,) = captured.named("inferlog.inference")
    assert request_id == handled.request_id == model.request_id


def test_asgi_with_incoming_id_and_traceparent(
    captured: ListHandler, asgi_client: TestClient
) -> None:
    response = asgi_client.get(
        "/predict", headers={"X-Request-ID": "client-id-123", "traceparent": TRACEPARENT}
    )
    assert "client-id-123" == response.headers["x-request-id"]
    (access,) = captured.access()
    assert "client-id-123" == access.request_id
    assert "4bf92f3577b34da6a3ce929d0e0e4736" == access.trace_id


@pytest.mark.parametrize(
    "bad_id", ["x" * 129, "has space", "semi;colon", "new\nline".replace("\n", "%0A") + "\x7f"]
)
def test_asgi_invalid_incoming_id_is_replaced(
    captured: ListHandler, asgi_client: TestClient, bad_id: str
) -> None:
    response = asgi_client.get("/predict", headers={"X-Request-ID": bad_id})
    echoed = response.headers["X-Request-ID"]
    assert bad_id != echoed
    assert 36 == len(echoed)
    assert echoed == captured.access()[0].request_id


def test_asgi_500_record_has_the_stack_and_the_exception_reaches_the_framework(
    captured: ListHandler, asgi_client: TestClient
) -> None:
    response = asgi_client.get("/boom")
    assert 500 == response.status_code
    (access,) = captured.access()
    assert (500, "error", "ModelError", logging.ERROR) == (
        access.status_code,
        access.status,
        access.error_code,
        access.levelno,
    )
    assert access.exc_info is not None
    line = json.loads(JsonFormatter().format(access))
    assert line["exception"]["type"].endswith("ModelError")
    assert any("model crashed" in part for part in line["exception"]["stack"])
    assert any("in boom" in part for part in line["exception"]["stack"])
    # The inference record inside failed too, with the same request id.
    (model,) = captured.named("inferlog.inference")
    assert access.request_id == model.request_id
    assert "error" == model.status


def test_asgi_exception_is_reraised_to_the_server(captured: ListHandler) -> None:
    with TestClient(ASGIMiddleware(build_fastapi())) as client, pytest.raises(ModelError):
        client.get("/boom")
    assert "ModelError" == captured.access()[0].error_code


def test_asgi_added_with_add_middleware(captured: ListHandler) -> None:
    api = build_fastapi()
    api.add_middleware(ASGIMiddleware)
    with TestClient(api, raise_server_exceptions=False) as client:
        ok = client.get("/predict")
        failed = client.get("/boom")
    assert (200, 500) == (ok.status_code, failed.status_code)
    assert [200, 500] == [r.status_code for r in captured.access()]
    assert captured.access()[1].exc_info is not None


def test_asgi_streaming_response_records_ttft_and_full_latency(
    captured: ListHandler, asgi_client: TestClient
) -> None:
    response = asgi_client.get("/stream")
    assert "a b c" == response.text
    (access,) = captured.access()
    (model,) = captured.named("inferlog.inference")
    assert access.request_id == model.request_id == response.headers["X-Request-ID"]
    assert 3 == model.stream_chunks
    assert 0 < model.time_to_first_token_ms <= model.latency_ms
    assert 5 == access.response_size
    assert access.latency_ms >= model.latency_ms


def test_asgi_4xx_is_logged_at_info(captured: ListHandler, asgi_client: TestClient) -> None:
    assert 418 == asgi_client.get("/teapot").status_code
    (access,) = captured.access()
    assert (418, "ok", logging.INFO) == (access.status_code, access.status, access.levelno)


def test_asgi_debug_header_forces_sampling(captured: ListHandler, asgi_client: TestClient) -> None:
    asgi_client.get("/predict", headers={DEBUG_HEADER: "1"})
    asgi_client.get("/predict")
    assert [True, False] == [r.forced for r in captured.named("app")]


def test_asgi_replaces_an_id_the_app_set_and_keeps_its_headers(captured: ListHandler) -> None:
    sent: list[dict[str, Any]] = []
    app_headers = [(b"x-request-id", b"app-set"), (b"content-type", b"text/plain")]

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": app_headers})
        await send({"type": "http.response.body", "body": b"abc", "more_body": True})
        await send({"type": "http.response.body", "body": b"de"})

    async def collect(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/x", "headers": [], "client": None}
    asyncio.run(ASGIMiddleware(app)(scope, receive, collect))
    headers = sent[0]["headers"]
    (rid,) = [v for k, v in headers if k == b"x-request-id"]
    assert rid != b"app-set"
    assert (b"content-type", b"text/plain") in headers
    assert [(b"x-request-id", b"app-set"), (b"content-type", b"text/plain")] == app_headers
    (access,) = captured.access()
    assert (5, rid.decode()) == (access.response_size, access.request_id)
    assert not hasattr(access, "client_address")


def test_asgi_lifespan_and_websocket_pass_through(captured: ListHandler) -> None:
    seen: list[str] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope["type"])

    async def noop(*args: Any) -> Any:
        return None

    middleware = ASGIMiddleware(app)
    asyncio.run(middleware({"type": "lifespan"}, noop, noop))
    asyncio.run(middleware({"type": "websocket", "path": "/ws", "headers": []}, noop, noop))
    assert ["lifespan", "websocket"] == seen
    assert [] == captured.access()


def test_asgi_cancelled_request_is_a_warning_without_stack(captured: ListHandler) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await asyncio.sleep(10)

    async def noop(*args: Any) -> Any:
        return None

    async def main() -> None:
        task = asyncio.ensure_future(
            ASGIMiddleware(app)({"type": "http", "method": "GET", "path": "/"}, noop, noop)
        )
        await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(main())
    (access,) = captured.access()
    assert ("cancelled", logging.WARNING, None) == (
        access.error_code,
        access.levelno,
        access.exc_info,
    )


def test_invalid_middleware_configuration_is_refused() -> None:
    with pytest.raises(ValueError, match="level"):
        ASGIMiddleware(build_fastapi(), level="LOUD")
    with pytest.raises(ValueError, match="request_id_header"):
        WSGIMiddleware(flask.Flask("x").wsgi_app, request_id_header=" ")


def test_untrusted_incoming_id_is_ignored(captured: ListHandler) -> None:
    wrapped = ASGIMiddleware(build_fastapi(), trust_incoming_id=False)
    with TestClient(wrapped) as client:
        response = client.get("/predict", headers={"X-Request-ID": "client-id"})
    assert "client-id" != response.headers["X-Request-ID"]


# --------------------------------------------------------------------------- uvicorn


def test_asgi_under_uvicorn_on_localhost(captured: ListHandler) -> None:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        ASGIMiddleware(build_fastapi()), log_config=None, access_log=False, lifespan="off"
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "uvicorn did not start"
            time.sleep(0.01)
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/predict", headers={"X-Request-ID": "uvicorn-1"}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert "uvicorn-1" == response.headers["X-Request-ID"]
            body = json.loads(response.read())
        assert "uvicorn-1" == body["request_id"]
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/boom", timeout=5)
        assert 500 == raised.value.code
        assert 36 == len(raised.value.headers["X-Request-ID"])
        raised.value.close()
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
    assert not thread.is_alive()
    ok, failed = captured.access()
    assert ("uvicorn-1", 200, "127.0.0.1") == (ok.request_id, ok.status_code, ok.client_address)
    assert (500, "ModelError") == (failed.status_code, failed.error_code)
    assert failed.exc_info is not None


# --------------------------------------------------------------------------- WSGI


def build_flask(*, propagate: bool = False) -> flask.Flask:
    app = flask.Flask("fraud")
    app.config["PROPAGATE_EXCEPTIONS"] = propagate

    @app.get("/score")
    def score() -> dict[str, Any]:
        app_log.info("scoring", extra={"forced": sampling_forced()})
        return {"request_id": current_request_id(), "score": 0.1}

    @app.get("/boom")
    def boom() -> str:
        raise ModelError("feature store down")

    @app.get("/stream")
    def stream() -> flask.Response:
        def body() -> Iterator[str]:
            for part in ("x", "yz"):
                app_log.info("chunk", extra={"rid": current_request_id()})
                yield part

        return flask.Response(body(), mimetype="text/plain")

    flask.got_request_exception.connect(
        lambda sender, exception, **extra: report_exception(exception), app, weak=False
    )
    app.wsgi_app = WSGIMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    return app


def test_wsgi_without_incoming_id(captured: ListHandler) -> None:
    client = build_flask().test_client()
    response = client.get("/score", headers={"User-Agent": "ua/1"}, buffered=True)
    request_id = response.headers["X-Request-ID"]
    assert request_id == response.json["request_id"]
    (access,) = captured.access()
    assert (request_id, "GET", "/score", 200, "ok") == (
        access.request_id,
        access.method,
        access.path,
        access.status_code,
        access.status,
    )
    assert ("ua/1", "127.0.0.1", len(response.data)) == (
        access.user_agent,
        access.client_address,
        access.response_size,
    )
    assert request_id == captured.named("app")[0].request_id
    assert current_request_id() is None


def test_wsgi_with_incoming_id_and_invalid_id(captured: ListHandler) -> None:
    client = build_flask().test_client()
    good = client.get("/score", headers={"X-Request-ID": "abc-123"}, buffered=True)
    bad = client.get("/score", headers={"X-Request-ID": "a b"}, buffered=True)
    assert "abc-123" == good.headers["X-Request-ID"]
    assert "a b" != bad.headers["X-Request-ID"]
    assert ["abc-123", bad.headers["X-Request-ID"]] == [r.request_id for r in captured.access()]


def test_wsgi_500_handled_by_flask_carries_the_stack(captured: ListHandler) -> None:
    client = build_flask().test_client()
    response = client.get("/boom", buffered=True)
    assert 500 == response.status_code
    (access,) = captured.access()
    assert (500, "error", "ModelError", logging.ERROR) == (
        access.status_code,
        access.status,
        access.error_code,
        access.levelno,
    )
    line = json.loads(JsonFormatter().format(access))
    assert any("feature store down" in part for part in line["exception"]["stack"])
    assert response.headers["X-Request-ID"] == access.request_id


def test_wsgi_exception_reaches_the_server(captured: ListHandler) -> None:
    client = build_flask(propagate=True).test_client()
    with pytest.raises(ModelError):
        client.get("/boom", buffered=True)
    (access,) = captured.access()
    assert (500, "ModelError") == (access.status_code, access.error_code)
    assert access.exc_info is not None


def test_wsgi_streamed_body_runs_in_the_request_scope(captured: ListHandler) -> None:
    client = build_flask().test_client()
    response = client.get("/stream", buffered=True)
    assert b"xyz" == response.data
    request_id = response.headers["X-Request-ID"]
    assert [request_id, request_id] == [r.rid for r in captured.named("app")]
    assert 3 == captured.access()[0].response_size


def test_wsgi_debug_header_forces_sampling(captured: ListHandler) -> None:
    client = build_flask().test_client()
    client.get("/score", headers={DEBUG_HEADER: "true"}, buffered=True)
    client.get("/score", buffered=True)
    assert [True, False] == [r.forced for r in captured.named("app")]


def test_wsgi_start_response_exc_info_is_recorded(captured: ListHandler) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        try:
            raise ModelError("rendering failed")
        except ModelError:
            import sys

            start_response("503 Service Unavailable", [("X-Request-ID", "x")], sys.exc_info())
        return [b"sorry"]

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        assert [h for h in headers if h[0].lower() == "x-request-id"] != [("X-Request-ID", "x")]
        return lambda data: None

    result = WSGIMiddleware(app)({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, start_response)
    assert [b"sorry"] == list(result)
    result.close()  # type: ignore[attr-defined]
    (access,) = captured.access()
    assert (503, "ModelError", 5) == (access.status_code, access.error_code, access.response_size)


def test_wsgi_under_wsgiref_on_localhost(captured: ListHandler) -> None:
    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server("127.0.0.1", 0, build_flask().wsgi_app, handler_class=QuietHandler)
    port = server.server_address[1]
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    request_id = new_request_id()
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/score", headers={"X-Request-ID": request_id}
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            assert request_id == response.headers["X-Request-ID"]
    finally:
        thread.join(timeout=10)
        server.server_close()
    (access,) = captured.access()
    assert (request_id, 200, "127.0.0.1") == (
        access.request_id,
        access.status_code,
        access.client_address,
    )


# --------------------------------------------------------------------------- buffering


@pytest.fixture
def buffered_app_log() -> Iterator[ListHandler]:
    """'buffered' logger behind an ErrorBufferHandler that samples everything away."""
    released = ListHandler()
    buffer = ErrorBufferHandler(target=released, sampling={"rate": 0.0})
    logger = logging.getLogger("buffered")
    logger.addHandler(buffer)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield released
    logger.removeHandler(buffer)
    buffer.close()


@pytest.mark.parametrize("status", [200, 503])
def test_asgi_5xx_without_exception_releases_buffered_records(
    buffered_app_log: ListHandler, status: int
) -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        logging.getLogger("buffered").info("detail")
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def noop(*args: Any) -> Any:
        return None

    scope = {"type": "http", "method": "GET", "path": "/", "headers": []}
    asyncio.run(ASGIMiddleware(app)(scope, noop, noop))
    expected = ["detail"] if status >= 500 else []
    assert expected == [r.getMessage() for r in buffered_app_log.records]


@pytest.mark.parametrize("status", ["200 OK", "503 Service Unavailable"])
def test_wsgi_5xx_without_exception_releases_buffered_records(
    buffered_app_log: ListHandler, status: str
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        logging.getLogger("buffered").info("detail")
        start_response(status, [])
        return [b""]

    result = WSGIMiddleware(app)({"REQUEST_METHOD": "GET"}, lambda s, h, e=None: None)
    list(result)
    result.close()  # type: ignore[attr-defined]
    expected = ["detail"] if status.startswith("5") else []
    assert expected == [r.getMessage() for r in buffered_app_log.records]


# --------------------------------------------------------------------------- properties


@settings(max_examples=200, deadline=None)
@given(
    raw=st.one_of(
        st.binary(max_size=200), st.from_regex(r"[A-Za-z0-9._:+/=\-]{1,140}", fullmatch=True)
    )
)
def test_any_incoming_id_is_echoed_only_when_valid(raw: bytes | str) -> None:
    value = raw.encode("latin-1") if isinstance(raw, str) else raw
    sent: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    async def collect(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    scope = {"type": "http", "method": "GET", "path": "/", "headers": [(b"x-request-id", value)]}
    asyncio.run(
        ASGIMiddleware(app, logger=logging.getLogger("prop.access"))(scope, receive, collect)
    )
    (echoed,) = [v for k, v in sent[0]["headers"] if k == b"x-request-id"]
    text = value.decode("latin-1").strip(" \t")
    assert is_valid_request_id(echoed.decode("latin-1"))
    if is_valid_request_id(text):
        assert text.encode("latin-1") == echoed
    else:
        assert 36 == len(echoed)


def test_wsgi_error_while_streaming_the_body_is_recorded_and_reraised(
    captured: ListHandler,
) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"part"
        raise ModelError("stream broke")

    result = WSGIMiddleware(app)({"REQUEST_METHOD": "GET"}, lambda s, h, e=None: None)
    iterator = iter(result)
    assert b"part" == next(iterator)
    with pytest.raises(ModelError):
        next(iterator)
    result.close()  # type: ignore[attr-defined]
    (access,) = captured.access()
    assert (200, "error", "ModelError", 4) == (
        access.status_code,
        access.status,
        access.error_code,
        access.response_size,
    )
    assert access.exc_info is not None


def test_wsgi_record_is_written_when_the_body_is_exhausted(captured: ListHandler) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("200 OK", [])
        return [b"a", b"bc"]

    result = WSGIMiddleware(app)({"REQUEST_METHOD": "GET"}, lambda s, h, e=None: None)
    assert [b"a", b"bc"] == list(result)
    assert [3] == [r.response_size for r in captured.access()]
    result.close()  # type: ignore[attr-defined]
    assert 1 == len(captured.access())


def test_scope_is_the_deprecated_name_of_asgi_scope() -> None:
    import inferlog.middleware

    with pytest.warns(DeprecationWarning, match="ASGIScope"):
        old = inferlog.middleware.Scope
    assert old is inferlog.middleware.ASGIScope
    with pytest.raises(AttributeError):
        inferlog.middleware.NoSuchName
