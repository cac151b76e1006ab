"""``inferlog replay``: feed logged requests to a shadow model and compare the answers.

Each inference record's ``request_payload`` (as logged, i.e. after redaction) goes to
the model under test; its answer is compared with the logged ``response_payload``, or
with what a baseline model answers to the same input. Numbers agree within a relative
tolerance; everything else must be equal after a JSON round trip (what logging did to
the logged side).

Answers are summarised per *input shape* (the keys of the request and the JSON type of
each value): an input format that changed at some point (a renamed key, an amount
sent as a string) shows up as a new shape, first seen at that time, with its own
agreement rate.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from inferlog import schema
from inferlog.analysis.errors import UsageError
from inferlog.analysis.selection import FieldFilter, TimeWindow, all_match
from inferlog.analysis.sources import resolve_paths
from inferlog.reader import OnInvalid, read_records

__all__ = [
    "DEFAULT_MAX_DIFFERENCES",
    "DEFAULT_TOLERANCE",
    "Difference",
    "ReplayReport",
    "ShapeSummary",
    "answers_agree",
    "input_shape",
    "load_callable",
    "replay",
]

#: Relative tolerance within which two numbers agree.
DEFAULT_TOLERANCE: Final = 1e-6
#: Differing records kept in the report (all are counted).
DEFAULT_MAX_DIFFERENCES: Final = 20
_TRUNCATED_MARK: Final = "...[truncated"


def load_callable(spec: str) -> Callable[[Any], Any]:
    """Return the callable named ``module:attribute`` or ``path/to/file.py:attribute``.

    Raises:
        UsageError: the form is wrong, the module cannot be imported, or the
            attribute is missing or not callable.
    """
    module_name, sep, attribute = spec.rpartition(":")
    if not sep or not module_name or not attribute:
        raise UsageError(f"{spec!r}: name a callable as module:function or file.py:function")
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = os.path.abspath(module_name)
            if not os.path.exists(path):
                raise UsageError(f"{spec!r}: no such file {module_name}")
            name = f"_inferlog_replay_{abs(hash(path))}"
            module_spec = importlib.util.spec_from_file_location(name, path)
            if module_spec is None or module_spec.loader is None:
                raise UsageError(f"{spec!r}: cannot load {module_name}")
            module = importlib.util.module_from_spec(module_spec)
            sys.modules[name] = module
            module_spec.loader.exec_module(module)
        else:
            if os.getcwd() not in sys.path and "" not in sys.path:
                sys.path.insert(0, os.getcwd())
            module = importlib.import_module(module_name)
    except UsageError:
        raise
    except Exception as err:
        raise UsageError(
            f"{spec!r}: cannot import {module_name}: {type(err).__name__}: {err}"
        ) from err
    target: Any = module
    for part in attribute.split("."):
        target = getattr(target, part, None)
    if not callable(target):
        raise UsageError(f"{spec!r}: {module_name} has no callable {attribute}")
    return target  # type: ignore[no-any-return]


def input_shape(value: Any) -> str:
    """A short signature of ``value``'s structure: keys and JSON types, not values."""
    if isinstance(value, Mapping):
        inner = ", ".join(f"{key}: {input_shape(value[key])}" for key in sorted(value, key=str))
        return "{" + inner + "}"
    if isinstance(value, (list, tuple)):
        kinds = sorted({input_shape(item) for item in value})
        return "[" + " | ".join(kinds) + "]"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if value is None:
        return "null"
    return "string" if isinstance(value, str) else type(value).__name__


def _normalise(value: Any) -> Any:
    """``value`` as logging would have written it: through JSON and back."""
    return orjson.loads(orjson.dumps(value, default=repr, option=orjson.OPT_SERIALIZE_NUMPY))


def answers_agree(expected: Any, actual: Any, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    """Whether two JSON values agree, numbers within relative ``tolerance``."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return bool(expected == actual)
    if isinstance(expected, (int, float)) and isinstance(actual, (int, float)):
        return math.isclose(expected, actual, rel_tol=tolerance, abs_tol=tolerance)
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        return expected.keys() == actual.keys() and all(
            answers_agree(expected[k], actual[k], tolerance) for k in expected
        )
    if isinstance(expected, list) and isinstance(actual, list):
        return len(expected) == len(actual) and all(
            answers_agree(e, a, tolerance) for e, a in zip(expected, actual, strict=False)
        )
    return bool(expected == actual)


@dataclass
class Difference:
    """One record whose replayed answer differs from the expected one."""

    request_id: str | None
    timestamp: str | None
    shape: str
    request: Any
    expected: Any
    actual: Any
    #: ``Type: message`` when the model raised instead of answering.
    error: str | None = None


@dataclass
class ShapeSummary:
    """The records of one input shape: when seen, and how the replay went."""

    shape: str
    first_seen: str | None = None
    last_seen: str | None = None
    replayed: int = 0
    agreed: int = 0
    failed: int = 0
    #: What the model raised on the first request of this shape it failed on.
    first_error: str | None = None

    @property
    def agreement(self) -> float:
        """Share of replayed records whose answers agree."""
        return self.agreed / self.replayed if self.replayed else 0.0


@dataclass
class ReplayReport:
    """What a replay found."""

    replayed: int = 0
    agreed: int = 0
    failed: int = 0
    #: Records without a usable request (or expected answer) to replay.
    skipped: int = 0
    shapes: list[ShapeSummary] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)

    @property
    def differed(self) -> int:
        """Records whose answers did not agree (model errors included)."""
        return self.replayed - self.agreed

    @property
    def agreement(self) -> float:
        """Share of replayed records whose answers agree."""
        return self.agreed / self.replayed if self.replayed else 0.0


def _pick(answer: Any, part: tuple[str, ...]) -> Any:
    for key in part:
        answer = answer.get(key) if isinstance(answer, Mapping) else None
    return answer


def _call(model: Callable[[Any], Any], request: Any) -> tuple[Any, str | None]:
    try:
        return _normalise(model(request)), None
    except Exception as err:
        return None, f"{type(err).__name__}: {err}"


def replay(
    paths: str | Iterable[str],
    model: Callable[[Any], Any],
    *,
    baseline: Callable[[Any], Any] | None = None,
    window: TimeWindow | None = None,
    filters: Iterable[FieldFilter] = (),
    tolerance: float = DEFAULT_TOLERANCE,
    compare: str | None = None,
    max_differences: int = DEFAULT_MAX_DIFFERENCES,
    on_invalid: OnInvalid | None = None,
    on_record: Callable[[], None] | None = None,
) -> ReplayReport:
    """Replay the logged requests of the inference records in ``paths`` against ``model``.

    ``model`` (and ``baseline``) take one logged ``request_payload`` and return an
    answer. Records without a request payload, with a truncated one, or (without a
    baseline) without a logged response are counted as skipped. ``compare`` names
    the part of the answers to compare (``decision``, ``scores.fraud``), for models
    whose answers differ in detail by design. ``on_record`` is called once per record
    considered (a progress bar).
    """
    part = tuple(compare.split(".")) if compare else ()
    window = window or TimeWindow()
    chosen = tuple(filters)
    report = ReplayReport()
    shapes: dict[str, ShapeSummary] = {}
    for record in read_records(resolve_paths(paths), on_invalid=on_invalid):
        if schema.MODEL_ID not in record or not window.contains(record):
            continue
        if not all_match(chosen, record):
            continue
        if on_record is not None:
            on_record()
        request = record.get(schema.REQUEST_PAYLOAD)
        if request is None or (isinstance(request, str) and _TRUNCATED_MARK in request):
            report.skipped += 1
            continue
        if baseline is not None:
            expected, baseline_error = _call(baseline, request)
            if baseline_error is not None:
                report.skipped += 1
                continue
        elif schema.RESPONSE_PAYLOAD in record and record.get(schema.STATUS) != "error":
            expected = record[schema.RESPONSE_PAYLOAD]
        else:
            report.skipped += 1
            continue
        actual, error = _call(model, request)
        shape = input_shape(request)
        summary = shapes.setdefault(shape, ShapeSummary(shape))
        stamp = record.get(schema.TIMESTAMP)
        summary.first_seen = summary.first_seen or stamp
        summary.last_seen = stamp or summary.last_seen
        summary.replayed += 1
        report.replayed += 1
        if error is None and answers_agree(_pick(expected, part), _pick(actual, part), tolerance):
            summary.agreed += 1
            report.agreed += 1
            continue
        if error is not None:
            summary.first_error = summary.first_error or error
            summary.failed += 1
            report.failed += 1
        if len(report.differences) < max_differences:
            report.differences.append(
                Difference(
                    record.get(schema.REQUEST_ID), stamp, shape, request, expected, actual, error
                )
            )
    report.shapes = sorted(shapes.values(), key=lambda s: s.first_seen or "")
    return report
