"""The file sink: options from config files, and paths that can never be written."""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path
from typing import Any

import pytest

from inferlog import QueueHandler, read_records
from inferlog.handlers import RotatingJsonFileHandler
from inferlog.handlers._file_options import parse_mode, parse_size
from inferlog.pipeline import Spool, resend


@pytest.mark.parametrize(
    ("text", "expected"),
    [("100MB", 100 * 1024**2), ("512 KiB", 512 * 1024), ("1g", 1024**3), ("2048", 2048), (7, 7)],
)
def test_sizes_read_as_config_files_write_them(text: object, expected: int) -> None:
    assert expected == parse_size("max_bytes", text)


@pytest.mark.parametrize(("text", "expected"), [("0640", 0o640), ("0o600", 0o600), (0o644, 0o644)])
def test_modes_read_as_config_files_write_them(text: object, expected: int) -> None:
    assert expected == parse_mode("file_mode", text)


def test_string_options_from_dictconfig_build_a_working_handler(tmp_path: Path) -> None:
    handler = RotatingJsonFileHandler(
        tmp_path / "a.jsonl", max_bytes="1MB", file_mode="0600", flush_level="WARNING"
    )
    try:
        assert (1024**2, 0o600, logging.WARNING) == (
            handler.max_bytes,
            handler.file_mode,
            handler.flush_level,
        )
    finally:
        handler.close()


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("filename", ""),
        ("filename", "   "),
        ("filename", 3),
        ("max_bytes", "100 parsecs"),
        ("max_bytes", -1),
        ("max_bytes", 1.5),
        ("file_mode", "rw-r-----"),
        ("file_mode", 0o7777),
        ("when", "fortnightly"),
        ("interval", 0),
        ("backup_count", -2),
        ("max_age_seconds", math.nan),
        ("compress_level", 10),
        ("flush_mode", "sometimes"),
        ("fsync", "maybe"),
        ("fsync_interval", 0),
        ("retry_interval", math.inf),
        ("flush_level", "LOUD"),
        ("compress", "yes"),
        ("max_pending_bytes", 10),
    ],
)
def test_a_bad_option_names_itself(tmp_path: Path, option: str, value: Any) -> None:
    options: dict[str, Any] = {"filename": tmp_path / "a.jsonl", option: value}
    with pytest.raises((ValueError, TypeError), match=option):
        RotatingJsonFileHandler(**options)


@pytest.mark.parametrize("kind", ["path_is_a_directory", "parent_is_a_file"])
def test_records_for_a_path_that_can_never_be_written_are_spooled_and_counted(
    tmp_path: Path, kind: str
) -> None:
    if kind == "path_is_a_directory":
        target = tmp_path / "logs"
        target.mkdir()
    else:
        (tmp_path / "not-a-dir").write_text("x")
        target = tmp_path / "not-a-dir" / "app.jsonl"
    sink = RotatingJsonFileHandler(target, retry_interval=60)
    sink.set_name("inferlog.file")
    spool_path = tmp_path / "spool.jsonl"
    queue = QueueHandler(handlers=[sink], spill_path=spool_path)
    logger = logging.getLogger(f"never.{kind}.{time.monotonic_ns()}")
    logger.propagate = False
    logger.addHandler(queue)
    for i in range(5):
        logger.warning("r%d", i)
    report = queue.shutdown(5)
    sink.close()
    spooled = [r["message"] for r in Spool(spool_path).records("inferlog.file")]
    assert [f"r{i}" for i in range(5)] == spooled
    assert (5, 5, 0) == (queue.stats()["spilled"], report.spilled, queue.stats()["delivered"])


def test_spooled_records_reach_the_file_once_the_path_is_fixed(tmp_path: Path) -> None:
    target = tmp_path / "logs"
    target.mkdir()
    sink = RotatingJsonFileHandler(target, retry_interval=60)
    sink.set_name("inferlog.file")
    queue = QueueHandler(handlers=[sink], spill_path=tmp_path / "spool.jsonl")
    logger = logging.getLogger(f"fixed.{time.monotonic_ns()}")
    logger.propagate = False
    logger.addHandler(queue)
    logger.warning("kept")
    queue.shutdown(5)
    sink.close()
    target.rmdir()
    again = RotatingJsonFileHandler(target)
    again.set_name("inferlog.file")
    assert (1, 0) == resend(tmp_path / "spool.jsonl", again)
    again.close()
    assert ["kept"] == [r["message"] for r in read_records(target)]
