"""Tests for inferlog.inference: one record per call, with timing, outcome and payloads."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferlog.context import ContextFilter, current_request_id, request_context
from inferlog.formatting import JsonFormatter
from inferlog.inference import (
    CANCELLED_ERROR_CODE,
    DEFAULT_LOGGER_NAME,
    InferenceCall,
    capture_payload,
    current_inference,
    inference,
)
from tests.helpers import RecordCollector
from tests.strategies import any_values, big_values, extras


class ListHandler(RecordCollector):
    """Keeps every record it receives."""

    def inference_records(self) -> list[logging.LogRecord]:
        return [r for r in self.records if hasattr(r, "model_id")]


@pytest.fixture
def captured() -> Iterator[ListHandler]:
    handler = ListHandler()
    handler.addFilter(lambda record: record.name != "asyncio")
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)


class ModelError(RuntimeError):
    pass


def test_success_emits_one_record_with_all_fields(captured: ListHandler) -> None:
    with inference("fraud-gbm", "3.2.0", temperature=0.2, top_p=0.9, seed=7) as call:
        call.request({"amount": 12.5})
        call.response({"score": 0.1})
        call.tokens(input=3, output=1)
        call.set(intent="score", region="eu")

    assert 1 == len(captured.records)
    record = captured.records[0]
    assert DEFAULT_LOGGER_NAME == record.name
    assert logging.INFO == record.levelno
    assert "inference" == record.getMessage()
    assert "fraud-gbm" == record.model_id
    assert "3.2.0" == record.model_version
    assert 0.2 == record.temperature
    assert 0.9 == record.top_p
    assert 7 == record.seed
    assert "ok" == record.status
    assert not hasattr(record, "error_code")
    assert {"amount": 12.5} == record.request_payload
    assert {"score": 0.1} == record.response_payload
    assert 3 == record.input_token_count
    assert 1 == record.output_token_count
    assert "score" == record.intent
    assert "eu" == record.region
    assert isinstance(record.latency_ms, float)
    assert record.latency_ms >= 0
    assert isinstance(record.request_id, str)
    assert record.exc_info is None


def test_latency_measures_the_block(captured: ListHandler) -> None:
    with inference("m"):
        time.sleep(0.02)
    assert captured.records[0].latency_ms >= 20


def test_failure_records_stack_and_reraises_the_same_exception(captured: ListHandler) -> None:
    error = ModelError("CUDA out of memory")

    def call_model() -> None:
        with inference("llm", "1") as call:
            call.request("hi")
            raise error

    with pytest.raises(ModelError) as raised:
        call_model()

    assert raised.value is error
    (record,) = captured.records
    assert logging.ERROR == record.levelno
    assert "error" == record.status
    assert "ModelError" == record.error_code
    assert record.exc_info is not None
    assert record.exc_info[1] is error
    stack = logging.Formatter().formatException(record.exc_info)
    assert "in call_model" in stack
    assert "raise error" in stack
    assert stack.endswith("ModelError: CUDA out of memory")


def test_fail_marks_error_without_exception(captured: ListHandler) -> None:
    with inference("llm") as call:
        call.fail("content_filter")
    (record,) = captured.records
    assert ("error", "content_filter", logging.ERROR) == (
        record.status,
        record.error_code,
        record.levelno,
    )
    assert record.exc_info is None


def test_user_error_code_overrides_exception_class(captured: ListHandler) -> None:
    def call_model() -> None:
        with inference("llm") as call:
            call.fail("upstream_timeout")
            raise TimeoutError

    with pytest.raises(TimeoutError):
        call_model()
    assert "upstream_timeout" == captured.records[0].error_code


def test_outside_a_scope_the_call_opens_one_for_its_records(captured: ListHandler) -> None:
    inner_logger = logging.getLogger("app")
    assert current_request_id() is None
    with inference("m") as call:
        inner_logger.info("inside", extra={"request_id": current_request_id()})
        assert call.request_id == current_request_id()
    assert current_request_id() is None
    inside, record = captured.records
    assert record.request_id == inside.request_id
    assert record.request_id == call.request_id


def test_inside_a_scope_the_call_uses_its_request_id(captured: ListHandler) -> None:
    with request_context("req-42"), inference("m"):
        pass
    assert "req-42" == captured.records[0].request_id


def test_nested_calls_carry_the_outer_request_id(captured: ListHandler) -> None:
    with inference("router") as outer:
        with inference("embedder"):
            pass
        with inference("generator"):
            pass
    records = captured.inference_records()
    assert ["embedder", "generator", "router"] == [r.model_id for r in records]
    assert {outer.request_id} == {r.request_id for r in records}


def test_separate_calls_get_separate_request_ids(captured: ListHandler) -> None:
    with inference("m"):
        pass
    with inference("m"):
        pass
    first, second = captured.records
    assert first.request_id != second.request_id


def test_request_id_reaches_a_bare_handler_and_context_filter_keeps_it(
    captured: ListHandler,
) -> None:
    captured.addFilter(ContextFilter())
    with request_context("req-7", user_id="u1"), inference("m"):
        pass
    record = captured.records[0]
    assert ("req-7", "u1") == (record.request_id, record.user_id)


def test_decorator_on_sync_function_captures_args_and_result(captured: ListHandler) -> None:
    @inference("fraud-gbm", "3", capture_args=True, capture_result=True)
    def score(amount: float, country: str = "FR") -> float:
        return 0.25

    assert 0.25 == score(10.0, country="DE")
    assert 0.25 == score(11.0)
    first, second = captured.records
    assert {"amount": 10.0, "country": "DE"} == first.request_payload
    assert {"amount": 11.0} == second.request_payload
    assert 0.25 == first.response_payload
    assert first.request_id != second.request_id


def test_decorator_without_capture_logs_no_payloads(captured: ListHandler) -> None:
    @inference("m")
    def predict(secret: str) -> str:
        return secret

    predict("s3cr3t")
    record = captured.records[0]
    assert not hasattr(record, "request_payload")
    assert not hasattr(record, "response_payload")


def test_decorator_capture_by_argument_name_skips_self(captured: ListHandler) -> None:
    class Model:
        @inference("m", capture_args="prompt")
        def generate(self, prompt: str, max_tokens: int = 5) -> str:
            return prompt.upper()

    Model().generate("hello", max_tokens=3)
    assert "hello" == captured.records[0].request_payload


def test_decorator_reraises_and_records_failure(captured: ListHandler) -> None:
    @inference("m")
    def broken() -> None:
        raise ModelError("boom")

    with pytest.raises(ModelError, match="boom"):
        broken()
    record = captured.records[0]
    assert ("error", "ModelError") == (record.status, record.error_code)
    assert record.exc_info is not None


def test_decorated_function_reaches_its_call(captured: ListHandler) -> None:
    @inference("m")
    def predict(prompt: str) -> str:
        call = current_inference()
        assert isinstance(call, InferenceCall)
        call.tokens(input=len(prompt.split()), output=2)
        return "ok ok"

    predict("a b c")
    assert current_inference() is None
    assert (3, 2) == (captured.records[0].input_token_count, captured.records[0].output_token_count)


def test_decorator_on_async_function(captured: ListHandler) -> None:
    @inference("llm", capture_args=True, capture_result=True)
    async def generate(prompt: str) -> str:
        await asyncio.sleep(0.01)
        return prompt[::-1]

    async def main() -> list[str]:
        return list(await asyncio.gather(generate("abc"), generate("xyz")))

    assert ["cba", "zyx"] == asyncio.run(main())
    records = captured.records
    assert [{"prompt": "abc"}, {"prompt": "xyz"}] == sorted(
        (r.request_payload for r in records), key=str
    )
    assert all(r.latency_ms >= 10 for r in records)
    assert records[0].request_id != records[1].request_id


def test_async_decorator_failure_reraises(captured: ListHandler) -> None:
    @inference("llm")
    async def generate() -> str:
        raise ModelError("overloaded")

    with pytest.raises(ModelError):
        asyncio.run(generate())
    assert "error" == captured.records[0].status


def test_async_with_block_inside_a_request(captured: ListHandler) -> None:
    async def main() -> None:
        async with request_context("async-1"), inference("llm") as call:
            await asyncio.sleep(0)
            call.response("hi")

    asyncio.run(main())
    assert ("async-1", "hi") == (
        captured.records[0].request_id,
        captured.records[0].response_payload,
    )


def test_async_generator_records_when_the_stream_ends_with_ttft(captured: ListHandler) -> None:
    @inference("llm", capture_result=True, token_counter=lambda text: len(str(text).split()))
    async def stream(prompt: str) -> AsyncIterator[str]:
        await asyncio.sleep(0.02)
        for word in ["hello ", "streaming ", "world"]:
            yield word
            await asyncio.sleep(0.01)

    async def main() -> list[str]:
        out = []
        async for chunk in stream("say hi"):
            assert captured.records == []  # nothing until the stream ends
            out.append(chunk)
        return out

    assert ["hello ", "streaming ", "world"] == asyncio.run(main())
    (record,) = captured.records
    assert "ok" == record.status
    assert 3 == record.stream_chunks
    assert "hello streaming world" == record.response_payload
    assert 2 == record.input_token_count
    assert 3 == record.output_token_count
    assert 20 <= record.time_to_first_token_ms <= record.latency_ms
    assert record.latency_ms >= 40


def test_async_generator_failure_mid_stream(captured: ListHandler) -> None:
    @inference("llm")
    async def stream() -> AsyncIterator[str]:
        yield "a"
        raise ModelError("stream broke")

    async def main() -> None:
        async for _ in stream():
            pass

    with pytest.raises(ModelError, match="stream broke"):
        asyncio.run(main())
    (record,) = captured.records
    assert ("error", "ModelError", 1) == (record.status, record.error_code, record.stream_chunks)
    assert record.exc_info is not None


def test_stream_closed_early_is_recorded_as_cancelled_without_stack(
    captured: ListHandler,
) -> None:
    @inference("llm")
    def stream() -> Iterator[int]:
        yield from range(10)

    gen = stream()
    assert [0, 1] == [next(gen), next(gen)]
    gen.close()
    (record,) = captured.records
    assert ("error", CANCELLED_ERROR_CODE, logging.WARNING) == (
        record.status,
        record.error_code,
        record.levelno,
    )
    assert record.exc_info is None


def test_sync_generator_returns_value_and_restores_context(captured: ListHandler) -> None:
    @inference("llm")
    def stream() -> Iterator[str]:
        assert current_inference() is not None
        yield "x"
        yield "y"

    seen = []
    for chunk in stream():
        # The consumer's code between steps is outside the call.
        assert current_inference() is None
        assert current_request_id() is None
        seen.append(chunk)
    assert ["x", "y"] == seen
    assert 2 == captured.records[0].stream_chunks
    assert isinstance(captured.records[0].request_id, str)


def test_generator_steps_log_with_the_calls_request_id(captured: ListHandler) -> None:
    log = logging.getLogger("app")

    @inference("llm")
    def stream() -> Iterator[str]:
        for part in "ab":
            log.info("chunk", extra={"request_id": current_request_id()})
            yield part

    list(stream())
    first, second, record = captured.records
    assert first.request_id == second.request_id == record.request_id


def test_call_stream_in_a_with_block_gives_ttft(captured: ListHandler) -> None:
    def chunks() -> Iterator[str]:
        time.sleep(0.01)
        yield "a"
        time.sleep(0.02)
        yield "b"

    with inference("llm") as call:
        assert ["a", "b"] == list(call.stream(chunks()))
    record = captured.records[0]
    assert 2 == record.stream_chunks
    assert 10 <= record.time_to_first_token_ms < record.latency_ms


def test_call_astream_in_an_async_block(captured: ListHandler) -> None:
    async def chunks() -> AsyncIterator[int]:
        for i in range(3):
            yield i

    async def main() -> list[int]:
        async with inference("llm") as call:
            return [c async for c in call.astream(chunks())]

    assert [0, 1, 2] == asyncio.run(main())
    assert 3 == captured.records[0].stream_chunks


def test_intent_classifier_receives_the_request_payload(captured: ListHandler) -> None:
    seen: list[Any] = []

    def classify(payload: Any) -> str:
        seen.append(payload)
        return "refund" if "refund" in payload else "other"

    with inference("llm", intent_classifier=classify) as call:
        call.request("I want a refund")
    assert ["I want a refund"] == seen
    assert "refund" == captured.records[0].intent


def test_explicit_intent_beats_the_classifier(captured: ListHandler) -> None:
    with inference("llm", intent_classifier=lambda p: "auto") as call:
        call.set(intent="manual")
        call.request("x")
    assert "manual" == captured.records[0].intent


def test_broken_classifier_and_counter_never_fail_the_call(captured: ListHandler) -> None:
    def broken(payload: Any) -> Any:
        raise ValueError("nope")

    with inference("llm", intent_classifier=broken, token_counter=broken) as call:
        call.request("x")
        call.response("y")
    record = captured.records[0]
    assert "ok" == record.status
    assert not hasattr(record, "intent")
    assert not hasattr(record, "input_token_count")


def test_token_counter_in_decorator_without_capture(captured: ListHandler) -> None:
    @inference("llm", token_counter=lambda text: len(text.split()))
    def generate(prompt: str) -> str:
        return "one two three four"

    generate("a b")
    record = captured.records[0]
    assert (2, 4) == (record.input_token_count, record.output_token_count)
    assert not hasattr(record, "request_payload")


def test_vector_lengths_derived_from_arrays_and_lists(captured: ListHandler) -> None:
    with inference("embedder") as call:
        call.request([0.1, 0.2, 0.3])
        call.response(np.zeros((1, 768)))
    record = captured.records[0]
    assert (3, 768) == (record.input_vector_length, record.output_vector_length)
    assert {"type": "ndarray", "shape": [1, 768], "dtype": "float64"} == record.response_payload


def test_explicit_vector_lengths(captured: ListHandler) -> None:
    with inference("tabular") as call:
        call.vectors(input=42, output=1)
    assert (42, 1) == (
        captured.records[0].input_vector_length,
        captured.records[0].output_vector_length,
    )


def test_payload_size_cap(captured: ListHandler) -> None:
    with inference("llm", max_payload_chars=10) as call:
        call.request("x" * 100)
        call.response({"text": "y" * 100})
    record = captured.records[0]
    assert record.request_payload.startswith("x" * 10 + "...[truncated 90 chars]")
    assert isinstance(record.response_payload, str)
    assert record.response_payload.startswith('{"text": "')


def test_payload_is_copied_so_later_changes_do_not_leak() -> None:
    payload: dict[str, Any] = {"items": [1, 2]}
    copy = capture_payload(payload, 1000)
    payload["items"].append(3)
    assert {"items": [1, 2]} == copy


def test_levels_and_logger_are_configurable(captured: ListHandler) -> None:
    with inference("m", logger="svc.models", level="DEBUG"):
        pass
    with pytest.raises(ModelError), inference("m", logger="svc.models", error_level="CRITICAL"):
        raise ModelError
    ok, failed = captured.records
    assert ("svc.models", logging.DEBUG) == (ok.name, ok.levelno)
    assert logging.CRITICAL == failed.levelno


def test_disabled_level_emits_nothing(captured: ListHandler) -> None:
    logging.getLogger(DEFAULT_LOGGER_NAME).setLevel(logging.WARNING)
    with inference("m"):
        pass
    assert [] == captured.records


def test_field_named_like_a_record_attribute_is_renamed(captured: ListHandler) -> None:
    with inference("m") as call:
        call.set(msg="x", name="y")
    record = captured.records[0]
    assert ("x", "y") == (getattr(record, "extra.msg"), getattr(record, "extra.name"))
    assert "inference" == record.getMessage()


def test_extra_params_are_logged(captured: ListHandler) -> None:
    with inference("llm", max_tokens=256, user_id="u-9"):
        pass
    assert (256, "u-9") == (captured.records[0].max_tokens, captured.records[0].user_id)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"model_id": ""}, "model_id"),
        ({"model_id": "m", "level": "LOUD"}, "level"),
        ({"model_id": "m", "max_payload_chars": 0}, "max_payload_chars"),
        ({"model_id": "m", "token_counter": 3}, "token_counter"),
    ],
)
def test_invalid_configuration_is_refused(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        inference(**kwargs)


def test_a_with_instance_can_be_reused(captured: ListHandler) -> None:
    block = inference("m")
    with block:
        pass
    with block:
        pass
    assert 2 == len(captured.records)


def test_one_instance_shared_by_concurrent_tasks(captured: ListHandler) -> None:
    shared = inference("llm")

    async def handle(name: str, delay: float) -> str | None:
        async with request_context(name), shared as call:
            call.set(handler=name)
            await asyncio.sleep(delay)
        return call.request_id

    async def main() -> list[str | None]:
        # "first" enters first and also leaves first, which a plain stack gets wrong.
        return list(await asyncio.gather(handle("first", 0.0), handle("second", 0.03)))

    assert ["first", "second"] == asyncio.run(main())
    first, second = captured.records
    assert ("first", "first") == (first.request_id, first.handler)
    assert ("second", "second") == (second.request_id, second.handler)
    assert second.latency_ms >= 30


# --------------------------------------------------------------------------- properties


@settings(max_examples=150, deadline=None)
@given(value=st.one_of(any_values, big_values), cap=st.integers(1, 5000))
def test_capture_payload_is_bounded_json_for_any_value(value: Any, cap: int) -> None:
    captured = capture_payload(value, cap)
    text = json.dumps(captured, allow_nan=True)  # JSON-able as it stands
    if isinstance(captured, str):
        # The cap plus the marker, whose count has at most 7 digits here.
        assert len(captured) <= cap + len("...[truncated 1234567 chars]")
    elif isinstance(captured, (list, dict)):
        # Structure is kept only when its JSON text fitted.
        assert len(json.dumps(captured, ensure_ascii=False, allow_nan=True)) <= cap
    del text


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=any_values, response=any_values, fields=extras)
def test_any_payload_gives_exactly_one_formattable_record(
    request: Any, response: Any, fields: dict[str, Any]
) -> None:
    handler = ListHandler()
    logger = logging.getLogger("prop.inference")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        with inference("m", logger=logger, token_counter=len, intent_classifier=str) as call:
            call.request(request)
            call.response(response)
            call.set(**fields)
    finally:
        logger.removeHandler(handler)
    (record,) = handler.records
    line = json.loads(JsonFormatter().format(record))
    assert "inference" == line["message"]
    assert line["status"] in ("ok", "error")
