"""read_records: plain and gzip files, time order, invalid and torn lines."""

from __future__ import annotations

import gzip
import json
import os
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.reader import (
    InvalidLine,
    expand_paths,
    iter_file_records,
    read_records,
    timestamp_seconds,
)
from tests.helpers import RecordCollector

BASE = datetime(2027, 1, 15, 8, 0, 0, tzinfo=timezone.utc)


def stamp(seconds: float) -> str:
    return (
        (BASE + timedelta(seconds=seconds))
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def write(path: Path, records: list[dict[str, Any]], tail: str = "") -> Path:
    text = "".join(json.dumps(r) + "\n" for r in records) + tail
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def recs(*seconds: float, writer: str = "a") -> list[dict[str, Any]]:
    return [{"timestamp": stamp(s), "writer": writer, "at": s} for s in seconds]


def test_reads_plain_and_gzip_files_together_in_time_order(tmp_path: Path) -> None:
    older = write(tmp_path / "app.20270115T080010.000000Z.jsonl.gz", recs(0, 5, 10))
    newer = write(tmp_path / "app.jsonl", recs(11, 12))
    assert [r["at"] for r in read_records([newer, older])] == [0, 5, 10, 11, 12]


def test_overlapping_files_from_several_writers_are_merged(tmp_path: Path) -> None:
    write(tmp_path / "a.jsonl", recs(0, 2, 4, 6, writer="a"))
    write(tmp_path / "b.jsonl.gz", recs(1, 3, 5, 7, writer="b"))
    write(tmp_path / "c.jsonl", recs(2.5, writer="c"))
    out = [(r["at"], r["writer"]) for r in read_records(tmp_path)]
    assert [at for at, _ in out] == [0, 1, 2, 2.5, 3, 4, 5, 6, 7]


def test_a_single_path_string_and_a_directory_are_accepted(tmp_path: Path) -> None:
    path = write(tmp_path / "app.jsonl", recs(1, 2))
    assert len(list(read_records(str(path)))) == 2
    assert len(list(read_records(tmp_path))) == 2


def test_lines_appended_slightly_out_of_order_are_put_back_in_order(tmp_path: Path) -> None:
    # Two processes appending a batch at a time: each batch is ordered, batches overlap.
    lines = recs(0, 2, 4) + recs(1, 3, 5, writer="b") + recs(6, 8) + recs(7, writer="b")
    write(tmp_path / "app.jsonl", lines)
    assert [r["at"] for r in read_records(tmp_path)] == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    # With reordering off, each file comes back in file order.
    assert [r["at"] for r in read_records(tmp_path, reorder_window=0)] == [r["at"] for r in lines]


def test_a_torn_last_line_is_skipped_and_reported(
    tmp_path: Path, diagnostics: RecordCollector
) -> None:
    path = write(tmp_path / "app.jsonl", recs(0, 1), tail='{"timestamp": "2027-01-15T08:0')
    assert [r["at"] for r in read_records(path)] == [0, 1]
    assert len(diagnostics.messages) == 1
    assert "torn last line 3" in diagnostics.messages[0]
    assert str(path) in diagnostics.messages[0]


def test_invalid_lines_go_to_on_invalid_and_are_skipped(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text(
        json.dumps(recs(0)[0]) + "\nnot json\n[1, 2]\n\n" + json.dumps(recs(1)[0]) + "\n"
    )
    invalid: list[InvalidLine] = []
    assert [r["at"] for r in read_records(path, on_invalid=invalid.append)] == [0, 1]
    assert [(i.line_number, i.excerpt, i.torn) for i in invalid] == [
        (2, "not json", False),
        (3, "[1, 2]", False),
    ]


def test_a_gzip_file_cut_short_yields_what_it_holds(tmp_path: Path) -> None:
    full = write(tmp_path / "whole.jsonl.gz", recs(*range(2000)))
    data = full.read_bytes()
    full.unlink()
    cut = tmp_path / "cut.jsonl.gz"
    cut.write_bytes(data[: len(data) // 2])
    invalid: list[InvalidLine] = []
    got = [r["at"] for r in read_records(cut, on_invalid=invalid.append)]
    assert got == list(range(len(got)))
    assert len(invalid) == 1
    assert invalid[0].torn


def test_records_without_a_timestamp_keep_their_place(tmp_path: Path) -> None:
    lines = [*recs(0), {"at": "none"}, *recs(2)]
    write(tmp_path / "a.jsonl", lines)
    write(tmp_path / "b.jsonl", recs(1, writer="b"))
    assert [r["at"] for r in read_records(tmp_path)] == [0, "none", 1, 2]


def test_an_interrupted_compression_does_not_duplicate_records(tmp_path: Path) -> None:
    plain = write(tmp_path / "app.20270115T080000.000000Z.jsonl", recs(0, 1))
    write(Path(str(plain) + ".gz"), recs(0, 1))
    write(tmp_path / "app.jsonl", recs(2))
    assert [r["at"] for r in read_records(tmp_path)] == [0, 1, 2]
    assert [os.path.basename(p) for p in expand_paths(tmp_path)] == [
        "app.20270115T080000.000000Z.jsonl",
        "app.jsonl",
    ]


def test_directories_skip_hidden_lock_and_temp_files(tmp_path: Path) -> None:
    write(tmp_path / "app.jsonl", recs(0))
    (tmp_path / ".app.jsonl.lock").write_text("")
    (tmp_path / ".app.x.jsonl.gz.123.tmp").write_text("garbage")
    (tmp_path / "sub").mkdir()
    assert [os.path.basename(p) for p in expand_paths(tmp_path)] == ["app.jsonl"]


def test_only_overlapping_files_are_open_at_once(tmp_path: Path) -> None:
    paths = [write(tmp_path / f"app.{i:03d}.jsonl", recs(i * 10, i * 10 + 5)) for i in range(50)]
    fd_dir = "/proc/self/fd"
    if not os.path.isdir(fd_dir):
        pytest.skip("needs /proc/self/fd")
    before = len(os.listdir(fd_dir))
    peak = 0
    count = 0
    for _record in read_records(paths, reorder_window=0):
        peak = max(peak, len(os.listdir(fd_dir)) - before)
        count += 1
    assert count == 100
    assert peak <= 3


def test_negative_reorder_window_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="reorder_window"):
        list(read_records(tmp_path, reorder_window=-1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2027-01-15T08:00:00Z", BASE),
        ("2027-01-15T08:00:00.5Z", BASE + timedelta(milliseconds=500)),
        ("2027-01-15T08:00:00.123456789Z", BASE + timedelta(microseconds=123456)),
        ("2027-01-15T09:00:00+01:00", BASE),
        ("2027-01-15T03:00:00-0500", BASE),
        ("2027-01-15 08:00:00", BASE),
    ],
)
def test_timestamps_in_rfc3339_forms_are_understood(text: str, expected: datetime) -> None:
    assert timestamp_seconds(text) == expected.timestamp()


@pytest.mark.parametrize("value", [None, 17, "yesterday", "2027-13-45T99:00:00Z"])
def test_unreadable_timestamps_give_none(value: object) -> None:
    assert timestamp_seconds(value) is None


def test_iter_file_records_keeps_file_order(tmp_path: Path) -> None:
    path = write(tmp_path / "app.jsonl", recs(3, 1, 2))
    assert [r["at"] for r in iter_file_records(path)] == [3, 1, 2]


@settings(max_examples=40, deadline=None)
@given(
    files=st.lists(
        st.lists(st.integers(min_value=0, max_value=10_000), max_size=30),
        min_size=1,
        max_size=6,
    ),
    compress=st.lists(st.booleans(), min_size=6, max_size=6),
)
def test_merging_sorted_files_gives_every_record_in_time_order(
    tmp_path_factory: pytest.TempPathFactory, files: list[list[int]], compress: list[bool]
) -> None:
    directory = tmp_path_factory.mktemp("merge")
    for index, seconds in enumerate(files):
        suffix = ".jsonl.gz" if compress[index] else ".jsonl"
        write(directory / f"w{index}{suffix}", recs(*sorted(seconds), writer=str(index)))
    out = [r["at"] for r in read_records(directory, reorder_window=0)]
    assert out == sorted(s for seconds in files for s in seconds)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), window=st.integers(1, 20))
def test_displacement_within_the_window_is_fully_repaired(
    tmp_path_factory: pytest.TempPathFactory, seed: int, window: int
) -> None:
    rng = random.Random(seed)
    order = list(range(200))
    # Move records by less than the window: what batched appends look like.
    for i in range(len(order)):
        j = min(len(order) - 1, i + rng.randrange(window))
        if abs(order[i] - j) < window and abs(order[j] - i) < window:
            order[i], order[j] = order[j], order[i]
    directory = tmp_path_factory.mktemp("reorder")
    write(directory / "app.jsonl", recs(*order))
    assert [r["at"] for r in read_records(directory, reorder_window=window)] == list(range(200))


def test_a_file_compressed_after_it_was_listed_is_read_from_its_gz(tmp_path: Path) -> None:
    plain = write(tmp_path / "app.20270115T080000.000000Z.jsonl", recs(0, 1))
    listed = expand_paths(tmp_path)
    write(Path(str(plain) + ".gz"), recs(0, 1))
    plain.unlink()
    assert [r["at"] for r in read_records(listed)] == [0, 1]


def test_a_missing_file_raises(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        list(read_records(tmp_path / "nope.jsonl"))
