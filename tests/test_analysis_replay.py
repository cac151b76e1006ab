"""replay: planted input-format change, comparison rules, loading callables."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferlog.analysis.errors import UsageError
from inferlog.analysis.replay import answers_agree, input_shape, load_callable, replay
from inferlog.cli import EXIT_FOUND, main
from tests.analysis_logs import call, write

MODELS = """
def lenient(request):
    return {"score": round(float(request["amount"]) * 0.01, 6), "label": "x"}

def strict(request):
    amount = request["amount"]
    if not isinstance(amount, (int, float)):
        raise TypeError("amount must be a number")
    return {"score": round(amount * 0.01, 6), "label": "x"}

def other_label(request):
    return {"score": round(float(request["amount"]) * 0.01, 6), "label": "y"}

not_callable = 3
"""


@pytest.fixture
def models(tmp_path: Path) -> Path:
    path = tmp_path / "replay_models.py"
    path.write_text(MODELS, encoding="utf-8")
    return path


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    """60 calls; from the 40th on the client sends amount as text. Plus noise."""
    records: list[dict[str, Any]] = []
    for i in range(60):
        amount: Any = float(10 * i + 5)
        if i >= 40:
            amount = f"{amount:.2f}"
        records.append(
            call(
                i,
                request_payload={"amount": amount, "currency": "EUR"},
                response_payload={"score": round(float(amount) * 0.01, 6), "label": "x"},
            )
        )
    records.append(call(60, status="error", request_payload={"amount": 1.0}))  # no answer
    records.append(
        {
            "timestamp": "2027-01-15T09:00:00Z",
            "level": "INFO",
            "logger": "app",
            "message": "not a call",
        }
    )
    write(tmp_path / "calls.20270115T080000.000000Z.jsonl.gz", records[:30])
    write(tmp_path / "calls.jsonl", records[30:], tail='{"torn')
    return tmp_path


def test_replay_finds_the_planted_input_format_change(logs: Path, models: Path) -> None:
    report = replay([str(logs)], load_callable(f"{models}:strict"))
    assert (report.replayed, report.agreed, report.failed, report.skipped) == (60, 40, 20, 1)
    first, second = report.shapes
    assert (first.shape, first.replayed, first.agreement) == (
        "{amount: number, currency: string}",
        40,
        1.0,
    )
    assert (second.shape, second.replayed, second.agreed) == (
        "{amount: string, currency: string}",
        20,
        0,
    )
    assert second.first_seen == "2027-01-15T08:00:40.000Z"
    assert second.first_error == "TypeError: amount must be a number"
    assert report.differences[0].request_id == "r-00040"


def test_replay_against_the_model_that_logged_agrees_everywhere(logs: Path, models: Path) -> None:
    report = replay([str(logs)], load_callable(f"{models}:lenient"))
    assert (report.replayed, report.agreed, report.differences) == (60, 60, [])


def test_baseline_and_compare_choose_what_is_compared(logs: Path, models: Path) -> None:
    other = load_callable(f"{models}:other_label")
    against_baseline = replay([str(logs)], other, baseline=load_callable(f"{models}:lenient"))
    assert (against_baseline.replayed, against_baseline.agreed) == (61, 0)
    only_score = replay([str(logs)], other, compare="score")
    assert (only_score.replayed, only_score.agreed) == (60, 60)


def test_replay_command_reports_shapes_and_exits_1_on_differences(
    logs: Path, models: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(logs), "--model", f"{models}:strict"]) == EXIT_FOUND
    out = capsys.readouterr().out
    assert "replayed 60 requests against logged answers: 40 agree (66.7%), 20 differ" in out
    assert "{amount: string, currency: string}  2027-01-15T08:00:40.000Z" in out
    assert (
        main(
            [
                "replay",
                str(logs),
                "--model",
                f"{models}:strict",
                "--min-agreement",
                "0.5",
                "--format",
                "json",
            ]
        )
        == 0
    )
    document = json.loads(capsys.readouterr().out)
    assert (document["agreed"], document["failed"]) == (40, 20)
    assert (
        main(
            [
                "replay",
                str(logs),
                "--model",
                f"{models}:strict",
                "--filter",
                "model_version=1.0",
                "--until",
                "2027-01-15T08:00:40Z",
            ]
        )
        == 0
    )


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("nocolon", "module:function"),
        ("no_such_module_xyz:f", "cannot import"),
        ("{models}:missing", "has no callable"),
        ("{models}:not_callable", "has no callable"),
        ("/nonexistent/file.py:f", "no such file"),
    ],
)
def test_bad_callables_are_usage_errors(spec: str, message: str, models: Path) -> None:
    with pytest.raises(UsageError, match=message):
        load_callable(spec.format(models=models))


def test_a_module_on_the_working_directory_can_be_named(
    models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(models.parent)
    monkeypatch.syspath_prepend(str(models.parent))
    assert load_callable("replay_models:lenient")({"amount": 100})["score"] == 1.0


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values)
def test_every_json_value_agrees_with_itself(value: Any) -> None:
    assert answers_agree(value, value)
    assert input_shape(value) == input_shape(json.loads(json.dumps(value)))


@given(st.floats(min_value=1e-3, max_value=1e6))
def test_numbers_agree_within_the_tolerance_only(x: float) -> None:
    assert answers_agree(x, x * (1 + 1e-9))
    assert not answers_agree(x, x * 1.01)
    assert not answers_agree({"p": x}, {"p": x, "extra": 1})
    assert not math.isnan(x)
