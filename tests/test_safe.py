"""inferlog._safe: bounded, never-raising conversion of any value to JSON-safe data."""

from __future__ import annotations

import collections
import datetime
import decimal
import json
import subprocess
import sys
import uuid
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferlog._safe import (
    FAST_ITEMS_LIMIT,
    MARKER_RESERVE,
    MAX_DEPTH,
    MAX_KEY_BYTES,
    coerce,
    fast_options,
    fit_bytes,
    fit_str,
    json_size,
    orjson_default,
    safe_key,
    safe_str,
    to_json_safe,
)
from tests import strategies

_JSON_TYPES = (type(None), bool, int, float, str, list, dict)


def assert_plain_json(value: Any) -> None:
    """Only JSON types, string keys, nothing orjson would need a hook for."""
    assert isinstance(value, _JSON_TYPES)
    if isinstance(value, list):
        for item in value:
            assert_plain_json(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            assert type(key) is str
            assert_plain_json(item)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=strategies.any_values, budget=st.integers(MARKER_RESERVE, 4096))
def test_any_value_becomes_plain_json_within_the_budget(value: Any, budget: int) -> None:
    converted, size = to_json_safe(value, budget)
    assert_plain_json(converted)
    encoded = orjson.dumps(converted)
    # Exact, except that two keys written alike (None and nan: "null") count twice.
    assert len(encoded) <= size <= budget


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=strategies.big_values, budget=st.integers(MARKER_RESERVE, 20_000))
def test_big_values_are_cut_to_the_budget(value: Any, budget: int) -> None:
    converted, size = to_json_safe(value, budget)
    assert len(orjson.dumps(converted)) <= size <= budget


@settings(max_examples=100, deadline=None)
@given(value=strategies.json_data)
def test_plain_json_data_that_fits_is_unchanged(value: Any) -> None:
    converted, _size = to_json_safe(value, 1_000_000)
    assert json.loads(orjson.dumps(value)) == converted


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=strategies.any_values)
def test_fast_and_careful_paths_agree_when_orjson_accepts_the_value(value: Any) -> None:
    try:
        fast = orjson.dumps(
            value, default=orjson_default, option=fast_options() | orjson.OPT_NON_STR_KEYS
        )
    except TypeError:
        return  # only the careful path can write it
    converted, _size = to_json_safe(value, 10_000_000)
    # Compared as parsed JSON: orjson writes a float32 in its own shortest form.
    assert orjson.loads(fast) == orjson.loads(orjson.dumps(converted))


def test_string_cut_says_how_many_chars_were_cut() -> None:
    text, size = fit_str("a" * 1000, 100)
    kept = text.index("...")
    assert text == "a" * kept + f"...[truncated {1000 - kept} chars]"
    assert size == len(text) + 2 <= 100
    assert kept > 60


def test_string_cut_counts_json_escapes() -> None:
    text, size = fit_str("\n" * 1000, 100)
    assert size <= 100
    assert text.endswith("chars]")


def test_lone_surrogates_become_visible_escapes() -> None:
    assert ("a\\udc80b", 11) == fit_str("a\udc80b", 100)


def test_bytes_cut_says_how_many_bytes_were_cut() -> None:
    text, size = fit_bytes(b"z" * 1000, 100)
    cut = int(text.rsplit(" ", 2)[1])
    assert text.startswith("zz")
    assert text.endswith("bytes]")
    assert text.index("...") + cut == 1000
    assert size <= 100


def test_memoryview_of_ints_is_read_as_its_bytes() -> None:
    view = memoryview(bytearray(b"abcd")).cast("H")
    assert "abcd" == fit_bytes(view, 100)[0]


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        (1, "1"),
        (1.5, "1.5"),
        (True, "true"),
        (None, "null"),
        (uuid.UUID(int=0), "00000000-0000-0000-0000-000000000000"),
        (datetime.date(2024, 1, 2), "2024-01-02"),
        ((1, 2), "(1, 2)"),
        (frozenset(), "frozenset()"),
    ],
)
def test_keys_are_written_as_orjson_writes_them(key: Any, expected: str) -> None:
    assert expected == safe_key(key)


def test_long_keys_are_cut() -> None:
    key = safe_key("k" * 10_000)
    assert json_size(key) <= MAX_KEY_BYTES
    assert key.endswith("chars]")


def test_deep_nesting_stops_at_max_depth() -> None:
    value: Any = 1
    for _ in range(MAX_DEPTH + 10):
        value = [value]
    converted, _size = to_json_safe(value, 100_000)
    depth = 0
    while isinstance(converted, list):
        converted = converted[0]
        depth += 1
    assert MAX_DEPTH == depth
    assert converted == f"<nested deeper than {MAX_DEPTH} levels: list>"


def test_a_model_that_dumps_itself_is_not_followed_forever() -> None:
    class Loop:
        def model_dump(self) -> Any:
            return {"again": self}

    converted, _size = to_json_safe(Loop(), 10_000)
    assert "<circular reference" in json.dumps(converted)


def test_shared_but_not_cyclic_values_are_written_twice() -> None:
    shared = [1, 2]
    assert ([[1, 2], [1, 2]], 13) == to_json_safe([shared, shared], 1000)


def test_a_generator_valued_str_is_never_consumed() -> None:
    produced = (n for n in range(3))
    assert safe_str(produced).startswith("<generator")
    assert [0, 1, 2] == list(produced)


def test_orjson_default_hands_huge_containers_to_the_careful_walk() -> None:
    with pytest.raises(TypeError):
        orjson.dumps({"s": set(range(FAST_ITEMS_LIMIT + 1))}, default=orjson_default)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (decimal.Decimal("0.1"), "0.1"),
        (b"\x00ok", "\x00ok"),
        ({2, 1}, [1, 2]),
        ({1, "a"}, None),  # unsortable: any order, both kept
    ],
)
def test_coerce_is_one_level_of_conversion(value: Any, expected: Any) -> None:
    result = coerce(value)
    if expected is None:
        assert sorted(map(str, result)) == ["1", "a"]
    else:
        assert expected == result


def test_coerce_never_raises_on_a_hostile_object() -> None:
    class Hostile:
        def __getattribute__(self, name: str) -> Any:
            raise RuntimeError(name)

    assert coerce(Hostile()).startswith("<unrepresentable")
    converted, _size = to_json_safe(Hostile(), 100)
    assert isinstance(converted, str)


def test_formatting_never_imports_numpy() -> None:
    code = (
        "import logging, sys\n"
        "from inferlog.formatting import JsonFormatter\n"
        "record = logging.LogRecord('t', 20, 'f', 1, 'm', None, None)\n"
        "record.odd = {1, 2}\n"
        "record.more = type('Odd', (), {})()\n"
        "JsonFormatter().format(record)\n"
        "print('numpy' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert "False" == result.stdout.strip()


@pytest.mark.parametrize("value", [range(10**12), range(10**20), collections.deque(range(10**6))])
def test_huge_lazy_sequences_are_never_expanded(value: Any) -> None:
    converted, size = to_json_safe(value, 1000)
    assert isinstance(converted, list)
    assert converted[:3] == [0, 1, 2]
    assert converted[-1].startswith("...[truncated")
    assert size <= 1000
