"""The formatter's per-layout plan writes exactly what the careful path writes."""

from __future__ import annotations

import logging
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog import JsonFormatter, schema
from inferlog.formatting import json as json_formatting

# Names an extra may have: inference fields, names the record's core fields take
# (which must come out prefixed), a private one, renamed ones and ordinary ones.
_NAMES = st.sampled_from(
    [
        *schema.INFERENCE_FIELDS[:8],
        "level",
        "timestamp",
        "logger",
        "_private",
        "tenant",
        "score",
        f"{schema.COLLISION_PREFIX}level",
        "exception",
    ]
)
_VALUES = st.one_of(st.none(), st.integers(), st.text(max_size=8), st.lists(st.integers()))
_EXTRAS = st.dictionaries(_NAMES, _VALUES, max_size=8)
_OPTIONS = st.sampled_from(
    [{}, {"schema": "otel"}, {"rename_fields": {"tenant": "org", "score": "level"}}]
)


def _record(extra: dict[str, Any]) -> logging.LogRecord:
    return logging.getLogger("plan").makeRecord(
        "plan", logging.INFO, __file__, 1, "m %s", ("x",), None, extra=extra
    )


def _careful(formatter: JsonFormatter) -> JsonFormatter:
    # The same formatter with no layout ever planned: every record the careful way.
    formatter._plan = lambda *_args: json_formatting._NO_PLAN  # type: ignore[method-assign]
    return formatter


@settings(max_examples=200, deadline=None)
@given(extras=st.lists(_EXTRAS, min_size=1, max_size=4), options=_OPTIONS)
def test_planned_lines_are_the_careful_paths_lines(
    extras: list[dict[str, Any]], options: dict[str, Any]
) -> None:
    try:
        planned, careful = JsonFormatter(**options), _careful(JsonFormatter(**options))
    except ValueError:
        return  # a rename that clashes is refused at construction, both ways
    # Twice each: the second record of a layout takes the cached plan.
    for extra in extras + extras:
        record = _record(extra)
        assert careful.format(record) == planned.format(record)
        assert careful.line_bytes(record) == planned.line_bytes(record)


def test_a_non_str_key_takes_the_careful_way() -> None:
    record = _record({"tenant": "a"})
    record.__dict__[1] = "one"
    formatter = JsonFormatter()
    line = formatter.format(record)
    assert '"tenant":"a"' in line
    assert '"1":"one"' in line
    assert json_formatting._NO_PLAN in formatter._plans.values()


def test_the_plan_cache_is_bounded(monkeypatch: Any) -> None:
    monkeypatch.setattr(json_formatting, "_PLAN_CACHE_LIMIT", 3)
    formatter = JsonFormatter()
    for number in range(10):
        formatter.format(_record({f"field{number}": number}))
    assert len(formatter._plans) <= 3
