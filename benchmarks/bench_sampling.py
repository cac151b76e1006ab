"""What a record dropped by sampling costs the calling thread.

Compares, in one run and one process:

* ``logger.info`` on a logger whose level filters the record out (the floor: no
  record is created);
* ``logger.info`` to a handler that does nothing, with no filter: what creating the
  record costs, which no filter can save;
* ``logger.info`` whose record is created, stamped by ``ContextFilter`` inside a
  ``request_context`` and dropped by ``SamplingFilter`` (the caller-side chain);
* the same without ``ContextFilter`` (``request_id`` passed in ``extra=``), to isolate
  sampling from context stamping;
* ``SamplingFilter.filter`` alone on a prebuilt record, for a request id seen before
  (cached) and for a new id each call (hashed).

Run: ``.venv/bin/python benchmarks/bench_sampling.py`` (``--help`` for options).
Prints a Markdown table: the best over repeats of the mean ns per call, and the
ratio to the level-filtered call. Records are dropped at rate 0.01 with a request id
that the rate drops, so each case pays for the whole decision.
"""

from __future__ import annotations

import argparse
import gc
import logging
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from inferlog.sampling import SamplingFilter, request_id_fraction

try:  # ContextFilter is another module; measure without it if it is not there yet.
    from inferlog.context import ContextFilter, request_context
except ImportError:  # pragma: no cover
    ContextFilter = None  # type: ignore[assignment,misc]
    request_context = None  # type: ignore[assignment]

RATE = 0.01
# A request id that RATE drops, so every case below pays for the full decision.
DROPPED_ID = next(f"req-{i}" for i in range(1000) if request_id_fraction(f"req-{i}") >= RATE)
EXTRA = {
    "model_id": "llm-chat",
    "model_version": "2026-11-01",
    "latency_ms": 41.7,
    "status": "ok",
}


class _DiscardHandler(logging.Handler):
    """Runs its filters (unlike ``NullHandler``) and then does nothing."""

    def emit(self, record: logging.LogRecord) -> None:
        pass


def _logger(name: str, level: int, *filters: logging.Filter) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(level)
    logger.propagate = False
    handler = _DiscardHandler()
    for f in filters:
        handler.addFilter(f)
    logger.addHandler(handler)
    return logger


def _measure(fn: Callable[[], object], n: int, repeats: int) -> float:
    """Best over ``repeats`` of the mean ns per call of ``fn`` over ``n`` calls.

    The best, as ``timeit`` recommends: on a shared machine the slower repeats measure
    the other processes.
    """
    for _ in range(min(n, 10_000)):
        fn()
    results = []
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        elapsed = time.perf_counter_ns() - start
        gc.enable()
        results.append(elapsed / n)
    return min(results)


def run(n: int, repeats: int) -> list[tuple[str, float]]:
    """Return ``(case, ns per call)`` for every case, level-filtered first."""
    rows: list[tuple[str, float]] = []

    off = _logger("bench.sampling.off", logging.WARNING)
    rows.append(
        (
            "`logger.info`, filtered out by the logger's level",
            _measure(lambda: off.info("inference done", extra=EXTRA), n, repeats),
        )
    )

    bare = _logger("bench.sampling.bare", logging.DEBUG)
    rows.append(
        (
            "`logger.info` to a do-nothing handler, no filter (creating the record)",
            _measure(lambda: bare.info("inference done", extra=EXTRA), n, repeats),
        )
    )

    if ContextFilter is not None and request_context is not None:
        chained = _logger(
            "bench.sampling.chain", logging.DEBUG, ContextFilter(), SamplingFilter(rate=RATE)
        )
        with request_context(request_id=DROPPED_ID):
            rows.append(
                (
                    "`logger.info`, dropped by ContextFilter -> SamplingFilter",
                    _measure(lambda: chained.info("inference done", extra=EXTRA), n, repeats),
                )
            )

    sampled = _logger("bench.sampling.only", logging.DEBUG, SamplingFilter(rate=RATE))
    extra = {**EXTRA, "request_id": DROPPED_ID}
    rows.append(
        (
            "`logger.info`, dropped by SamplingFilter (request_id in extra)",
            _measure(lambda: sampled.info("inference done", extra=extra), n, repeats),
        )
    )

    filt = SamplingFilter(rate=RATE)
    record = logging.LogRecord("bench", logging.INFO, __file__, 1, "m", None, None)
    record.__dict__.update(extra)
    rows.append(
        (
            "`SamplingFilter.filter` alone, request id seen before",
            _measure(lambda: filt.filter(record), n, repeats),
        )
    )

    counter = iter(range(10**12))
    fresh = SamplingFilter(rate=RATE)

    def new_id() -> object:
        record.request_id = f"req-{next(counter)}"  # type: ignore[attr-defined]
        return fresh.filter(record)

    base = _measure(lambda: f"req-{next(counter)}", n, repeats)
    rows.append(
        (
            "`SamplingFilter.filter` alone, new request id each call (hashed)",
            _measure(new_id, n, repeats) - base,
        )
    )
    return rows


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=200_000, help="calls per repeat")
    parser.add_argument("--repeats", type=int, default=7, help="repeats per case")
    args = parser.parse_args(argv)
    rows = run(args.n, args.repeats)
    floor = rows[0][1]
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{args.n} calls x {args.repeats} repeats, best mean\n"
    )
    print("| case | ns per call | vs level-filtered |")
    print("| --- | ---: | ---: |")
    for case, ns in rows:
        print(f"| {case} | {ns:,.0f} | {ns / floor:.1f}x |")


if __name__ == "__main__":
    main()
