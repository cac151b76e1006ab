"""Checks for option values that several public classes share."""

from __future__ import annotations

import logging


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
