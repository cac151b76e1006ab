"""The alert handler: records per second, the calling thread's cost, memory per key.

1. **Throughput**: ``ErrorRateAlertHandler.handle_batch`` on batches of 512 inference
   records spread over ``--keys`` keys, as a queue listener calls it, with the three
   rule types configured, next to a handler whose ``emit`` does nothing.
2. **Caller cost**: the handler attached directly to a logger (each call timed),
   next to a ``NullHandler``.
3. **Memory**: bytes allocated per key (tracemalloc) after 10x more records for the
   same keys, to show it does not grow with records.

Run: ``.venv/bin/python benchmarks/bench_alerting.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import logging
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_queue import percentile

from inferlog.alerting import ErrorRateAlertHandler

RULES = [
    {"type": "error_rate", "rate": 0.02, "window": 300, "min_calls": 50},
    {"type": "latency", "quantile": 0.95, "threshold_ms": 800, "min_calls": 20},
    {"type": "output_tokens_shift", "window": 300, "baseline": 3600, "min_calls": 50},
]


class _DoNothing(logging.Handler):
    """The cost of ``Handler.handle`` itself (lock, filters), for comparison."""

    def emit(self, record: logging.LogRecord) -> None:
        pass


def _handler() -> ErrorRateAlertHandler:
    return ErrorRateAlertHandler(rules=RULES, alert_logger=None, tick_interval=None)


def _records(count: int, keys: int, start: float) -> list[logging.LogRecord]:
    return [
        logging.makeLogRecord(
            {
                "msg": "inference",
                "levelno": logging.INFO,
                "levelname": "INFO",
                "model_id": f"model-{i % keys}",
                "model_version": "1",
                "status": "error" if i % 97 == 0 else "ok",
                "latency_ms": 20.0 + (i * 7919) % 500,
                "output_token_count": 100 + i % 50,
                "created": start + i * 0.001,
            }
        )
        for i in range(count)
    ]


def throughput(count: int, keys: int, repeats: int) -> None:
    """Print records per second through handle_batch."""
    records = _records(count, keys, time.time() - count * 0.001)
    best = 0.0
    for _ in range(repeats):
        handler = _handler()
        begin = time.perf_counter()
        for i in range(0, count, 512):
            handler.handle_batch(records[i : i + 512])
        best = max(best, count / (time.perf_counter() - begin))
        handler.close()
    plain = _DoNothing()
    begin = time.perf_counter()
    for record in records:
        plain.handle(record)
    plain_rate = count / (time.perf_counter() - begin)
    print(f"| `handle_batch`, 3 rules, {keys} keys | {best:,.0f} records/s |")
    print(f"| a `Handler` whose `emit` does nothing | {plain_rate:,.0f} records/s |")


def caller_cost(count: int) -> None:
    """Print p50/p99 of a logging call with the handler attached directly."""
    extra = {"model_id": "m", "model_version": "1", "status": "ok", "latency_ms": 41.7}
    results = []
    for label, handler in (
        ("`NullHandler`", logging.NullHandler()),
        ("`ErrorRateAlertHandler` attached directly", _handler()),
    ):
        logger = logging.getLogger(f"bench.alerting.{len(results)}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.handlers = [handler]
        samples = []
        clock = time.perf_counter_ns
        for _ in range(count):
            begin = clock()
            logger.info("inference", extra=extra)
            samples.append(clock() - begin)
        handler.close()
        results.append((label, samples))
    print("| case | p50 µs | p99 µs | mean µs |")
    print("| --- | ---: | ---: | ---: |")
    for label, samples in results:
        print(
            f"| {label} | {percentile(samples, 0.5) / 1000:.2f} "
            f"| {percentile(samples, 0.99) / 1000:.2f} | {statistics.fmean(samples) / 1000:.2f} |"
        )


def memory(keys: int) -> None:
    """Print bytes per key after N and after 10 N records."""
    start = time.time() - 200
    for per_key in (20, 200):
        handler = _handler()
        records = _records(keys * per_key, keys, start)
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        handler.handle_batch(records)
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        print(f"| {keys} keys, {per_key} records each | {(after - before) / keys:,.0f} bytes/key |")
        handler.close()


def main(argv: list[str] | None = None) -> int:
    """Run the three measurements and print Markdown tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=50_000, help="records (50,000)")
    parser.add_argument("--keys", type=int, default=100, help="keys (100)")
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs, best kept")
    args = parser.parse_args(argv)
    print(f"Python {platform.python_version()} on {platform.machine()}\n")
    print("| measurement | figure |")
    print("| --- | ---: |")
    throughput(args.n, args.keys, args.repeats)
    memory(args.keys)
    print()
    caller_cost(min(args.n, 20_000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
