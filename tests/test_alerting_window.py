"""SlidingWindow: slice arithmetic against a brute-force count, late records, constant memory."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.alerting.window import Observation, SlidingWindow

_event = st.tuples(
    st.floats(min_value=0, max_value=400, allow_nan=False),  # seconds after t0
    st.booleans(),
    st.sampled_from([1.0, 2.0, 10.0]),
)


@settings(max_examples=200)
@given(
    events=st.lists(_event, max_size=60),
    span=st.sampled_from([10.0, 60.0, 300.0]),
    slices=st.integers(min_value=1, max_value=12),
    now_offset=st.floats(min_value=0, max_value=500, allow_nan=False),
)
def test_totals_equal_a_brute_force_count_of_the_records_in_the_window(
    events: list[tuple[float, bool, float]], span: float, slices: int, now_offset: float
) -> None:
    t0 = 1_700_000_000.0
    window = SlidingWindow(span, slices)
    now = t0 + now_offset
    for offset, error, weight in events:  # any order: they arrive shuffled
        window.add(Observation(t0 + offset, error, weight), now)

    width = span / slices
    newest = math.floor(now / width)
    # A record stamped after `now` counts as `now`.
    stamped = [(min(t0 + offset, now), error, weight) for offset, error, weight in events]
    kept = [(e, w) for ts, e, w in stamped if math.floor(ts / width) > newest - slices]
    late = [w for ts, _, w in stamped if math.floor(ts / width) <= newest - slices]
    totals = window.totals(now)
    assert math.isclose(totals.calls, sum(w for _, w in kept), abs_tol=1e-9)
    assert math.isclose(totals.errors, sum(w for e, w in kept if e), abs_tol=1e-9)
    assert math.isclose(window.late, sum(late), abs_tol=1e-9)


def test_out_of_order_records_within_the_window_are_counted_where_they_belong() -> None:
    window = SlidingWindow(60, 6)
    now = 1000.0
    for ts in (995.0, 950.0, 999.0, 955.0, 990.0):
        assert window.add(Observation(ts, error=ts < 960), now)
    totals = window.totals(now)
    assert (totals.calls, totals.errors) == (5, 2)
    assert window.totals(now, 0, 1).calls == 0  # the slice now falls in: 1000..1010
    assert window.totals(now, 1, 1).calls == 3  # the one before: 990..1000


def test_a_record_older_than_the_window_is_late_and_counted() -> None:
    window = SlidingWindow(60, 6)
    assert not window.add(Observation(900.0, True, 3.0), 1000.0)
    assert window.late == 3.0
    assert window.totals(1000.0).calls == 0


def test_the_window_slides_and_forgets() -> None:
    window = SlidingWindow(60, 6)
    window.add(Observation(1000.0, True), 1000.0)
    assert window.totals(1059.0).errors == 1
    assert window.totals(1060.0).errors == 0


def test_memory_does_not_grow_with_records() -> None:
    window = SlidingWindow(60, 6, track_latency=True)
    for i in range(5000):
        window.add(Observation(1000.0 + i * 0.01, False, latency_ms=50.0 + i % 7), 1050.0)
    assert len(window._ring) == 6
    assert all(len(s.latency or ()) <= 7 for s in window._ring)
    sketch = window.totals(1050.0).latency
    assert sketch is not None
    assert sketch.total == 5000


def test_token_means_are_weighted() -> None:
    window = SlidingWindow(60, 1)
    window.add(Observation(10.0, False, 4.0, output_tokens=100), 10.0)
    window.add(Observation(10.0, False, 1.0, output_tokens=600), 10.0)
    window.add(Observation(10.0, False, 1.0), 10.0)
    totals = window.totals(10.0)
    assert totals.mean_tokens == 200.0
    assert totals.calls == 6
