"""The PutLogEvents rules as pure functions: every boundary, and properties for any input."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.handlers._cloudwatch_limits import (
    EVENT_OVERHEAD_BYTES,
    MAX_BATCH_BYTES,
    MAX_BATCH_EVENTS,
    MAX_BATCH_SPAN_MS,
    MAX_EVENT_AGE_MS,
    MAX_EVENT_FUTURE_MS,
    MAX_MESSAGE_BYTES,
    event_size,
    fit_message,
    plan_batches,
    rejected_by_info,
    stream_name,
    template_fields,
    time_rule_broken,
)

NOW = 1_700_000_000_000
MARKER = "[cut]"


@dataclass(eq=False)
class Ev:
    timestamp_ms: int
    size: int
    key: Any = "s"


def test_the_constants_are_cloudwatchs() -> None:
    assert (10_000, 1_048_576, 26) == (MAX_BATCH_EVENTS, MAX_BATCH_BYTES, EVENT_OVERHEAD_BYTES)
    assert MAX_BATCH_BYTES - 26 == MAX_MESSAGE_BYTES
    assert (86_400_000, 14 * 86_400_000, 7_200_000) == (
        MAX_BATCH_SPAN_MS,
        MAX_EVENT_AGE_MS,
        MAX_EVENT_FUTURE_MS,
    )


def test_event_size_counts_utf8_bytes_plus_26() -> None:
    assert 26 == event_size("")
    assert 26 + 1 + 2 + 3 + 4 == event_size("aé€😀")


def test_a_batch_holds_at_most_10000_events() -> None:
    events = [Ev(NOW, 27) for _ in range(10_001)]
    batches, diverted = plan_batches(events, NOW)
    assert ([10_000, 1], []) == ([len(b) for b in batches], diverted)


def test_a_batch_holds_at_most_1048576_bytes_counting_26_per_event() -> None:
    size = 1_000 + 26  # a 1,000-byte message
    fit = MAX_BATCH_BYTES // size  # 1022 events fit, the 1023rd does not
    events = [Ev(NOW, size) for _ in range(fit + 1)]
    batches, _ = plan_batches(events, NOW)
    assert [fit, 1] == [len(b) for b in batches]
    assert all(sum(e.size for e in b) <= MAX_BATCH_BYTES for b in batches)


def test_exactly_full_batch_is_one_batch() -> None:
    events = [Ev(NOW, MAX_BATCH_BYTES // 4) for _ in range(4)]
    assert [4] == [len(b) for b in plan_batches(events, NOW)[0]]
    events.append(Ev(NOW, 1))
    assert [4, 1] == [len(b) for b in plan_batches(events, NOW)[0]]


def test_a_batch_spans_less_than_24_hours() -> None:
    start = NOW - 3 * MAX_BATCH_SPAN_MS
    events = [
        Ev(start, 30),
        Ev(start + MAX_BATCH_SPAN_MS - 1, 30),  # just inside
        Ev(start + MAX_BATCH_SPAN_MS, 30),  # exactly 24 h after the first: next batch
    ]
    batches, _ = plan_batches(events, NOW)
    assert [[events[0], events[1]], [events[2]]] == batches


def test_events_are_sorted_by_time_stably_within_a_stream() -> None:
    a, b, c, d = Ev(NOW + 5, 30), Ev(NOW, 30), Ev(NOW + 5, 30), Ev(NOW - 1, 30)
    [batch], _ = plan_batches([a, b, c, d], NOW)
    assert [d, b, a, c] == batch


def test_each_stream_gets_its_own_batches_in_first_seen_order() -> None:
    events = [Ev(NOW, 30, "x"), Ev(NOW, 30, "y"), Ev(NOW + 1, 30, "x")]
    batches, _ = plan_batches(events, NOW)
    assert [["x", "x"], ["y"]] == [[e.key for e in b] for b in batches]


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (-MAX_EVENT_AGE_MS - 1, "older than 14 days"),
        (-MAX_EVENT_AGE_MS, None),
        (0, None),
        (MAX_EVENT_FUTURE_MS, None),
        (MAX_EVENT_FUTURE_MS + 1, "2 hours in the future"),
    ],
)
def test_time_rules_at_their_boundaries(offset: int, reason: str | None) -> None:
    found = time_rule_broken(NOW + offset, NOW)
    if reason is None:
        assert found is None
    else:
        assert found is not None
        assert reason in found


def test_events_breaking_a_time_rule_are_diverted_with_the_reason() -> None:
    old, new, fine = Ev(NOW - MAX_EVENT_AGE_MS - 1, 30), Ev(NOW + 3 * 3_600_000, 30), Ev(NOW, 30)
    batches, diverted = plan_batches([old, fine, new], NOW)
    assert [[fine]] == batches
    assert [old, new] == [e for e, _ in diverted]
    assert "older than 14 days" in diverted[0][1]


def test_a_shorter_retention_diverts_older_events() -> None:
    event = Ev(NOW - 2 * 86_400_000, 30)
    _, diverted = plan_batches([event], NOW, max_age_ms=86_400_000)
    assert "older than 1 days" in diverted[0][1]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(min_value=-16 * 86_400_000, max_value=3 * 3_600_000),
            st.integers(min_value=26, max_value=300_000),
            st.sampled_from(["a", "b", "c"]),
        ),
        max_size=300,
    ),
    st.integers(min_value=1, max_value=50),
)
def test_every_planned_batch_obeys_every_rule(
    specs: list[tuple[int, int, str]], max_count: int
) -> None:
    events = [Ev(NOW + offset, size, key) for offset, size, key in specs]
    batches, diverted = plan_batches(events, NOW, max_count=max_count)
    assert sorted(map(id, events)) == sorted(
        [id(e) for b in batches for e in b] + [id(e) for e, _ in diverted]
    )
    for batch in batches:
        stamps = [e.timestamp_ms for e in batch]
        assert 1 <= len(batch) <= max_count
        assert stamps == sorted(stamps)
        assert stamps[-1] - stamps[0] < MAX_BATCH_SPAN_MS
        assert sum(e.size for e in batch) <= MAX_BATCH_BYTES
        assert len({e.key for e in batch}) == 1
        assert all(time_rule_broken(s, NOW) is None for s in stamps)
    assert all(time_rule_broken(e.timestamp_ms, NOW) for e, _ in diverted)


def test_a_message_that_fits_is_left_alone() -> None:
    assert ["é" * 10] == fit_message("é" * 10, 20, "split", MARKER)


def test_truncate_keeps_the_start_cut_on_a_character_boundary_with_the_marker() -> None:
    [piece] = fit_message("€" * 10, 20, "truncate", MARKER)  # 30 bytes
    assert "€" * 5 + MARKER == piece  # 15 bytes of text + 5 of marker
    assert len(piece.encode()) <= 20


def test_split_keeps_every_character_in_order() -> None:
    text = "a😀" * 100
    pieces = fit_message(text, 23, "split", MARKER)
    assert all(len(p.encode()) <= 23 for p in pieces)
    assert all(p.endswith(MARKER) for p in pieces[:-1])
    assert text == "".join(p.removesuffix(MARKER) for p in pieces[:-1]) + pieces[-1]


@given(st.text(min_size=0, max_size=400), st.integers(min_value=12, max_value=300))
def test_fit_message_always_gives_valid_utf8_within_the_limit(text: str, limit: int) -> None:
    for policy in ("split", "truncate"):
        pieces = fit_message(text, limit, policy, MARKER)  # type: ignore[arg-type]
        for piece in pieces:
            assert len(piece.encode("utf-8", "surrogatepass")) <= limit
        if policy == "split":
            body = "".join(p.removesuffix(MARKER) for p in pieces[:-1]) + pieces[-1]
            assert text == body


def test_the_cloudwatch_event_limit_itself_is_enforced() -> None:
    huge = "x" * (MAX_MESSAGE_BYTES + 1)
    pieces = fit_message(huge, MAX_MESSAGE_BYTES, "split", MARKER)
    assert 2 == len(pieces)
    assert MAX_MESSAGE_BYTES == len(pieces[0].encode())
    assert [MAX_MESSAGE_BYTES] == [
        len(p.encode()) for p in fit_message(huge[:-1], MAX_MESSAGE_BYTES, "split", MARKER)
    ]


def test_a_limit_leaving_no_room_for_the_marker_is_refused() -> None:
    with pytest.raises(ValueError, match="marker"):
        fit_message("x" * 100, len(MARKER) + 2, "split", MARKER)


def test_rejected_info_uses_exclusive_end_indexes() -> None:
    info = {
        "tooOldLogEventEndIndex": 2,
        "expiredLogEventEndIndex": 1,
        "tooNewLogEventStartIndex": 4,
    }
    refused = rejected_by_info(info, 6)
    assert [0, 1, 4, 5] == sorted(refused)
    assert "retention" in refused[0]
    assert "too old" in refused[1]
    assert "future" in refused[5]
    assert {} == rejected_by_info(None, 3)
    assert {} == rejected_by_info({}, 3)


def test_stream_templates_fill_in_fields_and_clean_the_name() -> None:
    assert ["hostname", "model_id"] == template_fields("{hostname}/{model_id}")
    assert "h/-" == stream_name("{hostname}/{model_id}", {"hostname": "h"})
    assert "a_b_c" == stream_name("{x}", {"x": "a:b*c"})
    assert 512 == len(stream_name("{x}", {"x": "y" * 600}))


@pytest.mark.parametrize("template", ["{0}", "{a.b}", "{a[0]}", "{a!r}", "{a:>5}", "{"])
def test_stream_templates_refuse_anything_but_plain_names(template: str) -> None:
    with pytest.raises(ValueError):
        template_fields(template)


@given(st.dictionaries(st.sampled_from(["a", "b", "hostname"]), st.text(max_size=700)))
def test_any_field_values_give_a_valid_stream_name(values: dict[str, str]) -> None:
    name = stream_name("{hostname}/{a}:{b}", values)
    assert 1 <= len(name) <= 512
    assert ":" not in name
    assert "*" not in name
