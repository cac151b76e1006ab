"""Soak: threads, a forked child, rotation, a full queue, a sink failing for a while, SIGTERM.

Every record ends up exactly once in the files, in the spool, or in a reported drop
count, for each sink.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from inferlog import read_records
from inferlog.pipeline import Spool

SCRIPT = textwrap.dedent(
    """
    import logging, os, signal, sys, threading, time
    import inferlog
    from inferlog.pipeline import BatchSink

    THREADS, PER_THREAD, CHILD = 4, 3_000, 2_000


    class FlakySink(BatchSink):
        '''Refuses its first batches slowly (a service timing out for a while), then writes.'''

        def __init__(self, path):
            super().__init__()
            self.path, self.refusals = path, 5

        def write_batch(self, items, deadline):
            if self.refusals > 0:
                self.refusals -= 1
                time.sleep(0.2)  # a request that times out: the queue fills meanwhile
                return 0
            with open(self.path, "a") as fh:
                fh.write("".join(item + "\\n" for item in items))
            return len(items)


    flaky = FlakySink("flaky.jsonl")
    flaky.set_name("flaky")
    flaky.setFormatter(inferlog.JsonFormatter())
    inferlog.configure(
        filename="logs/app.jsonl",
        console=False,
        file_options={"max_bytes": 100_000, "backup_count": None},
        handlers=[flaky],
        queue_size=2_000,
        spill_path="spool/",
    )
    log = logging.getLogger("soak")

    def work(t):
        for i in range(PER_THREAD):
            log.info("t%d-%d", t, i, extra={"model_id": "m", "seq": i})

    pid = os.fork()
    if pid == 0:
        for i in range(CHILD):
            log.info("child-%d", i)
        inferlog.shutdown(10)
        os._exit(0)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    os.waitpid(pid, 0)
    print("logged", flush=True)
    os.kill(os.getpid(), signal.SIGTERM)
    signal.pause()
    """
)


def _expected() -> set[str]:
    names = {f"t{t}-{i}" for t in range(4) for i in range(3_000)}
    return names | {f"child-{i}" for i in range(2_000)}


def _account(written: list[dict[str, object]], spooled: list[dict[str, object]]) -> int:
    app = [str(r["message"]) for r in written if r.get("logger") == "soak"]
    spool = [str(r["message"]) for r in spooled if r.get("logger") == "soak"]
    dropped = sum(
        int(r.get("dropped_total", 0))  # type: ignore[call-overload]
        for r in written + spooled
        if r.get("logger") == "inferlog.dropped"
    )
    counts = Counter(app + spool)
    assert [] == [m for m, n in counts.items() if n > 1]  # nothing twice
    assert set(counts) <= _expected()
    assert len(_expected()) == len(counts) + dropped  # the rest was counted as dropped
    return dropped


@pytest.mark.slow
@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX only")
def test_soak_every_record_is_written_spooled_or_counted_exactly_once(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert (-signal.SIGTERM, "logged") == (done.returncode, done.stdout.strip()), done.stderr
    spool = Spool(tmp_path / "spool")
    files = sorted((tmp_path / "logs").glob("app*"))
    assert len(files) >= 3  # it rotated
    written = list(read_records(files))
    dropped = _account(written, list(spool.records("inferlog.file")))
    assert dropped > 0  # the queue was full at times
    flaky = [json.loads(line) for line in (tmp_path / "flaky.jsonl").read_text().splitlines()]
    flaky_spool = list(spool.records("flaky"))
    assert flaky_spool  # it refused for a while: those records were spooled for it
    _account(flaky, flaky_spool)
