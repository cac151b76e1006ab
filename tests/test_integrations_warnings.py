"""``warnings.warn`` through the pipeline (``integrations.warnings``)."""

from __future__ import annotations

import warnings
from pathlib import Path

import inferlog
from inferlog.reader import read_records


def _warn_then_shutdown(message: str, category: type[Warning]) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn(message, category, stacklevel=1)
    finally:
        inferlog.shutdown()


def test_configure_routes_warnings_into_the_file_and_undoes_it(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    before = warnings.showwarning
    pipeline = inferlog.configure(filename=path, console=False, capture_warnings=True)
    assert before is not warnings.showwarning
    _warn_then_shutdown("old API", DeprecationWarning)
    (record,) = list(read_records(path))
    assert ("py.warnings", "WARNING") == (record["logger"], record["level"])
    assert "DeprecationWarning: old API" in record["message"]
    pipeline.detach()  # what configure() does to the pipeline it replaces
    assert before is warnings.showwarning


def test_replacing_a_capturing_pipeline_keeps_warnings_captured(tmp_path: Path) -> None:
    before = warnings.showwarning
    inferlog.configure(filename=tmp_path / "a.jsonl", console=False, capture_warnings=True)
    path = tmp_path / "b.jsonl"
    pipeline = inferlog.configure(filename=path, console=False, capture_warnings=True)
    _warn_then_shutdown("still here", UserWarning)
    assert ["py.warnings"] == [r["logger"] for r in read_records(path)]
    pipeline.detach()
    assert before is warnings.showwarning


def test_warnings_reach_a_pipeline_attached_to_other_loggers_only(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    pipeline = inferlog.configure(
        filename=path, console=False, loggers=["app"], capture_warnings=True
    )
    _warn_then_shutdown("careful", UserWarning)
    pipeline.detach()
    assert ["py.warnings"] == [r["logger"] for r in read_records(path)]


def test_warnings_are_left_alone_by_default(tmp_path: Path) -> None:
    before = warnings.showwarning
    inferlog.configure(filename=tmp_path / "app.jsonl", console=False)
    try:
        assert before is warnings.showwarning
    finally:
        inferlog.shutdown()
