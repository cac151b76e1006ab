"""A handler that implements the Lifecycle protocol joins shutdown, exit and fork handling.

The participant here is a test double with a real buffer and a real thread; nothing
in QueueHandler knows about it.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import inferlog
from inferlog.pipeline import (
    STAGE_QUEUE,
    STAGE_SINK,
    Lifecycle,
    QueueHandler,
    ShutdownReport,
    live_participants,
    register_participant,
    shutdown_all,
    unregister_participant,
)

PARTICIPANT_SOURCE = '''
import logging, threading, time
from inferlog.pipeline import STAGE_SINK, ShutdownReport, register_participant


class BufferingSink(logging.Handler):
    """Holds records and writes them from its own thread when told to drain."""

    lifecycle_stage = STAGE_SINK

    def __init__(self, path, log=None):
        super().__init__()
        self.path, self.log = path, log if log is not None else []
        self.held, self.forked = [], False
        self.draining = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        register_participant(self)

    def emit(self, record):
        self.held.append(record.getMessage())

    def _run(self):
        self.draining.wait()
        with open(self.path, "a") as fh:
            for message in self.held:
                fh.write(message + "\\n")
        self.held = []

    def begin_shutdown(self):
        self.log.append(("begin", type(self).__name__))
        self.draining.set()

    def finish_shutdown(self, deadline):
        self.thread.join(max(0.0, deadline - time.monotonic()))
        self.log.append(("finish", type(self).__name__))
        return ShutdownReport(handlers=1, timed_out=self.thread.is_alive())

    def after_fork_in_child(self):
        self.held, self.forked = [], True
'''
namespace: dict[str, object] = {}
exec(PARTICIPANT_SOURCE, namespace)
BufferingSink = namespace["BufferingSink"]


def test_the_double_satisfies_the_protocol(tmp_path: Path) -> None:
    sink = BufferingSink(tmp_path / "out.txt")  # type: ignore[operator]
    try:
        assert isinstance(sink, Lifecycle)
    finally:
        shutdown_all(5)


def test_inferlog_shutdown_drains_a_participant_after_the_queue_feeding_it(
    tmp_path: Path,
) -> None:
    events: list[tuple[str, str]] = []
    sink = BufferingSink(tmp_path / "out.txt", events)  # type: ignore[operator]
    queue = QueueHandler(handlers=[sink])
    logger = logging.getLogger(f"lifecycle.{time.monotonic_ns()}")
    logger.propagate = False
    logger.addHandler(queue)
    for i in range(50):
        logger.warning("r%d", i)
    report = inferlog.shutdown(timeout=5)
    assert [f"r{i}" for i in range(50)] == (tmp_path / "out.txt").read_text().splitlines()
    assert [("begin", "BufferingSink"), ("finish", "BufferingSink")] == events
    assert (False, 2) == (report.timed_out, report.handlers)
    assert sink not in live_participants()
    assert STAGE_QUEUE < STAGE_SINK == sink.lifecycle_stage


def test_the_exit_hook_drains_a_participant(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    script = PARTICIPANT_SOURCE + textwrap.dedent(
        f"""
        sink = BufferingSink({str(out)!r})
        logger = logging.getLogger("exit")
        logger.addHandler(sink)
        for i in range(3):
            logger.warning("at exit %d", i)
        """
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    assert ["at exit 0", "at exit 1", "at exit 2"] == out.read_text().splitlines()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_a_forked_child_tells_the_participant_and_the_parent_keeps_its_records(
    tmp_path: Path,
) -> None:
    sink = BufferingSink(tmp_path / "parent.txt")  # type: ignore[operator]
    sink.handle(logging.makeLogRecord({"msg": "parent record"}))
    marker = tmp_path / "child.txt"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        try:
            marker.write_text(f"{sink.forked} {sink.held}")
        finally:
            os._exit(0)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        assert time.monotonic() < deadline, "the forked child hung"
        threading.Event().wait(0.01)
    assert (True, 0) == (marker.read_text() == "True []", os.waitstatus_to_exitcode(status))
    assert ["parent record"] == sink.held
    unregister_participant(sink)


def test_a_participant_that_raises_is_reported_and_the_others_still_drain(
    tmp_path: Path, diagnostics: object
) -> None:
    class Broken:
        lifecycle_stage = STAGE_SINK

        def begin_shutdown(self) -> None:
            raise RuntimeError("broken begin")

        def finish_shutdown(self, deadline: float) -> ShutdownReport:
            raise RuntimeError("broken finish")

        def after_fork_in_child(self) -> None:
            pass

    broken = Broken()
    register_participant(broken)
    sink = BufferingSink(tmp_path / "out.txt")  # type: ignore[operator]
    sink.handle(logging.makeLogRecord({"msg": "kept"}))
    shutdown_all(5)
    assert ["kept"] == (tmp_path / "out.txt").read_text().splitlines()
    assert broken not in live_participants()
    assert any("broken finish" in m for m in diagnostics.messages)  # type: ignore[attr-defined]
