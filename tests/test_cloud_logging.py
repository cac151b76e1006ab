"""CloudLoggingHandler against the real google-cloud-logging client and a local fake."""

from __future__ import annotations

import copy
import json
import logging
import logging.config
import os
import random
import subprocess
import sys
import textwrap
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.handlers._gcp_entries import LOG_SEVERITIES, MAX_ENTRY_BYTES
from inferlog.handlers.cloud_logging import CloudLoggingHandler
from inferlog.pipeline.retry import RetryPolicy
from tests._fake_cloud_logging import FakeCloudLogging, Fault, serving
from tests.contract_batch_sink import BatchSinkContract, SinkHarness

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"
PROJECT = "fake-project"
RESOURCE = {"type": "generic_task", "labels": {"job": "tests"}}


@pytest.fixture
def fake() -> Iterator[FakeCloudLogging]:
    """A fake Cloud Logging serving REST on 127.0.0.1."""
    with serving() as server:
        yield server


@pytest.fixture
def grpc_fake() -> Iterator[FakeCloudLogging]:
    """A fake Cloud Logging serving gRPC on 127.0.0.1."""
    with serving(rest=False, with_grpc=True) as server:
        yield server


def _fast_policy() -> RetryPolicy:
    return RetryPolicy(initial=0.001, maximum=0.005, deadline=30, rng=random.Random(7))


@pytest.fixture
def make_handler(tmp_path: Path) -> Iterator[Any]:
    """Build handlers with quick retries and a spool in tmp_path; closes them afterwards."""
    made: list[CloudLoggingHandler] = []

    def make(fake: FakeCloudLogging | None = None, **options: Any) -> CloudLoggingHandler:
        if fake is not None and "client" not in options and "client_factory" not in options:
            options["client"] = fake.rest_client(PROJECT)
        options.setdefault("project", PROJECT)
        options.setdefault("resource", RESOURCE)
        options.setdefault("batch_interval", 0.01)
        options.setdefault("retry_policy", _fast_policy())
        options.setdefault("health_interval", 0)
        options.setdefault("spool", str(tmp_path / "spool"))
        handler = CloudLoggingHandler(**options)
        made.append(handler)
        return handler

    yield make
    for handler in made:
        handler.close()


def _logger(handler: logging.Handler, name: str = "gcp-test") -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.setLevel(1)
    logger.propagate = False
    return logger


def _spooled(tmp_path: Path) -> list[dict[str, Any]]:
    spool = tmp_path / "spool"
    files = [spool] if spool.is_file() else sorted(spool.glob("*")) if spool.exists() else []
    return [json.loads(line) for path in files for line in path.read_text().splitlines()]


# ------------------------------------------------------------------ the entries


def test_records_arrive_as_structured_log_entries_over_rest(
    fake: FakeCloudLogging, make_handler: Any
) -> None:
    handler = make_handler(fake, labels={"service": "scoring"})
    logger = _logger(handler)
    logger.info(
        "scored",
        extra={
            "trace_id": TRACE,
            "span_id": SPAN,
            "input_token_count": 12,
            "temperature": 0.5,
            "labels": {"tenant": "t-1"},
        },
    )
    logger.warning(
        "GET /x", extra={"method": "GET", "path": "/x", "status_code": 503, "latency_ms": 2.0}
    )
    assert handler.force_flush(10)
    assert fake.wait_for(2)
    first, second = fake.entries
    assert first["logName"] == f"projects/{PROJECT}/logs/inferlog"
    assert first["resource"] == RESOURCE
    assert first["severity"] == "INFO"
    assert first["trace"] == f"projects/{PROJECT}/traces/{TRACE}"
    assert first["spanId"] == SPAN
    assert first["labels"] == {"service": "scoring", "tenant": "t-1"}
    payload = first["jsonPayload"]
    assert payload["message"] == "scored"
    assert payload["input_token_count"] == 12
    assert isinstance(payload["input_token_count"], int)
    assert payload["temperature"] == 0.5
    assert first["timestamp"].endswith("Z")
    assert first["sourceLocation"]["function"] == (
        "test_records_arrive_as_structured_log_entries_over_rest"
    )
    assert first["insertId"] != second["insertId"]
    assert second["severity"] == "WARNING"
    assert second["httpRequest"] == {
        "requestMethod": "GET",
        "requestUrl": "/x",
        "status": 503,
        "latency": "0.002s",
    }


def test_records_arrive_over_grpc(grpc_fake: FakeCloudLogging, make_handler: Any) -> None:
    handler = make_handler(client_factory=grpc_fake.gapic_client)
    _logger(handler).error(
        "over grpc", extra={"trace_id": TRACE, "count": 3, "method": "GET", "status_code": 200}
    )
    assert handler.force_flush(10)
    assert grpc_fake.wait_for(1)
    (entry,) = grpc_fake.entries
    assert entry["logName"] == f"projects/{PROJECT}/logs/inferlog"
    assert entry["resource"] == RESOURCE
    assert entry["severity"] == "ERROR"
    assert entry["trace"] == f"projects/{PROJECT}/traces/{TRACE}"
    assert entry["jsonPayload"]["message"] == "over grpc"
    assert entry["jsonPayload"]["count"] == 3  # a Struct number: 3.0 on this path
    assert entry["httpRequest"] == {"requestMethod": "GET", "status": 200}
    assert int(entry["sourceLocation"]["line"]) > 0


def test_grpc_faults_are_retried_by_the_sink_alone_and_arrive_once(
    grpc_fake: FakeCloudLogging, make_handler: Any
) -> None:
    grpc_fake.schedule(
        [Fault("UNAVAILABLE"), Fault("DEADLINE_EXCEEDED", (1,)), Fault("RESOURCE_EXHAUSTED")]
    )
    handler = make_handler(
        client_factory=grpc_fake.gapic_client, max_batch_count=3, batch_interval=5
    )
    logger = _logger(handler)
    for index in range(3):
        logger.info("m%d", index)
    assert handler.force_flush(10)
    assert sorted(p["message"] for p in grpc_fake.payloads()) == ["m0", "m1", "m2"]
    assert grpc_fake.requests == 4
    assert handler.health()["sent"] == 3


def test_through_the_stock_client_over_grpc_copies_share_an_insert_id(
    grpc_fake: FakeCloudLogging, make_handler: Any
) -> None:
    grpc_fake.schedule([Fault("RESOURCE_EXHAUSTED"), Fault("UNAVAILABLE", (0,))])
    handler = make_handler(client=grpc_fake.grpc_client(PROJECT))
    logger = _logger(handler)
    for index in range(3):
        logger.info("m%d", index)
    assert handler.force_flush(10)
    # The gRPC client retries UNAVAILABLE inside the call as well, resending a whole
    # request: copies carry the same insertId, so the service keeps one of each.
    ids: dict[str, set[str]] = {}
    for entry in grpc_fake.entries:
        ids.setdefault(entry["jsonPayload"]["message"], set()).add(entry["insertId"])
    assert sorted(ids) == ["m0", "m1", "m2"]
    assert all(len(found) == 1 for found in ids.values())


# ------------------------------------------------------------------ the stock handler's failures


def test_a_non_string_label_does_not_drop_the_batch(
    fake: FakeCloudLogging, make_handler: Any
) -> None:
    # The fake refuses a request with a non-string label as a whole, as the service does.
    with pytest.raises(Exception, match="400"):
        fake.rest_client(PROJECT).logging_api.write_entries(
            [{"jsonPayload": {}, "labels": {"n": 3}}], logger_name="projects/p/logs/x"
        )
    handler = make_handler(fake)
    logger = _logger(handler)
    logger.info("a")
    logger.info("b", extra={"labels": {"n": 3, "flag": False, "none": None}})
    logger.info("c")
    assert handler.force_flush(10)
    assert [p["message"] for p in fake.payloads()] == ["a", "b", "c"]
    assert fake.entries[1]["labels"] == {"n": "3", "flag": "false", "none": "null"}


@pytest.mark.parametrize(
    "code", ["UNAVAILABLE", "RESOURCE_EXHAUSTED", "INTERNAL", "DEADLINE_EXCEEDED"]
)
def test_rest_writes_are_retried_and_arrive_once(
    fake: FakeCloudLogging, make_handler: Any, code: str
) -> None:
    fake.schedule([Fault(code), Fault(code)])
    handler = make_handler(fake)
    _logger(handler).info("retried")
    assert handler.force_flush(10)
    assert [p["message"] for p in fake.payloads()] == ["retried"]
    assert fake.requests == 3
    assert handler.health()["sent"] == 1


@pytest.mark.parametrize(
    ("level", "severity"),
    [(5, "DEBUG"), (25, "NOTICE"), (33, "WARNING"), (35, "ERROR"), (60, "ALERT")],
)
def test_custom_levels_are_sent_as_defined_severities(
    fake: FakeCloudLogging, make_handler: Any, level: int, severity: str
) -> None:
    handler = make_handler(fake)
    _logger(handler).log(level, "custom")
    assert handler.force_flush(10)
    assert fake.wait_for(1)
    assert fake.entries[0]["severity"] == severity


def test_the_callers_dicts_are_not_changed(fake: FakeCloudLogging, make_handler: Any) -> None:
    labels = {"tenant": 1}
    payload = {"features": [1, 2], "labels": {"inner": True}}
    message = {"event": "scored", "score": 0.1}
    extra = {"labels": labels, "request_payload": payload, "trace_id": TRACE}
    before = copy.deepcopy((labels, payload, message, extra))
    handler = make_handler(fake)
    _logger(handler).info(message, extra=extra)
    assert handler.force_flush(10)
    assert (labels, payload, message, extra) == before
    assert fake.wait_for(1)
    assert fake.entries[0]["jsonPayload"]["request_payload"] == payload


@pytest.mark.slow
def test_records_are_delivered_at_exit_without_an_explicit_flush(
    fake: FakeCloudLogging, tmp_path: Path
) -> None:
    script = textwrap.dedent(
        f"""
        import logging
        from google.auth.credentials import AnonymousCredentials
        from google.cloud.logging_v2 import Client
        from inferlog.handlers import CloudLoggingHandler

        client = Client(project="{PROJECT}", credentials=AnonymousCredentials(),
                        _use_grpc=False, client_options={{"api_endpoint": "{fake.rest_url}"}})
        handler = CloudLoggingHandler(client=client, resource={RESOURCE!r},
                                      spool={str(tmp_path / "spool")!r}, health_interval=0)
        logger = logging.getLogger("exit")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        for i in range(25):
            logger.info("record %d", i)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert fake.wait_for(25, timeout=5)
    assert sorted(p["message"] for p in fake.payloads()) == sorted(f"record {i}" for i in range(25))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_delivers_its_records_and_its_flush_returns(
    fake: FakeCloudLogging, make_handler: Any
) -> None:
    clients: list[Any] = []

    def factory() -> Any:
        client = fake.rest_client(PROJECT)
        clients.append(client)
        return client

    handler = make_handler(client_factory=factory, shutdown_timeout=5)
    logger = _logger(handler)
    logger.info("parent before fork")
    assert handler.force_flush(10)
    pid = os.fork()
    if pid == 0:  # the child
        code = 2
        try:
            for index in range(5):
                logger.info("child %d", index)
            delivered = handler.force_flush(10)
            new_client = len(clients) == 2 and clients[1] is not clients[0]
            code = 0 if delivered and new_client else 1
        finally:
            os._exit(code)
    status = None
    for _ in range(400):
        done, waited = os.waitpid(pid, os.WNOHANG)
        if done:
            status = waited
            break
        threading.Event().wait(0.05)
    if status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child's flush did not return")
    assert os.waitstatus_to_exitcode(status) == 0
    assert fake.wait_for(6)
    logger.info("parent after fork")
    assert handler.force_flush(10)
    messages = sorted(p["message"] for p in fake.payloads())
    assert messages == sorted(
        ["parent before fork", "parent after fork", *(f"child {i}" for i in range(5))]
    )


# ------------------------------------------------------------------ failures and the spool


def test_refused_entries_are_spooled_with_the_reason_and_the_rest_stored(
    fake: FakeCloudLogging, make_handler: Any, tmp_path: Path
) -> None:
    fake.schedule([Fault("INVALID_ARGUMENT", (1,))])
    handler = make_handler(fake, max_batch_count=3, batch_interval=5)
    logger = _logger(handler)
    for index in range(3):
        logger.info("m%d", index)
    assert handler.force_flush(10)
    assert [p["message"] for p in fake.payloads()] == ["m0", "m2"]
    (spooled,) = _spooled(tmp_path)
    assert spooled["message"] == "m1"
    assert "refused by Cloud Logging (code 3)" in spooled["spool"]["reason"]
    assert fake.requests == 1  # INVALID_ARGUMENT is never retried
    assert handler.health()["rejected"] == 1


def test_permission_denied_stops_sending_and_spools(
    fake: FakeCloudLogging, make_handler: Any, tmp_path: Path, diagnostics: Any
) -> None:
    fake.schedule([Fault("PERMISSION_DENIED")])
    handler = make_handler(fake)
    logger = _logger(handler)
    logger.info("denied")
    assert handler.force_flush(10)
    logger.info("after")
    assert handler.force_flush(10)
    assert fake.requests == 1
    assert [item["message"] for item in _spooled(tmp_path)] == ["denied", "after"]
    assert any("credentials" in message for message in diagnostics.messages)


def test_a_spooled_record_is_resent_with_its_insert_id(
    fake: FakeCloudLogging, make_handler: Any, tmp_path: Path
) -> None:
    fake.schedule([Fault("PERMISSION_DENIED")])
    first = make_handler(fake)
    _logger(first).info("kept", extra={"trace_id": TRACE, "labels": {"k": "v"}})
    assert first.force_flush(10)
    first.close()
    (spooled,) = _spooled(tmp_path)
    second = make_handler(fake)
    _logger(second).info("new")
    assert second.force_flush(10)
    assert fake.wait_for(2)
    resent = next(e for e in fake.entries if e["jsonPayload"]["message"] == "kept")
    assert resent["insertId"] == spooled["logging.googleapis.com/insertId"]
    assert resent["trace"] == f"projects/{PROJECT}/traces/{TRACE}"
    assert resent["labels"] == {"k": "v"}
    assert resent["sourceLocation"] == spooled["logging.googleapis.com/sourceLocation"]
    assert "logging.googleapis.com/insertId" not in resent["jsonPayload"]


def test_an_entry_over_the_limit_is_cut_with_a_marker(
    fake: FakeCloudLogging, make_handler: Any
) -> None:
    handler = make_handler(fake)
    _logger(handler).info("big", extra={"response_payload": "x" * 300_000, "labels": {"a": "b"}})
    assert handler.force_flush(10)
    assert fake.wait_for(1)
    (entry,) = fake.entries
    body = {k: v for k, v in entry.items() if k not in ("logName", "resource")}
    assert len(json.dumps(body, separators=(",", ":"))) <= MAX_ENTRY_BYTES
    assert "truncated" in json.dumps(entry["jsonPayload"])
    assert entry["labels"] == {"a": "b"}


def test_requests_stay_within_the_count_and_byte_limits(
    fake: FakeCloudLogging, make_handler: Any
) -> None:
    handler = make_handler(fake, batch_interval=5, max_batch_bytes=200_000)
    logger = _logger(handler)
    for index in range(2_500):
        logger.info("record %d", index, extra={"padding": "p" * 50})
    assert handler.force_flush(20)
    assert fake.wait_for(2_500)
    assert max(fake.batch_sizes) <= 1_000
    assert sum(fake.batch_sizes) == 2_500
    assert len(fake.batch_sizes) >= 2_500 * 200 // 200_000


def test_emit_returns_while_the_service_hangs(fake: FakeCloudLogging, make_handler: Any) -> None:
    fake.gate = threading.Event()
    handler = make_handler(fake, buffer_size=10, overflow="drop_newest", shutdown_timeout=0.5)
    logger = _logger(handler)
    for index in range(50):
        logger.info("m%d", index)  # would hang here if emit waited for the service
    assert handler.health()["dropped"] > 0
    fake.gate.set()
    assert handler.force_flush(10)


def test_a_record_whose_message_fails_is_still_sent(
    fake: FakeCloudLogging, make_handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    errors: list[str] = []
    handler = make_handler(fake)
    monkeypatch.setattr(handler, "handleError", lambda record: errors.append(record.msg))

    class Unprintable:
        def __str__(self) -> str:
            raise RuntimeError("no")

    _logger(handler).info("%s", Unprintable())
    _logger(handler).info("fine")
    assert handler.force_flush(10)
    assert fake.wait_for(2)
    first, second = fake.payloads()
    assert first["message"] == "%s"
    assert "RuntimeError" in first["message_error"]
    assert second["message"] == "fine"
    assert errors == []


# ------------------------------------------------------------------ faults at scale


_FAULTS = [
    Fault("UNAVAILABLE"),
    Fault("RESOURCE_EXHAUSTED"),
    Fault("INTERNAL"),
    Fault("UNAVAILABLE", (0, 5, 17)),
    Fault("DEADLINE_EXCEEDED"),
    Fault("RESOURCE_EXHAUSTED", (3,)),
]


def test_twenty_thousand_records_through_faults_each_arrive_exactly_once(
    fake: FakeCloudLogging, make_handler: Any
) -> None:
    fake.fail_every(3, lambda number, count: _FAULTS[(number // 3) % len(_FAULTS)])
    total = 20_000
    # Room for the whole burst: what is tested is delivery through faults, not the
    # overflow policy (with the default 10,000 entries, a burst logged while the
    # sender backs off lost its oldest INFO entries, counted as dropped).
    handler = make_handler(fake, labels={"service": "s"}, batch_interval=0.05, buffer_size=total)
    logger = _logger(handler, "bulk")
    levels = [logging.DEBUG, logging.INFO, 25, logging.WARNING, logging.ERROR]
    severities = ["DEBUG", "INFO", "NOTICE", "WARNING", "ERROR"]
    for index in range(total):
        logger.log(
            levels[index % 5],
            "record",
            extra={
                "seq": index,
                "trace_id": f"{index:032x}" if index else TRACE,
                "labels": {"shard": index % 7},
            },
        )
    assert handler.force_flush(60)
    assert fake.wait_for(total, timeout=10)
    seen: dict[int, dict[str, Any]] = {}
    for entry in fake.entries:
        seq = entry["jsonPayload"]["seq"]
        assert seq not in seen, f"record {seq} arrived twice"
        seen[seq] = entry
    assert sorted(seen) == list(range(total))
    for seq, entry in seen.items():
        assert entry["severity"] == severities[seq % 5]
        trace = f"{seq:032x}" if seq else TRACE
        assert entry["trace"] == f"projects/{PROJECT}/traces/{trace}"
        assert entry["labels"] == {"service": "s", "shard": str(seq % 7)}
        assert entry["jsonPayload"] == {"logger": "bulk", "message": "record", "seq": seq}
    assert sum(fake.failures.values()) >= fake.requests // 3
    health = handler.health()
    assert health["sent"] == total
    assert health["spooled"] == 0
    assert health["dropped"] == 0


# ------------------------------------------------------------------ configuration


def test_works_from_dict_config(fake: FakeCloudLogging, tmp_path: Path) -> None:
    client = fake.rest_client(PROJECT)
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "gcp": {
                    "()": "inferlog.handlers.CloudLoggingHandler",
                    "project": PROJECT,
                    "log_name": "scoring/api",
                    "labels": {"service": "scoring"},
                    "resource": RESOURCE,
                    "client": client,
                    "batch_interval": 0.01,
                    "health_interval": 0,
                    "spool": str(tmp_path / "spool"),
                    "level": "INFO",
                }
            },
            "loggers": {"dictconfig-gcp": {"handlers": ["gcp"], "level": "DEBUG"}},
        }
    )
    logger = logging.getLogger("dictconfig-gcp")
    logger.debug("below the handler's level")
    logger.info("configured")
    handler = logger.handlers[0]
    assert isinstance(handler, CloudLoggingHandler)
    assert handler.force_flush(10)
    assert fake.wait_for(1)
    (entry,) = fake.entries
    assert entry["logName"] == f"projects/{PROJECT}/logs/scoring%2Fapi"
    assert entry["labels"] == {"service": "scoring"}


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"project": "projects/x"}, "project"),
        ({"log_name": "has space"}, "log_name"),
        ({"log_name": ""}, "log_name"),
        ({"labels": {"a": 1}}, "labels"),
        ({"resource": {"labels": {}}}, "resource"),
        ({"resource": {"type": "global", "labels": {"a": 1}}}, "resource"),
        ({"client_factory": "not callable"}, "client_factory"),
        ({"client": object()}, "client"),
        ({"transport": "http"}, "transport"),
        ({"request_timeout": 0}, "request_timeout"),
        ({"source_location": 1}, "source_location"),
        ({"max_batch_count": 5_000}, "max_batch_count"),
    ],
)
def test_bad_options_raise_value_errors_naming_them(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        CloudLoggingHandler(**options)


def test_a_google_resource_object_is_accepted(fake: FakeCloudLogging, make_handler: Any) -> None:
    from google.cloud.logging import Resource

    handler = make_handler(fake, resource=Resource(type="global", labels={"project_id": "p"}))
    _logger(handler).info("with resource")
    assert handler.force_flush(10)
    assert fake.wait_for(1)
    assert fake.entries[0]["resource"] == {"type": "global", "labels": {"project_id": "p"}}


def test_importing_the_handlers_package_imports_no_google_library() -> None:
    code = (
        "import sys, inferlog, inferlog.handlers; "
        "print(sorted(m for m in sys.modules if m.startswith(('google.cloud', 'grpc'))))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


# ------------------------------------------------------------------ the batch-sink contract


class TestCloudLoggingContract(BatchSinkContract):
    """The contract every batch sink passes, with the fake Cloud Logging as destination."""

    @pytest.fixture
    def harness(self, fake: FakeCloudLogging, make_handler: Any) -> SinkHarness:
        handler = make_handler(fake)
        return SinkHarness(handler, lambda: [str(p["message"]) for p in fake.payloads()])


# ------------------------------------------------------------------ arbitrary input

_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=40)
    | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=12,
)
_RESERVED = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}


_PREPARERS: list[CloudLoggingHandler] = []


def _preparer() -> CloudLoggingHandler:
    """One handler for every example: ``prepare`` sends nothing and starts no thread."""
    if not _PREPARERS:
        _PREPARERS.append(
            CloudLoggingHandler(project=PROJECT, resource=RESOURCE, health_interval=0)
        )
    return _PREPARERS[0]


@settings(max_examples=80, deadline=None)
@given(
    extras=st.dictionaries(
        st.text(min_size=1, max_size=10).filter(lambda k: k not in _RESERVED and k[0] != "_"),
        _VALUES,
        max_size=6,
    ),
    labels=st.dictionaries(st.text(max_size=8), _VALUES, max_size=5),
    level=st.integers(min_value=1, max_value=70),
)
def test_any_record_becomes_an_entry_the_rest_client_can_send(
    extras: dict[str, Any], labels: dict[str, Any], level: int
) -> None:
    handler = _preparer()
    record = logging.LogRecord("any", level, __file__, 1, "m %s", ("x",), None)
    record.__dict__.update(extras)
    record.__dict__["labels"] = labels
    before = copy.deepcopy((extras, labels))
    entry = handler.prepare(record)
    body = entry.payload.entry
    encoded = json.dumps(body)  # what the REST client does with it
    assert len(encoded) > 0
    assert entry.size <= MAX_ENTRY_BYTES
    assert (extras, labels) == before
    assert body["severity"] in LOG_SEVERITIES
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in body.get("labels", {}).items())
    assert body["jsonPayload"]["message"] == "m x"


def test_without_any_project_sending_stops_with_a_clear_error(
    fake: FakeCloudLogging,
    make_handler: Any,
    tmp_path: Path,
    diagnostics: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    client = fake.rest_client(PROJECT)
    client.project = None  # a client that knows no project either
    handler = make_handler(client=client, project=None)
    _logger(handler).info("nowhere to go", extra={"trace_id": TRACE})
    assert handler.force_flush(10)
    assert fake.requests == 0
    (spooled,) = _spooled(tmp_path)
    assert spooled["trace_id"] == TRACE  # no project: the trace stayed a field
    assert any("no project" in message for message in diagnostics.messages)
