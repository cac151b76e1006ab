"""What the multi-process design of RotatingJsonFileHandler costs.

Several processes of one job may write to one log file. The handler serialises
their writes and rotations with an exclusive ``flock`` on a lock file and checks,
under the lock, that the path still names the file it has open. The alternative is
one file per process with a shared naming scheme, which needs no lock at all. This
benchmark measures both, so that ``docs/perf-files.md`` can say what the lock costs.

Cases (the formatter returns a fixed 200-byte line, so only the handler is measured):

* in one process, the CPU time per record of ``handle()`` (one ``write`` per
  record) and of ``handle_batch()`` of 100 records, with the lock (``lock=True``, the
  default) and without it (``lock=False``, a single writer), next to the stdlib
  ``FileHandler``;
* ``--processes`` processes writing ``--records`` records each, record by record and
  in batches of 100, into one shared file (the lock) or into one file per process
  (no lock): wall time, total records per second, and the writers' CPU time per
  record.

CPU time (user + system, from ``time.process_time`` and ``getrusage``) is reported
because the machines this runs on are often shared: it does not count time spent
waiting for a CPU, which wall time does. Waiting for the lock is not CPU time either,
so the wall time of the shared-file cases is what shows contention.

Run: ``.venv/bin/python benchmarks/bench_files.py`` (``--help`` for options).
Prints Markdown tables. Files go to a fresh temporary directory (``--dir`` to choose
the file system), removed afterwards.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inferlog.handlers import RotatingJsonFileHandler

LINE = '{"timestamp":"2027-01-15T08:00:00.000Z","level":"INFO","message":"call done",' + (
    '"pad":"' + "x" * 110 + '"}'
)
BATCH = 100


class FixedFormatter(logging.Formatter):
    """Returns the same line every time: the benchmark is about the handler."""

    def format(self, record: logging.LogRecord) -> str:
        return LINE


def _records(count: int) -> list[logging.LogRecord]:
    return [
        logging.LogRecord("bench", logging.INFO, __file__, 1, "call done", None, None)
        for _ in range(count)
    ]


def _make(path: str, lock: bool) -> RotatingJsonFileHandler:
    handler = RotatingJsonFileHandler(path, max_bytes=0, compress=False, lock=lock)
    handler.setFormatter(FixedFormatter())
    return handler


def _write(handler: logging.Handler, records: list[logging.LogRecord], batched: bool) -> None:
    if batched:
        assert isinstance(handler, RotatingJsonFileHandler)
        for start in range(0, len(records), BATCH):
            handler.handle_batch(records[start : start + BATCH])
    else:
        for record in records:
            handler.handle(record)


def single_process(directory: str, count: int, repeats: int) -> list[tuple[str, float]]:
    """Best mean µs per record over ``repeats`` for each in-process case."""
    records = _records(count)
    results: list[tuple[str, float]] = []
    cases: list[tuple[str, bool | None, bool]] = [
        ("stdlib FileHandler, per record", None, False),
        ("inferlog, lock, per record", True, False),
        ("inferlog, no lock, per record", False, False),
        (f"inferlog, lock, batch of {BATCH}", True, True),
        (f"inferlog, no lock, batch of {BATCH}", False, True),
    ]
    for name, lock, batched in cases:
        best = float("inf")
        for attempt in range(repeats):
            path = os.path.join(directory, f"single-{attempt}-{len(results)}.jsonl")
            handler: logging.Handler
            if lock is None:
                handler = logging.FileHandler(path, encoding="utf-8")
                handler.setFormatter(FixedFormatter())
            else:
                handler = _make(path, lock)
            start = time.process_time()
            _write(handler, records, batched)
            handler.flush()
            elapsed = time.process_time() - start
            handler.close()
            os.unlink(path)
            best = min(best, elapsed / count * 1e6)
        results.append((name, best))
    return results


def _child(path: str, lock: bool, count: int, batched: bool, barrier: object) -> None:
    handler = _make(path, lock)
    records = _records(count)
    barrier.wait()  # type: ignore[attr-defined]
    _write(handler, records, batched)
    handler.close()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def multi_process(
    directory: str, processes: int, count: int, shared: bool, batched: bool
) -> tuple[float, float]:
    """Wall seconds, and CPU µs per record, for ``processes`` writers of ``count`` each."""
    cpu_before = _children_cpu()
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(processes + 1)
    children = []
    for index in range(processes):
        name = "shared.jsonl" if shared else f"own-{index}.jsonl"
        child = context.Process(
            target=_child,
            args=(os.path.join(directory, name), shared, count, batched, barrier),
        )
        child.start()
        children.append(child)
    barrier.wait()
    start = time.perf_counter()
    for child in children:
        child.join()
    elapsed = time.perf_counter() - start
    cpu = _children_cpu() - cpu_before
    for child in children:
        assert child.exitcode == 0
    total = 0
    for name in os.listdir(directory):
        if not name.startswith("."):
            with open(os.path.join(directory, name), "rb") as handle:
                total += sum(1 for _ in handle)
            os.unlink(os.path.join(directory, name))
    assert total == processes * count, (total, processes * count)
    # The children's CPU includes building the records, the same in every case.
    return elapsed, cpu / total * 1e6


def main() -> None:
    """Run every case and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=50_000, help="records per process")
    parser.add_argument("--processes", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--dir", default=None, help="where to write (default: a temp dir)")
    args = parser.parse_args()

    directory = tempfile.mkdtemp(prefix="inferlog-bench-", dir=args.dir)
    try:
        print(
            f"Python {platform.python_version()} on {platform.system()} {platform.machine()}, "
            f"{os.cpu_count()} CPUs; {args.records} records of {len(LINE) + 1} bytes"
        )
        print()
        print("| one process | CPU µs per record |")
        print("| --- | ---: |")
        for name, micros in single_process(directory, args.records, args.repeats):
            print(f"| {name} | {micros:.2f} |")
        print()
        print(
            f"| {args.processes} processes x {args.records} records "
            "| wall s | records/s | CPU µs per record |"
        )
        print("| --- | ---: | ---: | ---: |")
        for shared in (True, False):
            for batched in (False, True):
                runs = [
                    multi_process(directory, args.processes, args.records, shared, batched)
                    for _ in range(args.repeats)
                ]
                wall = min(r[0] for r in runs)
                cpu = min(r[1] for r in runs)
                layout = "one shared file, flock" if shared else "a file per process, no lock"
                mode = f"batch of {BATCH}" if batched else "per record"
                rate = args.processes * args.records / wall
                print(f"| {layout}, {mode} | {wall:.2f} | {rate:,.0f} | {cpu:.2f} |")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    main()
