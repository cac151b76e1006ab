"""Bounded values keep a readable prefix: bytes, text, containers, hostile objects."""

from __future__ import annotations

import json
import logging
from typing import Any

import numpy as np
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.formatting import JsonFormatter
from inferlog.formatting._bounds import circular_marker, fit_bytes, fit_str, json_size
from inferlog.formatting._coerce import FAST_BYTES_LIMIT, orjson_default
from tests.strategies import any_values, big_values

# Widest JSON an input byte can take once decoded: "\u0000" (a control character).
_WIDEST_BYTE = 6
# Room for the marker "...[truncated 12345678 bytes]", the quotes and the estimate's
# rounding.
_MARKER_ROOM = 70


def _record(**extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "payload", None, None)
    record.__dict__.update(extra)
    return record


def test_undecodable_bytes_keep_a_readable_prefix_and_say_how_much_was_cut() -> None:
    line = json.loads(JsonFormatter().format(_record(payload=b"\xff" * 20_000)))
    text = line["payload"]
    prefix, _, rest = text.partition("...[truncated ")
    assert prefix == "\\xff" * (len(prefix) // 4)
    assert 1_000 <= len(prefix) // 4
    assert rest == f"{20_000 - len(prefix) // 4} bytes]"


def test_ten_megabytes_go_straight_to_the_bounded_walk() -> None:
    huge = b"\xff" * 10_000_000
    with pytest.raises(TypeError):
        orjson.dumps(huge, default=orjson_default)
    with pytest.raises(TypeError):
        orjson_default(bytearray(FAST_BYTES_LIMIT + 1))
    assert "\\xff" == orjson_default(b"\xff")
    line = JsonFormatter().format(_record(payload=huge))
    assert len(line) <= JsonFormatter().max_record_bytes
    assert json.loads(line)["payload"].startswith("\\xff\\xff")


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=4_000), budget=st.integers(64, 3_000))
def test_cut_bytes_fit_the_budget_and_keep_what_room_allows(data: bytes, budget: int) -> None:
    text, size = fit_bytes(data, budget)
    assert size == json_size(text) <= budget
    if "...[truncated " in text:
        kept = len(data) - int(text.rsplit("...[truncated ", 1)[1].split(" ")[0])
        assert (budget - _MARKER_ROOM) // _WIDEST_BYTE - 3 <= kept


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=4_000), budget=st.integers(64, 3_000))
def test_cut_text_fits_the_budget_and_keeps_what_room_allows(text: str, budget: int) -> None:
    out, size = fit_str(text, budget)
    assert size == json_size(out) <= budget
    if out != text:
        kept = len(text) - int(out.rsplit("...[truncated ", 1)[1].split(" ")[0])
        assert (budget - _MARKER_ROOM) // _WIDEST_BYTE <= kept


class _HugeRepr:
    def __repr__(self) -> str:
        return "r" * 3_000_000

    __str__ = __repr__


class _RaisingRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


def _nested(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = {"down": value}
    return value


_HOSTILE = st.one_of(
    any_values,
    big_values,
    st.just("\udcff" * 200_000),
    st.just({"k" * 10: ["v" * 50] * 5_000}),
    st.just(_nested(5_000)),
    st.just(_HugeRepr()),
    st.just(_RaisingRepr()),
    st.just(np.arange(1_000_000, dtype=np.float32).reshape(1_000, 1_000)),
    st.just(np.array(["\udcff", "x"], dtype=object)),
)


@settings(max_examples=60, deadline=None)
@given(value=_HOSTILE, cap=st.integers(2_048, 64 * 1024))
def test_any_value_gives_one_bounded_valid_json_line(value: Any, cap: int) -> None:
    formatter = JsonFormatter(max_record_bytes=cap, max_field_bytes=cap)
    line = formatter.format(_record(payload=value))
    assert "\n" not in line
    assert len(line.encode("utf-8")) <= cap
    assert "payload" in json.loads(line)


def test_a_cycle_is_written_with_the_circular_marker() -> None:
    items: list[Any] = [1]
    items.append(items)
    line = json.loads(JsonFormatter().format(_record(payload=items)))
    assert [1, circular_marker(items)] == line["payload"]
