"""``inferlog drift``: has the distribution of a logged input feature moved?

A feature is any record field or payload path (``input_token_count``,
``request_payload.features.amount``). Its values in a baseline (a time window, or one
group such as a model version) are compared with those in a window (or every other
group) by two statistics:

- PSI, the population stability index: bins are the baseline's deciles (for numbers)
  or its categories (for text); ``sum((a - e) * ln(a / e))`` over the bins' shares,
  each share floored at :data:`PSI_FLOOR`. Rule of thumb: below 0.1 stable, above
  0.25 a real shift.
- KS, the two-sample Kolmogorov-Smirnov statistic: the largest gap between the two
  empirical distribution functions (numbers only).

A comparison is flagged when PSI reaches ``psi_threshold`` or KS reaches
``ks_threshold``. Values are read by DuckDB; the statistics are exact.
"""

from __future__ import annotations

import bisect
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from inferlog import schema
from inferlog.analysis.engine import RECORDS_TABLE, FileReport, connect, load_records
from inferlog.analysis.errors import InputError
from inferlog.analysis.selection import FieldFilter, FieldRef, TimeWindow
from inferlog.analysis.sources import resolve_paths
from inferlog.analysis.sql import DUCKDB

__all__ = [
    "DEFAULT_BINS",
    "DEFAULT_KS_THRESHOLD",
    "DEFAULT_PSI_THRESHOLD",
    "PSI_FLOOR",
    "DriftResult",
    "DriftRow",
    "compare",
    "ks_statistic",
    "psi",
]

#: Quantile bins of the baseline used for numeric PSI.
DEFAULT_BINS: Final = 10
#: PSI at or above which drift is flagged.
DEFAULT_PSI_THRESHOLD: Final = 0.2
#: KS statistic at or above which drift is flagged.
DEFAULT_KS_THRESHOLD: Final = 0.1
#: Smallest share a bin is given, so that an empty bin does not make PSI infinite.
PSI_FLOOR: Final = 1e-4


def _shares(counts: Sequence[int]) -> list[float]:
    total = sum(counts)
    return [max(count / total, PSI_FLOOR) if total else PSI_FLOOR for count in counts]


def _psi_from_counts(expected: Sequence[int], actual: Sequence[int]) -> float:
    pairs = zip(_shares(expected), _shares(actual), strict=True)
    return sum((a - e) * math.log(a / e) for e, a in pairs)


def psi(baseline: Sequence[Any], current: Sequence[Any], bins: int = DEFAULT_BINS) -> float:
    """Population stability index of ``current`` against ``baseline`` (numbers or text)."""
    if not baseline or not current:
        raise ValueError("psi needs values on both sides")
    if all(isinstance(v, (int, float)) for v in (*baseline, *current)):
        ordered = sorted(baseline)
        edges = sorted(
            {ordered[min(len(ordered) - 1, (len(ordered) * i) // bins)] for i in range(1, bins)}
        )

        def histogram(values: Sequence[float]) -> list[int]:
            counts = [0] * (len(edges) + 1)
            for value in values:
                counts[bisect.bisect_right(edges, value)] += 1
            return counts

        return _psi_from_counts(histogram(baseline), histogram(current))
    base, now = Counter(map(str, baseline)), Counter(map(str, current))
    categories = sorted(set(base) | set(now))
    return _psi_from_counts([base[c] for c in categories], [now[c] for c in categories])


def ks_statistic(first: Sequence[float], second: Sequence[float]) -> float:
    """Two-sample Kolmogorov-Smirnov statistic: the largest gap between the two ECDFs."""
    if not first or not second:
        raise ValueError("ks_statistic needs values on both sides")
    a, b = sorted(first), sorted(second)
    gap = 0.0
    for value in sorted(set(a) | set(b)):
        cdf_a = bisect.bisect_right(a, value) / len(a)
        cdf_b = bisect.bisect_right(b, value) / len(b)
        gap = max(gap, abs(cdf_a - cdf_b))
    return gap


@dataclass
class DriftRow:
    """One comparison: a window or group against the baseline."""

    label: str
    baseline_count: int
    count: int
    psi: float | None
    ks: float | None
    drifted: bool


@dataclass
class DriftResult:
    """The comparisons, and what the files held."""

    feature: str
    baseline: str
    rows: list[DriftRow]
    files: list[FileReport]

    @property
    def drifted(self) -> bool:
        """Whether any comparison was flagged."""
        return any(row.drifted for row in self.rows)


def _number(text: str | None) -> float | str | None:
    if text is None:
        return None
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def _row(
    label: str,
    baseline: Sequence[Any],
    current: Sequence[Any],
    psi_threshold: float,
    ks_threshold: float,
) -> DriftRow:
    if not baseline or not current:
        return DriftRow(label, len(baseline), len(current), None, None, False)
    value_psi = psi(baseline, current)
    numeric = all(isinstance(v, float) for v in (*baseline, *current))
    value_ks = ks_statistic(baseline, current) if numeric else None
    drifted = value_psi >= psi_threshold or (value_ks is not None and value_ks >= ks_threshold)
    return DriftRow(label, len(baseline), len(current), value_psi, value_ks, drifted)


def compare(
    paths: str | Iterable[str],
    feature: FieldRef,
    *,
    baseline_window: TimeWindow | None = None,
    window: TimeWindow | None = None,
    by: FieldRef | None = None,
    baseline_group: str | None = None,
    filters: Iterable[FieldFilter] = (),
    schema_name: schema.SchemaName = "inferlog",
    psi_threshold: float = DEFAULT_PSI_THRESHOLD,
    ks_threshold: float = DEFAULT_KS_THRESHOLD,
) -> DriftResult:
    """Compare ``feature`` between two time windows, or between groups of ``by``.

    With ``by``, the baseline is ``baseline_group`` (default: the group seen first) and
    every other group is compared with it; otherwise ``window`` is compared with
    ``baseline_window``.
    """
    files = resolve_paths(paths)
    feature = FieldRef(schema.field_name(feature.root, schema_name), feature.path)
    chosen = tuple(
        FieldFilter(
            FieldRef(schema.field_name(f.field.root, schema_name), f.field.path), f.value, f.negate
        )
        for f in filters
    )
    group = FieldRef(schema.field_name(by.root, schema_name), by.path) if by else None
    columns = {schema.TIMESTAMP: "TIMESTAMPTZ", feature.root: feature.column_type()}
    for ref in (*(f.field for f in chosen), *([group] if group else [])):
        columns.setdefault(ref.root, ref.column_type())
    group_sql = DUCKDB.text(group) if group else "NULL"
    where = [f"{DUCKDB.text(feature)} IS NOT NULL", *(f.sql(DUCKDB.text(f.field)) for f in chosen)]
    con = connect()
    try:
        reports = load_records(con, files, columns)
        rows = con.execute(
            f"SELECT epoch({DUCKDB.timestamp}), {group_sql}, {DUCKDB.text(feature)} "
            f"FROM {RECORDS_TABLE} WHERE {' AND '.join(where)} ORDER BY 1 NULLS FIRST"
        ).fetchall()
    finally:
        con.close()
    values = [(seconds, label, _number(text)) for seconds, label, text in rows]
    if not values:
        raise InputError(f"no record has a value for {feature.name}")
    if group is not None:
        return _compare_groups(
            feature.name, values, baseline_group, reports, psi_threshold, ks_threshold
        )
    base_window = baseline_window or TimeWindow()
    current_window = window or TimeWindow()

    def inside(w: TimeWindow, seconds: float | None) -> bool:
        if seconds is None:
            return w.since is None and w.until is None
        return (w.since is None or seconds >= w.since.timestamp()) and (
            w.until is None or seconds < w.until.timestamp()
        )

    base = [v for s, _, v in values if inside(base_window, s)]
    current = [v for s, _, v in values if inside(current_window, s)]
    row = _row(_describe(current_window), base, current, psi_threshold, ks_threshold)
    return DriftResult(feature.name, _describe(base_window), [row], reports)


def _compare_groups(
    feature: str,
    values: list[tuple[float | None, str | None, Any]],
    baseline_group: str | None,
    reports: list[FileReport],
    psi_threshold: float,
    ks_threshold: float,
) -> DriftResult:
    groups: dict[str, list[Any]] = {}
    for _seconds, label, value in values:
        groups.setdefault("-" if label is None else label, []).append(value)
    baseline = baseline_group if baseline_group is not None else next(iter(groups))
    if baseline not in groups:
        raise InputError(f"no record of group {baseline!r}; groups seen: {sorted(groups)}")
    rows = [
        _row(label, groups[baseline], current, psi_threshold, ks_threshold)
        for label, current in groups.items()
        if label != baseline
    ]
    return DriftResult(feature, baseline, rows, reports)


def _describe(window: TimeWindow) -> str:
    if window.since is None and window.until is None:
        return "all records"
    since = window.since.isoformat() if window.since else "..."
    until = window.until.isoformat() if window.until else "..."
    return f"{since} to {until}"
