"""pytest plugin (entry point ``inferlog``): the ``inferlog_records`` fixture."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inferlog.testing import capture_records

__all__ = ["inferlog_records"]


@pytest.fixture
def inferlog_records() -> Iterator[list[dict[str, Any]]]:
    """The records the inferlog pipeline would write during the test, as dicts.

    Every logger, from DEBUG, through context, redaction and formatting; see
    :func:`inferlog.testing.capture_records` for other options.
    """
    with capture_records() as records:
        yield records
