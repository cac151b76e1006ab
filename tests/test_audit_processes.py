"""The audit trail across processes: acknowledged rows survive SIGKILL; two writers, one chain."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from inferlog.audit import verify

ROOT = Path(__file__).resolve().parent.parent

_WRITER = textwrap.dedent(
    """
    import logging, sys
    from inferlog.audit import AuditHandler
    from inferlog.pipeline import QueueHandler

    path, who, count, forever = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4] == "1"
    audit = AuditHandler(path, synchronous="NORMAL")
    queue = QueueHandler(handlers=[audit], batch_size=50)
    log = logging.getLogger("svc")
    log.addHandler(queue)
    log.setLevel(logging.INFO)
    log.propagate = False

    def call(i):
        log.info("inference", extra={"model_id": "m", "status": "ok",
                                     "request_id": f"{who}-{i}", "request_payload": "x" * 200})

    for i in range(count):
        call(i)
    queue.flush()  # every call so far is committed
    print(f"acked {count}", flush=True)
    i = count
    while forever:  # keep writing until killed
        call(i)
        i += 1
    queue.shutdown(10)
    audit.close()
    """
)


def _start(path: Path, who: str, count: int, forever: bool) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path), who, str(count), "1" if forever else "0"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def _request_ids(path: Path) -> set[str]:
    conn = sqlite3.connect(path)
    ids = {row[0] for row in conn.execute("SELECT request_id FROM audit_log")}
    conn.close()
    return ids


@pytest.mark.slow
def test_acknowledged_rows_survive_sigkill_and_the_chain_verifies(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    child = _start(path, "k", 300, forever=True)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "acked 300"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=60)
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL

    ids = _request_ids(path)
    assert {f"k-{i}" for i in range(300)} <= ids
    result = verify(path)
    assert result.ok, result.problem
    assert result.rows == len(ids)


@pytest.mark.slow
def test_two_processes_write_one_valid_chain(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    children = [_start(path, who, 400, forever=False) for who in ("a", "b")]
    for child in children:
        out, _ = child.communicate(timeout=120)
        assert (child.returncode, out.strip()) == (0, "acked 400")

    result = verify(path)
    assert (result.ok, result.rows) == (True, 800)
    assert _request_ids(path) == {f"{w}-{i}" for w in "ab" for i in range(400)}
