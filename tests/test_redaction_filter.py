"""Tests of inferlog.redaction.filter: per-sink copies of one record and their shared memo.

The queue gives every sink its own shallow copy of a record (``copy_record``), all
copies sharing one memo dict. A filter changes only the copy it is given, and one
configuration scans a record once however many copies it redacts.
"""

from __future__ import annotations

import copy
import logging
import sys
from collections.abc import Sequence
from typing import Any

from hypothesis import HealthCheck, given, settings
from strategies import extras as any_extras

from inferlog._record import MEMO_ATTR, copy_record
from inferlog.redaction import REDACTED_MARK_ATTR, RedactionFilter, Redactor


class CountingRedactor(Redactor):
    """A real Redactor that counts the work a filter asks of it.

    A record is either scanned whole (``first_matches``) or, when a field name
    marks a secret, walked field by field (``redact_field``): ``scans`` counts both.
    """

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.scans = 0

    def first_matches(self, texts: Sequence[str]) -> dict[int, int]:
        self.scans += 1
        return super().first_matches(texts)

    def redact_field(
        self,
        name: object,
        value: Any,
        start: int = 0,
        starts: Sequence[int | None] | None = None,
    ) -> tuple[Any, bool, bool]:
        self.scans += 1
        return super().redact_field(name, value, start, starts)


def _record(msg: str, args: Any = None, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("test", logging.INFO, "f.py", 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def _copies(record: logging.LogRecord, count: int) -> list[logging.LogRecord]:
    """What the queue listener hands its sinks: copies sharing one new memo."""
    record.__dict__[MEMO_ATTR] = {}
    try:
        return [copy_record(record) for _ in range(count)]
    finally:
        del record.__dict__[MEMO_ATTR]


def _public(record: logging.LogRecord) -> dict[Any, Any]:
    return {k: v for k, v in vars(record).items() if k not in (MEMO_ATTR, REDACTED_MARK_ATTR)}


def _alone(record: logging.LogRecord, **options: Any) -> dict[Any, Any]:
    """What a filter makes of a fresh copy of ``record`` without any memo."""
    fresh = copy_record(record)
    fresh.__dict__.pop(MEMO_ATTR, None)
    RedactionFilter(**options).filter(fresh)
    return _public(fresh)


def _payload_record() -> logging.LogRecord:
    return _record(
        "user %s paid",
        ("bob@example.com",),
        request_payload={"messages": [{"content": "card 4111 1111 1111 1111"}], "n": 1},
        api_key="sk-live-not-a-real-key",
        client="from 203.0.113.9",
        model_id="gpt-4o-mini",
        latency_ms=12.5,
    )


def test_two_copies_sharing_a_memo_are_scanned_once_with_identical_results() -> None:
    original = _payload_record()
    first, second = _copies(original, 2)
    redactor = CountingRedactor()
    flt = RedactionFilter(redactor=redactor)
    flt.filter(first)
    scans = redactor.scans
    flt.filter(second)
    assert scans > 0
    assert scans == redactor.scans
    assert _public(first) == _public(second)
    assert _alone(original) == _public(second)
    assert "user [REDACTED:EMAIL] paid" == second.msg


def test_two_filters_of_one_configuration_share_the_memo() -> None:
    first, second = _copies(_payload_record(), 2)
    one, other = CountingRedactor(), CountingRedactor()
    RedactionFilter(redactor=one).filter(first)
    RedactionFilter(redactor=other).filter(second)
    assert one.scans > 0
    assert 0 == other.scans
    assert _public(first) == _public(second)


def test_a_copy_that_no_filter_sees_stays_raw_and_the_original_is_unchanged() -> None:
    original = _payload_record()
    before = dict(vars(original))
    payload_before = copy.deepcopy(original.request_payload)  # type: ignore[attr-defined]
    first, second, raw = _copies(original, 3)
    flt = RedactionFilter()
    flt.filter(first)
    flt.filter(second)
    assert before == _public(raw)
    assert all(vars(raw)[k] is v for k, v in before.items())
    assert before == vars(original)
    assert all(vars(original)[k] is v for k, v in before.items())
    assert payload_before == original.request_payload  # type: ignore[attr-defined]
    assert "user %s paid" == original.msg
    assert REDACTED_MARK_ATTR not in vars(original)


def test_filters_of_different_configurations_each_produce_their_own_result() -> None:
    original = _payload_record()
    strict, lenient, hashed = _copies(original, 3)
    options: list[dict[str, Any]] = [
        {},
        {"detectors": {"ipv4": False, "secret_field": False}},
        {"modes": {"email": "hash"}, "hash_key": "k"},
    ]
    for record, opts in zip((strict, lenient, hashed), options, strict=True):
        RedactionFilter(**opts).filter(record)
    for record, opts in zip((strict, lenient, hashed), options, strict=True):
        assert _alone(original, **opts) == _public(record)
    assert "[REDACTED:SECRET]" == vars(strict)["api_key"]
    assert "sk-live-not-a-real-key" == vars(lenient)["api_key"]
    assert "from 203.0.113.9" == vars(lenient)["client"]
    assert vars(hashed)["msg"].startswith("user <email:")
    memo = vars(strict)[MEMO_ATTR]
    assert 3 == len(memo)


def test_the_memo_applies_drop_mode_deletions_too() -> None:
    first, second = _copies(_record("ok", note="mail bob@example.com", model_id="m"), 2)
    flt = RedactionFilter(modes={"email": "drop"})
    flt.filter(first)
    flt.filter(second)
    assert "note" not in vars(first)
    assert "note" not in vars(second)
    assert "m" == vars(second)["model_id"]


def test_a_copy_another_filter_changed_first_is_scanned_not_given_the_memo() -> None:
    # A memo computed from the raw record must not undo what another configuration
    # redacted in this copy: chained filters give the chained result.
    original = _record("mail bob@example.com from 203.0.113.9")
    plain, chained = _copies(original, 2)
    emails_only = RedactionFilter(detectors={"ipv4": False})
    ips_only = RedactionFilter(detectors={"email": False})
    emails_only.filter(plain)
    ips_only.filter(chained)
    emails_only.filter(chained)
    assert "mail [REDACTED:EMAIL] from 203.0.113.9" == plain.msg
    assert "mail [REDACTED:EMAIL] from [REDACTED:IPV4]" == chained.msg


def test_a_copy_whose_attributes_differ_is_scanned_not_given_the_memo() -> None:
    first, second = _copies(_record("hello"), 2)
    redactor = CountingRedactor()
    flt = RedactionFilter(redactor=redactor)
    flt.filter(first)
    second.__dict__["added_by_a_sink_filter"] = "call 415-555-0132"
    flt.filter(second)
    assert 2 == redactor.scans
    assert "call [REDACTED:PHONE]" == vars(second)["added_by_a_sink_filter"]


def test_a_plain_dict_in_the_memo_is_applied_with_one_update() -> None:
    (record,) = _copies(_record("raw text"), 1)
    redactor = CountingRedactor()
    vars(record)[MEMO_ATTR][redactor.mark] = {"msg": "given", "args": None}
    RedactionFilter(redactor=redactor).filter(record)
    assert (0, "given") == (redactor.scans, record.msg)
    assert redactor.mark is vars(record)[REDACTED_MARK_ATTR]


def test_exception_records_are_redacted_per_copy_and_the_original_keeps_exc_info() -> None:
    try:
        raise ValueError("bad key sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z")
    except ValueError:
        original = _record("failed for bob@example.com")
        original.exc_info = sys.exc_info()
    first, second = _copies(original, 2)
    flt = RedactionFilter()
    flt.filter(first)
    flt.filter(second)
    assert (None, None) == (first.exc_info, second.exc_info)
    assert vars(first)["exception"] is vars(second)["exception"]
    assert "[REDACTED:OPENAI_KEY]" in vars(second)["exception"]["message"]
    assert original.exc_info is not None
    assert "exception" not in vars(original)


def test_without_a_memo_the_filter_marks_the_record_and_skips_it_next_time() -> None:
    record = _record("mail bob@example.com")
    redactor = CountingRedactor()
    flt = RedactionFilter(redactor=redactor)
    flt.filter(record)
    flt.filter(record)
    assert (1, "mail [REDACTED:EMAIL]") == (redactor.scans, record.msg)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)
@given(any_extras)
def test_any_record_copy_given_the_memo_equals_the_copy_that_was_scanned(
    extra: dict[str, Any],
) -> None:
    original = _record("mail bob@example.com", **extra)
    before = dict(vars(original))
    first, second = _copies(original, 2)
    flt = RedactionFilter()
    assert flt.filter(first)
    assert flt.filter(second)
    assert vars(first).keys() == vars(second).keys()
    assert all(vars(second)[k] is v for k, v in vars(first).items())
    assert before.keys() == vars(original).keys()
    assert all(vars(original)[k] is v for k, v in before.items())
