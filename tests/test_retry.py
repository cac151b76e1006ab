"""The retry policy: capped exponential backoff with full jitter, a deadline, verdicts."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferlog.pipeline.retry import (
    RetryPolicy,
    Verdict,
    classify_transport_error,
    retry_call,
)


class FakeClock:
    """A clock that moves only when the policy waits."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def wait(self, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return False


class Flaky:
    """A call that raises the given exceptions in turn, then returns ``"ok"``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


def retry_everything(exc: BaseException) -> Verdict:
    return Verdict.RETRY


def test_bounds_grow_exponentially_up_to_the_cap() -> None:
    policy = RetryPolicy(initial=0.5, maximum=4.0, multiplier=2.0)
    assert [0.5, 1.0, 2.0, 4.0, 4.0, 4.0] == [policy.bound(a) for a in range(6)]
    assert 4.0 == policy.bound(10_000)  # no overflow


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=2**32))
def test_delay_is_full_jitter_within_the_bound(attempt: int, seed: int) -> None:
    policy = RetryPolicy(initial=0.1, maximum=3.0, rng=random.Random(seed))
    assert 0.0 <= policy.delay(attempt) <= policy.bound(attempt)


def test_delays_are_reproducible_with_a_seeded_rng() -> None:
    one = RetryPolicy(rng=random.Random(7))
    two = RetryPolicy(rng=random.Random(7))
    assert [one.delay(a) for a in range(5)] == [two.delay(a) for a in range(5)]


def test_transient_failures_are_retried_until_success() -> None:
    clock = FakeClock()
    call = Flaky(ConnectionResetError(), TimeoutError())
    outcome = retry_call(
        call, RetryPolicy(rng=random.Random(1)), retry_everything, wait=clock.wait, clock=clock
    )
    assert outcome.ok
    assert ("ok", 3, 2) == (outcome.value, outcome.attempts, len(clock.waits))


def test_only_retry_verdicts_are_retried() -> None:
    clock = FakeClock()
    call = Flaky(ValueError("bad request"))
    outcome = retry_call(
        call, RetryPolicy(), lambda e: Verdict.REJECT, wait=clock.wait, clock=clock
    )
    assert not outcome.ok
    assert (Verdict.REJECT, 1, []) == (outcome.verdict, call.calls, clock.waits)


def test_retries_stop_at_the_total_deadline() -> None:
    clock = FakeClock()
    policy = RetryPolicy(initial=1.0, maximum=1.0, deadline=10.0, rng=random.Random(3))
    call = Flaky(*[ConnectionError()] * 1000)
    outcome = retry_call(call, policy, retry_everything, wait=clock.wait, clock=clock)
    assert outcome.exhausted
    assert not outcome.ok
    assert sum(clock.waits) <= 10.0
    assert call.calls == len(clock.waits) + 1


def test_no_retry_waits_past_an_absolute_deadline() -> None:
    clock = FakeClock()
    policy = RetryPolicy(initial=5.0, maximum=5.0, deadline=60.0, rng=random.Random(0))
    outcome = retry_call(
        Flaky(*[ConnectionError()] * 100),
        policy,
        retry_everything,
        wait=clock.wait,
        clock=clock,
        deadline=clock.now + 0.001,
    )
    assert outcome.exhausted
    assert [] == [w for w in clock.waits if w > 0.001]


def test_a_cancelled_wait_ends_the_retries_at_once() -> None:
    calls = Flaky(*[ConnectionError()] * 10)
    outcome = retry_call(calls, RetryPolicy(), retry_everything, wait=lambda s: True)
    assert outcome.cancelled
    assert 1 == calls.calls


def test_on_retry_is_told_of_each_retry() -> None:
    clock = FakeClock()
    seen: list[str] = []
    retry_call(
        Flaky(ConnectionError("a"), ConnectionError("b")),
        RetryPolicy(),
        retry_everything,
        wait=clock.wait,
        clock=clock,
        on_retry=lambda exc, delay: seen.append(str(exc)),
    )
    assert ["a", "b"] == seen


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (TimeoutError(), Verdict.RETRY),
        (ConnectionResetError(), Verdict.RETRY),
        (ConnectionRefusedError(), Verdict.RETRY),
        (ValueError(), None),
        (KeyError("x"), None),
    ],
)
def test_transport_errors_are_retryable(error: BaseException, expected: Verdict | None) -> None:
    assert expected is classify_transport_error(error)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"initial": 0}, "retry_initial"),
        ({"maximum": -1}, "retry_maximum"),
        ({"initial": 2.0, "maximum": 1.0}, "retry_maximum"),
        ({"multiplier": 0.5}, "retry_multiplier"),
        ({"deadline": float("nan")}, "retry_deadline"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, float], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RetryPolicy(**options)


def test_a_non_number_is_refused_naming_the_option() -> None:
    with pytest.raises(ValueError, match="retry_initial"):
        RetryPolicy(initial="1")  # type: ignore[arg-type]
