"""RotatingJsonFileHandler in one process: real files, an injected clock, no sleeps."""

from __future__ import annotations

import errno
import gzip
import json
import logging
import logging.config
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.handlers import DEFAULT_LOG_PATH, RotatingJsonFileHandler
from inferlog.handlers.file import (
    DEFAULT_FILE_MODE,
    next_rollover_time,
    parse_rotation_stamp,
)
from inferlog.reader import read_records
from tests.helpers import RecordCollector

# 2027-01-15T08:00:00Z, a Friday.
START = datetime(2027, 1, 15, 8, 0, 0, tzinfo=timezone.utc).timestamp()


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class SeqFormatter(logging.Formatter):
    """A tiny JSON formatter: the tests need the handler, not the real formatter."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        super().__init__()
        self.clock = clock

    def format(self, record: logging.LogRecord) -> str:
        created = self.clock() if self.clock is not None else record.created
        stamp = datetime.fromtimestamp(created, timezone.utc).isoformat().replace("+00:00", "Z")
        return json.dumps(
            {
                "timestamp": stamp,
                "message": record.getMessage(),
                "seq": getattr(record, "seq", None),
            }
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make(path: Path, clock: FakeClock, **options: Any) -> RotatingJsonFileHandler:
    options.setdefault("backup_count", None)
    handler = RotatingJsonFileHandler(path, clock=clock, **options)
    handler.setFormatter(SeqFormatter(clock))
    return handler


def record(seq: int, level: int = logging.INFO, msg: str = "call done") -> logging.LogRecord:
    rec = logging.LogRecord("test.file", level, __file__, 1, msg, None, None)
    rec.seq = seq
    return rec


def lines_of(path: Path) -> list[str]:
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as handle:
        return handle.read().splitlines()


def seqs_in(directory: Path) -> list[int]:
    return [r["seq"] for r in read_records(directory, reorder_window=0)]


def rotated(directory: Path, stem: str = "app") -> list[str]:
    return sorted(n for n in os.listdir(directory) if n.startswith(f"{stem}.2"))


# -- construction ----------------------------------------------------------------------


def test_constructing_a_handler_touches_no_file(tmp_path: Path) -> None:
    handler = RotatingJsonFileHandler(tmp_path / "logs" / "app.jsonl")
    handler.close()
    assert not (tmp_path / "logs").exists()


def test_default_path_is_logs_inferlog_jsonl() -> None:
    assert os.path.normpath(DEFAULT_LOG_PATH) == os.path.join("logs", "inferlog.jsonl")
    handler = RotatingJsonFileHandler()
    try:
        assert handler.baseFilename == os.path.abspath(DEFAULT_LOG_PATH)
    finally:
        handler.close()


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"max_bytes": -1}, "max_bytes"),
        ({"when": "fortnight"}, "when"),
        ({"when": "H", "interval": 0}, "interval"),
        ({"backup_count": -1}, "backup_count"),
        ({"max_age_seconds": 0}, "max_age_seconds"),
        ({"compress_level": 0}, "compress_level"),
        ({"file_mode": 0o1000}, "file_mode"),
        ({"flush_mode": "sometimes"}, "flush_mode"),
        ({"fsync": "maybe"}, "fsync"),
        ({"fsync_interval": 0}, "fsync_interval"),
        ({"batch_max_bytes": 0}, "batch_max_bytes"),
        ({"max_pending_bytes": 10, "batch_max_bytes": 100}, "max_pending_bytes"),
        ({"retry_interval": 0}, "retry_interval"),
    ],
)
def test_invalid_options_raise_a_value_error_naming_the_option(
    tmp_path: Path, options: dict[str, Any], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        RotatingJsonFileHandler(tmp_path / "app.jsonl", **options)


def test_dict_config_builds_the_handler(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "formatters": {"seq": {"()": SeqFormatter}},
            "handlers": {
                "file": {
                    "class": "inferlog.handlers.RotatingJsonFileHandler",
                    "filename": str(path),
                    "max_bytes": 1024,
                    "when": "midnight",
                    "file_mode": 0o600,
                    "formatter": "seq",
                }
            },
            "loggers": {"test.dictconfig": {"handlers": ["file"], "level": "INFO"}},
        }
    )
    logging.getLogger("test.dictconfig").info("hello", extra={"seq": 7})
    logging.getLogger("test.dictconfig").handlers[0].flush()
    assert [json.loads(line)["seq"] for line in lines_of(path)] == [7]
    assert oct(os.stat(path).st_mode & 0o777) == oct(0o600)


# -- writing ---------------------------------------------------------------------------


def test_each_record_is_one_line_on_disk_as_soon_as_emit_returns(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "logs" / "app.jsonl"
    handler = make(path, clock)
    try:
        for seq in range(3):
            handler.handle(record(seq))
            # Nothing buffered in the process: another reader sees it right away.
            assert [json.loads(line)["seq"] for line in lines_of(path)] == list(range(seq + 1))
    finally:
        handler.close()


def test_line_breaks_inside_a_formatted_record_are_escaped(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "app.jsonl"
    handler = RotatingJsonFileHandler(path, clock=clock)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.handle(record(0, msg="first\nsecond\r\nthird"))
    handler.close()
    assert lines_of(path) == ["first\\nsecond\\r\\nthird"]


def test_default_formatter_is_inferlogs_json_formatter(tmp_path: Path) -> None:
    from inferlog.formatting import JsonFormatter

    path = tmp_path / "app.jsonl"
    handler = RotatingJsonFileHandler(path)
    handler.handle(record(1, msg="hello"))
    handler.close()
    assert isinstance(handler.formatter, JsonFormatter)
    (line,) = lines_of(path)
    parsed = json.loads(line)
    assert parsed["message"] == "hello"
    assert parsed["seq"] == 1


@pytest.mark.parametrize(
    ("mode", "umask"), [(DEFAULT_FILE_MODE, 0o022), (0o600, 0o022), (0o664, 0o077)]
)
def test_files_get_exactly_the_configured_mode_whatever_the_umask(
    tmp_path: Path, clock: FakeClock, mode: int, umask: int
) -> None:
    path = tmp_path / "app.jsonl"
    handler = make(path, clock, file_mode=mode, max_bytes=200)
    old = os.umask(umask)
    try:
        for seq in range(10):
            handler.handle(record(seq))
        handler.flush(timeout=10)
    finally:
        os.umask(old)
        handler.close()
    names = [n for n in os.listdir(tmp_path) if not n.startswith(".")]
    assert len(names) > 1
    for name in names:
        assert (name, oct(os.stat(tmp_path / name).st_mode & 0o777)) == (name, oct(mode))


def test_batch_mode_writes_on_flush_on_size_and_on_errors(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "app.jsonl"
    handler = make(path, clock, flush_mode="batch", batch_max_bytes=1000)
    try:
        for seq in range(3):
            handler.handle(record(seq))
        assert not path.exists()
        assert handler.pending_records == 3
        handler.flush()
        assert len(lines_of(path)) == 3
        handler.handle(record(3))
        handler.handle(record(4, level=logging.ERROR))
        assert len(lines_of(path)) == 5  # an error pushes itself and what came before
        for seq in range(5, 40):
            handler.handle(record(seq))
        assert 5 < len(lines_of(path)) < 40  # batch_max_bytes forced a write
    finally:
        handler.close()
    assert [json.loads(line)["seq"] for line in lines_of(path)] == list(range(40))


def test_handle_batch_filters_and_writes_a_batch_in_one_go(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "app.jsonl"
    handler = make(path, clock, flush_mode="batch")
    handler.addFilter(lambda rec: rec.seq % 2 == 0)  # type: ignore[attr-defined]
    try:
        handler.handle_batch([record(seq) for seq in range(10)])
        assert handler.pending_records == 0
        assert [json.loads(line)["seq"] for line in lines_of(path)] == [0, 2, 4, 6, 8]
    finally:
        handler.close()


def test_write_lines_takes_pre_serialised_str_and_bytes(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "app.jsonl"
    handler = make(path, clock)
    try:
        written = handler.write_lines(['{"a": 1}', b'{"a": 2}\n', '{"a": 3}\n', b'{"a":\n4}'])
        assert written == 4
        assert handler.write_lines([]) == 0
    finally:
        handler.close()
    assert lines_of(path) == ['{"a": 1}', '{"a": 2}', '{"a": 3}', '{"a":\\n4}']


def test_flush_and_close_are_idempotent(tmp_path: Path, clock: FakeClock) -> None:
    handler = make(tmp_path / "app.jsonl", clock, flush_mode="batch")
    handler.handle(record(0))
    handler.flush()
    handler.flush()
    handler.close()
    handler.close()
    handler.flush()
    assert [json.loads(line)["seq"] for line in lines_of(tmp_path / "app.jsonl")] == [0]


@pytest.mark.parametrize("fsync", ["always", "interval"])
def test_fsync_policies_write_the_same_lines(tmp_path: Path, clock: FakeClock, fsync: str) -> None:
    path = tmp_path / "app.jsonl"
    handler = make(path, clock, fsync=fsync, max_bytes=300)
    for seq in range(20):
        handler.handle(record(seq))
    handler.close()
    assert seqs_in(tmp_path) == list(range(20))


def test_a_torn_line_left_by_a_killed_writer_is_closed_before_new_lines(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text('{"seq": 0, "timestamp": "2027-01-15T07:00:00Z"}\n{"seq": 1, "timest')
    handler = make(path, clock)
    handler.handle(record(2))
    handler.close()
    invalid: list[Any] = []
    assert [r["seq"] for r in read_records(path, on_invalid=invalid.append)] == [0, 2]
    assert [(i.line_number, i.torn) for i in invalid] == [(2, False)]


def test_a_removed_file_is_recreated(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "app.jsonl"
    handler = make(path, clock)
    try:
        handler.handle(record(0))
        path.unlink()
        handler.handle(record(1))
    finally:
        handler.close()
    assert [json.loads(line)["seq"] for line in lines_of(path)] == [1]


# -- rotation --------------------------------------------------------------------------


@pytest.mark.parametrize("lock", [True, False])
def test_size_rotation_keeps_files_under_max_bytes_and_loses_nothing(
    tmp_path: Path, clock: FakeClock, lock: bool
) -> None:
    handler = make(tmp_path / "app.jsonl", clock, max_bytes=1000, compress=False, lock=lock)
    for seq in range(100):
        handler.handle(record(seq))
        clock.advance(0.001)
    handler.close()
    files = rotated(tmp_path)
    assert len(files) >= 5
    for name in [*files, "app.jsonl"]:
        assert os.path.getsize(tmp_path / name) <= 1000
    assert seqs_in(tmp_path) == list(range(100))
    assert handler.counters.get("rotations") == len(files)


def test_a_single_record_larger_than_max_bytes_still_gets_written(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "app.jsonl"
    handler = make(path, clock, max_bytes=50, compress=False)
    handler.handle(record(0, msg="x" * 500))
    handler.handle(record(1, msg="y" * 500))
    handler.close()
    assert seqs_in(tmp_path) == [0, 1]
    assert len(rotated(tmp_path)) == 1


def test_time_rotation_happens_on_the_hour_not_an_hour_after_start(
    tmp_path: Path, clock: FakeClock
) -> None:
    clock.now = START + 59 * 60  # 08:59:00
    handler = make(tmp_path / "app.jsonl", clock, when="H", max_bytes=0, compress=False)
    handler.handle(record(0))
    clock.advance(59.9)  # 08:59:59.9
    handler.handle(record(1))
    assert rotated(tmp_path) == []
    clock.advance(0.1)  # 09:00:00
    handler.handle(record(2))
    clock.advance(3600 * 2.5)  # 11:30: one rotation, named for the boundary it passed
    handler.handle(record(3))
    handler.close()
    assert rotated(tmp_path) == [
        "app.20270115T090000.000000Z.jsonl",
        "app.20270115T100000.000000Z.jsonl",
    ]
    assert [json.loads(x)["seq"] for x in lines_of(tmp_path / rotated(tmp_path)[0])] == [0, 1]
    assert seqs_in(tmp_path) == [0, 1, 2, 3]


def test_size_and_time_rotation_together(tmp_path: Path, clock: FakeClock) -> None:
    handler = make(tmp_path / "app.jsonl", clock, when="M", max_bytes=500, compress=False)
    for seq in range(60):
        handler.handle(record(seq))
        clock.advance(5)  # five minutes of records, about 12 per minute
    handler.close()
    stamps = [
        parse_rotation_stamp(name.split(".")[1] + "." + name.split(".")[2])
        for name in rotated(tmp_path)
    ]
    whole_minutes = [s for s in stamps if s % 60 == 0]
    assert len(whole_minutes) >= 4  # the minute boundaries
    assert len(stamps) > len(whole_minutes)  # and the size limit in between
    assert seqs_in(tmp_path) == list(range(60))


def test_a_file_left_from_before_a_boundary_rotates_on_the_first_write(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "app.jsonl"
    path.write_text('{"seq": -1, "timestamp": "2027-01-14T10:00:00Z"}\n')
    yesterday = START - 22 * 3600
    os.utime(path, (yesterday, yesterday))
    handler = make(path, clock, when="midnight", compress=False)
    handler.handle(record(0))
    handler.close()
    assert rotated(tmp_path) == ["app.20270115T000000.000000Z.jsonl"]
    assert seqs_in(tmp_path) == [-1, 0]


def test_do_rollover_rotates_on_demand(tmp_path: Path, clock: FakeClock) -> None:
    handler = make(tmp_path / "app.jsonl", clock, compress=False)
    handler.handle(record(0))
    handler.doRollover()
    handler.handle(record(1))
    handler.close()
    assert len(rotated(tmp_path)) == 1
    assert seqs_in(tmp_path) == [0, 1]


def test_should_rollover_answers_like_the_stdlib(tmp_path: Path, clock: FakeClock) -> None:
    handler = make(tmp_path / "app.jsonl", clock, max_bytes=200)
    try:
        handler.handle(record(0))
        assert handler.shouldRollover(record(1)) == 0
        assert handler.shouldRollover(record(1, msg="z" * 300)) == 1
    finally:
        handler.close()


def test_names_sharing_a_timestamp_still_sort_in_rotation_order(
    tmp_path: Path, clock: FakeClock
) -> None:
    handler = make(tmp_path / "app.jsonl", clock, max_bytes=100, compress=False)
    for seq in range(12):  # the clock never moves: every rotation has the same stamp
        handler.handle(record(seq))
    handler.close()
    names = rotated(tmp_path)
    assert names[0] == "app.20270115T080000.000000Z.jsonl"
    assert names[1] == "app.20270115T080000.000000Z_001.jsonl"
    first_seqs = [json.loads(lines_of(tmp_path / n)[0])["seq"] for n in names]
    assert first_seqs == sorted(first_seqs)


def test_namer_and_rotator_hooks_are_honoured(tmp_path: Path, clock: FakeClock) -> None:
    moves: list[tuple[str, str]] = []
    handler = make(tmp_path / "app.jsonl", clock, max_bytes=100, compress=False)
    handler.namer = lambda name: name + ".old"

    def rotator(source: str, dest: str) -> None:
        moves.append((os.path.basename(source), os.path.basename(dest)))
        os.rename(source, dest)

    handler.rotator = rotator
    for seq in range(3):
        handler.handle(record(seq))
    handler.close()
    assert moves[0] == ("app.jsonl", "app.20270115T080000.000000Z.jsonl.old")


@pytest.mark.parametrize(
    ("now", "when", "interval", "expected"),
    [
        ("2027-01-15T08:59:59", "H", 1, "2027-01-15T09:00:00"),
        ("2027-01-15T09:00:00", "H", 1, "2027-01-15T10:00:00"),
        ("2027-01-15T07:10:00", "H", 6, "2027-01-15T12:00:00"),
        ("2027-01-15T22:10:00", "H", 5, "2027-01-16T00:00:00"),  # the day's short last slot
        ("2027-01-15T08:07:30", "M", 15, "2027-01-15T08:15:00"),
        ("2027-01-15T08:07:30", "S", 10, "2027-01-15T08:07:40"),
        ("2027-01-15T08:07:30", "MIDNIGHT", 1, "2027-01-16T00:00:00"),
        ("2027-01-15T08:07:30", "D", 1, "2027-01-16T00:00:00"),
        ("2027-01-15T08:07:30", "W0", 1, "2027-01-18T00:00:00"),  # next Monday
        ("2027-01-15T08:07:30", "W4", 1, "2027-01-22T00:00:00"),  # a Friday: next Friday
    ],
)
def test_next_rollover_is_aligned_to_calendar_boundaries_in_utc(
    now: str, when: str, interval: int, expected: str
) -> None:
    def epoch(text: str) -> float:
        return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()

    assert next_rollover_time(epoch(now), when, interval, utc=True) == epoch(expected)


def test_day_and_week_intervals_stay_aligned_whatever_the_start() -> None:
    day = 86400.0
    for start in (START, START + 3 * day, START + 5.5 * day):
        boundary = next_rollover_time(start, "D", 3)
        assert boundary > start
        assert boundary - start <= 3 * day
        # The boundary is the same whichever moment of the period we start from.
        assert next_rollover_time(boundary - 1, "D", 3) == boundary
        weekly = next_rollover_time(start, "W2", 2)
        assert datetime.fromtimestamp(weekly, timezone.utc).weekday() == 2
        assert next_rollover_time(weekly - day, "W2", 2) == weekly


@pytest.mark.skipif(not hasattr(time, "tzset"), reason="needs time.tzset")
def test_local_midnight_follows_the_time_zone_across_daylight_saving() -> None:
    old = os.environ.get("TZ")
    os.environ["TZ"] = "Europe/Paris"
    time.tzset()
    try:
        # 2027-03-28 is the spring-forward day in Paris: 23 hours long.
        before = datetime(2027, 3, 27, 12, 0).timestamp()
        first = next_rollover_time(before, "MIDNIGHT", 1, utc=False)
        second = next_rollover_time(first, "MIDNIGHT", 1, utc=False)
        assert datetime.fromtimestamp(first).strftime("%m-%d %H:%M") == "03-28 00:00"
        assert datetime.fromtimestamp(second).strftime("%m-%d %H:%M") == "03-29 00:00"
        assert second - first == 23 * 3600
    finally:
        if old is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = old
        time.tzset()


# -- compression and retention -------------------------------------------------------------


def test_rotated_files_are_gzipped_off_the_calling_thread(tmp_path: Path, clock: FakeClock) -> None:
    handler = make(tmp_path / "app.jsonl", clock, max_bytes=400)
    for seq in range(50):
        handler.handle(record(seq))
        clock.advance(1)
    assert handler._worker is not None
    assert handler._worker is not __import__("threading").current_thread()
    assert handler.wait_for_background(10)
    handler.close()
    names = rotated(tmp_path)
    assert names
    assert all(name.endswith(".jsonl.gz") for name in names)
    assert names == sorted(names, key=lambda n: parse_rotation_stamp(n.split(".jsonl")[0][4:]))
    assert not [n for n in os.listdir(tmp_path) if n.endswith(".tmp")]
    assert seqs_in(tmp_path) == list(range(50))
    assert handler.counters.get("files_compressed") == len(names)


def test_backup_count_keeps_the_newest_rotated_files(tmp_path: Path, clock: FakeClock) -> None:
    handler = make(tmp_path / "app.jsonl", clock, max_bytes=200, backup_count=3)
    for seq in range(60):
        handler.handle(record(seq))
        clock.advance(1)
    handler.close()
    names = rotated(tmp_path)
    assert len(names) == 3
    kept = seqs_in(tmp_path)
    assert kept == list(range(60 - len(kept), 60))  # the newest records, contiguous


def test_backup_count_zero_keeps_only_the_active_file(tmp_path: Path, clock: FakeClock) -> None:
    handler = make(tmp_path / "app.jsonl", clock, max_bytes=200, backup_count=0)
    for seq in range(30):
        handler.handle(record(seq))
    handler.close()
    assert rotated(tmp_path) == []


def test_max_age_deletes_rotated_files_older_than_the_limit(
    tmp_path: Path, clock: FakeClock
) -> None:
    handler = make(tmp_path / "app.jsonl", clock, when="H", max_bytes=0, max_age_seconds=3 * 3600)
    for seq in range(10):
        handler.handle(record(seq))
        clock.advance(3600)
    handler.close()
    stamps = [parse_rotation_stamp(n[4:].split(".jsonl")[0]) for n in rotated(tmp_path)]
    assert stamps
    assert all(clock.now - s <= 3 * 3600 for s in stamps)
    assert len(stamps) == 3


def test_a_plain_rotated_file_left_by_a_dead_process_is_compressed_later(
    tmp_path: Path, clock: FakeClock
) -> None:
    leftover = tmp_path / "app.20270101T000000.000000Z.jsonl"
    leftover.write_text('{"seq": -2, "timestamp": "2027-01-01T00:00:00Z"}\n')
    half_done = tmp_path / "app.20270102T000000.000000Z.jsonl"
    half_done.write_text('{"seq": -1, "timestamp": "2027-01-02T00:00:00Z"}\n')
    with gzip.open(str(half_done) + ".gz", "wt") as gz:
        gz.write(half_done.read_text())
    handler = make(tmp_path / "app.jsonl", clock, max_bytes=100)
    for seq in range(3):
        handler.handle(record(seq))
    handler.close()
    names = rotated(tmp_path)
    assert all(name.endswith(".gz") for name in names)
    assert seqs_in(tmp_path) == [-2, -1, 0, 1, 2]


# -- failures --------------------------------------------------------------------------------


@pytest.fixture
def small_tmpfs(tmp_path: Path) -> Iterator[Path]:
    """A 256 KiB tmpfs: a disk that really fills up."""
    mount_point = tmp_path / f"tmpfs-{uuid.uuid4().hex[:8]}"
    mount_point.mkdir()
    if shutil.which("mount") is None or os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root and mount(8)")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount_point)],
        capture_output=True,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {result.stderr.decode().strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    """Fill the file system under ``directory`` up to the last byte."""
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(b"\0" * 4096)
        except OSError as err:
            if err.errno != errno.ENOSPC:
                raise
    return filler


def test_disk_full_on_a_real_tmpfs_holds_records_and_resumes(
    small_tmpfs: Path, clock: FakeClock, diagnostics: RecordCollector
) -> None:
    path = small_tmpfs / "app.jsonl"
    handler = make(path, clock, max_bytes=0, retry_interval=5)
    try:
        handler.handle(record(0))
        filler = fill(small_tmpfs)
        for seq in range(1, 200):
            handler.handle(record(seq, msg="m" * 200))
            clock.advance(0.1)
        errors = diagnostics.at(logging.ERROR)
        assert len(errors) == 1
        assert "the disk is full" in errors[0]
        assert str(path) in errors[0]
        assert handler.counters.get("write_errors") >= 2
        # Records that fitted in the file's last allocated page went in; the rest are
        # held, and no partial line was left by the write the full disk cut short.
        on_disk = [json.loads(line)["seq"] for line in lines_of(path)]
        assert on_disk == list(range(len(on_disk)))
        assert handler.pending_records == 200 - len(on_disk) > 100
        filler.unlink()
        clock.advance(5)
        handler.handle(record(200))
        assert handler.pending_records == 0
    finally:
        handler.close()
    assert [json.loads(line)["seq"] for line in lines_of(path)] == list(range(201))
    warnings = diagnostics.at(logging.WARNING)
    assert len(warnings) == 1
    assert "resumed" in warnings[0]
    assert "0 records were dropped" in warnings[0]


def test_records_beyond_the_memory_bound_are_dropped_and_counted(
    tmp_path: Path, clock: FakeClock, diagnostics: RecordCollector
) -> None:
    full = {"on": True}
    path = tmp_path / "app.jsonl"

    def opener(name: str, flags: int) -> int:
        # /dev/full refuses every write with ENOSPC: a real disk-full error from a
        # real file descriptor.
        if full["on"] and name == str(path):
            return os.open("/dev/full", os.O_WRONLY)
        return os.open(name, flags, 0o640)

    if not os.path.exists("/dev/full"):
        pytest.skip("needs /dev/full")
    handler = make(
        path, clock, opener=opener, lock=False, max_pending_bytes=2000, batch_max_bytes=500
    )
    try:
        for seq in range(100):
            handler.handle(record(seq))
        dropped = handler.counters.get("records_dropped")
        assert dropped > 0
        assert handler.pending_records + dropped == 100
        assert len(diagnostics.at(logging.ERROR)) == 1
        full["on"] = False
        clock.advance(10)
        handler.flush()
    finally:
        handler.close()
    seqs = [json.loads(line)["seq"] for line in lines_of(path)]
    assert seqs == list(range(100 - dropped))  # the oldest held records are kept
    (resumed,) = diagnostics.at(logging.WARNING)
    assert f"{dropped} records were dropped" in resumed


def test_permission_denied_is_reported_once_and_writing_resumes(
    tmp_path: Path, clock: FakeClock, diagnostics: RecordCollector
) -> None:
    denied = {"on": True}

    def opener(name: str, flags: int) -> int:
        if denied["on"]:
            raise PermissionError(errno.EACCES, "Permission denied", name)
        return os.open(name, flags, 0o640)

    path = tmp_path / "app.jsonl"
    handler = make(path, clock, opener=opener, retry_interval=1)
    try:
        for seq in range(20):
            handler.handle(record(seq))
            clock.advance(0.25)
        (error,) = diagnostics.at(logging.ERROR)
        assert "permission denied" in error
        assert handler.counters.get("write_errors") == 5  # one try per retry_interval
        denied["on"] = False
        clock.advance(1)
        handler.handle(record(20))
    finally:
        handler.close()
    assert [json.loads(line)["seq"] for line in lines_of(path)] == list(range(21))


def test_records_still_held_at_close_are_reported_lost(
    tmp_path: Path, clock: FakeClock, diagnostics: RecordCollector
) -> None:
    def opener(name: str, flags: int) -> int:
        raise PermissionError(errno.EACCES, "Permission denied", name)

    handler = make(tmp_path / "app.jsonl", clock, opener=opener)
    handler.handle(record(0))
    handler.handle(record(1))
    handler.close()
    assert handler.counters.get("records_dropped") == 2
    assert any("2 records" in m and "lost" in m for m in diagnostics.at(logging.ERROR))


def test_a_formatter_that_raises_goes_to_handle_error(
    tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Broken(logging.Formatter):
        def format(self, record: logging.LogRecord) -> str:
            raise RuntimeError("boom")

    seen: list[logging.LogRecord] = []
    handler = RotatingJsonFileHandler(tmp_path / "app.jsonl", clock=clock)
    handler.setFormatter(Broken())
    monkeypatch.setattr(handler, "handleError", seen.append)
    handler.handle(record(0))
    handler.close()
    assert len(seen) == 1


# -- fork ------------------------------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_write_the_parents_buffered_records(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "app.jsonl"
    handler = make(path, clock, flush_mode="batch")
    handler.handle(record(0))
    handler.handle(record(1))
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        code = 0
        try:
            if handler.pending_records != 0:
                code = 3
            handler.handle(record(100))
            handler.flush()
        except BaseException:
            code = 4
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    handler.handle(record(2))
    handler.close()
    assert sorted(json.loads(line)["seq"] for line in lines_of(path)) == [0, 1, 2, 100]


# -- several writers -------------------------------------------------------------------------


def test_two_writers_crossing_a_boundary_rotate_the_file_once(
    tmp_path: Path, clock: FakeClock
) -> None:
    # Two handlers hold separate lock descriptions, exactly like two processes.
    path = tmp_path / "app.jsonl"
    first = make(path, clock, when="H", max_bytes=0, compress=False)
    second = make(path, clock, when="H", max_bytes=0, compress=False)
    try:
        first.handle(record(0))
        # The file's mtime dates it when a writer opens it; keep it on the fake clock.
        os.utime(path, (clock.now, clock.now))
        second.handle(record(1))
        clock.advance(3600)
        first.handle(record(2))  # rotates
        second.handle(record(3))  # follows the rotation instead of rotating again
        first.handle(record(4))
    finally:
        first.close()
        second.close()
    (old,) = rotated(tmp_path)
    assert [json.loads(line)["seq"] for line in lines_of(tmp_path / old)] == [0, 1]
    assert [json.loads(line)["seq"] for line in lines_of(path)] == [2, 3, 4]


def test_two_writers_share_size_rotation_without_losing_lines(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "app.jsonl"
    writers = [make(path, clock, max_bytes=500) for _ in range(3)]
    try:
        for seq in range(90):
            writers[seq % 3].handle(record(seq))
            clock.advance(0.01)
    finally:
        for writer in writers:
            writer.close()
    assert sorted(seqs_in(tmp_path)) == list(range(90))
    for name in os.listdir(tmp_path):
        if name.endswith(".gz"):
            assert len(lines_of(tmp_path / name)) >= 1


def test_behind_inferlogs_queue_it_receives_batches_and_loses_nothing(
    tmp_path: Path, clock: FakeClock
) -> None:
    from inferlog.queueing import BatchHandler, QueueHandler

    path = tmp_path / "app.jsonl"
    sink = make(path, clock, flush_mode="batch", max_bytes=2000)
    assert isinstance(sink, BatchHandler)
    queue = QueueHandler(handlers=[sink], batch_size=50)
    logger = logging.getLogger("test.file.queue")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(queue)
    try:
        for seq in range(500):
            logger.info("call %d", seq, extra={"seq": seq})
    finally:
        queue.shutdown(timeout=10)
        sink.close()
    assert sorted(seqs_in(tmp_path)) == list(range(500))


def test_log_files_lists_rotations_oldest_first_then_the_active_file(
    tmp_path: Path, clock: FakeClock
) -> None:
    from inferlog.handlers import log_files

    path = tmp_path / "app.jsonl"
    assert log_files(path) == []
    handler = make(path, clock, max_bytes=150)
    for seq in range(6):
        handler.handle(record(seq))
        clock.advance(1)
    handler.close()
    (tmp_path / "other.jsonl").write_text("{}\n")
    files = log_files(path)
    assert files[-1] == str(path)
    assert [os.path.basename(f) for f in files[:-1]] == rotated(tmp_path)
    assert [r["seq"] for r in read_records(files)] == list(range(6))


def test_a_file_moved_by_hand_is_noticed_within_a_second(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "app.jsonl"
    moved = tmp_path / "moved-away.jsonl"
    handler = make(path, clock)
    try:
        handler.handle(record(0))
        os.rename(path, moved)
        clock.advance(0.5)
        handler.handle(record(1))  # still the open file, now under its new name
        clock.advance(1)
        handler.handle(record(2))  # the path is checked again: a new file
    finally:
        handler.close()
    assert [json.loads(line)["seq"] for line in lines_of(moved)] == [0, 1]
    assert [json.loads(line)["seq"] for line in lines_of(path)] == [2]


def test_another_writers_rotation_is_seen_without_waiting(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "app.jsonl"
    first = make(path, clock, compress=False)
    second = make(path, clock, compress=False)
    try:
        first.handle(record(0))
        second.handle(record(1))
        first.doRollover()  # the clock does not move: only the shared count tells
        second.handle(record(2))
    finally:
        first.close()
        second.close()
    (old,) = rotated(tmp_path)
    assert [json.loads(line)["seq"] for line in lines_of(tmp_path / old)] == [0, 1]
    assert [json.loads(line)["seq"] for line in lines_of(path)] == [2]


@settings(max_examples=60, deadline=None)
@given(
    messages=st.lists(st.text(st.characters(exclude_categories=["Cs"])), max_size=20),
    max_bytes=st.sampled_from([0, 200, 1000]),
)
def test_any_text_comes_back_as_one_record_per_line(
    tmp_path_factory: pytest.TempPathFactory, messages: list[str], max_bytes: int
) -> None:
    directory = tmp_path_factory.mktemp("text")
    clock = FakeClock()
    handler = make(directory / "app.jsonl", clock, max_bytes=max_bytes)
    for seq, message in enumerate(messages):
        handler.handle(record(seq, msg=message))
    handler.close()
    got = list(read_records(directory, reorder_window=0))
    assert [r["message"] for r in got] == messages


@settings(max_examples=40, deadline=None)
@given(messages=st.lists(st.text(), min_size=1, max_size=10))
def test_a_plain_formatter_still_gives_one_line_per_record(
    tmp_path_factory: pytest.TempPathFactory, messages: list[str]
) -> None:
    path = tmp_path_factory.mktemp("plain") / "app.log"
    handler = RotatingJsonFileHandler(path)
    handler.setFormatter(logging.Formatter("%(message)s"))
    for seq, message in enumerate(messages):
        handler.handle(record(seq, msg=message))
    handler.close()
    assert len(path.read_bytes().split(b"\n")) == len(messages) + 1
    path.read_bytes().decode("utf-8")  # lone surrogates are escaped, never invalid UTF-8


def test_a_failing_fsync_is_reported_once_and_never_duplicates_lines(
    tmp_path: Path, clock: FakeClock, diagnostics: RecordCollector
) -> None:
    # fsync on a pipe fails with EINVAL: a real fsync error on a real descriptor.
    read_end, write_end = os.pipe()

    def opener(name: str, flags: int) -> int:
        return os.dup(write_end)

    handler = make(tmp_path / "app.jsonl", clock, opener=opener, lock=False, fsync="always")
    try:
        for seq in range(3):
            handler.handle(record(seq))
        handler.flush()
    finally:
        handler.close()
        os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        lines = pipe.read().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [0, 1, 2]
    assert handler.counters.get("fsync_errors") == 5  # 3 records, flush(), close()
    (error,) = diagnostics.at(logging.ERROR)
    assert "fsync" in error
