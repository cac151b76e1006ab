"""QuantileSketch: relative error bound, bounded memory, weights, merging."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.alerting.sketch import QuantileSketch

_values = st.lists(
    st.floats(min_value=1e-3, max_value=1e7, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=300,
)
_quantiles = st.floats(min_value=0.0, max_value=1.0)


def _exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[math.floor(q * (len(ordered) - 1))]


@settings(max_examples=200)
@given(values=_values, q=_quantiles, accuracy=st.sampled_from([0.005, 0.01, 0.05]))
def test_every_quantile_is_within_the_relative_accuracy(
    values: list[float], q: float, accuracy: float
) -> None:
    sketch = QuantileSketch(accuracy)
    for value in values:
        sketch.add(value)

    exact = _exact(values, q)
    estimate = sketch.quantile(q)

    assert estimate is not None
    assert abs(estimate - exact) <= accuracy * exact * (1 + 1e-9)


@settings(max_examples=100)
@given(left=_values, right=_values, q=_quantiles)
def test_merging_two_sketches_equals_one_sketch_of_both(
    left: list[float], right: list[float], q: float
) -> None:
    a, b, both = QuantileSketch(), QuantileSketch(), QuantileSketch()
    for value in left:
        a.add(value)
        both.add(value)
    for value in right:
        b.add(value)
        both.add(value)

    a.merge(b)

    assert a.total == both.total
    assert a.quantile(q) == both.quantile(q)


@settings(max_examples=100)
@given(values=st.lists(st.floats(min_value=1e-9, max_value=1e12), min_size=1, max_size=500))
def test_the_number_of_bins_never_exceeds_max_bins(values: list[float]) -> None:
    sketch = QuantileSketch(0.01, max_bins=16)
    for value in values:
        sketch.add(value)
    assert len(sketch) <= 16
    top = sketch.quantile(1.0)
    assert top is not None
    assert abs(top - max(values)) <= 0.01 * max(values) * (1 + 1e-9)


def test_a_weight_counts_as_that_many_values() -> None:
    weighted, repeated = QuantileSketch(), QuantileSketch()
    weighted.add(10.0, weight=9)
    weighted.add(1000.0)
    for _ in range(9):
        repeated.add(10.0)
    repeated.add(1000.0)
    for q in (0.0, 0.5, 0.85, 0.95, 1.0):
        assert weighted.quantile(q) == repeated.quantile(q)


def test_zero_negative_nan_and_bad_weights() -> None:
    sketch = QuantileSketch()
    sketch.add(0.0)
    sketch.add(-5.0)
    sketch.add(float("nan"))
    sketch.add(float("inf"))
    sketch.add(3.0, weight=0)
    sketch.add(3.0, weight=float("nan"))
    assert sketch.total == 2
    assert sketch.quantile(0.99) == 0.0
    assert QuantileSketch().quantile(0.5) is None


@pytest.mark.parametrize(("accuracy", "max_bins"), [(0, 10), (1, 10), (0.01, 1), (True, 10)])
def test_bad_options_are_refused(accuracy: float, max_bins: int) -> None:
    with pytest.raises((ValueError, TypeError)):
        QuantileSketch(accuracy, max_bins)
