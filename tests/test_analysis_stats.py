"""compute_stats: figures checked against NumPy, on plain, gzip, spill and torn files."""

from __future__ import annotations

import gzip
import json
import math
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.analysis.errors import InputError
from inferlog.analysis.selection import FieldFilter, FieldRef, TimeWindow, parse_time
from inferlog.analysis.sql import StatsSpec
from inferlog.analysis.stats import compute_stats, group_label
from tests.analysis_logs import access_record, call, mixed_calls, stamp, write, write_spill

pytest.importorskip("duckdb")


def expected_figures(calls: list[dict[str, Any]]) -> dict[str, float]:
    """The statistics of ``calls`` computed independently, with NumPy."""
    latency = np.array([c["latency_ms"] for c in calls], dtype=float)
    weight = np.array([1.0 / c.get("sample_rate", 1.0) for c in calls])
    failed = np.array([c["status"] == "error" for c in calls], dtype=float)
    out: dict[str, float] = {
        "records": len(calls),
        "calls": float(weight.sum()),
        "error_rate": float((weight * failed).sum() / weight.sum()),
        "latency_mean_ms": float(np.average(latency, weights=weight)),
    }
    for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
        out[f"latency_{name}_ms"] = float(
            np.quantile(latency, q, weights=weight, method="inverted_cdf")
        )
    for short in ("input", "output"):
        tokens = np.array([c[f"{short}_token_count"] for c in calls], dtype=float)
        cov = np.cov(tokens, latency, aweights=weight, bias=True)
        out[f"{short}_tokens_mean"] = float(np.average(tokens, weights=weight))
        out[f"{short}_tokens_latency_corr"] = float(cov[0, 1] / math.sqrt(cov[0, 0] * cov[1, 1]))
        out[f"latency_ms_per_1k_{short}_tokens"] = float(1000 * cov[0, 1] / cov[0, 0])
    return out


def assert_figures(row: dict[str, Any], calls: list[dict[str, Any]]) -> None:
    expected = expected_figures(calls)
    assert {k: pytest.approx(v, rel=1e-9) for k, v in expected.items()} == {
        k: row[k] for k in expected
    }


def by_version(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {row["model_version"]: row for row in rows}


def test_figures_per_version_match_numpy_across_plain_gzip_and_spill_files(
    tmp_path: Path,
) -> None:
    calls = mixed_calls(600)
    write(tmp_path / "app.20270115T080000.000000Z.jsonl.gz", calls[:250])
    write(tmp_path / "app.jsonl", calls[250:500])
    write_spill(tmp_path / "inferlog-spill-1.jsonl", calls[500:])
    result = compute_stats([str(tmp_path)])
    rows = by_version(result.rows)
    assert sorted(rows) == ["1.0", "2.0"]
    for version, row in rows.items():
        assert_figures(row, [c for c in calls if c["model_version"] == version])
    assert (result.records, result.unreadable) == (600, 0)


def test_planted_token_latency_relation_is_found(tmp_path: Path) -> None:
    # Latency grows by 40 ms per 1k input tokens and not at all with output tokens.
    calls = [
        call(
            i,
            latency=30 + 0.04 * (100 + 37 * i % 4000),
            tokens_in=100 + 37 * i % 4000,
            tokens_out=1 + (i * 7919) % 300,
        )
        for i in range(400)
    ]
    write(tmp_path / "app.jsonl", calls)
    (row,) = compute_stats(str(tmp_path / "app.jsonl")).rows
    assert row["input_tokens_latency_corr"] == pytest.approx(1.0)
    assert row["latency_ms_per_1k_input_tokens"] == pytest.approx(40.0)
    assert abs(row["output_tokens_latency_corr"]) < 0.15


def test_torn_and_invalid_lines_are_counted_and_skipped(tmp_path: Path) -> None:
    calls = [call(i, latency=float(i + 1)) for i in range(10)]
    path = write(
        tmp_path / "app.jsonl",
        calls[:5],
        tail="not json\n[1, 2]\n\n"
        + "".join(__import__("json").dumps(c) + "\n" for c in calls[5:])
        + '{"timestamp": "2027-01-15T08:0',
    )
    result = compute_stats(str(path), StatsSpec(by=()))
    (report,) = result.files
    assert (report.records, report.unreadable, report.torn) == (10, 3, True)
    assert result.rows[0]["records"] == 10
    assert result.rows[0]["latency_p50_ms"] == 5.0


def test_a_gzip_file_cut_short_is_read_up_to_the_cut(tmp_path: Path) -> None:
    calls = [call(i, latency=float(i)) for i in range(3000)]
    whole = write(tmp_path / "whole.jsonl.gz", calls)
    data = whole.read_bytes()
    whole.unlink()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    with gzip.open(cut, "rt") as handle:
        readable = 0
        try:
            for line in handle:
                readable += line.endswith("\n")
        except EOFError:
            pass
    result = compute_stats(str(cut), StatsSpec(by=()))
    (report,) = result.files
    assert 0 < report.records <= readable
    assert result.rows[0]["records"] == report.records
    assert "cut short" in report.note


def test_window_and_filters_select_records(tmp_path: Path) -> None:
    calls = mixed_calls(300)
    write(tmp_path / "app.jsonl", calls)
    window = TimeWindow(since=parse_time(stamp(100)), until=parse_time(stamp(200)))
    spec = StatsSpec(by=(), window=window, filters=(FieldFilter(FieldRef("model_version"), "2.0"),))
    (row,) = compute_stats(str(tmp_path), spec).rows
    chosen = [c for c in calls[100:200] if c["model_version"] == "2.0"]
    assert_figures(row, chosen)


def test_grouping_by_a_payload_path_and_by_nothing(tmp_path: Path) -> None:
    calls = [
        call(
            i, latency=float(i), request_payload={"features": {"country": "DE" if i % 3 else "FR"}}
        )
        for i in range(30)
    ]
    write(tmp_path / "app.jsonl", calls)
    spec = StatsSpec(by=(FieldRef.parse("request_payload.features.country"),))
    result = compute_stats(str(tmp_path), spec)
    assert [
        (group_label(r, ["request_payload_features_country"]), r["records"]) for r in result.rows
    ] == [
        ("DE", 20),
        ("FR", 10),
    ]
    assert compute_stats(str(tmp_path), StatsSpec(by=())).rows[0]["records"] == 30


def test_otel_field_names_are_read_with_schema_otel(tmp_path: Path) -> None:
    calls = mixed_calls(100)
    renamed = {
        "model_id": "gen_ai.request.model",
        "input_token_count": "gen_ai.usage.input_tokens",
        "output_token_count": "gen_ai.usage.output_tokens",
    }
    otel = [{renamed.get(k, k): v for k, v in c.items()} for c in calls]
    write(tmp_path / "otel.jsonl", otel)
    rows = by_version(compute_stats(str(tmp_path), StatsSpec(schema="otel")).rows)
    for version, row in rows.items():
        assert_figures(row, [c for c in calls if c["model_version"] == version])


def test_access_records_and_plain_messages_are_not_calls(tmp_path: Path) -> None:
    access = access_record(1, status="ok", status_code=200)
    chatter = {"timestamp": stamp(2), "level": "INFO", "logger": "app", "message": "hello"}
    write(tmp_path / "app.jsonl", [access, chatter, call(3, latency=5.0)])
    result = compute_stats(str(tmp_path), StatsSpec(by=()))
    assert (result.records, result.rows[0]["records"]) == (3, 1)


def test_missing_paths_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        compute_stats(str(tmp_path / "nope.jsonl"))
    with pytest.raises(InputError, match="no file matches"):
        compute_stats(str(tmp_path / "*.jsonl"))


def same_rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` for comparing: sums may add up in another order, picked values may not."""
    exact = ("records", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms")
    return [
        {
            k: v if k in exact or not isinstance(v, float) else pytest.approx(v, rel=1e-9)
            for k, v in row.items()
        }
        for row in rows
    ]


calls_strategy = st.lists(
    st.builds(
        lambda i, version, latency, tokens_in, status, rate: call(
            i,
            version=version,
            latency=latency,
            tokens_in=tokens_in,
            tokens_out=None if tokens_in is None else tokens_in // 3 + 1,
            status=status,
            sample_rate=rate,
        ),
        i=st.integers(0, 10_000),
        version=st.sampled_from(["1.0", "2.0", "3.0"]),
        latency=st.floats(0, 10_000, allow_nan=False).map(lambda x: round(x, 3)),
        tokens_in=st.none() | st.integers(0, 5_000),
        status=st.sampled_from(["ok", "ok", "error"]),
        rate=st.sampled_from([None, 1.0, 0.5, 0.25, 0.1]),
    ),
    min_size=1,
    max_size=80,
)


@settings(max_examples=25, deadline=None)
@given(calls=calls_strategy, cut=st.integers(0, 80), torn=st.booleans())
def test_a_gzip_and_plain_mix_gives_the_figures_of_one_plain_file(
    calls: list[dict[str, Any]], cut: int, torn: bool
) -> None:
    tail = '{"timestamp": "2027-01-15T08:0' if torn else ""
    with tempfile.TemporaryDirectory() as directory:
        one, mix = Path(directory, "one"), Path(directory, "mix")
        one.mkdir()
        mix.mkdir()
        write(one / "app.jsonl", calls, tail=tail)
        write(mix / "app.20270115T080000.000000Z.jsonl.gz", calls[:cut], tail=tail)
        write(mix / "app.jsonl", calls[cut:])
        alone, mixed = compute_stats(str(one)), compute_stats(str(mix))
    assert same_rows(mixed.rows) == alone.rows
    assert (mixed.records, mixed.unreadable) == (alone.records, alone.unreadable)
    assert (alone.records, alone.unreadable) == (len(calls), int(torn))
    for row in alone.rows:
        group = [c for c in calls if c["model_version"] == row["model_version"]]
        latency = [c["latency_ms"] for c in group]
        weight = [1.0 / c.get("sample_rate", 1.0) for c in group]
        for name, q in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99)):
            picked = np.quantile(latency, q, weights=weight, method="inverted_cdf")
            assert row[f"latency_{name}_ms"] == float(picked)


def test_torn_and_invalid_lines_in_a_gzip_file_are_counted(tmp_path: Path) -> None:
    calls = [call(i, latency=float(i + 1)) for i in range(8)]
    text = "".join(json.dumps(c) + "\n" for c in calls[:4]) + "not json\n[1, 2]\n"
    text += "".join(json.dumps(c) + "\n" for c in calls[4:]) + '{"timestamp": "2027-01-15T08:0'
    path = tmp_path / "app.20270115T080000.000000Z.jsonl.gz"
    path.write_bytes(gzip.compress(text.encode()))
    write(tmp_path / "app.jsonl", [call(9, latency=20.0)], tail="garbage\n")
    result = compute_stats(str(tmp_path), StatsSpec(by=()))
    assert [(Path(r.path).name, r.records, r.unreadable, r.torn, r.note) for r in result.files] == [
        ("app.20270115T080000.000000Z.jsonl.gz", 8, 3, True, ""),
        ("app.jsonl", 1, 1, False, ""),
    ]
    assert (result.rows[0]["records"], result.rows[0]["latency_p50_ms"]) == (9, 5.0)


def test_a_gzip_file_whose_last_bad_line_is_whole_is_not_torn(tmp_path: Path) -> None:
    text = "".join(json.dumps(call(i, latency=1.0)) + "\n" for i in range(3)) + "not json\n"
    path = tmp_path / "app.20270115T080000.000000Z.jsonl.gz"
    path.write_bytes(gzip.compress(text.encode()))
    (report,) = compute_stats(str(tmp_path), StatsSpec(by=())).files
    assert (report.records, report.unreadable, report.torn, report.note) == (3, 1, False, "")


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz"])
@pytest.mark.parametrize(
    ("tail", "unreadable", "torn"),
    [
        ("", 1, False),  # the last line is whole
        ("{last}", 1, False),  # a record missing only its newline: nothing lost
        ("   ", 1, False),  # blanks are nothing
        ('{"timestamp": "2027-01-15T08:0', 2, True),  # cut mid-record
    ],
)
def test_a_file_is_torn_only_when_its_last_line_was_cut_and_is_unreadable(
    tmp_path: Path, suffix: str, tail: str, unreadable: int, torn: bool
) -> None:
    lines = [json.dumps(call(i, latency=1.0)) for i in range(4)]
    text = lines[0] + "\n" + "garbage\n" + "".join(line + "\n" for line in lines[1:3])
    text += tail.replace("{last}", lines[3])
    path = tmp_path / f"app.20270115T080000.000000Z{suffix}"
    data = text.encode()
    path.write_bytes(gzip.compress(data) if suffix.endswith(".gz") else data)
    (report,) = compute_stats(str(tmp_path), StatsSpec(by=())).files
    records = 4 if tail == "{last}" else 3
    assert (report.records, report.unreadable, report.torn) == (records, unreadable, torn)


def test_a_plain_file_without_bad_lines_is_never_torn(tmp_path: Path) -> None:
    line = json.dumps(call(0, latency=1.0))
    (tmp_path / "app.jsonl").write_text(line + "\n" + line)
    (report,) = compute_stats(str(tmp_path), StatsSpec(by=())).files
    assert (report.records, report.unreadable, report.torn) == (2, 0, False)


def test_bytes_after_a_gzip_stream_are_named_not_called_a_cut(tmp_path: Path) -> None:
    lines = "".join(json.dumps(call(i, latency=1.0)) + "\n" for i in range(3)) + "bad\n"
    path = tmp_path / "app.20270115T080000.000000Z.jsonl.gz"
    path.write_bytes(gzip.compress(lines.encode()) + b"GARBAGE")
    (report,) = compute_stats(str(tmp_path), StatsSpec(by=())).files
    assert (report.records, report.unreadable, report.torn) == (3, 1, False)
    assert "unreadable from here on" in report.note
    assert "cut short" not in report.note


def test_zero_padding_after_a_gzip_stream_does_not_stop_the_run(tmp_path: Path) -> None:
    lines = "".join(json.dumps(call(i, latency=1.0)) + "\n" for i in range(3))
    padded = tmp_path / "app.20270115T080000.000000Z.jsonl.gz"
    padded.write_bytes(gzip.compress(lines.encode()) + b"\0" * 100)
    (tmp_path / "app.jsonl").write_text(lines)
    reports = compute_stats(str(tmp_path), StatsSpec(by=())).files
    assert [(Path(r.path).name, r.records, r.unreadable) for r in reports] == [
        ("app.20270115T080000.000000Z.jsonl.gz", 3, 0),
        ("app.jsonl", 3, 0),
    ]


def test_a_long_last_record_missing_its_newline_is_not_torn(tmp_path: Path) -> None:
    record = call(1, latency=1.0)
    record["prompt"] = "x" * (3 << 20)  # longer than one step back from the end
    text = json.dumps(call(0, latency=1.0)) + "\ngarbage\n" + json.dumps(record)
    (tmp_path / "app.jsonl").write_text(text)
    (report,) = compute_stats(str(tmp_path), StatsSpec(by=())).files
    assert (report.records, report.unreadable, report.torn) == (2, 1, False)


def test_a_last_line_without_core_fields_is_both_unreadable_and_torn(tmp_path: Path) -> None:
    text = json.dumps(call(0, latency=1.0)) + '\n{"timestamp": null}'
    (tmp_path / "app.jsonl").write_text(text)
    (report,) = compute_stats(str(tmp_path), StatsSpec(by=())).files
    assert (report.records, report.unreadable, report.torn) == (1, 1, True)


def test_a_window_over_gzip_and_plain_files_selects_by_time(tmp_path: Path) -> None:
    calls = mixed_calls(300, seed=3)
    write(tmp_path / "app.20270115T080000.000000Z.jsonl.gz", calls[:150])
    write(tmp_path / "app.jsonl", calls[150:])
    window = TimeWindow(since=parse_time(stamp(120)), until=parse_time(stamp(180)))
    (row,) = compute_stats(str(tmp_path), StatsSpec(by=(), window=window)).rows
    assert_figures(row, calls[120:180])
