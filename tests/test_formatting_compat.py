"""``JsonFormatter`` as a drop-in for python-json-logger's formatters (``_layout``).

Every option python-json-logger documents is accepted with its meaning; each documented
difference (``tests/compat/pjl_differences.json``) has an option that restores
python-json-logger's behaviour, checked here against python-json-logger itself.
"""

from __future__ import annotations

import datetime as dt
import enum
import io
import json
import logging
import logging.config
import os
import socket
import sys
import threading
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pythonjsonlogger.json import JsonFormatter as PjlJsonFormatter
from pythonjsonlogger.orjson import OrjsonFormatter as PjlOrjsonFormatter
from pythonjsonlogger.orjson import orjson_default as pjl_orjson_default

from inferlog.formatting import RECORD_FIELDS, JsonFormatter
from tests.compat.pjl_adapter import load_differences, matches


def _record(
    msg: Any = "hello %s",
    args: Any = ("world",),
    extra: dict[str, Any] | None = None,
    exc: bool = False,
    stack: str | None = None,
) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    record = logging.LogRecord("app", logging.INFO, __file__, 42, msg, args, exc_info, "fn", stack)
    record.created = 1_700_000_000.25
    for key, value in (extra or {}).items():
        record.__dict__[key] = value
    return record


def _line(formatter: logging.Formatter, record: logging.LogRecord) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(formatter.format(record))
    return data


@pytest.mark.parametrize(
    ("fmt", "style"),
    [
        ("%(levelname)s %(message)s %(lineno)d", "%"),
        ("{levelname} {message} {lineno:d}", "{"),
        ("$levelname ${message} $lineno", "$"),
        ("levelname,message,,lineno", ","),
    ],
)
def test_a_format_string_in_each_style_chooses_the_fields(fmt: str, style: str) -> None:
    data = _line(JsonFormatter(fmt, style=style), _record())
    assert {"levelname": "INFO", "message": "hello world", "lineno": 42} == data


def test_a_sequence_of_names_chooses_the_fields_in_order() -> None:
    data = _line(JsonFormatter(["process", "message", "funcName"]), _record())
    assert ["process", "message", "funcName"] == list(data)
    assert os.getpid() == data["process"]


def test_without_a_format_the_schema_core_fields_come_first() -> None:
    data = _line(JsonFormatter(record_fields=["threadName", "hostname"]), _record())
    assert ["timestamp", "level", "logger", "message", "threadName", "hostname"] == list(data)
    assert socket.gethostname() == data["hostname"]
    assert threading.current_thread().name == data["threadName"]


@pytest.mark.parametrize("name", RECORD_FIELDS)
def test_every_record_field_can_be_asked_for(name: str) -> None:
    data = _line(JsonFormatter(record_fields=[name]), _record())
    assert name in data


def test_asctime_follows_datefmt() -> None:
    data = _line(JsonFormatter("%(asctime)s", datefmt="%Y"), _record())
    assert {"asctime": time_year(1_700_000_000.25)} == data


def time_year(created: float) -> str:
    return dt.datetime.fromtimestamp(created).strftime("%Y")


def test_dictconfig_format_key_with_a_factory_reaches_fmt() -> None:
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "formatters": {
                "json": {
                    "()": "inferlog.JsonFormatter",
                    "format": "{levelname}{message}",
                    "style": "{",
                    "rename_fields": {"levelname": "severity"},
                }
            },
            "handlers": {
                "out": {"class": "logging.StreamHandler", "stream": stream, "formatter": "json"}
            },
            "loggers": {"compat.dict": {"handlers": ["out"], "level": "INFO"}},
        }
    )
    logging.getLogger("compat.dict").info("hi", extra={"k": 1})
    assert {"severity": "INFO", "message": "hi", "k": 1} == json.loads(stream.getvalue())


def test_dictconfig_class_form_passes_format_datefmt_and_style() -> None:
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "formatters": {
                "json": {
                    "class": "inferlog.JsonFormatter",
                    "format": "$message $asctime",
                    "datefmt": "%Y",
                    "style": "$",
                }
            },
            "handlers": {
                "out": {"class": "logging.StreamHandler", "stream": stream, "formatter": "json"}
            },
            "loggers": {"compat.cls": {"handlers": ["out"], "level": "INFO"}},
        }
    )
    logging.getLogger("compat.cls").info("hi")
    data = json.loads(stream.getvalue())
    assert ["message", "asctime"] == list(data)
    assert 4 == len(data["asctime"])


def test_defaults_are_overridden_by_extras_and_renamed() -> None:
    formatter = JsonFormatter(defaults={"a": 1, "b": 2}, rename_fields={"b": "@b"})
    data = _line(formatter, _record(extra={"a": 10}))
    assert (10, 2) == (data["a"], data["@b"])


def test_reserved_attrs_lets_standard_attributes_through_as_extras() -> None:
    formatter = JsonFormatter(reserved_attrs=["msg", "args", "exc_info", "exc_text", "stack_info"])
    data = _line(formatter, _record())
    assert ("fn", 42) == (data["funcName"], data["lineno"])


def test_timestamp_with_a_format_adds_the_key_and_without_one_renames_it() -> None:
    with_format = _line(JsonFormatter("%(message)s", timestamp="@ts"), _record())
    assert ["message", "@ts"] == list(with_format)
    without = _line(JsonFormatter(timestamp="@ts"), _record())
    assert "@ts" in without
    assert "timestamp" not in without


def test_isoformat_timestamps_are_what_python_json_logger_writes() -> None:
    record = _record()
    ours = _line(JsonFormatter("%(message)s", timestamp=True, timestamp_format="isoformat"), record)
    theirs = _line(PjlJsonFormatter("%(message)s", timestamp=True), record)
    assert theirs["timestamp"] == ours["timestamp"]


@pytest.mark.parametrize("as_array", [False, True])
def test_exc_info_field_is_python_json_loggers_traceback(as_array: bool) -> None:
    record = _record(exc=True)
    ours = _line(JsonFormatter(exception_field="exc_info", exc_info_as_array=as_array), record)
    record.exc_text = None  # the stdlib caches the text on the record
    theirs = _line(PjlJsonFormatter(exc_info_as_array=as_array), record)
    assert theirs["exc_info"] == ours["exc_info"]
    assert "exception" not in ours


def test_exc_info_named_in_rename_fields_chooses_the_text_form() -> None:
    data = _line(JsonFormatter(rename_fields={"exc_info": "error"}), _record(exc=True))
    assert data["error"].endswith("ValueError: boom")


def test_stack_info_is_a_list_by_default_and_a_string_on_request() -> None:
    stack = "Stack (most recent call last):\n  a\n  b"
    assert 3 == len(_line(JsonFormatter(), _record(stack=stack))["stack_info"])
    data = _line(JsonFormatter(stack_info_as_array=False), _record(stack=stack))
    assert stack == data["stack_info"]


def test_rename_fields_keep_missing_writes_null() -> None:
    formatter = JsonFormatter(rename_fields={"absent": "there"}, rename_fields_keep_missing=True)
    assert _line(formatter, _record())["there"] is None


def test_json_default_is_tried_first_and_falls_back_to_inferlogs() -> None:
    def only_complex(value: Any) -> Any:
        if isinstance(value, complex):
            return [value.real, value.imag]
        raise TypeError(type(value).__name__)

    formatter = JsonFormatter(json_default=only_complex)
    data = _line(formatter, _record(extra={"z": 1 + 2j, "s": {1}}))
    assert ([1.0, 2.0], [1]) == (data["z"], data["s"])


def test_json_encoder_default_is_used() -> None:
    class Encoder(json.JSONEncoder):
        def default(self, o: Any) -> Any:
            if isinstance(o, complex):
                return "complex"
            return super().default(o)

    data = _line(JsonFormatter(json_encoder=Encoder), _record(extra={"z": 1j}))
    assert "complex" == data["z"]


def test_indent_prefix_and_ascii_shape_the_line() -> None:
    formatter = JsonFormatter("%(message)s", json_indent=2, json_ensure_ascii=True, prefix="> ")
    line = formatter.format(_record(msg="Привет", args=()))
    assert '> {\n  "message": "\\u041f\\u0440\\u0438\\u0432\\u0435\\u0442"\n}' == line


def test_record_dict_ignores_the_line_shape_options() -> None:
    formatter = JsonFormatter("%(message)s", json_indent=4, prefix="> ")
    assert {"message": "hello world"} == formatter.record_dict(_record())


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"style": "?"}, "style"),
        ({"exception_field": "stack"}, "exception_field"),
        ({"timestamp_format": "epoch"}, "timestamp_format"),
        ({"bytes_format": "hex"}, "bytes_format"),
        ({"record_fields": ["nope"]}, "record_fields"),
        ({"defaults": {1: 2}}, "defaults"),
        ({"json_default": 3}, "json_default"),
        ({"reserved_attrs": "msg"}, "reserved_attrs"),
    ],
)
def test_a_bad_option_raises_naming_it(options: dict[str, Any], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        JsonFormatter("%(message)s", **options)


def test_a_format_that_does_not_match_its_style_is_refused_when_validating() -> None:
    with pytest.raises(ValueError):
        JsonFormatter("no fields", style="{")
    assert {} == _line(JsonFormatter("no fields", style="{", validate=False), _record())


def test_an_unknown_format_key_is_written_as_null() -> None:
    assert {"nope": None} == _line(JsonFormatter("%(nope)s"), _record())


# -- each documented difference, and the option that gives python-json-logger's behaviour


class Colour(enum.Enum):
    RED = 1


def _traceback() -> Any:
    try:
        raise KeyError("k")
    except KeyError as err:
        return err.__traceback__


class _Broken:
    def __str__(self) -> str:
        raise ValueError("no")

    __repr__ = __str__


DIFFERENCES = {difference["id"]: difference for difference in load_differences()}


def test_every_difference_says_what_why_and_which_option() -> None:
    for difference in DIFFERENCES.values():
        assert {"id", "what", "why", "option", "tests"} <= set(difference)
        assert difference["why"]


def test_difference_patterns_match_ids_with_brackets_literally() -> None:
    assert matches("test_exc_info[JsonFormatter]", "test_exc_info[*]")
    assert not matches("test_exc_info_renamed[JsonFormatter]", "test_exc_info[*]")


@pytest.mark.parametrize(
    ("difference", "ours", "record"),
    [
        (
            "bytes-as-text",
            {"bytes_format": "base64"},
            lambda: _record(extra={"v": b"\xf0\xf1 bytes"}),
        ),
        (
            "value-representations",
            {"json_default": pjl_orjson_default},
            lambda: _record(
                extra={
                    "e": ValueError("x"),
                    "t": _traceback(),
                    "c": Colour,
                    "k": dict,
                    "b": _Broken(),
                }
            ),
        ),
    ],
)
def test_the_option_of_a_value_difference_gives_python_json_loggers_values(
    difference: str, ours: dict[str, Any], record: Any
) -> None:
    assert difference in DIFFERENCES
    one = record()
    mine = _line(JsonFormatter("%(message)s", **ours), one)
    theirs = _line(PjlOrjsonFormatter("%(message)s"), one)
    assert theirs == mine


def test_the_option_of_compact_utf8_output_gives_python_json_loggers_line() -> None:
    assert "compact-utf8-output" in DIFFERENCES
    record = _record(msg="Привет %s", extra={"n": [1, {"a": None}]})
    ours = JsonFormatter("%(message)s", json_serializer=json.dumps, json_ensure_ascii=True)
    assert PjlJsonFormatter("%(message)s").format(record) == ours.format(record)


_plain = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_names = st.text(alphabet="abcdefghij_", min_size=1, max_size=8).map(lambda s: f"x_{s}")


@settings(max_examples=100, deadline=None)
@given(
    message=st.text(max_size=40),
    extras=st.dictionaries(_names, _plain, max_size=4),
    fields=st.lists(st.sampled_from(["levelname", "name", "lineno", "funcName"]), unique=True),
)
def test_with_a_format_plain_records_match_python_json_logger(
    message: str, extras: dict[str, Any], fields: list[str]
) -> None:
    fmt = ["message", *fields]
    record = _record(msg=message, args=(), extra=extras)
    assert _line(PjlOrjsonFormatter(fmt), record) == _line(JsonFormatter(fmt), record)


@settings(max_examples=150, deadline=None)
@given(fmt=st.text(max_size=40), style=st.sampled_from(["%", "{", "$", ","]))
def test_any_format_string_gives_fields_or_a_value_error_and_lines_never_fail(
    fmt: str, style: str
) -> None:
    try:
        formatter = JsonFormatter(fmt, style=style)
    except ValueError:
        formatter = JsonFormatter(fmt, style=style, validate=False)
    data = json.loads(formatter.format(_record(extra={"k": 1})))
    assert isinstance(data, dict)
    assert 1 == data.get("k", data.get("extra.k"))


def test_exc_info_text_survives_the_queue_which_sends_the_exception_as_data() -> None:
    from inferlog.pipeline.queue import QueueHandler

    stream = io.StringIO()
    sink = logging.StreamHandler(stream)
    sink.setFormatter(JsonFormatter("%(message)s", exception_field="exc_info"))
    queue = QueueHandler(handlers=[sink])
    try:
        queue.handle(_record(exc=True))
    finally:
        queue.shutdown(5.0)
        sink.close()
    data = json.loads(stream.getvalue())
    assert "ValueError: boom" == data["exc_info"].splitlines()[-1]
    assert data["exc_info"].startswith("Traceback (most recent call last):")
    assert "exception" not in data


def test_exc_info_text_is_redacted_like_the_exception_object() -> None:
    from inferlog import RedactionFilter

    try:
        raise ValueError("no account for ana@example.com")
    except ValueError:
        record = logging.LogRecord("app", logging.ERROR, __file__, 1, "m", (), sys.exc_info())
    assert RedactionFilter().filter(record)
    text = _line(JsonFormatter(exception_field="exc_info"), record)["exc_info"]
    assert text.startswith("Traceback")
    assert "ana@example.com" not in text
