"""drift: PSI and KS against independent computations; the command on planted shifts."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferlog.analysis.drift import PSI_FLOOR, ks_statistic, psi
from inferlog.cli import EXIT_FOUND, EXIT_USAGE, main
from tests.analysis_logs import call, write

pytest.importorskip("duckdb")


def numpy_ks(a: list[float], b: list[float]) -> float:
    grid = np.union1d(a, b)
    cdf_a = np.searchsorted(np.sort(a), grid, side="right") / len(a)
    cdf_b = np.searchsorted(np.sort(b), grid, side="right") / len(b)
    return float(np.max(np.abs(cdf_a - cdf_b)))


@given(
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60),
    st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=60),
)
def test_ks_matches_numpy_and_is_symmetric(a: list[float], b: list[float]) -> None:
    assert ks_statistic(a, b) == pytest.approx(numpy_ks(a, b))
    assert ks_statistic(a, b) == ks_statistic(b, a)
    assert ks_statistic(a, a) == 0.0


def test_psi_of_categories_matches_the_formula() -> None:
    baseline = ["a"] * 50 + ["b"] * 50
    current = ["a"] * 80 + ["b"] * 10 + ["c"] * 10
    e = {"a": 0.5, "b": 0.5, "c": PSI_FLOOR}
    a = {"a": 0.8, "b": 0.1, "c": 0.1}
    expected = sum((a[k] - e[k]) * math.log(a[k] / e[k]) for k in e)
    assert psi(baseline, current) == pytest.approx(expected)
    assert psi(baseline, baseline) == 0.0


def test_numeric_psi_is_small_for_the_same_distribution_and_large_for_a_shift() -> None:
    rng = random.Random(3)
    base = [rng.gauss(0, 1) for _ in range(4000)]
    same = [rng.gauss(0, 1) for _ in range(4000)]
    shifted = [rng.gauss(1, 1) for _ in range(4000)]
    assert psi(base, same) < 0.02
    assert psi(base, shifted) > 0.5


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    rng = random.Random(9)
    records = []
    for i in range(600):
        version = "1.0" if i < 300 else "2.0"
        mean = 100.0 if i < 300 else 180.0  # amounts grow after the release
        records.append(
            call(
                i,
                version=version,
                tokens_in=rng.randint(100, 200),
                request_payload={"features": {"amount": rng.gauss(mean, 20)}},
            )
        )
    write(tmp_path / "old.20270115T080000.000000Z.jsonl.gz", records[:300])
    write(tmp_path / "new.jsonl", records[300:], tail='{"cut')
    return tmp_path


def test_drift_by_version_flags_the_planted_shift(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "drift",
            str(logs),
            "--feature",
            "request_payload.features.amount",
            "--by",
            "model_version",
            "--format",
            "json",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == EXIT_FOUND
    (row,) = document["rows"]
    assert (document["baseline"], row["compared"], row["baseline_count"], row["count"]) == (
        "1.0",
        "2.0",
        300,
        300,
    )
    assert row["ks"] > 0.8
    assert row["psi"] > 1.0
    assert row["drifted"] == "DRIFT"


def test_drift_between_windows_finds_none_in_a_stable_feature(
    logs: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "drift",
            str(logs),
            "--feature",
            "input_token_count",
            "--baseline-window",
            "2027-01-15T08:00:00Z/2027-01-15T08:05:00Z",
            "--window",
            "2027-01-15T08:05:00Z/",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert (
        "input_token_count: baseline 2027-01-15T08:00:00+00:00 to 2027-01-15T08:05:00+00:00" in out
    )
    assert " ok" in out


@pytest.mark.parametrize(
    "args",
    [
        ["--feature", "x"],
        ["--feature", "x", "--by", "model_version", "--window", "/"],
        ["--feature", "x", "--baseline-window", "yesterday", "--window", "/"],
    ],
)
def test_drift_argument_mistakes_exit_2(logs: Path, args: list[str]) -> None:
    assert main(["drift", str(logs), *args]) == EXIT_USAGE
