"""``inferlog stats``: per group, calls, error rate, latency quantiles, the token relation.

:func:`compute_stats` reads the files once, in DuckDB, into the small table of sums
of :func:`~inferlog.analysis.sql.parts_sql` (which also counts each file's lines and
unreadable lines), and computes the statistics from it; how each figure is defined
is documented in :mod:`~inferlog.analysis.sql`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from inferlog.analysis.engine import (
    FILENAME_COLUMN,
    UNREADABLE_SQL,
    FileReport,
    account,
    connect,
    fans_out,
    materialize,
    read_json_sql,
)
from inferlog.analysis.sources import resolve_paths
from inferlog.analysis.sql import (
    PART_FILE,
    STAT_COLUMNS,
    StatsSpec,
    parts_sql,
    source_columns,
    stats_from_parts_sql,
)

__all__ = ["PARTS_TABLE", "StatsResult", "compute_stats", "group_label", "run_query"]

#: Temporary table of the per-file counts and the per-group and per-latency sums.
PARTS_TABLE = "inferlog_parts"


@dataclass
class StatsResult:
    """The statistics table and what the files held."""

    #: Names of the group columns, then :data:`~inferlog.analysis.sql.STAT_COLUMNS`.
    columns: list[str]
    #: One dict per group, keyed by ``columns``.
    rows: list[dict[str, Any]]
    files: list[FileReport] = field(default_factory=list)
    #: The query that computed ``rows`` from the sums (:data:`PARTS_TABLE`).
    sql: str = ""

    @property
    def records(self) -> int:
        """Records read across all files (readable lines)."""
        return sum(report.records for report in self.files)

    @property
    def unreadable(self) -> int:
        """Lines skipped across all files."""
        return sum(report.unreadable for report in self.files)


def run_query(con: Any, sql: str) -> list[dict[str, Any]]:
    """Run ``sql`` on ``con``; one dict per row, keyed by column name."""
    cursor = con.execute(sql)
    names = [description[0] for description in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def compute_stats(
    paths: str | Iterable[str],
    spec: StatsSpec | None = None,
    *,
    memory_limit: str | None = None,
    plot_path: str | None = None,
    on_progress: Callable[[float], None] | None = None,
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
        on_progress: called with the share of the reading done (0 to 100), for a
            progress bar.

    Raises:
        InputError: a path is missing or the files cannot be read.
        MissingExtraError: DuckDB is not installed.
    """
    spec = spec or StatsSpec()
    files = resolve_paths(paths)
    con = connect(memory_limit=memory_limit) if memory_limit else connect()
    columns = source_columns(spec)
    try:
        reports, originals = materialize(
            con,
            PARTS_TABLE,
            files,
            columns,
            lambda source: parts_sql(
                spec,
                source,
                per_file=FILENAME_COLUMN,
                unreadable=UNREADABLE_SQL,
                fan_out=fans_out(),
            ),
            on_progress=on_progress,
        )
        counts = con.execute(
            f"SELECT file, lines, bad FROM {PARTS_TABLE} WHERE part = '{PART_FILE}'"
        )
        files_read = account(reports, originals, counts.fetchall())
        sql = stats_from_parts_sql(spec, PARTS_TABLE)
        rows = run_query(con, sql)
        if plot_path:
            from inferlog.analysis.plot import draw_stats_plot

            draw_stats_plot(con, spec, read_json_sql(files, columns), plot_path)
    finally:
        con.close()
    return StatsResult([*spec.group_aliases(), *STAT_COLUMNS], rows, files_read, sql)


def group_label(row: dict[str, Any], aliases: Sequence[str]) -> str:
    """``model@version``-style label of a row's group (``all`` without groups)."""
    if not aliases:
        return "all"
    return "@".join("-" if row.get(alias) is None else str(row[alias]) for alias in aliases)
