"""A fault-injecting HTTP proxy on 127.0.0.1 between boto3 and moto's server.

Requests for the chosen operations meet faults on a fixed schedule (the i-th such
request gets ``schedule[i % len(schedule)]``):

* ``"pass"``: forwarded as it is;
* ``"throttle"``: answered 400 ``ThrottlingException`` without forwarding;
* ``"error500"``: answered 500 ``InternalFailure`` without forwarding;
* ``"unavailable"``: answered 503 ``ServiceUnavailableException`` without forwarding;
* ``"reset"``: the connection is reset (RST) without an answer and without forwarding;
* ``"delay"``: forwarded after ``delay`` seconds (slow, but in time);
* ``"stall"``: no answer for ``delay`` seconds, then reset, never forwarded (a client
  whose read timeout is shorter sees a timeout);
* ``"denied"``: answered 400 ``UnrecognizedClientException`` (bad credentials);
* ``"hold"``: held until :attr:`FaultProxy.release` is set, then answered as ``"throttle"``
  (:attr:`FaultProxy.holding` is set while a request is held).

Faults are injected before forwarding, so a failed request never reached moto and a
retry cannot duplicate events. Every PutLogEvents body that reaches the proxy is
checked against CloudWatch's rules (:func:`check_put_log_events`); moto does not
check them, so this is where a broken rule would show.
"""

from __future__ import annotations

import http.client
import http.server
import json
import socket
import struct
import threading
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from inferlog.handlers._cloudwatch_limits import (
    EVENT_OVERHEAD_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_BATCH_SPAN_MS,
    MAX_EVENT_AGE_MS,
    MAX_EVENT_FUTURE_MS,
    MAX_MESSAGE_BYTES,
)

FAULTS = (
    "pass",
    "throttle",
    "error500",
    "unavailable",
    "reset",
    "delay",
    "stall",
    "denied",
    "hold",
)
_ERRORS = {
    "throttle": (400, "ThrottlingException", "Rate exceeded"),
    "error500": (500, "InternalFailure", "injected internal failure"),
    "unavailable": (503, "ServiceUnavailableException", "injected unavailability"),
    "denied": (400, "UnrecognizedClientException", "The security token is invalid."),
}
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "host"}


def operation_of(headers: Any) -> str:
    """The API operation of a JSON-protocol request (``Logs_20140328.PutLogEvents``)."""
    target = headers.get("X-Amz-Target", "") or ""
    return target.rsplit(".", 1)[-1]


def check_put_log_events(body: dict[str, Any], now_ms: int) -> list[str]:
    """Return every CloudWatch rule the PutLogEvents request ``body`` breaks."""
    broken: list[str] = []
    events = body.get("logEvents", [])
    if "sequenceToken" in body:
        broken.append("sends a sequence token")
    if not 1 <= len(events) <= MAX_BATCH_EVENTS:
        broken.append(f"{len(events)} events")
    sizes = [len(e["message"].encode("utf-8")) for e in events]
    total = sum(sizes) + EVENT_OVERHEAD_BYTES * len(events)
    if total > MAX_BATCH_BYTES:
        broken.append(f"{total} bytes")
    if any(size > MAX_MESSAGE_BYTES for size in sizes):
        broken.append("an event over the event size limit")
    if any(size == 0 for size in sizes):
        broken.append("an empty message")
    stamps = [e["timestamp"] for e in events]
    if stamps != sorted(stamps):
        broken.append("events out of timestamp order")
    if stamps and stamps[-1] - stamps[0] >= MAX_BATCH_SPAN_MS:
        broken.append("spans 24 hours or more")
    if any(s < now_ms - MAX_EVENT_AGE_MS for s in stamps):
        broken.append("an event older than 14 days")
    if any(s > now_ms + MAX_EVENT_FUTURE_MS for s in stamps):
        broken.append("an event more than 2 hours in the future")
    return broken


class FaultProxy:
    """The proxy server; use as a context manager, point ``endpoint_url`` at :attr:`url`."""

    def __init__(
        self,
        upstream: str,
        schedule: Sequence[str] = ("pass",),
        *,
        operations: Sequence[str] = ("PutLogEvents",),
        delay: float = 0.05,
    ) -> None:
        unknown = set(schedule) - set(FAULTS)
        if unknown or not schedule:
            raise ValueError(f"schedule must hold some of {FAULTS}, got {schedule!r}")
        parts = urlsplit(upstream)
        self._upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.schedule = list(schedule)
        self.operations = set(operations)
        self.delay = delay
        self._lock = threading.Lock()
        self._matched = 0
        #: (operation, fault) of every request, in arrival order.
        self.log: list[tuple[str, str]] = []
        #: Bodies of the PutLogEvents requests forwarded to moto.
        self.forwarded: list[dict[str, Any]] = []
        #: Headers of the PutLogEvents requests forwarded to moto.
        self.forwarded_headers: list[dict[str, str]] = []
        #: Rules broken by any PutLogEvents request that reached the proxy.
        self.violations: list[str] = []
        self.holding = threading.Event()
        self.release = threading.Event()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def url(self) -> str:
        """The proxy's endpoint URL."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def set_schedule(self, schedule: Sequence[str]) -> None:
        """Use ``schedule`` from the next matching request on (counting from 0)."""
        with self._lock:
            self.schedule = list(schedule)
            self._matched = 0

    def faults(self, fault: str) -> int:
        """How many requests met ``fault``."""
        with self._lock:
            return sum(1 for _, f in self.log if f == fault)

    def _next_fault(self, operation: str) -> str:
        with self._lock:
            if operation not in self.operations:
                fault = "pass"
            else:
                fault = self.schedule[self._matched % len(self.schedule)]
                self._matched += 1
            self.log.append((operation, fault))
            return fault

    def _handler_class(self) -> type[http.server.BaseHTTPRequestHandler]:
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass  # quiet: the test reads proxy.log instead

            def handle(self) -> None:
                try:
                    super().handle()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up on a stalled or failed request

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0") or 0)
                body = self.rfile.read(length)
                operation = operation_of(self.headers)
                if operation == "PutLogEvents":
                    parsed = json.loads(body)
                    broken = check_put_log_events(parsed, int(time.time() * 1000))
                    with proxy._lock:
                        proxy.violations.extend(broken)
                fault = proxy._next_fault(operation)
                if fault == "hold":
                    proxy.holding.set()
                    proxy.release.wait(10)
                    fault = "throttle"
                if fault == "stall":
                    time.sleep(proxy.delay)  # the fault itself: a server that does not answer
                    fault = "reset"
                if fault == "reset":
                    self.close_connection = True
                    self.connection.setsockopt(
                        socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                    )
                    self.connection.close()
                    return
                if fault in _ERRORS:
                    status, code, message = _ERRORS[fault]
                    self._answer(
                        status,
                        {"Content-Type": "application/x-amz-json-1.1"},
                        json.dumps({"__type": code, "message": message}).encode(),
                    )
                    return
                if fault == "delay":
                    time.sleep(proxy.delay)  # the fault itself: a slow network
                if operation == "PutLogEvents":
                    with proxy._lock:
                        proxy.forwarded.append(json.loads(body))
                        proxy.forwarded_headers.append(dict(self.headers.items()))
                self._forward(body)

            def _forward(self, body: bytes) -> None:
                connection = http.client.HTTPConnection(*proxy._upstream, timeout=30)
                try:
                    headers = {
                        k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS
                    }
                    connection.request("POST", self.path, body=body, headers=headers)
                    response = connection.getresponse()
                    data = response.read()
                    answer = {
                        k: v for k, v in response.getheaders() if k.lower() not in _HOP_HEADERS
                    }
                    self._answer(response.status, answer, data)
                finally:
                    connection.close()

            def _answer(self, status: int, headers: dict[str, str], data: bytes) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler
