"""Rows from records: whatever the record holds, the row is JSON, storable and verifiable."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from inferlog.audit.rows import is_inference_record, record_from_dict, row_from_record, to_json
from inferlog.audit.verify import verify
from inferlog.audit.writer import AuditWriter
from tests.strategies import any_values, extras


@settings(max_examples=200)
@given(value=any_values)
def test_to_json_always_gives_json_text(value: Any) -> None:
    text = to_json(value)
    assert text is not None or value is None
    if text is not None:
        json.loads(text)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(fields=extras)
def test_any_inference_record_becomes_a_row_that_verifies(
    tmp_path_factory: pytest.TempPathFactory, fields: dict[Any, Any]
) -> None:
    record = logging.makeLogRecord({"msg": "inference", "created": 1_800_000_000.5})
    record.__dict__.update(fields)
    record.__dict__.update({"model_id": "m", "status": fields.get("status", "ok")})
    path = tmp_path_factory.mktemp("rows") / "audit.db"
    writer = AuditWriter(path, synchronous="NORMAL")
    writer.append([row_from_record(record, redacted=True)])
    writer.close()
    result = verify(path)
    assert (result.ok, result.rows) == (True, 1)


def test_parameters_hold_the_fields_without_a_column_of_their_own() -> None:
    record = logging.makeLogRecord(
        {
            "model_id": "m",
            "status": "ok",
            "seed": 1,
            "temperature": 0.5,
            "max_tokens": 10,
            "sample_rate": 0.1,
            "request_payload": "p",
        }
    )
    row = row_from_record(record, redacted=False)
    assert row["parameters"] is not None
    assert json.loads(row["parameters"]) == {"temperature": 0.5, "seed": 1, "max_tokens": 10}
    assert list(json.loads(row["parameters"]))[:2] == ["temperature", "seed"]


def test_only_records_with_model_id_and_status_are_inference_records() -> None:
    assert is_inference_record(logging.makeLogRecord({"model_id": "m", "status": "ok"}))
    assert not is_inference_record(logging.makeLogRecord({"model_id": "m"}))
    assert not is_inference_record(logging.makeLogRecord({"status": "ok"}))


def test_a_spooled_record_dict_rebuilds_the_same_row() -> None:
    item = {
        "timestamp": "2026-12-01T10:00:00.250Z",
        "level": "INFO",
        "logger": "svc",
        "message": "inference",
        "model_id": "m",
        "status": "error",
        "error_code": "Timeout",
        "request_payload": {"q": 1},
        "top_p": 0.9,
    }
    row = row_from_record(record_from_dict(item), redacted=True)
    assert row["timestamp"] == "2026-12-01T10:00:00.250000Z"
    assert (row["logger"], row["status"], row["error_code"]) == ("svc", "error", "Timeout")
    assert json.loads(row["request_payload"]) == {"q": 1}
    assert json.loads(row["parameters"]) == {"top_p": 0.9}
