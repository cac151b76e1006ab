"""The documented markers survive redaction: cycles, format errors, whatever stages run."""

from __future__ import annotations

import json
import logging
from typing import Any

from hypothesis import given, settings

from inferlog.formatting import JsonFormatter
from inferlog.formatting._bounds import circular_marker
from inferlog.redaction import RedactionFilter, Redactor
from tests.strategies import any_values


def _record(msg: str, args: Any, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def _line(record: logging.LogRecord, *, redact: bool) -> dict[str, Any]:
    if redact:
        assert RedactionFilter().filter(record)
    return dict(json.loads(JsonFormatter().format(record)))


def test_a_self_referencing_list_gets_the_cycle_marker_with_redaction_on() -> None:
    items: list[Any] = ["jane.doe@example.com"]
    items.append(items)
    line = _line(_record("x", None, payload=items), redact=True)
    assert ["[REDACTED:EMAIL]", circular_marker(items)] == line["payload"]


def test_a_self_referencing_dict_is_marked_alike_with_or_without_redaction() -> None:
    mapping: dict[str, Any] = {"a": 1}
    mapping["self"] = mapping
    plain = _line(_record("x", None, payload=mapping), redact=False)
    redacted = _line(_record("x", None, payload=mapping), redact=True)
    assert plain["payload"] == redacted["payload"] == {"a": 1, "self": circular_marker(mapping)}


def test_redact_value_marks_a_cycle_and_leaves_the_original_alone() -> None:
    items: list[Any] = [1]
    items.append(items)
    assert [1, circular_marker(items)] == Redactor().redact_value(items)
    assert items[1] is items


def test_a_format_mismatch_keeps_its_markers_through_redaction() -> None:
    plain = _line(_record("user %s paid %s", ("a@b.example",)), redact=False)
    redacted = _line(_record("user %s paid %s", ("a@b.example",)), redact=True)
    assert ("user %s paid %s", plain["message_error"]) == (
        redacted["message"],
        redacted["message_error"],
    )
    assert plain["message_error"].startswith("TypeError")
    assert ["[REDACTED:EMAIL]"] == redacted["message_args"]
    assert ["a@b.example"] == plain["message_args"]


def test_a_format_mismatch_with_container_extras_keeps_its_markers() -> None:
    record = _record("%d items", ("many",), items=[1, 2], note="call 555-0100")
    line = _line(record, redact=True)
    assert "message_error" in line
    assert ["many"] == line["message_args"]


def test_deep_nesting_gets_the_formatters_depth_marker_with_redaction_on() -> None:
    deep: Any = "a@b.example"
    for _ in range(300):
        deep = [deep]
    plain = json.dumps(_line(_record("x", None, payload=deep), redact=False)["payload"])
    redacted = json.dumps(_line(_record("x", None, payload=deep), redact=True)["payload"])
    marker = "<nested deeper than 64 levels: list>"
    assert (marker in plain, marker in redacted) == (True, True)
    assert "a@b.example" not in redacted


@settings(max_examples=100, deadline=None)
@given(value=any_values)
def test_any_value_formats_with_the_same_markers_with_redaction_on(value: Any) -> None:
    line = _line(_record("x", None, payload=value), redact=True)
    text = json.dumps(line["payload"])
    assert "[REDACTED:DEPTH]" not in text
