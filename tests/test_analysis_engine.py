"""The DuckDB engine: quoting, per-file accounting, running out of memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferlog.analysis.engine import (
    connect,
    load_records,
    quote_identifier,
    quote_literal,
    read_json_sql,
)
from inferlog.analysis.errors import InputError
from inferlog.analysis.sources import resolve_paths
from inferlog.analysis.sql import StatsSpec
from inferlog.analysis.stats import compute_stats
from tests.analysis_logs import call, write

pytest.importorskip("duckdb")


def test_names_and_paths_are_quoted_for_sql() -> None:
    assert quote_identifier('gen_ai."x"') == '"gen_ai.""x"""'
    assert quote_literal("it's") == "'it''s'"
    assert read_json_sql("s3://b/o'k/*.gz", {"a": "DOUBLE"}).startswith(
        "read_json('s3://b/o''k/*.gz'"
    )


def test_a_file_name_with_a_quote_is_read(tmp_path: Path) -> None:
    path = write(tmp_path / "it's.jsonl", [call(1, latency=3.0), call(2, latency=5.0)])
    (row,) = compute_stats(str(path), StatsSpec(by=())).rows
    assert (row["records"], row["latency_p50_ms"]) == (2, 3.0)


def test_load_records_counts_lines_per_file(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", [call(1), call(2)], tail="garbage\n")
    write(tmp_path / "b.jsonl", [call(3)])
    con = connect()
    try:
        reports = load_records(con, resolve_paths(str(tmp_path)), {"latency_ms": "DOUBLE"})
    finally:
        con.close()
    assert [(Path(r.path).name, r.records, r.unreadable, r.torn) for r in reports] == [
        ("a.jsonl", 2, 1, False),
        ("b.jsonl", 1, 0, False),
    ]


def test_running_out_of_memory_is_an_input_error_naming_the_option(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", [call(i) for i in range(100)])
    with pytest.raises(InputError, match="--memory-limit"):
        compute_stats(str(tmp_path), memory_limit="1MB")
