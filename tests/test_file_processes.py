"""RotatingJsonFileHandler across real processes: shared directory, SIGKILL mid-write."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from inferlog.reader import InvalidLine, read_records

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX processes and signals")

# The child's side: a handler on ``path`` with a minimal JSON formatter, so that what
# is measured and checked is the handler, not the formatter.
CHILD_PRELUDE = textwrap.dedent(
    """
    import json, logging, os, sys, time
    from datetime import datetime, timezone
    from inferlog.handlers import RotatingJsonFileHandler

    class LineFormatter(logging.Formatter):
        def format(self, record):
            stamp = datetime.fromtimestamp(record.created, timezone.utc).isoformat()
            return json.dumps({
                "timestamp": stamp.replace("+00:00", "Z"),
                "writer": record.writer,
                "seq": record.seq,
                "pad": record.pad,
            })

    def make_record(writer, seq, pad=""):
        record = logging.LogRecord("child", logging.INFO, "child.py", 1, "m", None, None)
        record.writer, record.seq, record.pad = writer, seq, pad
        return record
    """
)


def spawn(body: str, *args: str) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])
    )
    return subprocess.Popen(
        [sys.executable, "-c", CHILD_PRELUDE + textwrap.dedent(body), *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def raw_lines(directory: Path) -> list[bytes]:
    """Every line of every plain and gzip file in ``directory``, newline kept."""
    out: list[bytes] = []
    for name in sorted(os.listdir(directory)):
        if name.startswith("."):
            continue
        path = directory / name
        opener: Any = gzip.open if name.endswith(".gz") else open
        with opener(path, "rb") as handle:
            out += handle.read().splitlines(keepends=True)
    return out


WRITER = """
    path, writer, count, batch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    handler = RotatingJsonFileHandler(
        path, max_bytes=256 * 1024, backup_count=None, flush_mode="batch" if batch else "record"
    )
    handler.setFormatter(LineFormatter())
    if batch:
        for start in range(0, count, batch):
            stop = min(count, start + batch)
            handler.handle_batch([make_record(writer, s) for s in range(start, stop)])
    else:
        for seq in range(count):
            handler.handle(make_record(writer, seq))
    handler.close(timeout=30)
    print(json.dumps(handler.counters.snapshot()))
"""


@pytest.mark.slow
def test_four_processes_share_one_file_without_losing_or_tearing_a_line(tmp_path: Path) -> None:
    per_process = 25_000
    path = tmp_path / "logs" / "job.jsonl"
    # Two processes write record by record, two a batch of 100 at a time.
    children = [
        spawn(WRITER, str(path), str(writer), str(per_process), "0" if writer < 2 else "100")
        for writer in range(4)
    ]
    counters = []
    for child in children:
        out, err = child.communicate(timeout=90)
        assert child.returncode == 0, err.decode()
        counters.append(json.loads(out))

    lines = raw_lines(path.parent)
    assert all(line.endswith(b"\n") for line in lines)
    parsed = [json.loads(line) for line in lines]  # every line is valid JSON
    seen = [(r["writer"], r["seq"]) for r in parsed]
    expected = {(w, s) for w in range(4) for s in range(per_process)}
    assert len(seen) == len(expected)  # nothing duplicated...
    assert set(seen) == expected  # ...and nothing missing

    names = [n for n in os.listdir(path.parent) if not n.startswith(".")]
    rotated = sorted(n for n in names if n != "job.jsonl")
    assert len(rotated) >= 10
    assert all(n.endswith(".jsonl.gz") for n in rotated)  # compressed, none lost
    assert sum(c.get("rotations", 0) for c in counters) == len(rotated)
    for name in rotated:  # rotation kept every file near the limit
        with gzip.open(path.parent / name, "rb") as handle:
            assert len(handle.read()) <= 256 * 1024

    # Each writer's records come back from the reader in its own order.
    by_writer: dict[int, list[int]] = {w: [] for w in range(4)}
    for record in read_records(path.parent):
        by_writer[record["writer"]].append(record["seq"])
    assert by_writer == {w: list(range(per_process)) for w in range(4)}


KILLED_WRITER = """
    path, mode = sys.argv[1], sys.argv[2]
    handler = RotatingJsonFileHandler(
        path, max_bytes=0, flush_mode=mode, batch_max_bytes=10**7, max_pending_bytes=10**7
    )
    handler.setFormatter(LineFormatter())
    if mode == "batch":
        for seq in range(500):
            handler.handle(make_record(0, seq))
        handler.flush()
        for seq in range(500, 800):
            handler.handle(make_record(0, seq))
        print("ready", flush=True)
        time.sleep(60)
    else:
        seq = 0
        while True:
            # Large records now and then, so that the kill can land inside a write.
            pad = "x" * (2_000_000 if seq % 7 == 3 else 100)
            handler.handle(make_record(0, seq, pad))
            seq += 1
            if seq == 50:
                print("ready", flush=True)
"""


@pytest.mark.slow
@pytest.mark.parametrize("round_", range(3))
def test_sigkill_mid_write_leaves_whole_lines_and_at_most_one_torn_last_line(
    tmp_path: Path, round_: int
) -> None:
    path = tmp_path / "app.jsonl"
    child = spawn(KILLED_WRITER, str(path), "record")
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    time.sleep(0.05 * (round_ + 1))
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL

    lines = path.read_bytes().splitlines(keepends=True)
    whole = [line for line in lines if line.endswith(b"\n")]
    assert len(lines) - len(whole) <= 1  # only the very last line can be torn
    seqs = [json.loads(line)["seq"] for line in whole]
    assert seqs == list(range(len(seqs)))  # every record written is there, in order

    invalid: list[InvalidLine] = []
    records = list(read_records(path, on_invalid=invalid.append))
    assert [r["seq"] for r in records] == seqs
    assert len(invalid) == len(lines) - len(whole)
    assert all(i.torn for i in invalid)

    # A writer that comes after the crash ends the torn line and goes on cleanly.
    after = spawn(
        """
        handler = RotatingJsonFileHandler(sys.argv[1])
        handler.setFormatter(LineFormatter())
        handler.handle(make_record(1, 0))
        handler.close()
        """,
        str(path),
    )
    _, err = after.communicate(timeout=30)
    assert after.returncode == 0, err.decode()
    invalid.clear()
    records = list(read_records(path, on_invalid=invalid.append))
    assert [(r["writer"], r["seq"]) for r in records] == [(0, s) for s in seqs] + [(1, 0)]
    assert [i.torn for i in invalid] == [False] * (len(lines) - len(whole))


@pytest.mark.slow
def test_sigkill_in_batch_mode_loses_only_the_records_not_yet_flushed(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    child = spawn(KILLED_WRITER, str(path), "batch")
    assert child.stdout is not None
    assert child.stdout.readline() == b"ready\n"
    child.send_signal(signal.SIGKILL)
    child.communicate(timeout=30)
    assert [r["seq"] for r in read_records(path)] == list(range(500))
