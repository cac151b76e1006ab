"""Rules: built from dicts with clear errors; each judges its window as documented."""

from __future__ import annotations

import pytest

from inferlog.alerting.rules import (
    ErrorRateRule,
    LatencyRule,
    OutputTokensShiftRule,
    build_rule,
)
from inferlog.alerting.window import Observation

NOW = 1_800_000_000.0


def test_a_dict_builds_the_rule_of_its_type_named_after_it_by_default() -> None:
    rule = build_rule({"type": "latency", "threshold_ms": 800, "window": 120})
    assert isinstance(rule, LatencyRule)
    assert (rule.name, rule.threshold_ms, rule.window, rule.quantile) == ("latency", 800, 120, 0.95)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "error_rate", "rate": 1.5}, "rate must be below 1"),
        ({"type": "error_rate", "window": 0}, "window must be > 0"),
        ({"type": "error_rate", "min_calls": -1}, "min_calls must be >= 0"),
        ({"type": "latency", "quantile": 1}, "quantile must be below 1"),
        ({"type": "latency", "threshold_ms": "fast"}, "threshold_ms must be a number"),
        ({"type": "error_rate", "slices": 0}, "slices must be an integer"),
        ({"type": "error_rate", "kind": "x"}, "unknown option"),
        ({"rate": 0.1}, "rule type must be one of"),
        ({"type": "error_rate", "name": ""}, "rule name"),
    ],
)
def test_bad_rule_dicts_say_what_is_wrong(spec: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build_rule(spec)


def test_a_rule_must_be_a_dict_or_a_rule() -> None:
    with pytest.raises(TypeError, match="a rule must be a dict"):
        build_rule("error_rate")  # type: ignore[arg-type]


def test_error_rate_holds_above_the_rate_and_clears_at_or_below() -> None:
    rule = ErrorRateRule("errors", rate=0.25, min_calls=4)
    window = rule.new_window()
    for error in (True, False, False, False):
        window.add(Observation(NOW, error), NOW)
    verdict = rule.evaluate(window, NOW)
    assert (verdict.holds, verdict.clear, verdict.value, verdict.calls) == (False, True, 0.25, 4)
    window.add(Observation(NOW, True), NOW)
    assert rule.evaluate(window, NOW).holds


def test_too_few_calls_neither_holds_nor_clears() -> None:
    rule = ErrorRateRule("errors", rate=0.1, min_calls=10)
    window = rule.new_window()
    window.add(Observation(NOW, True), NOW)
    verdict = rule.evaluate(window, NOW)
    assert (verdict.holds, verdict.clear) == (False, False)


def test_latency_rule_reads_the_quantile_of_the_window() -> None:
    rule = LatencyRule("slow", threshold_ms=500, quantile=0.95, min_calls=20)
    window = rule.new_window()
    for i in range(100):
        window.add(Observation(NOW, False, latency_ms=900.0 if i >= 90 else 100.0), NOW)
    verdict = rule.evaluate(window, NOW)
    assert verdict.holds
    assert verdict.value == pytest.approx(900, rel=0.01)
    assert "p95 latency" in rule.describe(verdict.value)


def test_output_token_shift_compares_the_window_with_the_baseline_before_it() -> None:
    rule = OutputTokensShiftRule("tokens", window=60, baseline=600, change=0.5, min_calls=10)
    window = rule.new_window()
    for i in range(50):  # the baseline: mean 200 tokens
        window.add(Observation(NOW - 300 - i, False, output_tokens=200), NOW)
    for _ in range(10):  # the last minute: mean 400 tokens
        window.add(Observation(NOW - 5, False, output_tokens=400), NOW)
    verdict = rule.evaluate(window, NOW)
    assert verdict.holds
    assert verdict.value == pytest.approx(1.0)


def test_output_token_shift_stays_quiet_within_the_change() -> None:
    rule = OutputTokensShiftRule("tokens", window=60, baseline=600, change=0.5, min_calls=10)
    window = rule.new_window()
    for i in range(50):
        window.add(Observation(NOW - 300 - i, False, output_tokens=200), NOW)
    for _ in range(10):
        window.add(Observation(NOW - 5, False, output_tokens=260), NOW)
    verdict = rule.evaluate(window, NOW)
    assert (verdict.holds, verdict.clear) == (False, True)
