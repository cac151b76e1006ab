"""StructuredStdoutHandler: the lines the Cloud Run / GKE / Cloud Functions agent reads."""

from __future__ import annotations

import copy
import io
import json
import logging
import logging.config
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import inferlog
from inferlog.handlers._gcp_entries import AGENT_FIELDS, LOG_SEVERITIES
from inferlog.handlers.stdout import StructuredStdoutHandler
from tests.contract_batch_sink import BatchSinkContract, SinkHarness

TRACE = "0af7651916cd43dd8448eb211c80319c"
SPAN = "b7ad6b7169203331"
PREFIX = "logging.googleapis.com/"


def _logger(handler: logging.Handler, name: str = "stdout-test") -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.setLevel(1)
    logger.propagate = False
    return logger


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    # Split on "\n" only: the agent does, and a JSON string may hold U+0085 or U+2028.
    return [json.loads(line) for line in stream.getvalue().rstrip("\n").split("\n") if line]


def _special(line: dict[str, Any]) -> set[str]:
    return {key for key in line if key in AGENT_FIELDS or key.startswith(PREFIX)}


def test_an_access_record_carries_exactly_the_agents_special_fields() -> None:
    stream = io.StringIO()
    handler = StructuredStdoutHandler(stream=stream, project="proj", labels={"service": "s"})
    _logger(handler).info(
        "GET /score 200",
        extra={
            "trace_id": TRACE,
            "span_id": SPAN,
            "method": "GET",
            "path": "/score",
            "status_code": 200,
            "latency_ms": 12.5,
            "client_address": "10.0.0.1",
            "user_agent": "curl/8",
            "response_size": 321,
            "request_id": "r-1",
        },
    )
    (line,) = _lines(stream)
    assert _special(line) == {
        "severity",
        "time",
        "message",
        PREFIX + "trace",
        PREFIX + "spanId",
        PREFIX + "labels",
        "httpRequest",
        PREFIX + "sourceLocation",
        PREFIX + "insertId",
    }
    assert line["severity"] == "INFO"
    assert line["message"] == "GET /score 200"
    assert line[PREFIX + "trace"] == f"projects/proj/traces/{TRACE}"
    assert line[PREFIX + "spanId"] == SPAN
    assert line[PREFIX + "labels"] == {"service": "s"}
    assert line["httpRequest"] == {
        "requestMethod": "GET",
        "requestUrl": "/score",
        "status": 200,
        "responseSize": "321",
        "userAgent": "curl/8",
        "remoteIp": "10.0.0.1",
        "latency": "0.0125s",
    }
    location = line[PREFIX + "sourceLocation"]
    assert location["file"] == __file__
    assert location["function"] == "test_an_access_record_carries_exactly_the_agents_special_fields"
    assert int(location["line"]) > 0
    # The record's own fields stay as payload; the moved ones are not duplicated.
    assert line["request_id"] == "r-1"
    assert line["method"] == "GET"
    assert "trace_id" not in line
    assert "span_id" not in line
    assert "level" not in line
    assert "timestamp" not in line


def test_a_plain_record_has_no_trace_labels_or_http_request() -> None:
    stream = io.StringIO()
    _logger(StructuredStdoutHandler(stream=stream, source_location=False)).warning("plain")
    (line,) = _lines(stream)
    assert _special(line) == {"severity", "time", "message", PREFIX + "insertId"}
    assert line["severity"] == "WARNING"


@pytest.mark.parametrize(
    ("level", "severity"),
    [
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO"),
        (25, "NOTICE"),
        (logging.WARNING, "WARNING"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "CRITICAL"),
        (5, "DEBUG"),
        (15, "INFO"),
        (60, "ALERT"),
        (99, "EMERGENCY"),
    ],
)
def test_custom_levels_get_the_nearest_defined_severity(level: int, severity: str) -> None:
    stream = io.StringIO()
    _logger(StructuredStdoutHandler(stream=stream)).log(level, "x")
    assert _lines(stream)[0]["severity"] == severity


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-5, max_value=200))
def test_every_level_maps_to_a_defined_severity_in_order(level: int) -> None:
    from inferlog.handlers._gcp_entries import severity_for_level

    severity = severity_for_level(level)
    assert severity in LOG_SEVERITIES
    assert LOG_SEVERITIES[severity] <= LOG_SEVERITIES[severity_for_level(level + 1)]


def test_the_callers_dicts_and_record_are_not_changed() -> None:
    stream = io.StringIO()
    labels = {"tenant": 7, "beta": True}
    payload = {"features": [1, 2, 3], "nested": {"severity": "keep"}}
    message = {"event": "scored", "labels": {"inner": "x"}}
    extra = {"labels": labels, "request_payload": payload, "trace_id": TRACE, "span_id": SPAN}
    before = copy.deepcopy((labels, payload, message, extra))
    seen: list[dict[str, Any]] = []

    class Keep(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            seen.append(dict(record.__dict__))
            return True

    handler = StructuredStdoutHandler(stream=stream, project="p", labels={"service": "s"})
    logger = _logger(handler)
    logger.addFilter(Keep())
    logger.info(message, extra=extra)
    assert (labels, payload, message, extra) == before
    (line,) = _lines(stream)
    assert line[PREFIX + "labels"] == {"service": "s", "tenant": "7", "beta": "true"}
    assert line["request_payload"] == payload
    record_after = seen[0]
    assert record_after["labels"] is labels
    assert record_after["trace_id"] == TRACE


def test_payload_fields_named_like_special_fields_are_renamed() -> None:
    stream = io.StringIO()
    _logger(StructuredStdoutHandler(stream=stream)).info(
        "x", extra={"severity": "fake", "httpRequest": {"status": 1}, "time": "then"}
    )
    (line,) = _lines(stream)
    assert line["severity"] == "INFO"
    assert line["extra.severity"] == "fake"
    assert line["extra.httpRequest"] == {"status": 1}
    assert line["extra.time"] == "then"
    assert "httpRequest" not in line


def test_project_comes_from_the_environment_unless_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GOOGLE_CLOUD_PROJECT", "from-env")
    assert StructuredStdoutHandler().project == "from-env"
    assert StructuredStdoutHandler(project="given").project == "given"
    monkeypatch.delenv("GOOGLE_CLOUD_PROJECT")
    monkeypatch.delenv("GCLOUD_PROJECT", raising=False)
    monkeypatch.delenv("GCP_PROJECT", raising=False)
    assert StructuredStdoutHandler().project is None


def test_without_a_project_the_trace_ids_stay_ordinary_fields(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT"):
        monkeypatch.delenv(name, raising=False)
    stream = io.StringIO()
    _logger(StructuredStdoutHandler(stream=stream)).info(
        "x", extra={"trace_id": TRACE, "span_id": SPAN}
    )
    (line,) = _lines(stream)
    assert PREFIX + "trace" not in line
    assert (line["trace_id"], line["span_id"]) == (TRACE, SPAN)


def test_invalid_trace_ids_stay_in_the_payload() -> None:
    stream = io.StringIO()
    _logger(StructuredStdoutHandler(stream=stream, project="p")).info(
        "x", extra={"trace_id": "not-hex", "span_id": SPAN}
    )
    (line,) = _lines(stream)
    assert PREFIX + "trace" not in line
    assert line["trace_id"] == "not-hex"


def test_trace_ids_from_a_request_context_reach_the_line() -> None:
    stream = io.StringIO()
    handler = StructuredStdoutHandler(stream=stream, project="p")
    logger = _logger(handler)
    logger.addFilter(inferlog.ContextFilter(opentelemetry=False))
    with inferlog.request_context(traceparent=f"00-{TRACE}-{SPAN}-01"):
        logger.info("in a trace")
    (line,) = _lines(stream)
    assert line[PREFIX + "trace"] == f"projects/p/traces/{TRACE}"
    assert len(line[PREFIX + "spanId"]) == 16


def test_the_otel_schema_still_gives_an_http_request() -> None:
    stream = io.StringIO()
    handler = StructuredStdoutHandler(stream=stream)
    handler.setFormatter(inferlog.JsonFormatter(schema="otel"))
    _logger(handler).info("GET", extra={"method": "GET", "status_code": 503, "path": "/x"})
    (line,) = _lines(stream)
    assert line["httpRequest"] == {"requestMethod": "GET", "status": 503, "requestUrl": "/x"}
    assert line["http.request.method"] == "GET"


def test_a_plain_formatter_gives_the_message_text() -> None:
    stream = io.StringIO()
    handler = StructuredStdoutHandler(stream=stream)
    handler.setFormatter(logging.Formatter("%(levelname)s:%(message)s"))
    _logger(handler).error("bad %d", 3)
    (line,) = _lines(stream)
    assert line["message"] == "ERROR:bad 3"
    assert line["severity"] == "ERROR"


def test_insert_ids_are_unique_per_record() -> None:
    stream = io.StringIO()
    logger = _logger(StructuredStdoutHandler(stream=stream))
    for _ in range(50):
        logger.info("same")
    ids = [line[PREFIX + "insertId"] for line in _lines(stream)]
    assert len(set(ids)) == 50


def test_default_stream_is_stdout_at_write_time(capsys: pytest.CaptureFixture[str]) -> None:
    _logger(StructuredStdoutHandler()).info("to stdout")
    out = capsys.readouterr().out
    assert json.loads(out)["message"] == "to stdout"


def test_a_batch_is_written_in_order_and_acknowledged() -> None:
    stream = io.StringIO()
    handler = StructuredStdoutHandler(stream=stream, level=logging.INFO)
    records = [
        logging.LogRecord("b", level, __file__, 1, f"m{i}", None, None)
        for i, level in enumerate([logging.INFO, logging.DEBUG, logging.ERROR])
    ]
    assert handler.handle_batch(records) == 3
    assert [line["message"] for line in _lines(stream)] == ["m0", "m2"]


def test_a_broken_stream_is_reported_and_not_acknowledged(diagnostics: Any) -> None:
    class Broken(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError("gone")

    handler = StructuredStdoutHandler(stream=Broken())
    record = logging.LogRecord("b", logging.INFO, __file__, 1, "m", None, None)
    assert handler.handle_batch([record]) == 0
    assert any("could not write" in message for message in diagnostics.messages)


def test_works_from_dict_config() -> None:
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "gcp": {
                    "()": "inferlog.handlers.StructuredStdoutHandler",
                    "stream": stream,
                    "project": "p",
                    "labels": {"service": "scoring"},
                }
            },
            "loggers": {"dictconfig-stdout": {"handlers": ["gcp"], "level": "INFO"}},
        }
    )
    logging.getLogger("dictconfig-stdout").info("configured")
    (line,) = _lines(stream)
    assert line[PREFIX + "labels"] == {"service": "scoring"}


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"project": "projects/p"}, "project"),
        ({"project": ""}, "project"),
        ({"labels": {"k": 1}}, "labels"),
        ({"labels": ["k"]}, "labels"),
        ({"labels": {f"k{i}": "v" for i in range(65)}}, "labels"),
        ({"source_location": "yes"}, "source_location"),
        ({"stream": 3}, "stream"),
    ],
)
def test_bad_options_raise_value_errors_naming_them(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        StructuredStdoutHandler(**options)


@settings(max_examples=80, deadline=None)
@given(
    extras=st.dictionaries(
        st.text(min_size=1, max_size=12).filter(lambda k: k.isidentifier() and k[0] != "_"),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
            lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
            max_leaves=10,
        ),
        max_size=6,
    )
)
def test_any_extras_give_one_valid_line_with_only_agent_special_fields(
    extras: dict[str, Any],
) -> None:
    probe = logging.LogRecord("", 0, "", 0, "", None, None)
    reserved = set(probe.__dict__) | {"message", "asctime"}
    extras = {key: value for key, value in extras.items() if key not in reserved}
    before = copy.deepcopy(extras)
    stream = io.StringIO()
    _logger(StructuredStdoutHandler(stream=stream, project="p")).info("m", extra=extras)
    assert extras == before
    lines = stream.getvalue().rstrip("\n").split("\n")
    assert len(lines) == 1
    line = json.loads(lines[0])
    assert {key for key in line if key.startswith(PREFIX)} <= AGENT_FIELDS
    assert line["message"] == "m"


class TestStructuredStdoutContract(BatchSinkContract):
    """The contract every batch sink passes, with a text stream as stdout."""

    @pytest.fixture
    def harness(self) -> SinkHarness:
        stream = io.StringIO()
        sink = StructuredStdoutHandler(stream=stream)
        return SinkHarness(sink, lambda: [str(line["message"]) for line in _lines(stream)])
