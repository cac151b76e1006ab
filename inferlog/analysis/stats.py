"""``inferlog stats``: per group, calls, error rate, latency quantiles, the token relation.

:func:`compute_stats` reads the files once into DuckDB
(:func:`~inferlog.analysis.engine.load_records`) and runs the query of
:func:`~inferlog.analysis.sql.stats_sql` over them; how each figure is defined is
documented there.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from inferlog.analysis.engine import RECORDS_TABLE, FileReport, connect, load_records
from inferlog.analysis.sources import resolve_paths
from inferlog.analysis.sql import STAT_COLUMNS, StatsSpec, source_columns, stats_sql

__all__ = ["StatsResult", "compute_stats"]


@dataclass
class StatsResult:
    """The statistics table and what the files held."""

    #: Names of the group columns, then :data:`~inferlog.analysis.sql.STAT_COLUMNS`.
    columns: list[str]
    #: One dict per group, keyed by ``columns``.
    rows: list[dict[str, Any]]
    files: list[FileReport] = field(default_factory=list)
    #: The query that computed ``rows`` (over the loaded table).
    sql: str = ""

    @property
    def records(self) -> int:
        """Records read across all files (readable lines)."""
        return sum(report.records for report in self.files)

    @property
    def unreadable(self) -> int:
        """Lines skipped across all files."""
        return sum(report.unreadable for report in self.files)


def run_stats_query(con: Any, spec: StatsSpec, source: str) -> list[dict[str, Any]]:
    """Run the stats query of ``spec`` over ``source`` on ``con``; one dict per group."""
    sql = stats_sql(spec, source)
    cursor = con.execute(sql)
    names = [description[0] for description in cursor.description]
    return [dict(zip(names, row, strict=False)) for row in cursor.fetchall()]


def compute_stats(
    paths: str | Iterable[str],
    spec: StatsSpec | None = None,
    *,
    memory_limit: str | None = None,
    plot_path: str | None = None,
) -> StatsResult:
    """Compute the statistics of the inference records in ``paths``.

    Args:
        paths: files, directories or globs (see
            :func:`~inferlog.analysis.sources.resolve_paths`).
        spec: grouping, time window, filters and schema (default: by model id and
            version, every record, the inferlog schema).
        memory_limit: DuckDB's memory ceiling (default
            :data:`~inferlog.analysis.engine.DEFAULT_MEMORY_LIMIT`).
        plot_path: also draw :func:`~inferlog.analysis.plot.draw_stats_plot` there.

    Raises:
        InputError: a path is missing or the files cannot be read.
        MissingExtraError: DuckDB is not installed.
    """
    spec = spec or StatsSpec()
    files = resolve_paths(paths)
    con = connect(memory_limit=memory_limit) if memory_limit else connect()
    try:
        reports = load_records(con, files, source_columns(spec))
        rows = run_stats_query(con, spec, RECORDS_TABLE)
        if plot_path:
            from inferlog.analysis.plot import draw_stats_plot

            draw_stats_plot(con, spec, RECORDS_TABLE, plot_path)
    finally:
        con.close()
    columns = [*spec.group_aliases(), *STAT_COLUMNS]
    return StatsResult(columns, rows, reports, stats_sql(spec, RECORDS_TABLE))


def group_label(row: dict[str, Any], aliases: Sequence[str]) -> str:
    """``model@version``-style label of a row's group (``all`` without groups)."""
    if not aliases:
        return "all"
    return "@".join("-" if row.get(alias) is None else str(row[alias]) for alias in aliases)
