"""pytest plugin: python-json-logger's formatter tests with ``inferlog.JsonFormatter``.

Loaded with ``-p tests.compat.pjl_adapter`` by ``tests/compat/run_pjl_tests.py``. Their
``tests/test_formatters.py`` parametrises every common test over the formatter classes
it finds (``pythonjsonlogger.json.JsonFormatter``, and the orjson and msgspec ones when
those are installed) when the module is imported. Before that import, this plugin puts
``inferlog.JsonFormatter`` in the place of their ``JsonFormatter`` and hides the other
two, so every test runs once, against inferlog, under the id ``[JsonFormatter]``.

Each documented difference (:data:`DIFFERENCES_FILE`, read by ``docs/migrating.md`` too)
turns the tests it names into strict xfails carrying its reason: a difference that
stops failing is reported, so the list cannot go stale.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import pythonjsonlogger
import pythonjsonlogger.json

import inferlog

#: The one list of python-json-logger behaviours inferlog departs from, with reasons.
DIFFERENCES_FILE = Path(__file__).with_name("pjl_differences.json")


def load_differences(path: Path = DIFFERENCES_FILE) -> list[dict[str, Any]]:
    """The documented differences: ``id``, ``what``, ``why``, ``option`` and ``tests``."""
    data = json.loads(path.read_text(encoding="utf-8"))
    differences: list[dict[str, Any]] = data["differences"]
    return differences


def matches(name: str, pattern: str) -> bool:
    """Whether test id ``name`` matches ``pattern``, where only ``*`` is a wildcard.

    (fnmatch would read the ``[...]`` of a parametrised id as a character class.)
    """
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, name) is not None


def pytest_configure(config: pytest.Config) -> None:
    """Swap the formatter under test before their test module is imported."""
    pythonjsonlogger.json.JsonFormatter = inferlog.JsonFormatter  # type: ignore[misc]
    pythonjsonlogger.ORJSON_AVAILABLE = False  # type: ignore[misc]
    pythonjsonlogger.MSGSPEC_AVAILABLE = False  # type: ignore[misc]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test a documented difference names as a strict xfail with its reason."""
    differences = load_differences()
    for item in items:
        for difference in differences:
            if any(matches(item.name, pattern) for pattern in difference["tests"]):
                reason = f"{difference['id']}: {difference['what']}"
                item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
                break
