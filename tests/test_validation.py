"""The shared level check used by configure(), inference, middleware and sampling."""

from __future__ import annotations

import logging

import pytest

from inferlog._validation import check_level


@pytest.mark.parametrize(
    ("value", "expected"), [("INFO", logging.INFO), ("warning", logging.WARNING), (15, 15)]
)
def test_check_level_accepts_names_in_any_case_and_numbers(value: int | str, expected: int) -> None:
    assert check_level("level", value) == expected


@pytest.mark.parametrize("value", [True, "LOUD", 2.5, None])
def test_check_level_names_the_option_for_anything_else(value: object) -> None:
    with pytest.raises(ValueError, match=r"unknown logging level .*keep_level must be"):
        check_level("keep_level", value)  # type: ignore[arg-type]
