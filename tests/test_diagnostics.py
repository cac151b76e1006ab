"""The library's own diagnostics: counters, report_once, and fork safety."""

from __future__ import annotations

import logging
import os
import threading

import pytest

from inferlog._diagnostics import Counters, internal_logger, report_once, reset_report_once
from tests.helpers import RecordCollector


def test_counters_add_snapshot_and_take_reset() -> None:
    counters = Counters()
    counters.add("dropped")
    counters.add("dropped", 2)
    counters.add("spilled", 0)
    assert counters.get("dropped") == 3
    assert counters.snapshot() == {"dropped": 3}
    assert counters.take() == {"dropped": 3}
    assert counters.snapshot() == {}


def test_report_once_writes_one_line_per_key(diagnostics: RecordCollector) -> None:
    reset_report_once("test-key")
    for _ in range(3):
        report_once("test-key", logging.WARNING, "disk full on %s", "/logs")
    reset_report_once("test-key")
    report_once("test-key", logging.WARNING, "disk full again")
    assert diagnostics.messages == ["disk full on /logs", "disk full again"]


def test_internal_logger_never_propagates_into_the_pipeline() -> None:
    assert internal_logger.propagate is False
    assert internal_logger.name == "inferlog.internal"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_can_count_while_a_parent_thread_held_the_lock() -> None:
    counters = Counters()
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with counters._lock:
            held.set()
            release.wait(5)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(5)
    pid = os.fork()
    if pid == 0:  # the child: the holder thread does not exist here
        try:
            counters.add("in-child")
            os._exit(0 if counters.get("in-child") == 1 else 1)
        finally:
            os._exit(2)
    release.set()
    holder.join()
    deadline_status = None
    for _ in range(100):
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            deadline_status = status
            break
        threading.Event().wait(0.05)
    if deadline_status is None:
        os.kill(pid, 9)
        os.waitpid(pid, 0)
        pytest.fail("the forked child deadlocked on a lock held at fork time")
    assert os.waitstatus_to_exitcode(deadline_status) == 0
