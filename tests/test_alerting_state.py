"""KeyState.judge: the firing, cooldown and resolved policy, without threads or notifiers."""

from __future__ import annotations

from inferlog._diagnostics import Counters
from inferlog.alerting._state import KeyState
from inferlog.alerting.rules import ErrorRateRule
from inferlog.alerting.window import Observation

RULES = [ErrorRateRule("errors", rate=0.5, window=60, slices=6, min_calls=2, cooldown=100)]


def _feed(state: KeyState, at: float, errors: int, oks: int = 0) -> None:
    for i in range(errors + oks):
        state.rules[0].window.add(Observation(at, error=i < errors), at)


def test_a_rule_that_keeps_holding_fires_once() -> None:
    counters, state = Counters(), KeyState(RULES)
    _feed(state, 1000.0, errors=3)
    assert [t.state for t in state.judge(RULES, 1000.0, counters)] == ["firing"]
    _feed(state, 1001.0, errors=3)
    assert state.judge(RULES, 1001.0, counters) == []
    assert counters.snapshot() == {"fired": 1}


def test_resolved_follows_firing_once_the_rule_clears() -> None:
    counters, state = Counters(), KeyState(RULES)
    _feed(state, 1000.0, errors=2)
    state.judge(RULES, 1000.0, counters)
    _feed(state, 1000.0, errors=0, oks=10)
    transitions = state.judge(RULES, 1000.0, counters)
    assert [(t.state, t.verdict.value) for t in transitions] == [("resolved", 2 / 12)]


def test_the_cooldown_holds_back_a_new_firing_and_counts_it_once() -> None:
    counters, state = Counters(), KeyState(RULES)
    _feed(state, 1000.0, errors=2)
    state.judge(RULES, 1000.0, counters)
    assert [t.state for t in state.judge(RULES, 1070.0, counters)] == ["resolved"]
    _feed(state, 1071.0, errors=2)
    assert state.judge(RULES, 1071.0, counters) == []
    assert state.judge(RULES, 1072.0, counters) == []
    assert counters.get("suppressed") == 1
    assert [t.state for t in state.judge(RULES, 1100.0, counters)] == ["firing"]


def test_a_key_is_forgettable_only_when_empty_and_not_cooling_down() -> None:
    counters, state = Counters(), KeyState(RULES)
    assert state.forgettable(RULES, 1000.0)
    _feed(state, 1000.0, errors=2)
    assert not state.forgettable(RULES, 1000.0)
    state.judge(RULES, 1000.0, counters)
    state.judge(RULES, 1070.0, counters)  # resolved: the window is empty
    assert not state.forgettable(RULES, 1070.0)  # cooling down
    assert state.forgettable(RULES, 1100.0)
