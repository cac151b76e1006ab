"""Wrong values given to an inference call never raise: coerced, or left out and marked."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from inferlog import _diagnostics
from inferlog.formatting import JsonFormatter
from inferlog.inference import inference
from inferlog.inference._values import INVALID_FIELDS_FIELD
from tests.helpers import RecordCollector
from tests.strategies import any_values


@pytest.fixture
def captured() -> Iterator[RecordCollector]:
    handler = RecordCollector()
    logger = logging.getLogger("inferlog.inference")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    yield handler
    logger.removeHandler(handler)
    logger.setLevel(old_level)


@pytest.fixture
def diagnostics() -> Iterator[RecordCollector]:
    handler = RecordCollector()
    internal = logging.getLogger(_diagnostics.INTERNAL_LOGGER_NAME)
    internal.addHandler(handler)
    _diagnostics.reset_report_once()
    yield handler
    internal.removeHandler(handler)
    _diagnostics.reset_report_once()


def _line(record: logging.LogRecord) -> dict[str, Any]:
    return dict(json.loads(JsonFormatter().format(record)))


def test_unambiguous_token_counts_are_coerced(captured: RecordCollector) -> None:
    with inference("llm") as call:
        call.tokens(input="12", output=3.0)  # type: ignore[arg-type]
    (record,) = captured.records
    assert (12, 3) == (record.input_token_count, record.output_token_count)
    assert not hasattr(record, INVALID_FIELDS_FIELD)


def test_a_negative_count_is_left_out_marked_and_reported_once(
    captured: RecordCollector, diagnostics: RecordCollector
) -> None:
    for _ in range(2):
        with inference("llm") as call:
            call.tokens(input="12", output=-3)
    record = captured.records[-1]
    assert 12 == record.input_token_count
    assert not hasattr(record, "output_token_count")
    assert {"output_token_count": "-3 is negative"} == getattr(record, INVALID_FIELDS_FIELD)
    assert 1 == sum("output_token_count" in m for m in diagnostics.messages)


def test_fail_with_none_fails_the_call_without_a_code(captured: RecordCollector) -> None:
    with inference("llm") as call:
        call.fail(None)  # type: ignore[arg-type]
    (record,) = captured.records
    line = _line(record)
    assert "error" == line["status"]
    assert "error_code" not in line
    assert {"error_code": "None is not a string"} == line[INVALID_FIELDS_FIELD]
    assert logging.ERROR == record.levelno


def test_fail_with_a_number_is_its_text(captured: RecordCollector) -> None:
    with inference("llm") as call:
        call.fail(503)  # type: ignore[arg-type]
    assert "503" == captured.records[0].error_code


def test_a_word_for_a_temperature_is_left_out_and_marked(captured: RecordCollector) -> None:
    with inference("llm", temperature="hot", top_p="0.5", seed="7"):  # type: ignore[arg-type]
        pass
    line = _line(captured.records[0])
    assert "temperature" not in line
    assert (0.5, 7) == (line["top_p"], line["seed"])
    assert {"temperature": "'hot' is not a number"} == line[INVALID_FIELDS_FIELD]


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"temperature": float("nan")}, "temperature"),
        ({"temperature": -1}, "temperature"),
        ({"top_p": 2}, "top_p"),
        ({"top_p": True}, "top_p"),
        ({"seed": 1.5}, "seed"),
        ({"seed": "x"}, "seed"),
        ({"user_id": ["u"]}, "user_id"),
        ({"intent": ""}, "intent"),
        ({"model_version": {"v": 1}}, "model_version"),
    ],
)
def test_every_invalid_parameter_is_left_out_and_marked(
    captured: RecordCollector, kwargs: dict[str, Any], field: str
) -> None:
    with inference("llm", **kwargs):
        pass
    line = _line(captured.records[0])
    assert field not in line
    assert [field] == list(line[INVALID_FIELDS_FIELD])


def test_set_and_vectors_check_the_record_fields(captured: RecordCollector) -> None:
    with inference("llm") as call:
        call.vectors(input="128", output=object())  # type: ignore[arg-type]
        call.set(status="maybe", intent=42, region="eu")
    line = _line(captured.records[0])
    assert (128, "42", "eu", "ok") == (
        line["input_vector_length"],
        line["intent"],
        line["region"],
        line["status"],
    )
    assert {"output_vector_length", "status"} == set(line[INVALID_FIELDS_FIELD])


def test_a_later_valid_value_clears_the_mark(captured: RecordCollector) -> None:
    with inference("llm") as call:
        call.tokens(output="lots")  # type: ignore[arg-type]
        call.tokens(output=5)
    record = captured.records[0]
    assert 5 == record.output_token_count
    assert not hasattr(record, INVALID_FIELDS_FIELD)


def test_a_negative_count_from_the_token_counter_is_ignored(captured: RecordCollector) -> None:
    with inference("llm", token_counter=lambda payload: -1) as call:
        call.request("hello")
    assert not hasattr(captured.records[0], "input_token_count")


_ANY = st.one_of(any_values, st.none())


@settings(max_examples=150, deadline=None)
@given(
    temperature=_ANY,
    top_p=_ANY,
    seed=_ANY,
    user_id=_ANY,
    intent=_ANY,
    version=_ANY,
    tokens=st.tuples(_ANY, _ANY),
    vectors=st.tuples(_ANY, _ANY),
    code=_ANY,
)
# Found by CI: a count of 2**64 (as a float) used to be written as a string.
@example(
    temperature=None,
    top_p=None,
    seed=2**70,
    user_id=None,
    intent=None,
    version=None,
    tokens=(-(2**63) - 1, 1.8446744073709552e19),
    vectors=(None, None),
    code=None,
)
def test_no_value_raises_into_the_call_and_each_field_is_valid_or_marked(
    temperature: Any,
    top_p: Any,
    seed: Any,
    user_id: Any,
    intent: Any,
    version: Any,
    tokens: tuple[Any, Any],
    vectors: tuple[Any, Any],
    code: Any,
) -> None:
    handler = RecordCollector()
    logger = logging.getLogger("inferlog.inference.property")
    logger.addHandler(handler)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    try:
        with inference(
            "m",
            version,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            user_id=user_id,
            intent=intent,
            logger=logger,
        ) as call:
            call.tokens(*tokens)
            call.vectors(*vectors)
            if code is not None:
                call.fail(code)
    finally:
        logger.removeHandler(handler)
    (record,) = handler.records
    line = _line(record)
    invalid = line.get(INVALID_FIELDS_FIELD, {})
    for field in ("temperature", "top_p"):
        assert field in invalid or field not in line or isinstance(line[field], float)
    for field in ("seed", "input_token_count", "output_token_count"):
        assert field in invalid or field not in line or type(line[field]) is int
    for field in ("user_id", "intent", "model_version", "error_code"):
        assert field in invalid or field not in line or isinstance(line[field], str)
    assert not set(invalid) & set(line)
