"""The engine's one-scan path: which patterns keep it, and that the defaults do."""

from __future__ import annotations

import pytest

from inferlog.redaction._engine import has_edge_assertion
from inferlog.redaction.detectors import builtin_detectors


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        (r"\bfoo\b", False),
        (r"^foo", True),
        (r"foo$", True),
        (r"foo\$", False),
        (r"[$^]x", False),
        (r"[^a]x", False),
        (r"[]^$]x", False),
        (r"\Afoo", True),
        (r"foo\z", True),
        (r"x\By", True),
        (r"[0-9!#$%&*+=?@^_~]", False),
        (r"a\\$", True),
    ],
)
def test_edge_assertions_are_told_from_literals_in_classes(pattern: str, expected: bool) -> None:
    assert expected == has_edge_assertion(pattern)


def test_the_default_detectors_keep_the_one_scan_path() -> None:
    # One pattern with an edge assertion makes every record's texts scan one by one
    # (a record with no PII cost 2.6x as much when a class held a literal "$").
    assert [] == [d.name for d in builtin_detectors() if has_edge_assertion(d.pattern)]
