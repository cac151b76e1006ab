"""Checks for option values that several public classes share."""

from __future__ import annotations

import logging
import math


def check_level(name: str, value: int | str) -> int:
    """Return the numeric logging level for ``value`` (a number or a level name).

    Raises ``ValueError`` naming the option ``name`` for anything else, including
    booleans, which are ints to Python but never meant as a level.
    """
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        resolved = logging.getLevelName(value.upper())
        if isinstance(resolved, int):
            return resolved
    raise ValueError(
        f"unknown logging level {value!r}: {name} must be a level name such as 'INFO' "
        "or a number such as 20"
    )


#: The longest duration any option takes: 100 years. Every interval ends up as a wait
#: on a lock or a condition, which refuses more than ``threading.TIMEOUT_MAX`` (and on
#: a thread, that refusal would stop the thread instead of failing at configuration).
MAX_SECONDS = 100 * 365 * 86_400


def check_seconds(name: str, value: object, *, positive: bool = False) -> float:
    """Return ``value`` as a finite number of seconds, ``>= 0`` (``> 0`` if ``positive``)
    and at most :data:`MAX_SECONDS`.

    Raises ``ValueError`` naming the option for anything else: strings, booleans,
    NaN, infinities, negative numbers and durations beyond 100 years.
    """
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        try:
            number = float(value)
        except OverflowError:  # an int too large for a float
            number = math.inf
        if number <= MAX_SECONDS and (number > 0 if positive else number >= 0):
            return number
    bound = "> 0" if positive else ">= 0"
    raise ValueError(
        f"{name} must be a finite number of seconds {bound} and at most {MAX_SECONDS} "
        f"(100 years), got {value!r}"
    )


def check_count(name: str, value: object, *, minimum: int = 1) -> int:
    """Return ``value`` as an int ``>= minimum``; ``ValueError`` naming the option otherwise."""
    if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
        return value
    raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
