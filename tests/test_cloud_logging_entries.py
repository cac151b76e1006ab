"""The pure record-dict to LogEntry mapping shared by the Google sinks."""

from __future__ import annotations

import copy
import logging
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog import JsonFormatter
from inferlog.handlers._gcp_entries import (
    FieldNames,
    entry_size,
    fit_entry,
    http_request,
    level_number,
    log_entry,
    severity_for_level,
    split_record,
)
from inferlog.handlers._gcp_labels import string_labels

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
SPAN = "00f067aa0ba902b7"


def _data(**fields: Any) -> dict[str, Any]:
    return {
        "timestamp": "2026-01-02T03:04:05.123456Z",
        "level": "INFO",
        "logger": "app",
        "message": "hello",
        **fields,
    }


def test_a_record_becomes_a_log_entry_with_its_own_fields_moved_out_of_the_payload() -> None:
    data = _data(trace_id=TRACE, span_id=SPAN, labels={"tenant": "a"}, tokens=12, ratio=0.5)
    before = copy.deepcopy(data)
    parts = split_record(data)
    labels, left_out = string_labels({"service": "s"}, parts.labels)
    entry = log_entry(parts, project="proj", insert_id="id-1", labels=labels)
    assert data == before
    assert left_out == 0
    assert entry == {
        "insertId": "id-1",
        "severity": "INFO",
        "jsonPayload": {"logger": "app", "message": "hello", "tokens": 12, "ratio": 0.5},
        "timestamp": "2026-01-02T03:04:05.123456Z",
        "trace": f"projects/proj/traces/{TRACE}",
        "spanId": SPAN,
        "labels": {"service": "s", "tenant": "a"},
    }
    # Integers stay JSON integers on the REST path.
    assert b'"tokens":12,' in orjson.dumps(entry)


def test_an_access_record_gives_an_http_request() -> None:
    data = _data(
        method="POST",
        path="/v1/score",
        status_code=201,
        latency_ms=1234.5,
        client_address="10.1.2.3:5555",
        user_agent="ua",
        response_size=99,
    )
    assert http_request(data) == {
        "requestMethod": "POST",
        "requestUrl": "/v1/score",
        "status": 201,
        "responseSize": "99",
        "userAgent": "ua",
        "remoteIp": "10.1.2.3:5555",
        "latency": "1.2345s",
    }
    assert http_request(_data(method="GET")) == {}
    assert http_request(_data(method="GET", status_code=True)) == {}


def test_field_names_follow_the_formatters_schema_and_renames() -> None:
    names = FieldNames.for_formatter(
        JsonFormatter(schema="otel", rename_fields={"timestamp": "ts", "trace_id": "tid"})
    )
    assert names.timestamp == "ts"
    assert names.trace_id == "tid"
    assert names.method == "http.request.method"
    assert FieldNames.for_formatter(logging.Formatter()) == FieldNames()


@pytest.mark.parametrize(
    ("level", "number"),
    [("INFO", 20), ("Level 25", 25), (35, 35), ("NOPE", 0), (None, 0), (True, 0)],
)
def test_level_number_reads_names_and_numbers(level: object, number: int) -> None:
    assert level_number(level) == number


def test_without_a_project_there_is_no_trace_and_the_ids_stay_in_the_payload() -> None:
    parts = split_record(_data(trace_id=TRACE, span_id=SPAN), move_trace=False)
    entry = log_entry(parts, project=None, insert_id="i", labels={})
    assert "trace" not in entry
    assert entry["jsonPayload"]["trace_id"] == TRACE


def test_an_entry_over_the_limit_is_cut_in_its_payload_only() -> None:
    parts = split_record(_data(response_payload="y" * 400_000, small=1, trace_id=TRACE))
    entry = log_entry(parts, project="p", insert_id="keep", labels={"a": "b"})
    fitted, size = fit_entry(entry, 100_000)
    assert size == entry_size(fitted) <= 100_000
    assert fitted["insertId"] == "keep"
    assert fitted["labels"] == {"a": "b"}
    assert fitted["trace"] == f"projects/p/traces/{TRACE}"
    assert "truncated" in orjson.dumps(fitted["jsonPayload"]).decode()
    assert len(entry["jsonPayload"]["response_payload"]) == 400_000  # not changed


@settings(max_examples=50, deadline=None)
@given(
    payload=st.dictionaries(
        st.text(max_size=8),
        st.one_of(st.integers(), st.text(max_size=3000), st.lists(st.text(max_size=500))),
        max_size=30,
    ),
    limit=st.integers(min_value=2_000, max_value=20_000),
)
def test_fit_entry_always_fits(payload: dict[str, Any], limit: int) -> None:
    entry = log_entry(split_record(payload), project="p", insert_id="i", labels={})
    fitted, size = fit_entry(entry, limit)
    assert size <= limit
    assert entry_size(fitted) == size


def test_severity_of_standard_levels_is_their_namesake() -> None:
    assert [severity_for_level(n) for n in (0, 10, 20, 30, 40, 50)] == [
        "DEFAULT",
        "DEBUG",
        "INFO",
        "WARNING",
        "ERROR",
        "CRITICAL",
    ]
