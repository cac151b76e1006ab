"""inferlog.queueing across processes: SIGTERM, fork, multiprocessing and process pools."""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from inferlog.queueing import QueueHandler, install_process_sender

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and POSIX signals"),
]

ROOT = Path(__file__).resolve().parent.parent


def _run_script(tmp_path: Path, body: str, *args: str) -> subprocess.Popen[str]:
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(body))
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    return subprocess.Popen(
        [sys.executable, str(script), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


class JsonLineFormatter(logging.Formatter):
    """Just enough JSON for the assertions: message, request id, process id."""

    def format(self, record: logging.LogRecord) -> str:
        return json.dumps(
            {
                "message": record.getMessage(),
                "request_id": getattr(record, "request_id", None),
                "pid": record.process,
            }
        )


def test_sigterm_after_n_records_leaves_all_n_in_the_file(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    n = 600
    proc = _run_script(
        tmp_path,
        """
        import logging, sys, time
        from inferlog.queueing import QueueHandler

        class SlowFileHandler(logging.FileHandler):
            def emit(self, record):
                time.sleep(0.003)  # 600 records take about two seconds to write
                super().emit(record)

        path, n = sys.argv[1], int(sys.argv[2])
        qh = QueueHandler(handlers=[SlowFileHandler(path)], handle_sigterm=True)
        root = logging.getLogger()
        root.addHandler(qh)
        root.setLevel(logging.INFO)
        for i in range(n):
            logging.getLogger("job").info("record %d", i)
        print("logged", flush=True)
        time.sleep(60)
        """,
        str(out),
        str(n),
    )
    try:
        assert proc.stdout is not None
        assert "logged" == proc.stdout.readline().strip()
        written_before = len(_lines(out))
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    finally:
        proc.kill()
    assert written_before < n  # the drain happened after the signal
    assert -signal.SIGTERM == proc.returncode  # the process still dies by SIGTERM
    assert [f"record {i}" for i in range(n)] == _lines(out)


def test_sigterm_in_the_middle_of_logging_neither_deadlocks_nor_loses_records(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.log"
    proc = _run_script(
        tmp_path,
        """
        import logging, sys
        from inferlog.queueing import QueueHandler

        qh = QueueHandler(
            handlers=[logging.FileHandler(sys.argv[1])], handle_sigterm=True, batch_size=64,
            overflow="block", block_timeout=30, queue_size=2000,
        )
        root = logging.getLogger()
        root.addHandler(qh)
        root.setLevel(logging.INFO)
        log = logging.getLogger("job")
        print("logging", flush=True)
        i = 0
        while True:  # the signal lands inside a logging call, locks held or not
            log.info("record %d", i)
            if i % 7 == 0:
                log.error("record %d!", i)
            i += 1
        """,
        str(out),
    )
    try:
        assert proc.stdout is not None
        assert "logging" == proc.stdout.readline().strip()
        import time

        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert -signal.SIGTERM == proc.returncode
    assert "spilled" not in stderr  # delivered to the file, not rescued
    infos = [line for line in _lines(out) if not line.endswith("!")]
    assert len(infos) > 100
    # Every record logged before the signal arrived, in order, none twice.
    assert [f"record {i}" for i in range(len(infos))] == infos


def test_a_forked_childs_records_arrive_once_and_parents_are_not_duplicated(
    tmp_path: Path,
) -> None:
    out = tmp_path / "out.log"
    proc = _run_script(
        tmp_path,
        """
        import logging, os, sys, threading, time
        from inferlog.queueing import QueueHandler

        class SlowFileHandler(logging.FileHandler):
            def emit(self, record):
                time.sleep(0.0005)
                super().emit(record)

        qh = QueueHandler(handlers=[SlowFileHandler(sys.argv[1])])
        root = logging.getLogger()
        root.addHandler(qh)
        root.setLevel(logging.INFO)
        log = logging.getLogger("app")

        # A thread hammering the queue, so forks happen while its lock is busy.
        stop = threading.Event()
        def hammer():
            i = 0
            while not stop.is_set():
                log.info("hammer %d", i)
                i += 1
                time.sleep(0.0001)
        threading.Thread(target=hammer, daemon=True).start()

        children = []
        for c in range(3):
            for i in range(50):
                log.info("parent %d-%d", c, i)  # still queued when the fork happens
            pid = os.fork()
            if pid == 0:
                for i in range(100):
                    log.info("child %d-%d", c, i)
                sys.exit(0)  # atexit drains the child's own queue
            children.append(pid)
        for pid in children:
            _, status = os.waitpid(pid, 0)
            assert os.waitstatus_to_exitcode(status) == 0, status
        stop.set()
        print("done", flush=True)
        """,
        str(out),
    )
    try:
        _, stderr = proc.communicate(timeout=45)
    finally:
        proc.kill()
    assert 0 == proc.returncode, stderr
    lines = [line for line in _lines(out) if not line.startswith("hammer")]
    expected = [f"parent {c}-{i}" for c in range(3) for i in range(50)]
    expected += [f"child {c}-{i}" for c in range(3) for i in range(100)]
    assert sorted(expected) == sorted(lines)


def test_a_multiprocessing_fork_child_drains_at_its_exit(tmp_path: Path) -> None:
    out = tmp_path / "out.log"
    proc = _run_script(
        tmp_path,
        """
        import logging, multiprocessing, sys, time
        from inferlog.queueing import QueueHandler

        class SlowFileHandler(logging.FileHandler):
            def emit(self, record):
                time.sleep(0.001)
                super().emit(record)

        def work():
            for i in range(200):
                logging.getLogger("child").info("child %d", i)
            # returns at once: multiprocessing ends the child with os._exit

        if __name__ == "__main__":
            qh = QueueHandler(handlers=[SlowFileHandler(sys.argv[1])])
            logging.getLogger().addHandler(qh)
            logging.getLogger().setLevel(logging.INFO)
            p = multiprocessing.get_context("fork").Process(target=work)
            p.start()
            p.join(30)
            assert p.exitcode == 0, p.exitcode
        """,
        str(out),
    )
    try:
        _, stderr = proc.communicate(timeout=45)
    finally:
        proc.kill()
    assert 0 == proc.returncode, stderr
    assert [f"child {i}" for i in range(200)] == _lines(out)


def _pool_task(task: int) -> int:
    log = logging.getLogger("batch")
    log.debug("below the parent's root level: never sent")
    for i in range(50):
        log.info("task %d record %d", task, i, extra={"request_id": f"req-{task}"})
    try:
        raise KeyError(task)
    except KeyError:
        log.exception("task %d failed on purpose", task)
    return os.getpid()


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_process_pool_workers_deliver_every_record_to_the_parents_sinks(
    tmp_path: Path, method: str
) -> None:
    out = tmp_path / "out.jsonl"
    sink = logging.FileHandler(out)
    sink.setFormatter(JsonLineFormatter())
    qh = QueueHandler(handlers=[sink])
    root = logging.getLogger()
    root.addHandler(qh)
    root.setLevel(logging.INFO)
    sender = qh.process_sender(method)
    with ProcessPoolExecutor(
        max_workers=2,
        mp_context=multiprocessing.get_context(method),
        initializer=install_process_sender,
        initargs=(sender,),
    ) as pool:
        worker_pids = set(pool.map(_pool_task, range(6)))
    report = qh.shutdown(timeout=15)
    sink.close()
    records = [json.loads(line) for line in _lines(out)]
    assert not report.timed_out
    expected: set[tuple[str, str | None]] = {
        (f"task {t} record {i}", f"req-{t}") for t in range(6) for i in range(50)
    }
    expected |= {(f"task {t} failed on purpose", None) for t in range(6)}
    got = [(r["message"], r["request_id"]) for r in records]
    assert len(expected) == len(got)  # exactly once
    assert expected == set(got)
    assert worker_pids == {r["pid"] for r in records}
    assert os.getpid() not in worker_pids
