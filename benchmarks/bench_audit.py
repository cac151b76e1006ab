"""The audit trail: rows per second, and what it costs the calling thread.

Two measurements, in one process:

1. **Caller-thread cost.** One inference record (every documented field, a 2 KB
   ``request_payload``) logged per call, each call timed on its own, the cases taking
   turns burst by burst (an untimed flush between bursts):

   * ``NullHandler``: creating the record (baseline);
   * the main path without audit: ``QueueHandler`` -> ``FileHandler`` + JSON;
   * the same plus the audit path: a second ``QueueHandler`` -> ``AuditHandler``;
   * ``AuditHandler`` attached directly (one transaction per call on the caller).

2. **Throughput.** ``AuditHandler.handle_batch`` on batches of ``--batch`` records,
   as the listener calls it (redaction, row building, hashing, one transaction per
   batch), for ``synchronous`` FULL and NORMAL and for raw payloads; and
   ``verify`` over the resulting database.

Run: ``.venv/bin/python benchmarks/bench_audit.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_queue import EXTRA as QUEUE_EXTRA
from bench_queue import PAYLOAD as QUEUE_PAYLOAD
from bench_queue import percentile
from pythonjsonlogger.json import JsonFormatter

from inferlog.audit import AuditHandler, verify
from inferlog.pipeline import QueueHandler

# The inference record of bench_queue.py, with an e-mail address in the prompt so that
# redaction has something to find.
PAYLOAD = {**QUEUE_PAYLOAD, "messages": [{"role": "user", "content": "x" * 1980 + " a@b.io"}]}
EXTRA = {**QUEUE_EXTRA, "request_payload": PAYLOAD}


class Case:
    """One way of logging, how to wait until it is written, and its timings."""

    def __init__(
        self, label: str, handlers: list[logging.Handler], settle: Callable[[], None]
    ) -> None:
        self.label = label
        self.logger = logging.getLogger(f"bench.audit.{len(label)}.{id(self)}")
        self.logger.setLevel(logging.INFO)
        self.logger.propagate = False
        self.logger.handlers = list(handlers)
        self.settle = settle
        self.samples: list[int] = []


def _file_sink(directory: Path, name: str) -> logging.FileHandler:
    sink = logging.FileHandler(directory / f"{name}.jsonl")
    sink.setFormatter(JsonFormatter())
    return sink


def build_cases(directory: Path) -> tuple[list[Case], list[logging.Handler]]:
    """The four caller-cost cases, and every handler to close afterwards."""
    main = QueueHandler(handlers=[_file_sink(directory, "main")])
    main_with = QueueHandler(handlers=[_file_sink(directory, "main-with")])
    audit = AuditHandler(directory / "queued.db")
    audit_queue = QueueHandler(handlers=[audit])
    direct = AuditHandler(directory / "direct.db", synchronous="NORMAL")

    def settle_main() -> None:
        main.flush(60)

    def settle_both() -> None:
        main_with.flush(60)
        audit_queue.flush(60)

    cases = [
        Case("`NullHandler` (baseline)", [logging.NullHandler()], lambda: None),
        Case("main path, no audit: `QueueHandler` -> file", [main], settle_main),
        Case(
            "main path + audit behind its own `QueueHandler`", [main_with, audit_queue], settle_both
        ),
        Case("`AuditHandler` attached directly (NORMAL)", [direct], lambda: None),
    ]
    return cases, [main, main_with, audit_queue, audit, direct]


def run_burst(case: Case, burst: int) -> None:
    """Log ``burst`` records through ``case``, timing each call."""
    clock = time.perf_counter_ns
    info = case.logger.info
    samples = case.samples
    for _ in range(burst):
        start = clock()
        info("inference", extra=EXTRA)
        samples.append(clock() - start)
    case.settle()


def caller_cost(n: int, burst: int) -> None:
    """Print the caller-thread table."""
    with tempfile.TemporaryDirectory(prefix="inferlog-bench-audit-") as tmp:
        cases, handlers = build_cases(Path(tmp))
        for case in cases:
            run_burst(case, min(500, burst))
            case.samples.clear()
        for _ in range(max(1, n // burst)):
            for case in cases:
                run_burst(case, burst)
        for handler in handlers:
            handler.close()
    base = percentile(cases[1].samples, 0.5)
    print("| case | p50 µs | p99 µs | mean µs | p50 vs main path |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for case in cases:
        p50 = percentile(case.samples, 0.5)
        print(
            f"| {case.label} | {p50 / 1000:.2f} | {percentile(case.samples, 0.99) / 1000:.2f} "
            f"| {statistics.fmean(case.samples) / 1000:.2f} | {p50 / base:.2f}x |"
        )


def _records(count: int) -> list[logging.LogRecord]:
    logger = logging.getLogger("bench.audit.rows")
    return [
        logger.makeRecord(
            logger.name,
            logging.INFO,
            __file__,
            0,
            "inference",
            None,
            None,
            extra={**EXTRA, "request_id": f"r-{i}"},
        )
        for i in range(count)
    ]


def throughput(rows: int, batch: int, repeats: int) -> None:
    """Print the rows-per-second table."""
    print(f"| configuration | rows/s (best of {repeats}) |")
    print("| --- | ---: |")
    variants: list[tuple[str, dict[str, object]]] = [
        ("redacted, `synchronous=FULL` (default)", {}),
        ("redacted, `synchronous=NORMAL`", {"synchronous": "NORMAL"}),
        (
            "raw payloads, `synchronous=NORMAL`",
            {"synchronous": "NORMAL", "store_raw_payloads": True},
        ),
    ]
    verify_rate = 0.0
    for label, options in variants:
        best = 0.0
        for _ in range(repeats):
            with tempfile.TemporaryDirectory(prefix="inferlog-bench-audit-") as tmp:
                path = Path(tmp) / "audit.db"
                handler = AuditHandler(path, **options)  # type: ignore[arg-type]
                records = _records(rows)
                start = time.perf_counter()
                for i in range(0, rows, batch):
                    handler.handle_batch(records[i : i + batch])
                elapsed = time.perf_counter() - start
                handler.close()
                best = max(best, rows / elapsed)
                start = time.perf_counter()
                result = verify(path)
                verify_rate = max(verify_rate, result.rows / (time.perf_counter() - start))
                if not (result.ok and result.rows == rows):
                    raise SystemExit(f"the benchmark's chain did not verify: {result}")
        print(f"| {label} | {best:,.0f} |")
    print(f"| `verify` (rows checked per second) | {verify_rate:,.0f} |")


def main(argv: list[str] | None = None) -> int:
    """Run both measurements and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=10_000, help="timed calls per case (10,000)")
    parser.add_argument("--burst", type=int, default=500, help="calls per burst (500)")
    parser.add_argument("--rows", type=int, default=10_000, help="rows per throughput run")
    parser.add_argument("--batch", type=int, default=512, help="records per batch (512)")
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs, best kept")
    args = parser.parse_args(argv)
    print(
        f"Python {platform.python_version()} on {platform.machine()}; inference record "
        "with a 2 KB request_payload\n"
    )
    caller_cost(args.n, args.burst)
    print()
    throughput(args.rows, args.batch, args.repeats)
    return 0


if __name__ == "__main__":
    sys.exit(main())
