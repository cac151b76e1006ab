"""JsonFormatter and ConsoleFormatter, through real loggers and handlers."""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import io
import json
import logging
import logging.config
import os
import pathlib
import re
import sys
import time
import uuid
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferlog import schema
from inferlog._exceptions import describe_exception
from inferlog.formatting import (
    DEFAULT_MAX_FIELD_BYTES,
    DEFAULT_MAX_RECORD_BYTES,
    ConsoleFormatter,
    JsonFormatter,
    format_timestamp,
)
from inferlog.handlers._lines import encode_text
from tests import strategies

TIMESTAMP_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


class Capture:
    """A logger wired to a StringIO through a real StreamHandler."""

    def __init__(self, formatter: logging.Formatter, name: str = "test.inferlog") -> None:
        self.stream = io.StringIO()
        self.handler = logging.StreamHandler(self.stream)
        self.handler.setFormatter(formatter)
        self.logger = logging.getLogger(name)
        self.logger.handlers = [self.handler]
        self.logger.setLevel(logging.DEBUG)
        self.logger.propagate = False

    def lines(self) -> list[str]:
        return self.stream.getvalue().splitlines()

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.lines()]

    def one(self) -> dict[str, Any]:
        (record,) = self.records()
        return record


@pytest.fixture
def capture() -> Capture:
    return Capture(JsonFormatter())


def make_record(msg: object = "m", args: Any = None, **extra: Any) -> logging.LogRecord:
    record = logging.getLogger("test.records").makeRecord(
        "test.records", logging.INFO, __file__, 1, msg, args, None, extra=extra or None
    )
    return record


def format_one(value: Any, **options: Any) -> dict[str, Any]:
    line = JsonFormatter(**options).format(make_record(value=value))
    assert "\n" not in line
    parsed = json.loads(line)
    assert isinstance(parsed, dict)
    return parsed


# --- the record -----------------------------------------------------------------------


def test_keys_follow_the_schema_order_whatever_the_extra_order(capture: Capture) -> None:
    extra: dict[str, Any] = {name: name for name in reversed(schema.INFERENCE_FIELDS)}
    extra = {"zeta": 1, **extra, "alpha": 2, "trace_id": "t", "span_id": "s"}
    try:
        raise ValueError("boom")
    except ValueError:
        capture.logger.exception("hi", extra=extra, stack_info=True)
    keys = list(capture.one())
    expected = [
        *schema.FIELD_ORDER,
        "zeta",
        "alpha",
        "trace_id",
        "span_id",
        "stack_info",
        "exception",
    ]
    assert expected == keys


def test_message_has_percent_args_applied(capture: Capture) -> None:
    capture.logger.info("user %s scored %.2f", "ada", 0.5)
    assert "user ada scored 0.50" == capture.one()["message"]


def test_core_fields_name_level_and_logger(capture: Capture) -> None:
    capture.logger.warning("careful")
    record = capture.one()
    assert ("WARNING", "test.inferlog") == (record["level"], record["logger"])


def test_timestamp_is_utc_rfc3339_with_microseconds_whatever_tz() -> None:
    record = make_record()
    record.created = 1_700_000_000.123456
    old = os.environ.get("TZ")
    try:
        os.environ["TZ"] = "Asia/Kolkata"
        time.tzset()
        line = json.loads(JsonFormatter().format(record))
    finally:
        if old is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = old
        time.tzset()
    assert "2023-11-14T22:13:20.123456Z" == line["timestamp"]
    assert TIMESTAMP_RE.match(line["timestamp"])


def test_timestamp_rounds_microseconds_without_overflowing() -> None:
    assert "1970-01-01T00:00:01.000000Z" == format_timestamp(0.9999999)


def test_exception_from_exc_info_is_an_object_with_a_stack_list(capture: Capture) -> None:
    try:
        raise KeyError("missing")
    except KeyError:
        capture.logger.exception("failed")
    exception = capture.one()["exception"]
    assert ("KeyError", "'missing'") == (exception["type"], exception["message"])
    assert exception["stack"][0] == "Traceback (most recent call last):"
    assert exception["stack"][-1] == "KeyError: 'missing'"


def test_exception_prepared_by_a_queue_stage_is_used() -> None:
    try:
        raise RuntimeError("in a worker")
    except RuntimeError:
        described = describe_exception(sys.exc_info())  # type: ignore[arg-type]
    record = make_record()
    record.exception = described
    record.exc_info = None
    line = json.loads(JsonFormatter().format(record))
    assert described == line["exception"]
    assert "exception" == list(line)[-1]


def test_exception_from_exc_text_alone_is_kept() -> None:
    record = make_record()
    record.exc_text = "Traceback (most recent call last):\n  x\nValueError: bad"
    line = json.loads(JsonFormatter().format(record))
    assert {"type": "ValueError", "message": "bad"} == {
        key: line["exception"][key] for key in ("type", "message")
    }


def test_stack_info_is_a_list_of_lines(capture: Capture) -> None:
    capture.logger.info("where", stack_info=True)
    stack = capture.one()["stack_info"]
    assert stack[0] == "Stack (most recent call last):"
    assert all("\n" not in line for line in stack)


def test_extras_in_insertion_order_after_schema_fields(capture: Capture) -> None:
    capture.logger.info("m", extra={"b": 1, "a": 2, "sample_rate": 0.1, "model_id": "m1"})
    assert ["model_id", "b", "a", "sample_rate"] == list(capture.one())[4:]


def test_an_extra_named_like_a_core_field_does_not_hide_it(capture: Capture) -> None:
    capture.logger.info("m", extra={"level": "custom", "timestamp": 5})
    record = capture.one()
    assert ("INFO", "custom", 5) == (
        record["level"],
        record["extra.level"],
        record["extra.timestamp"],
    )


def test_dict_message_becomes_fields(capture: Capture) -> None:
    payload = {"event": "loaded", "model_id": "m"}
    capture.logger.info(payload)
    record = capture.one()
    assert ("", "m", "loaded") == (record["message"], record["model_id"], record["event"])
    assert {"event": "loaded", "model_id": "m"} == payload  # the caller's dict is untouched


# pytest's own capture handler raises on these records, so they skip the logger.
def test_broken_percent_args_keep_the_raw_message_and_say_why() -> None:
    record = json.loads(JsonFormatter().format(make_record("value %d", ("not a number",))))
    assert "value %d" == record["message"]
    assert record["message_error"].startswith("TypeError")
    assert ["not a number"] == record["message_args"]


def test_static_fields_are_added_and_extras_win() -> None:
    cap = Capture(JsonFormatter(static_fields={"service": "svc", "env": "prod"}))
    cap.logger.info("m", extra={"env": "dev"})
    record = cap.one()
    assert ("svc", "dev") == (record["service"], record["env"])


def test_rename_fields_renames_core_and_extra_fields() -> None:
    cap = Capture(JsonFormatter(rename_fields={"message": "msg", "model_id": "model"}))
    cap.logger.info("hi", extra={"model_id": "m"})
    record = cap.one()
    assert ("hi", "m") == (record["msg"], record["model"])
    assert "message" not in record


def test_otel_schema_maps_to_semantic_convention_names() -> None:
    cap = Capture(JsonFormatter(schema="otel"))
    extra = {
        "model_id": "gpt",
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "input_token_count": 10,
        "output_token_count": 20,
        "error_code": "timeout",
        "user_id": "u1",
        "trace_id": "t",
        "span_id": "s",
        "model_version": "v2",
    }
    cap.logger.info("call", extra=extra)
    record = cap.one()
    expected = {
        "gen_ai.request.model": "gpt",
        "gen_ai.request.temperature": 0.2,
        "gen_ai.request.top_p": 0.9,
        "gen_ai.request.seed": 7,
        "gen_ai.usage.input_tokens": 10,
        "gen_ai.usage.output_tokens": 20,
        "error.type": "timeout",
        "enduser.id": "u1",
        "trace_id": "t",
        "span_id": "s",
        "model_version": "v2",
    }
    assert expected == {key: record[key] for key in expected}


def test_otel_schema_writes_exception_attributes() -> None:
    cap = Capture(JsonFormatter(schema="otel"))
    try:
        raise ValueError("bad")
    except ValueError:
        cap.logger.exception("failed")
    record = cap.one()
    assert ("ValueError", "bad") == (record["exception.type"], record["exception.message"])
    assert record["exception.stacktrace"].endswith("ValueError: bad")
    assert "exception" not in record


@pytest.mark.parametrize(
    ("options", "complaint"),
    [
        ({"schema": "ecs"}, "schema"),
        ({"rename_fields": ["message"]}, "rename_fields"),
        ({"rename_fields": {"message": ""}}, "rename_fields"),
        ({"rename_fields": {"message": "x", "level": "x"}}, "same name"),
        ({"static_fields": "service=x"}, "static_fields"),
        ({"static_fields": {1: "x"}}, "static_fields"),
        ({"max_field_bytes": 10}, "max_field_bytes"),
        ({"max_field_bytes": "big"}, "max_field_bytes"),
        ({"max_record_bytes": 100}, "max_record_bytes"),
        ({"max_record_bytes": True}, "max_record_bytes"),
        ({"max_field_bytes": 5000, "max_record_bytes": 4000}, "must not exceed"),
    ],
)
def test_bad_options_raise_a_clear_value_error(options: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        JsonFormatter(**options)


def test_defaults_fit_a_cloudwatch_event() -> None:
    assert 256 * 1024 - 26 == DEFAULT_MAX_RECORD_BYTES
    assert DEFAULT_MAX_FIELD_BYTES < DEFAULT_MAX_RECORD_BYTES


def test_dictconfig_builds_the_formatter_and_its_output_parses() -> None:
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {
                "json": {
                    "()": "inferlog.JsonFormatter",
                    "schema": "otel",
                    "static_fields": {"service": "scoring"},
                    "rename_fields": {"message": "body"},
                    "max_field_bytes": 4096,
                    "max_record_bytes": 16384,
                },
                "console": {"()": "inferlog.ConsoleFormatter", "colour": False},
            },
            "handlers": {
                "out": {
                    "class": "logging.StreamHandler",
                    "formatter": "json",
                    "stream": stream,
                }
            },
            "loggers": {"test.dictconfig": {"handlers": ["out"], "level": "INFO"}},
        }
    )
    logger = logging.getLogger("test.dictconfig")
    logger.propagate = False
    logger.info("scored %d", 3, extra={"model_id": "fraud", "payload": "p" * 10_000})
    record = json.loads(stream.getvalue())
    assert ("scored 3", "scoring", "fraud") == (
        record["body"],
        record["service"],
        record["gen_ai.request.model"],
    )
    assert record["payload"].endswith("chars]")
    assert len(record["payload"].encode()) <= 4096
    assert len(stream.getvalue().rstrip("\n").encode()) <= 16384


# --- odd values -----------------------------------------------------------------------


class Mood(enum.Enum):
    HAPPY = "happy"


@dataclasses.dataclass
class Row:
    a: int
    b: Any


class Dumps:
    def model_dump(self) -> dict[str, Any]:
        return {"kind": "model", "price": decimal.Decimal("9.99")}


class Raises:
    def __repr__(self) -> str:
        raise RuntimeError("repr")

    __str__ = __repr__


_MOMENT = datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (_MOMENT, "2024-05-06T07:08:09.123456+00:00"),
        (datetime.datetime(2024, 5, 6, 7, 8, 9), "2024-05-06T07:08:09"),
        (datetime.date(2024, 5, 6), "2024-05-06"),
        (datetime.time(7, 8, 9), "07:08:09"),
        (decimal.Decimal("1.10"), "1.10"),
        (decimal.Decimal("NaN"), "NaN"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (Mood.HAPPY, "happy"),
        (b"text", "text"),
        (b"\xff\xfeok", "\\xff\\xfeok"),
        (bytearray(b"abc"), "abc"),
        (memoryview(b"view"), "view"),
        ({3, 1, 2}, [1, 2, 3]),
        (frozenset({"b", "a"}), ["a", "b"]),
        (Row(1, {2}), {"a": 1, "b": [2]}),
        (Dumps(), {"kind": "model", "price": "9.99"}),
        (pathlib.PurePosixPath("/models/v1"), "/models/v1"),
        (Raises(), f"<unrepresentable {__name__}.Raises: str() raised RuntimeError>"),
        ({1: "a", None: "b", False: "c"}, {"1": "a", "null": "b", "false": "c"}),
        ({(1, 2): "tuple key"}, {"(1, 2)": "tuple key"}),
        ("lone \ud800 surrogate", "lone \\ud800 surrogate"),
        (2**70, str(2**70)),
        (float("nan"), None),
        ((1, "two"), [1, "two"]),
        (int, "int"),
        (np.float32(1.5), 1.5),
        (np.int64(7), 7),
        (np.arange(4), [0, 1, 2, 3]),
        (np.arange(9).reshape(3, 3)[:, 0], [0, 3, 6]),
        (np.array(["a", "b"]), ["a", "b"]),
        (np.array([[1, 2], [3, 4]]), [[1, 2], [3, 4]]),
    ],
    ids=lambda value: type(value).__name__,
)
def test_odd_values_get_a_clear_representation(value: Any, expected: Any) -> None:
    assert expected == format_one(value)["value"]


def test_an_exception_as_a_value_is_described() -> None:
    try:
        raise ValueError("inner")
    except ValueError as err:
        caught = err
    described = format_one(caught)["value"]
    assert ("ValueError", "inner") == (described["type"], described["message"])
    assert isinstance(described["stack"], list)


def test_cycles_are_marked() -> None:
    items: list[Any] = [1]
    items.append(items)
    assert [1, "<circular reference to list>"] == format_one(items)["value"]


def test_deep_nesting_is_cut_with_a_placeholder() -> None:
    value: Any = "bottom"
    for _ in range(1000):
        value = {"d": value}
    text = json.dumps(format_one(value)["value"])
    assert "nested deeper than" in text
    assert "bottom" not in text


def test_a_10_mb_string_is_cut_with_a_marker_saying_how_much() -> None:
    value = format_one("x" * 10_000_000)["value"]
    kept = len(value) - len(value[value.index("...[") :])
    assert value.endswith(f"...[truncated {10_000_000 - kept} chars]")
    assert len(json.dumps(value)) <= DEFAULT_MAX_FIELD_BYTES


def test_huge_list_is_cut_with_a_marker_counting_the_rest() -> None:
    value = format_one(list(range(1_000_000)))["value"]
    assert value[-1] == f"...[truncated {1_000_000 - (len(value) - 1)} more items]"
    assert value[:3] == [0, 1, 2]


def test_huge_numpy_array_is_cut_without_expanding_it() -> None:
    value = format_one(np.zeros((1000, 1000)))["value"]
    assert value[-1].startswith("...[truncated ")
    assert "shape (1000, 1000)" in value[-1]


def test_invalid_utf8_bytes_cut_at_a_character_boundary() -> None:
    value = format_one("é".encode() * 100_000, max_field_bytes=1000)["value"]
    assert value.startswith("éé")
    assert "\\x" not in value
    assert re.search(r"\.\.\.\[truncated \d+ bytes\]$", value)


def test_many_big_fields_respect_the_record_cap_and_say_what_was_dropped() -> None:
    formatter = JsonFormatter(max_field_bytes=4000, max_record_bytes=10_000)
    record = make_record(**{f"f{i}": "y" * 5000 for i in range(10)})
    line = formatter.format(record)
    parsed = json.loads(line)
    assert len(line.encode()) <= 10_000
    assert parsed["message"] == "m"
    assert "left out to fit the 10000-byte record cap" in parsed["dropped_fields"]


def test_exception_survives_a_record_full_of_payload() -> None:
    formatter = JsonFormatter(max_field_bytes=4000, max_record_bytes=6000)
    try:
        raise ValueError("kept")
    except ValueError:
        record = logging.getLogger("t").makeRecord(
            "t", logging.ERROR, "f", 1, "m", (), sys.exc_info(), extra={"a": "z" * 5000}
        )
    parsed = json.loads(formatter.format(record))
    assert "kept" == parsed["exception"]["message"]


# --- never raises ---------------------------------------------------------------------


def test_a_message_whose_str_raises_is_still_written() -> None:
    assert "unrepresentable" in json.loads(JsonFormatter().format(make_record(Raises())))["message"]


def test_formatting_failure_gives_a_minimal_line_naming_the_error() -> None:
    class Broken(JsonFormatter):
        def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
            raise RuntimeError("hook failed")

    line = Broken().format(make_record("hello"))
    parsed = json.loads(line)
    assert ("hello", "RuntimeError: hook failed") == (parsed["message"], parsed["format_error"])


def test_a_record_with_a_bogus_created_time_still_gives_a_line() -> None:
    record = make_record("hello")
    record.created = float("nan")
    parsed = json.loads(JsonFormatter().format(record))
    assert "hello" == parsed["message"]


def test_a_non_str_extra_key_is_written() -> None:
    record = make_record()
    record.__dict__[7] = "seven"  # type: ignore[index]
    assert "seven" == json.loads(JsonFormatter().format(record))["7"]


def test_formatting_does_not_change_the_record() -> None:
    record = make_record("a %s", ("b",), model_id="m", payload={"x": [1]})
    before = dict(record.__dict__)
    JsonFormatter().format(record)
    assert before == record.__dict__


# --- properties -----------------------------------------------------------------------


def assert_one_json_object_line(line: str) -> dict[str, Any]:
    assert isinstance(line, str)
    assert "\n" not in line
    assert "\r" not in line
    parsed = json.loads(line)
    assert isinstance(parsed, dict)
    return parsed


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=strategies.extras, message=strategies.texts)
def test_any_extras_give_exactly_one_json_object_line(extra: dict[str, Any], message: str) -> None:
    record = make_record(message)
    record.__dict__.update(extra)
    parsed = assert_one_json_object_line(JsonFormatter().format(record))
    assert ["timestamp", "level", "logger"] == list(parsed)[:3]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extra=strategies.big_extras,
    field_cap=st.integers(256, 8192),
    record_extra=st.integers(0, 20_000),
    otel=st.booleans(),
)
def test_caps_hold_for_any_extras(
    extra: dict[str, Any], field_cap: int, record_extra: int, otel: bool
) -> None:
    record_cap = max(1024, field_cap + record_extra)
    formatter = JsonFormatter(
        max_field_bytes=field_cap,
        max_record_bytes=record_cap,
        schema="otel" if otel else "inferlog",
    )
    record = make_record("msg")
    record.__dict__.update(extra)
    line = formatter.format(record)
    parsed = assert_one_json_object_line(line)
    assert len(line.encode("utf-8")) <= record_cap
    for key, value in parsed.items():
        if key != "dropped_fields":
            assert (
                len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())
                <= field_cap + 16
            )


# --- console --------------------------------------------------------------------------


def test_console_aligns_columns_and_shows_inference_fields() -> None:
    cap = Capture(ConsoleFormatter(colour=False, logger_width=16), name="svc")
    cap.logger.info("first", extra={"model_id": "m1", "latency_ms": 12.5, "note": "two words"})
    cap.logger.warning("second")
    first, second = cap.lines()
    assert first.index("first") == second.index("second")
    assert first.endswith('model_id=m1 latency_ms=12.5 note="two words"')
    assert TIMESTAMP_RE.match(first.split(" ")[0][:23] + "456Z")


def test_console_shows_the_exception_below_the_line() -> None:
    cap = Capture(ConsoleFormatter(colour=False))
    try:
        raise ValueError("shown")
    except ValueError:
        cap.logger.exception("failed")
    lines = cap.lines()
    assert "failed" in lines[0]
    assert "ValueError: shown" == lines[-1]


def test_console_colours_only_when_asked() -> None:
    coloured = ConsoleFormatter(colour=True).format(make_record("x"))
    plain = ConsoleFormatter(colour=False).format(make_record("x"))
    assert "\x1b[" in coloured
    assert "\x1b[" not in plain


def test_console_auto_colour_is_off_with_no_color_or_without_a_tty(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr(sys, "stderr", Tty())
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert ConsoleFormatter().colour is True
    monkeypatch.setenv("NO_COLOR", "1")
    assert ConsoleFormatter().colour is False
    monkeypatch.delenv("NO_COLOR")
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert ConsoleFormatter().colour is False


def test_console_bounds_huge_values() -> None:
    line = ConsoleFormatter(colour=False).format(make_record(payload="x" * 10_000_000))
    assert len(line) < 400
    assert "truncated" in line


@pytest.mark.parametrize(
    "options",
    [{"colour": "yes"}, {"logger_width": -1}, {"max_value_chars": 3}, {"show_extras": "no"}],
)
def test_console_bad_options_raise_value_error(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        ConsoleFormatter(**options)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=strategies.extras)
def test_console_never_raises(extra: dict[str, Any]) -> None:
    record = make_record("m")
    record.__dict__.update(extra)
    assert isinstance(ConsoleFormatter(colour=False).format(record), str)


@settings(max_examples=300, deadline=None)
@given(created=st.floats(min_value=0, max_value=4_102_444_800, allow_nan=False))
def test_timestamp_matches_datetime_rounding(created: float) -> None:
    moment = datetime.datetime.fromtimestamp(created, tz=datetime.timezone.utc)
    expected = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert expected == format_timestamp(created)


def test_subclass_hooks_of_python_json_logger_still_apply() -> None:
    class WithHost(JsonFormatter):
        def process_log_record(self, log_data: dict[str, Any]) -> dict[str, Any]:
            log_data["host"] = "h1"
            return log_data

    assert "h1" == json.loads(WithHost().format(make_record()))["host"]


def test_console_shows_an_exception_prepared_by_a_queue_stage() -> None:
    record = make_record("failed")
    record.exception = {"type": "ValueError", "message": "x", "stack": ["ValueError: x"]}
    lines = ConsoleFormatter(colour=False).format(record).split("\n")
    assert ["ValueError: x"] == lines[1:]


def test_a_real_pydantic_model_is_written_as_its_dump() -> None:
    pydantic = pytest.importorskip("pydantic")

    class Prediction(pydantic.BaseModel):  # type: ignore[misc, name-defined]
        label: str
        score: decimal.Decimal
        at: datetime.date

    value = Prediction(label="fraud", score=decimal.Decimal("0.93"), at=datetime.date(2024, 1, 2))
    assert {"label": "fraud", "score": "0.93", "at": "2024-01-02"} == format_one(value)["value"]


def test_every_odd_value_at_once_through_a_logger(capture: Capture) -> None:
    items: list[Any] = []
    items.append(items)
    odd = {
        "when": _MOMENT,
        "price": decimal.Decimal("2.50"),
        "id": uuid.UUID(int=5),
        "mood": Mood.HAPPY,
        "raw": b"\xc3\x28",
        "tags": {"b", "a"},
        "row": Row(1, 2),
        "model": Dumps(),
        "vector": np.linspace(0, 1, 3, dtype=np.float32),
        "bad": Raises(),
        "loop": items,
        "keys": {1: "one"},
        "text": "x\udcff",
        "path": pathlib.PurePosixPath("/m"),
        "error": KeyError("k"),
    }
    capture.logger.info("odd", extra=odd)
    record = capture.one()
    assert list(odd) == list(record)[4:]
    assert "\\xc3(" == record["raw"]
    assert [0.0, 0.5, 1.0] == record["vector"]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(extra=strategies.big_extras, message=strategies.texts, field_cap=st.integers(256, 8192))
def test_line_bytes_are_the_formatted_line_encoded(
    extra: dict[str, Any], message: str, field_cap: int
) -> None:
    # The file sink writes line_bytes() when it can: byte for byte what encoding
    # format()'s text as one line gives, whatever the record holds (caps included).
    record = make_record(message)
    record.__dict__.update(extra)
    formatter = JsonFormatter(max_field_bytes=field_cap)
    assert encode_text(formatter.format(record)) == formatter.line_bytes(record)


def test_line_bytes_leave_prefixed_reformatted_and_subclassed_output_to_format() -> None:
    class Custom(JsonFormatter):
        pass

    for formatter in (JsonFormatter(prefix="@cee: "), JsonFormatter(json_indent=2), Custom()):
        assert formatter.line_bytes(make_record("m")) is None
