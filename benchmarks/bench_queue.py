"""What one inference record costs the calling thread, queued or written in place.

Side by side, in one run and one process, for the inference record of DESIGN.md
(every documented field, a 2 KB ``request_payload``):

* ``logger.info`` to a ``NullHandler``: the baseline (creating the record);
* ``logger.info`` through :class:`inferlog.queueing.QueueHandler` to a
  ``FileHandler`` with python-json-logger's ``JsonFormatter`` on the listener thread;
* the same through the stdlib ``logging.handlers.QueueHandler`` and ``QueueListener``;
* ``logger.info`` to that ``FileHandler`` synchronously, on the caller's thread.

Each call is timed on its own (``perf_counter_ns`` around ``logger.info``), so p50
and p99 are per record, with the listener thread really running and competing for
the GIL. Records go in bursts (``--burst``) with an untimed flush between bursts,
and the four cases take turns burst by burst, so that load from other processes on
a shared machine hits every case alike.

Run: ``.venv/bin/python benchmarks/bench_queue.py`` (``--help`` for options). Prints
a Markdown table and the two targets: our p50 at most 1.5x the NullHandler p50, our
p99 under 50 µs.
"""

from __future__ import annotations

import argparse
import logging
import logging.handlers
import platform
import queue
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pythonjsonlogger.json import JsonFormatter

from inferlog.queueing import QueueHandler

PAYLOAD = {"messages": [{"role": "user", "content": "x" * 2000}], "max_tokens": 256}
EXTRA = {
    "request_id": "018f3a52-7c1e-7d2a-9b1f-3c2d4e5f6a7b",
    "user_id": "u-123",
    "model_id": "llm-chat",
    "model_version": "2026-11-01",
    "latency_ms": 41.7,
    "input_token_count": 512,
    "output_token_count": 128,
    "temperature": 0.2,
    "top_p": 0.95,
    "seed": 7,
    "status": "ok",
    "intent": "support",
    "request_payload": PAYLOAD,
    "response_payload": {"text": "ok"},
}
TARGET_P50_RATIO = 1.5
TARGET_P99_NS = 50_000


class Case:
    """One way of logging: a logger, and how to wait until its records are written."""

    def __init__(
        self,
        label: str,
        logger: logging.Logger,
        settle: Callable[[], None],
        close: Callable[[], None],
        call: Callable[[], object] | None = None,
    ) -> None:
        self.label = label
        self.logger = logger
        self.settle = settle
        self.close = close
        #: What is timed, when it is not ``logger.info`` with the inference record.
        self.call = call
        self.samples: list[int] = []


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(f"bench.queue.{name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    logger.handlers = [handler]
    return logger


def _file_sink(directory: Path, name: str) -> logging.FileHandler:
    sink = logging.FileHandler(directory / f"{name}.jsonl")
    sink.setFormatter(JsonFormatter())
    return sink


def _nothing() -> None:
    pass


def build_cases(directory: Path, queue_size: int) -> list[Case]:
    """Create the four cases, each writing to its own file in ``directory``."""
    null = Case(
        "`logger.info` to a `NullHandler` (baseline)",
        _logger("null", logging.NullHandler()),
        _nothing,
        _nothing,
    )

    ours_sink = _file_sink(directory, "inferlog")
    ours = QueueHandler(handlers=[ours_sink], queue_size=queue_size)

    def ours_close() -> None:
        ours.close()
        ours_sink.close()

    inferlog_case = Case(
        "inferlog `QueueHandler` -> FileHandler + JsonFormatter",
        _logger("inferlog", ours),
        lambda: ours.flush(30),
        ours_close,
    )

    stdlib_sink = _file_sink(directory, "stdlib")
    stdlib_queue: queue.SimpleQueue[logging.LogRecord] = queue.SimpleQueue()
    stdlib_handler = logging.handlers.QueueHandler(stdlib_queue)
    listener = logging.handlers.QueueListener(stdlib_queue, stdlib_sink)
    listener.start()

    def stdlib_settle() -> None:
        while not stdlib_queue.empty():
            time.sleep(0.001)

    def stdlib_close() -> None:
        listener.stop()
        stdlib_sink.close()

    stdlib_case = Case(
        "stdlib `QueueHandler` + `QueueListener` -> same sink",
        _logger("stdlib", stdlib_handler),
        stdlib_settle,
        stdlib_close,
    )

    sync_sink = _file_sink(directory, "sync")
    sync_case = Case(
        "synchronous FileHandler + JsonFormatter (no queue)",
        _logger("sync", sync_sink),
        _nothing,
        sync_sink.close,
    )
    # The part of the inferlog case that inferlog controls: handle() on a record that
    # already exists (it is copied each call, as in the full case).
    alone_sink = _file_sink(directory, "alone")
    alone = QueueHandler(handlers=[alone_sink], queue_size=queue_size)
    alone_logger = _logger("alone", alone)
    record = alone_logger.makeRecord(
        alone_logger.name,
        logging.INFO,
        __file__,
        0,
        "inference %s done in %.1f ms",
        ("llm-chat", 41.7),
        None,
        extra=EXTRA,
    )

    def alone_close() -> None:
        alone.close()
        alone_sink.close()

    alone_case = Case(
        "inferlog `QueueHandler.handle` alone (its own share of the call)",
        alone_logger,
        lambda: alone.flush(30),
        alone_close,
        call=lambda: alone.handle(record),
    )
    return [null, inferlog_case, stdlib_case, sync_case, alone_case]


def run_burst(case: Case, burst: int) -> None:
    """Log ``burst`` records through ``case``, timing each call."""
    clock = time.perf_counter_ns
    samples = case.samples
    call = case.call
    if call is not None:
        for _ in range(burst):
            start = clock()
            call()
            samples.append(clock() - start)
    else:
        info = case.logger.info
        extra = EXTRA
        for _ in range(burst):
            start = clock()
            info("inference %s done in %.1f ms", "llm-chat", 41.7, extra=extra)
            samples.append(clock() - start)
    case.settle()


def percentile(values: list[int], fraction: float) -> float:
    """The ``fraction`` quantile of ``values`` (nearest rank)."""
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))
    return float(ordered[index])


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the table; exit status 0 whatever the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=40_000, help="records per case (default 40,000)")
    parser.add_argument("--burst", type=int, default=500, help="records per burst (default 500)")
    parser.add_argument("--warmup", type=int, default=2_000, help="untimed records per case")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="inferlog-bench-") as tmp:
        cases = build_cases(Path(tmp), queue_size=max(10_000, args.burst * 2))
        for case in cases:
            run_burst(case, args.warmup)
            case.samples.clear()
        rounds = max(1, args.n // args.burst)
        for _ in range(rounds):
            for case in cases:
                run_burst(case, args.burst)
        for case in cases:
            case.close()

    baseline_p50 = percentile(cases[0].samples, 0.50)
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{rounds * args.burst:,} records per case in bursts of {args.burst}, "
        "2 KB request_payload\n"
    )
    print("| case | p50 µs | p99 µs | mean µs | p50 vs NullHandler |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for case in cases:
        p50 = percentile(case.samples, 0.50)
        p99 = percentile(case.samples, 0.99)
        mean = statistics.fmean(case.samples)
        print(
            f"| {case.label} | {p50 / 1000:.2f} | {p99 / 1000:.2f} | {mean / 1000:.2f} "
            f"| {p50 / baseline_p50:.2f}x |"
        )
    ours = cases[1].samples
    ratio = percentile(ours, 0.50) / baseline_p50
    p99 = percentile(ours, 0.99)
    print()
    print(
        f"target p50 <= {TARGET_P50_RATIO}x NullHandler: {ratio:.2f}x -> "
        f"{'met' if ratio <= TARGET_P50_RATIO else 'missed'}"
    )
    print(
        f"target p99 < {TARGET_P99_NS / 1000:.0f} µs: {p99 / 1000:.2f} µs -> "
        f"{'met' if p99 < TARGET_P99_NS else 'missed'}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
