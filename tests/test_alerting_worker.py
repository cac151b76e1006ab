"""BackgroundWorker: delivers in order, joins the shutdown registry, bounded, fork-safe."""

from __future__ import annotations

import os
import threading
import time

from inferlog._diagnostics import Counters
from inferlog.alerting._worker import BackgroundWorker
from inferlog.pipeline import live_participants, shutdown_all


def test_items_are_delivered_in_order_and_flush_waits_for_them() -> None:
    seen: list[int] = []
    worker: BackgroundWorker[int] = BackgroundWorker(
        "test-worker", seen.append, capacity=100, counters=Counters()
    )
    for i in range(50):
        assert worker.submit(i)
    assert worker.flush(10)
    assert seen == list(range(50))
    worker.close(5)


def test_the_worker_joins_shutdown_all_when_it_starts() -> None:
    seen: list[int] = []
    worker: BackgroundWorker[int] = BackgroundWorker(
        "test-worker", seen.append, capacity=10, counters=Counters()
    )
    assert worker not in live_participants()
    worker.submit(1)
    assert worker in live_participants()

    report = shutdown_all(5)

    assert report.handlers >= 1
    assert seen == [1]
    assert worker not in live_participants()
    assert not worker.submit(2)
    assert worker.counters.get("dropped") == 1


def test_a_stuck_delivery_is_cut_off_at_the_deadline_and_the_rest_counted() -> None:
    release = threading.Event()
    started = threading.Event()

    def stuck(item: int) -> None:
        started.set()
        release.wait(30)

    counters = Counters()
    worker: BackgroundWorker[int] = BackgroundWorker(
        "test-worker", stuck, capacity=10, counters=counters
    )
    for i in range(3):
        worker.submit(i)
    assert started.wait(10)
    report = worker.close(0.05)
    release.set()

    assert report.timed_out
    assert report.dropped == {"alert": 2}
    assert counters.get("dropped") == 2
    assert worker.cancelled


def test_a_full_buffer_drops_and_counts() -> None:
    release = threading.Event()
    counters = Counters()
    worker: BackgroundWorker[int] = BackgroundWorker(
        "test-worker", lambda item: release.wait(30) and None, capacity=2, counters=counters
    )
    accepted = [worker.submit(i) for i in range(6)]
    release.set()
    assert accepted.count(True) in (2, 3)  # the thread may already hold the first
    assert counters.get("dropped") == accepted.count(False)
    worker.close(5)


def test_a_forked_child_gets_a_fresh_worker_that_delivers() -> None:
    seen: list[int] = []
    worker: BackgroundWorker[int] = BackgroundWorker(
        "test-worker", seen.append, capacity=10, counters=Counters()
    )
    worker.submit(1)
    assert worker.flush(10)
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            worker.submit(2)
            code = 0 if worker.flush(5) and seen == [1, 2] else 3
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            raise AssertionError("the forked child hung")
        threading.Event().wait(0.01)
    assert os.waitstatus_to_exitcode(status) == 0
    worker.close(5)
