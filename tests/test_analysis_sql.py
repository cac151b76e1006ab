"""The stats query builder: both forms of the parts, the columns read, the printed SQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from inferlog.analysis.engine import (
    CORE_COLUMNS,
    FILENAME_COLUMN,
    UNREADABLE_SQL,
    connect,
    fans_out,
    read_json_sql,
)
from inferlog.analysis.selection import FieldRef, TimeWindow, parse_time
from inferlog.analysis.sql import (
    BIGQUERY,
    PART_FILE,
    StatsSpec,
    parts_sql,
    source_columns,
    stats_from_parts_sql,
    stats_sql,
)
from inferlog.analysis.stats import run_query
from tests.analysis_logs import access_record, call, mixed_calls, stamp, write, write_spill

duckdb = pytest.importorskip("duckdb")


def untidy_logs(directory: Path) -> list[str]:
    """Calls across gzip, plain and spill files, with lines that are not calls or records."""
    calls = mixed_calls(300, seed=7)
    access = access_record(1)
    unversioned = call(2, latency=4.5)
    del unversioned["model_version"]
    gz = write(directory / "app.20270115T080000.000000Z.jsonl.gz", calls[:100], tail="nope\n")
    plain = write(directory / "app.jsonl", [access, unversioned, *calls[100:250]], tail='{"t": ')
    spill = write_spill(directory / "spill.jsonl", calls[250:])
    return [str(gz), str(plain), str(spill)]


def parts_and_stats(
    files: list[str], spec: StatsSpec, *, fan_out: bool
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    source = read_json_sql(files, {**CORE_COLUMNS, **source_columns(spec)})
    sql = parts_sql(
        spec, source, per_file=FILENAME_COLUMN, unreadable=UNREADABLE_SQL, fan_out=fan_out
    )
    con = connect()
    try:
        con.execute(f"CREATE TEMP TABLE parts AS {sql}")
        lines = run_query(
            con, f"SELECT file, lines, bad FROM parts WHERE part = '{PART_FILE}' ORDER BY file"
        )
        return lines, run_query(con, stats_from_parts_sql(spec, "parts"))
    finally:
        con.close()


def approx(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for k, v in row.items()}
        for row in rows
    ]


@pytest.mark.parametrize(
    "by",
    [
        (FieldRef("model_id"), FieldRef("model_version")),
        (),
        (FieldRef.parse("request_payload.features.country"),),
    ],
    ids=["model-and-version", "no-groups", "payload-path"],
)
def test_fan_out_and_grouping_sets_forms_give_the_same_lines_and_figures(
    tmp_path: Path, by: tuple[FieldRef, ...]
) -> None:
    files = untidy_logs(tmp_path)
    spec = StatsSpec(by=by)
    lines, rows = parts_and_stats(files, spec, fan_out=True)
    assert parts_and_stats(files, spec, fan_out=False) == (lines, approx(rows))
    assert [(Path(f["file"]).name, f["lines"], f["bad"]) for f in lines] == [
        ("app.20270115T080000.000000Z.jsonl.gz", 101, 1),
        ("app.jsonl", 153, 1),
        ("spill.jsonl", 50, 0),
    ]
    # The access record has a latency but no model: not a call.
    assert sum(row["records"] for row in rows) == 301


def test_a_group_with_no_value_is_its_own_group(tmp_path: Path) -> None:
    rows = parts_and_stats(untidy_logs(tmp_path), StatsSpec(), fan_out=True)[1]
    unversioned = [r for r in rows if r["model_version"] is None]
    assert [(r["records"], r["latency_p50_ms"]) for r in unversioned] == [(1, 4.5)]


def test_no_calls_at_all_give_no_rows_in_either_form(tmp_path: Path) -> None:
    chatter = {"timestamp": stamp(1), "level": "INFO", "logger": "app", "message": "hi"}
    path = str(write(tmp_path / "app.jsonl", [chatter]))
    for fan_out in (True, False):
        for spec in (StatsSpec(), StatsSpec(by=())):
            lines, rows = parts_and_stats([path], spec, fan_out=fan_out)
            assert ([f["lines"] for f in lines], rows) == ([1], [])


def test_the_timestamp_is_read_as_a_time_only_for_a_window() -> None:
    assert "timestamp" not in source_columns(StatsSpec())
    window = TimeWindow(since=parse_time("2027-01-15"))
    assert source_columns(StatsSpec(window=window))["timestamp"] == "TIMESTAMPTZ"


def test_fans_out_follows_the_duckdb_release() -> None:
    major = int(duckdb.__version__.split(".")[0])
    assert fans_out() is (major >= 2)


def test_the_printed_query_names_its_source_once() -> None:
    sql = stats_sql(StatsSpec(), "`p.d.t`", BIGQUERY)
    assert sql.count("`p.d.t`") == 1
