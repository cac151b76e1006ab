"""The shared level check used by configure(), inference, middleware and sampling."""

from __future__ import annotations

import logging

import pytest

from inferlog._validation import MAX_SECONDS, check_level, check_seconds


@pytest.mark.parametrize(
    ("value", "expected"), [("INFO", logging.INFO), ("warning", logging.WARNING), (15, 15)]
)
def test_check_level_accepts_names_in_any_case_and_numbers(value: int | str, expected: int) -> None:
    assert check_level("level", value) == expected


@pytest.mark.parametrize("value", [True, "LOUD", 2.5, None])
def test_check_level_names_the_option_for_anything_else(value: object) -> None:
    with pytest.raises(ValueError, match=r"unknown logging level .*keep_level must be"):
        check_level("keep_level", value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [MAX_SECONDS + 1, 1e300, 10**400, float("inf"), float("nan")])
def test_check_seconds_refuses_durations_no_wait_can_take(value: object) -> None:
    # Every interval ends up as a wait on a lock or a condition, which refuses more
    # than threading.TIMEOUT_MAX: refused here, with the option's name, rather than
    # on a background thread that would stop.
    with pytest.raises(ValueError, match=r"tick_interval must be .* at most 3153600000"):
        check_seconds("tick_interval", value)


def test_check_seconds_takes_up_to_a_hundred_years() -> None:
    assert float(MAX_SECONDS) == check_seconds("x", MAX_SECONDS)
