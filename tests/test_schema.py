"""inferlog.schema: the field order of DESIGN.md and the OpenTelemetry names."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferlog import schema


def test_field_order_is_the_documented_order() -> None:
    expected = (
        "timestamp",
        "level",
        "logger",
        "message",
        "request_id",
        "user_id",
        "model_id",
        "model_version",
        "latency_ms",
        "input_token_count",
        "output_token_count",
        "temperature",
        "top_p",
        "seed",
        "status",
        "error_code",
        "intent",
        "request_payload",
        "response_payload",
    )
    assert expected == schema.FIELD_ORDER


def test_schema_page_lists_every_field() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "schema.md").read_text()
    for field in (*schema.FIELD_ORDER, schema.STACK_INFO_FIELD, schema.EXCEPTION_FIELD):
        assert f"`{field}`" in page
    for otel_name in schema.OTEL_NAMES.values():
        assert f"`{otel_name}`" in page


@pytest.mark.parametrize(
    ("field", "otel"),
    [
        ("model_id", "gen_ai.request.model"),
        ("temperature", "gen_ai.request.temperature"),
        ("top_p", "gen_ai.request.top_p"),
        ("seed", "gen_ai.request.seed"),
        ("input_token_count", "gen_ai.usage.input_tokens"),
        ("output_token_count", "gen_ai.usage.output_tokens"),
        ("error_code", "error.type"),
        ("trace_id", "trace_id"),
        ("span_id", "span_id"),
        ("request_id", "request_id"),
    ],
)
def test_otel_names(field: str, otel: str) -> None:
    assert otel == schema.field_name(field, "otel")
    assert field == schema.field_name(field)
