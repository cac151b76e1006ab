"""A local fake of Cloud Logging's ``entries.write``, over REST and gRPC, on 127.0.0.1.

The real google-cloud-logging client talks to it with ``AnonymousCredentials``:

* REST: ``Client(_use_grpc=False, client_options={"api_endpoint": fake.rest_url})``,
  which POSTs ``/v2/entries:write``;
* gRPC: a ``grpc.server`` with a generic handler for
  ``google.logging.v2.LoggingServiceV2/WriteLogEntries`` that deserialises with
  ``WriteLogEntriesRequest.deserialize``. :meth:`FakeCloudLogging.gapic_client` is
  the package's generated ``LoggingServiceV2Client`` on an insecure channel (public
  API). ``google.cloud.logging.Client`` only opens TLS channels, so
  :meth:`FakeCloudLogging.grpc_client` builds that client's gRPC API object over an
  insecure channel; everything above the channel is the library's own code.

Faults are injected on a schedule (:meth:`FakeCloudLogging.schedule`, one per
request, or :meth:`FakeCloudLogging.fail_every`). Like the real service, a request
whose labels are not all strings is refused as a whole (INVALID_ARGUMENT), and a
partial failure writes the other entries and names the failed ones in
``WriteLogEntriesPartialErrors``. Everything stored is kept in :attr:`entries`,
in the JSON form, with the request-level log name, resource and labels applied.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import http.server
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent import futures
from typing import Any

import grpc
from google.auth.credentials import AnonymousCredentials
from google.cloud.logging_v2 import Client
from google.cloud.logging_v2.types import (
    WriteLogEntriesPartialErrors,
    WriteLogEntriesRequest,
    WriteLogEntriesResponse,
)
from google.protobuf import any_pb2, json_format
from google.rpc import status_pb2
from grpc_status import rpc_status

#: gRPC code numbers and the HTTP status the REST API answers with for each.
CODES: Mapping[str, tuple[int, int]] = {
    "INVALID_ARGUMENT": (3, 400),
    "DEADLINE_EXCEEDED": (4, 504),
    "PERMISSION_DENIED": (7, 403),
    "RESOURCE_EXHAUSTED": (8, 429),
    "INTERNAL": (13, 500),
    "UNAVAILABLE": (14, 503),
}


@dataclasses.dataclass(frozen=True)
class Fault:
    """What the fake does to one request instead of storing it all.

    ``code`` alone fails the whole request. With ``entries`` (indexes into the
    request) it is a partial failure: those entries fail with ``code``, the others
    are stored.
    """

    code: str
    entries: tuple[int, ...] = ()


class FakeCloudLogging:
    """Records every entry written to it; fails requests as scheduled."""

    def __init__(self) -> None:
        self._lock = threading.Condition()
        self.entries: list[dict[str, Any]] = []
        self.requests = 0
        #: Entries in each request received, in order (faulted ones included).
        self.batch_sizes: list[int] = []
        self.failures: collections.Counter[str] = collections.Counter()
        self._schedule: collections.deque[Fault | None] = collections.deque()
        self._every: tuple[int, Callable[[int, int], Fault | None]] | None = None
        self._rest: http.server.ThreadingHTTPServer | None = None
        self._grpc: grpc.Server | None = None
        self.rest_port = 0
        self.grpc_port = 0
        #: When set, each request waits for it first (to hold the sender in a call).
        self.gate: threading.Event | None = None

    # ------------------------------------------------------------ faults

    def schedule(self, faults: Iterable[Fault | None]) -> None:
        """Queue one outcome per coming request (None: store it normally)."""
        with self._lock:
            self._schedule.extend(faults)

    def fail_every(self, every: int, fault: Callable[[int, int], Fault | None]) -> None:
        """Fail request number ``n`` (from 1) when ``n % every == 0`` with
        ``fault(n, entry_count)``."""
        with self._lock:
            self._every = (every, fault)

    def _fault_for(self, entry_count: int) -> Fault | None:
        with self._lock:
            self.requests += 1
            self.batch_sizes.append(entry_count)
            if self._schedule:
                return self._schedule.popleft()
            if self._every is not None and self.requests % self._every[0] == 0:
                return self._every[1](self.requests, entry_count)
            return None

    # ------------------------------------------------------------ storing

    def _accept(self, request: dict[str, Any]) -> tuple[str, str, dict[int, str]] | None:
        """Store ``request``'s entries; return ``(code, message, failed)`` on a fault."""
        gate = self.gate
        if gate is not None:
            gate.wait(10)
        entries = list(request.get("entries", []))
        fault = self._fault_for(len(entries))
        for entry in entries:
            for value in (entry.get("labels") or {}).values():
                if not isinstance(value, str):
                    self._count("INVALID_ARGUMENT")
                    return "INVALID_ARGUMENT", "Invalid value at 'entries.labels'", {}
        if fault is not None and not fault.entries:
            self._count(fault.code)
            return fault.code, f"injected {fault.code}", {}
        failed = {i: fault.code for i in fault.entries if i < len(entries)} if fault else {}
        defaults = {key: request[key] for key in ("logName", "resource") if key in request}
        stored = []
        for index, entry in enumerate(entries):
            if index in failed:
                continue
            full = {**defaults, **entry}
            labels = {**(request.get("labels") or {}), **(entry.get("labels") or {})}
            if labels:
                full["labels"] = labels
            stored.append(full)
        with self._lock:
            self.entries.extend(stored)
            self._lock.notify_all()
        if failed:
            assert fault is not None
            self._count(f"partial {fault.code}")
            return fault.code, f"{len(failed)} entries failed", failed
        return None

    def _count(self, what: str) -> None:
        with self._lock:
            self.failures[what] += 1

    def wait_for(self, count: int, timeout: float = 20.0) -> bool:
        """Wait until at least ``count`` entries are stored; False on timeout."""
        end = time.monotonic() + timeout
        with self._lock:
            while len(self.entries) < count:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
            return True

    def payloads(self) -> list[dict[str, Any]]:
        """The ``jsonPayload`` of every stored entry, in arrival order."""
        with self._lock:
            return [entry.get("jsonPayload", {}) for entry in self.entries]

    # ------------------------------------------------------------ REST

    def start_rest(self) -> str:
        """Serve REST on a free port of 127.0.0.1; return the endpoint URL."""
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in separate writes: without this, Nagle and
            # delayed ACKs add ~40 ms to every request on a kept-alive connection.
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if not self.path.split("?")[0].endswith("/entries:write"):
                    self._reply(404, {"error": {"code": 404, "message": self.path}})
                    return
                outcome = fake._accept(json.loads(body))
                if outcome is None:
                    self._reply(200, {})
                    return
                code, message, failed = outcome
                _number, status = CODES[code]
                error: dict[str, Any] = {"code": status, "message": message, "status": code}
                if failed:
                    error["details"] = [
                        {
                            "@type": "type.googleapis.com/"
                            "google.logging.v2.WriteLogEntriesPartialErrors",
                            "logEntryErrors": {
                                str(i): {"code": CODES[c][0], "message": c}
                                for i, c in failed.items()
                            },
                        }
                    ]
                self._reply(status, {"error": error})

            def _reply(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(
            target=server.serve_forever, args=(0.05,), name="fake-logging-rest", daemon=True
        ).start()
        self._rest = server
        self.rest_port = server.server_address[1]
        return self.rest_url

    @property
    def rest_url(self) -> str:
        """The REST ``api_endpoint``."""
        return f"http://127.0.0.1:{self.rest_port}"

    def rest_client(self, project: str = "fake-project") -> Client:
        """A real client that writes to this fake over REST."""
        return Client(
            project=project,
            credentials=AnonymousCredentials(),
            _use_grpc=False,
            client_options={"api_endpoint": self.rest_url},
        )

    # ------------------------------------------------------------ gRPC

    def start_grpc(self) -> str:
        """Serve gRPC on a free port of 127.0.0.1; return ``host:port``."""

        def write(request: Any, context: grpc.ServicerContext) -> Any:
            as_json = json_format.MessageToDict(WriteLogEntriesRequest.pb(request))
            outcome = self._accept(as_json)
            if outcome is not None:
                code, message, failed = outcome
                details = []
                if failed:
                    partial = WriteLogEntriesPartialErrors.pb()()
                    for index, failed_code in failed.items():
                        partial.log_entry_errors[index].code = CODES[failed_code][0]
                        partial.log_entry_errors[index].message = failed_code
                    packed = any_pb2.Any()
                    packed.Pack(partial)
                    details.append(packed)
                status = status_pb2.Status(code=CODES[code][0], message=message, details=details)
                context.abort_with_status(rpc_status.to_status(status))
            return WriteLogEntriesResponse()

        handler = grpc.method_handlers_generic_handler(
            "google.logging.v2.LoggingServiceV2",
            {
                "WriteLogEntries": grpc.unary_unary_rpc_method_handler(
                    write,
                    request_deserializer=WriteLogEntriesRequest.deserialize,
                    response_serializer=WriteLogEntriesResponse.serialize,
                )
            },
        )
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        server.add_generic_rpc_handlers((handler,))
        self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._grpc = server
        return f"127.0.0.1:{self.grpc_port}"

    def grpc_client(self, project: str = "fake-project") -> Client:
        """A real client whose gRPC API object talks to this fake on an insecure channel."""
        from google.cloud.logging_v2 import _gapic
        from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
        from google.cloud.logging_v2.services.logging_service_v2.transports import (
            LoggingServiceV2GrpcTransport,
        )

        client = Client(project=project, credentials=AnonymousCredentials(), _use_grpc=True)
        channel = grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")
        transport = LoggingServiceV2GrpcTransport(channel=channel)
        # Test seam: the one thing the stock client cannot be told (no TLS).
        client._logging_api = _gapic._LoggingAPI(
            LoggingServiceV2Client(transport=transport), client
        )
        return client

    def gapic_client(self) -> Any:
        """The package's generated ``LoggingServiceV2Client`` on an insecure channel here."""
        from google.cloud.logging_v2.services.logging_service_v2 import LoggingServiceV2Client
        from google.cloud.logging_v2.services.logging_service_v2.transports import (
            LoggingServiceV2GrpcTransport,
        )

        channel = grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")
        return LoggingServiceV2Client(transport=LoggingServiceV2GrpcTransport(channel=channel))

    # ------------------------------------------------------------ stop

    def stop(self) -> None:
        """Stop both servers (idempotent)."""
        gate = self.gate
        if gate is not None:
            gate.set()
        if self._rest is not None:
            self._rest.shutdown()
            self._rest.server_close()
            self._rest = None
        if self._grpc is not None:
            self._grpc.stop(grace=None).wait(5)
            self._grpc = None


@contextlib.contextmanager
def serving(*, rest: bool = True, with_grpc: bool = False) -> Iterator[FakeCloudLogging]:
    """A fake serving REST (and gRPC with ``with_grpc``) for the block; stopped after."""
    fake = FakeCloudLogging()
    if rest:
        fake.start_rest()
    if with_grpc:
        fake.start_grpc()
    try:
        yield fake
    finally:
        fake.stop()
