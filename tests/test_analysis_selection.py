"""Times, fields and filters on the command line, in Python and in SQL alike."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferlog.analysis.errors import UsageError
from inferlog.analysis.selection import FieldRef, TimeWindow, as_text, parse_filter, parse_time

NOW = datetime(2027, 1, 15, 12, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90s", NOW - timedelta(seconds=90)),
        ("30m", NOW - timedelta(minutes=30)),
        ("1.5h", NOW - timedelta(minutes=90)),
        ("7d", NOW - timedelta(days=7)),
        ("2027-01-15", datetime(2027, 1, 15, tzinfo=timezone.utc)),
        ("2027-01-15T09:00:00+01:00", datetime(2027, 1, 15, 8, tzinfo=timezone.utc)),
        ("2027-01-15T08:00:00.250Z", datetime(2027, 1, 15, 8, 0, 0, 250000, tzinfo=timezone.utc)),
    ],
)
def test_times_are_iso_or_durations_back_from_now(text: str, expected: datetime) -> None:
    assert parse_time(text, now=NOW) == expected


@pytest.mark.parametrize("text", ["yesterday", "5 parsecs", "2027-13-01", ""])
def test_bad_times_name_the_accepted_forms(text: str) -> None:
    with pytest.raises(UsageError, match="ISO 8601"):
        parse_time(text, now=NOW)


def test_fields_are_top_level_keys_or_payload_paths() -> None:
    record = {"gen_ai.request.model": "m", "request_payload": {"features": {"country": "DE"}}}
    assert FieldRef.parse("gen_ai.request.model").get(record) == "m"
    assert FieldRef.parse("request_payload.features.country").get(record) == "DE"
    assert FieldRef.parse("request_payload.features.missing").get(record) is None
    with pytest.raises(UsageError):
        FieldRef.parse("request_payload.a b")


@given(
    field=st.from_regex(r"[a-z_][a-z0-9_]{0,10}", fullmatch=True),
    value=st.one_of(st.text(max_size=8), st.integers(), st.booleans(), st.floats(allow_nan=False)),
)
def test_a_filter_matches_the_value_it_was_written_from(field: str, value: object) -> None:
    text = as_text(value)
    assert text is not None
    equal = parse_filter(f"{field}={text}")
    different = parse_filter(f"{field}!={text}")
    record = {field: value}
    assert equal.matches(record) == (text.strip() == text)
    assert different.matches(record) != equal.matches(record)
    assert not equal.matches({})
    assert different.matches({})


def test_filters_become_sql_conditions_with_quoted_values() -> None:
    assert parse_filter("user_id=o'brien").sql('"user_id"') == "\"user_id\" = 'o''brien'"
    assert parse_filter("status!=error").sql("s") == "(s IS NULL OR s <> 'error')"
    with pytest.raises(UsageError, match="FIELD=VALUE"):
        parse_filter("no operator")


def test_an_empty_window_is_refused_and_bounds_are_half_open() -> None:
    with pytest.raises(UsageError, match="empty"):
        TimeWindow(since=NOW, until=NOW)
    window = TimeWindow(since=NOW - timedelta(hours=1), until=NOW)
    assert window.contains_seconds((NOW - timedelta(hours=1)).timestamp())
    assert not window.contains_seconds(NOW.timestamp())
    assert not window.contains({"timestamp": "not a time"})
    assert TimeWindow().contains({})
