"""The engine's one-scan path: which patterns keep it, and that the defaults do."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferlog.redaction import Redactor
from inferlog.redaction._engine import has_edge_assertion
from inferlog.redaction.detectors import BUILTIN_NAMES, Detector, builtin_detectors


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


# --- a detector's start pattern ----------------------------------------------------------

_BUILTIN_OFF = {name: False for name in BUILTIN_NAMES if name != "secret_field"}


def _without_start_patterns() -> Redactor:
    # The same detectors, in the same order, each searched for by its whole pattern.
    same = [
        dataclasses.replace(d, name=f"{d.name}_whole", label=d.mask_label, start=None)
        for d in Redactor().detectors
    ]
    return Redactor(detectors=_BUILTIN_OFF, custom_detectors=same)


_WHOLE = _without_start_patterns()
_PEM_BODY = "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC\\nBKcwggSjAgEAAoIBAQC7"
_start_pieces = st.sampled_from(
    [
        "Cookie: session=abc123; theme=dark",
        "set-cookie:sid=9f8e7d; Path=/",
        "cookie : ",
        f"-----BEGIN PRIVATE KEY-----\\n{_PEM_BODY}\\n-----END PRIVATE KEY-----",
        f"-----BEGIN OPENSSH PRIVATE KEY-----\n{_PEM_BODY}",
        "-----BEGIN RSA PRIVATE KEY-----",
        "contact ada.lovelace@example.com",
        "card 4111 1111 1111 1111",
        "password=hunter2!",
        "the model answered in prose",
        '"Cookie": "a=b"',
        "\n",
    ]
)


def test_the_builtin_detectors_with_a_start_pattern_are_the_unbounded_ones() -> None:
    assert ["private_key", "secret"] == [d.name for d in builtin_detectors() if d.start]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(_start_pieces, st.text(max_size=12)), max_size=8).map(" ".join))
def test_start_patterns_change_no_result(text: str) -> None:
    # Searching for where a match begins, then running the pattern there, must find
    # exactly what searching for the whole pattern finds.
    assert _WHOLE.redact(text) == Redactor().redact(text)


def test_a_start_pattern_outside_re2_syntax_is_refused_by_name() -> None:
    bad = Detector("badge", r"B-[0-9]{4}", start=r"(?<=x)B")
    with pytest.raises(ValueError, match="'badge': start is not valid RE2"):
        Redactor(custom_detectors=[bad])


def test_a_start_pattern_that_matches_where_the_pattern_does_not_finds_nothing_wrong() -> None:
    # The start pattern is a pre-selection: where it matches and the pattern does not,
    # the other detectors still get their turn.
    loose = Detector("badge", r"B-[0-9]{4}\b", start=r"B-")
    redactor = Redactor(custom_detectors=[loose])
    assert "B-12 [REDACTED:BADGE] [REDACTED:EMAIL]" == redactor.redact(
        "B-12 B-1234 ada@example.com"
    )
