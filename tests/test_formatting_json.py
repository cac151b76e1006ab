"""``JsonFormatter.format`` and ``JsonFormatter.record_dict``: one record, as a line and as data.

The golden lines (``tests/formatting_golden.py``, ``tests/data/formatting_golden.jsonl``)
were written by the formatter before it became a package and before ``record_dict``
existed: ``format`` must still write them byte for byte, and ``record_dict`` must be
exactly the dict they serialise.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings

from inferlog import schema
from inferlog._diagnostics import reset_report_once
from inferlog.formatting import JsonFormatter
from tests import strategies
from tests.formatting_golden import EXCEPTION, GOLDEN_PATH, cases, record

GOLDEN = GOLDEN_PATH.read_text(encoding="utf-8").splitlines()
CASES = list(cases())
IDS = [name for name, _options, _factory in CASES]


def test_the_golden_file_has_one_line_per_case() -> None:
    assert len(CASES) == len(GOLDEN)


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=IDS)
def test_format_writes_the_golden_line_byte_for_byte(index: int, case: Any) -> None:
    _name, options, factory = case
    assert GOLDEN[index] == JsonFormatter(**options).format(factory())


@pytest.mark.parametrize(("index", "case"), list(enumerate(CASES)), ids=IDS)
def test_record_dict_serialises_to_the_golden_line(index: int, case: Any) -> None:
    _name, options, factory = case
    data = JsonFormatter(**options).record_dict(factory())
    assert GOLDEN[index] == orjson.dumps(data).decode("utf-8")


def _plain_json(value: object) -> bool:
    if value is None or type(value) in (str, int, float, bool):
        return True
    if type(value) is list:
        return all(_plain_json(item) for item in value)
    if type(value) is dict:
        return all(type(k) is str and _plain_json(v) for k, v in value.items())
    return False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extras=strategies.extras)
def test_record_dict_is_the_parsed_line_of_format_in_plain_json_types(
    extras: dict[str, Any],
) -> None:
    formatter = JsonFormatter(max_field_bytes=512, max_record_bytes=4096)
    made = record("m")
    made.__dict__.update(extras)
    data = formatter.record_dict(made)
    assert orjson.loads(formatter.format(made)) == data
    assert list(orjson.loads(formatter.format(made))) == list(data)
    assert _plain_json(data)


def test_record_dict_keys_come_in_schema_order_with_renames_and_static_fields() -> None:
    formatter = JsonFormatter(
        schema="otel", rename_fields={"message": "msg"}, static_fields={"service": "svc"}
    )
    data = formatter.record_dict(
        record(level=logging.ERROR, zeta=1, model_id="m", request_id="r", exception=EXCEPTION)
    )
    assert list(data) == [
        "timestamp",
        "level",
        "logger",
        "msg",
        "request_id",
        "gen_ai.request.model",
        "service",
        "zeta",
        "exception.type",
        "exception.message",
        "exception.stacktrace",
    ]


def test_record_dict_gives_the_exception_object() -> None:
    exception = {"type": "ValueError", "message": "bad", "stack": ["ValueError: bad"]}
    data = JsonFormatter().record_dict(record(exception=exception))
    assert exception == data[schema.EXCEPTION_FIELD]


def test_record_dict_values_are_bounded_like_the_line() -> None:
    formatter = JsonFormatter(max_field_bytes=256, max_record_bytes=1024)
    data = formatter.record_dict(record(prompt="p" * 10_000))
    assert len(orjson.dumps(data["prompt"])) <= 256
    assert data["prompt"].endswith("chars]")
    assert len(orjson.dumps(data)) <= 1024


class _Broken(JsonFormatter):
    def add_fields(self, log_data: dict[str, Any], record: Any, message_dict: Any) -> None:
        raise RuntimeError("broken add_fields")


def test_record_dict_never_raises_and_names_what_failed() -> None:
    reset_report_once()
    formatter = _Broken()
    made = record("hello")
    data = formatter.record_dict(made)
    assert "RuntimeError: broken add_fields" == data[schema.FORMAT_ERROR_FIELD]
    assert "hello" == data[schema.MESSAGE]
    assert orjson.loads(formatter.format(made)) == data


def test_the_record_dict_example_of_the_formatting_page_runs_as_printed() -> None:
    page = (Path(__file__).resolve().parents[1] / "docs" / "formatting.md").read_text()
    section = page.split("### The record as a dict", 1)[1]
    block = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert block is not None
    exec(compile(block.group(1), "docs/formatting.md", "exec"), {"__file__": "formatting.md"})
