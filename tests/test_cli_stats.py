"""``inferlog stats``: formats, the printed queries, the plot, errors and exit codes."""

from __future__ import annotations

import csv
import gzip
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from inferlog.cli import EXIT_INPUT, EXIT_USAGE, main
from tests.analysis_logs import call, mixed_calls, write, write_spill

duckdb = pytest.importorskip("duckdb")


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    calls = mixed_calls(400, seed=5)
    write(tmp_path / "app.20270115T080000.000000Z.jsonl.gz", calls[:150])
    write(tmp_path / "app.jsonl", calls[150:350], tail='{"torn": ')
    write_spill(tmp_path / "spill.jsonl", calls[350:])
    return tmp_path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, Any]:
    assert main(["stats", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)  # type: ignore[no-any-return]


def test_json_output_has_rows_and_file_accounting(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = run_json(capsys, str(logs))
    assert document["columns"][:3] == ["model_id", "model_version", "records"]
    assert sum(row["records"] for row in document["rows"]) == 400
    assert (document["records"], document["unreadable_lines"]) == (400, 1)
    torn = [f for f in document["files"] if f["torn"]]
    assert [Path(f["path"]).name for f in torn] == ["app.jsonl"]


def test_unreadable_lines_are_reported_on_stderr(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", str(logs)]) == 0
    captured = capsys.readouterr()
    assert "app.jsonl: 1 unreadable line(s) skipped, the last one torn" in captured.err
    assert "chat-llm" in captured.out
    assert "r(in)" in captured.out


def test_the_printed_duckdb_query_gives_the_same_figures_as_stats(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    expected = run_json(capsys, str(logs), "--by", "model_version", "--filter", "status!=error")
    assert (
        main(
            [
                "stats",
                str(logs),
                "--by",
                "model_version",
                "--filter",
                "status!=error",
                "--query",
                "duckdb",
            ]
        )
        == 0
    )
    query = capsys.readouterr().out
    con = duckdb.connect()
    statements = [s for s in query.split(";") if s.strip() and not s.strip().startswith("--")]
    *setup, select = statements
    for statement in setup:
        con.execute(statement)
    cursor = con.execute(select)
    names = [d[0] for d in cursor.description]
    got = [dict(zip(names, row)) for row in cursor.fetchall()]
    assert [
        {k: pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for k, v in r.items()}
        for r in expected["rows"]
    ] == got


def test_duckdb_query_over_a_url_says_what_it_needs(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["stats", "--query", "duckdb", "--source", "s3://bucket/logs/*.jsonl.gz"]) == 0
    query = capsys.readouterr().out
    assert "INSTALL httpfs" in query
    assert "read_json('s3://bucket/logs/*.jsonl.gz'" in query


@pytest.mark.parametrize("schema", ["inferlog", "otel"])
def test_cloudwatch_and_bigquery_queries_use_the_schema_field_names(
    schema: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", "--query", "cloudwatch", "--schema", schema]) == 0
    cloudwatch = capsys.readouterr().out
    assert (
        main(
            ["stats", "--query", "bigquery", "--schema", schema, "--source", "proj.logs.inferlog_*"]
        )
        == 0
    )
    bigquery = capsys.readouterr().out
    model = "`gen_ai.request.model`" if schema == "otel" else "model_id"
    assert f"ispresent({model})" in cloudwatch
    assert "pct(latency_ms, 99) as latency_p99_ms" in cloudwatch
    assert "by " in cloudwatch
    bq_model = "gen_ai_request_model" if schema == "otel" else "model_id"
    assert f"CAST(jsonPayload.{bq_model} AS STRING) AS model_id" in bigquery
    assert "FROM `proj.logs.inferlog_*`" in bigquery


def test_csv_output_parses_with_the_same_rows(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = run_json(capsys, str(logs))
    assert main(["stats", str(logs), "--format", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [int(r["records"]) for r in rows] == [r["records"] for r in document["rows"]]
    assert [float(r["latency_p95_ms"]) for r in rows] == [
        r["latency_p95_ms"] for r in document["rows"]
    ]


def test_plot_writes_a_png(logs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("matplotlib")
    out = tmp_path / "stats.png"
    assert main(["stats", str(logs), "--plot", str(out)]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["stats", "missing.jsonl"], EXIT_INPUT, "missing.jsonl: no such file"),
        (["stats", "*.nothing"], EXIT_INPUT, "no file matches"),
        (["stats"], EXIT_USAGE, "give the log files"),
        (["stats", ".", "--since", "yesterday"], EXIT_USAGE, "is not a time"),
        (["stats", ".", "--filter", "status"], EXIT_USAGE, "is not a filter"),
        (["stats", ".", "--since", "1h", "--until", "2h"], EXIT_USAGE, "the window is empty"),
    ],
)
def test_bad_input_gives_a_clear_error_and_its_exit_code(
    args: list[str],
    code: int,
    message: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    write(tmp_path / "a.jsonl", [call(1)])
    assert main(args) == code
    assert message in capsys.readouterr().err


def test_argparse_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["stats", ".", "--format", "xml"])
    assert exit_info.value.code == EXIT_USAGE


def test_python_dash_m_inferlog_runs_stats_and_draws_no_progress_when_piped(logs: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "inferlog", "stats", str(logs), "--by", "none"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "\r" not in result.stdout + result.stderr
    assert result.stdout.splitlines()[0].split()[:2] == ["records", "calls"]


def test_a_gzip_file_cut_before_any_whole_line_is_reported_by_its_note_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = gzip.compress(b'{"timestamp": "2027-01-15T08:00:00.000000Z", "level": "INFO"}\n' * 50)
    (tmp_path / "app.20270115T080000.000000Z.jsonl.gz").write_bytes(whole[: len(whole) // 2])
    main(["stats", str(tmp_path)])
    err = capsys.readouterr().err
    assert "cut short" in err
    assert "0 unreadable" not in err
    assert "torn" not in err
