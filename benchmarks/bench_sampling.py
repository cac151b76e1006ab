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
Prints a Markdown table: the best over repeats (taken round-robin over the cases) of
the mean ns per call, and the ratio to the level-filtered call. Records are dropped
at rate 0.01 with a request id that the rate drops, so each case pays for the whole
decision.
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
try:  # the opt-in early decision, measured when it is there
    from inferlog.sampling import SampledLogger
except ImportError:  # pragma: no cover
    SampledLogger = None  # type: ignore[assignment,misc]

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


def _time_once(fn: Callable[[], object], n: int) -> float:
    """Mean ns per call of ``fn`` over ``n`` calls, with the collector off."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter_ns()
        for _ in range(n):
            fn()
        return (time.perf_counter_ns() - start) / n
    finally:
        gc.enable()


def _measure_all(
    cases: list[tuple[str, Callable[[], object]]], n: int, repeats: int
) -> dict[str, float]:
    """Best over ``repeats`` of each case's mean ns per call.

    Repeats go round-robin over the cases, so that a burst of load from other
    processes slows every case alike instead of one; the best repeat is kept, as
    ``timeit`` recommends, because slower ones measure the other processes.
    """
    for _name, fn in cases:
        for _ in range(min(n, 10_000)):
            fn()
    best = {name: float("inf") for name, _fn in cases}
    for _ in range(repeats):
        for name, fn in cases:
            best[name] = min(best[name], _time_once(fn, n))
    return best


def run(n: int, repeats: int) -> list[tuple[str, float]]:
    """Return ``(case, ns per call)`` for every case, level-filtered first."""
    cases: list[tuple[str, Callable[[], object]]] = []

    off = _logger("bench.sampling.off", logging.WARNING)
    cases.append(
        (
            "`logger.info`, filtered out by the logger's level",
            lambda: off.info("inference done", extra=EXTRA),
        )
    )

    bare = _logger("bench.sampling.bare", logging.DEBUG)
    cases.append(
        (
            "`logger.info` to a do-nothing handler, no filter (creating the record)",
            lambda: bare.info("inference done", extra=EXTRA),
        )
    )

    if ContextFilter is not None:
        chained = _logger(
            "bench.sampling.chain", logging.DEBUG, ContextFilter(), SamplingFilter(rate=RATE)
        )
        cases.append(
            (
                "`logger.info`, dropped by ContextFilter -> SamplingFilter",
                lambda: chained.info("inference done", extra=EXTRA),
            )
        )

    sampled = _logger("bench.sampling.only", logging.DEBUG, SamplingFilter(rate=RATE))
    extra = {**EXTRA, "request_id": DROPPED_ID}
    cases.append(
        (
            "`logger.info`, dropped by SamplingFilter (request_id in extra)",
            lambda: sampled.info("inference done", extra=extra),
        )
    )

    if SampledLogger is not None and ContextFilter is not None:
        early_filter = SamplingFilter(rate=RATE)
        early = SampledLogger(
            _logger("bench.sampling.early", logging.DEBUG, ContextFilter(), early_filter),
            early_filter,
        )
        cases.append(
            (
                "`SampledLogger.info`, dropped before the record is built (opt-in)",
                lambda: early.info("inference done", extra=EXTRA),
            )
        )

    filt = SamplingFilter(rate=RATE)
    record = logging.LogRecord("bench", logging.INFO, __file__, 1, "m", None, None)
    record.__dict__.update(extra)
    cases.append(
        ("`SamplingFilter.filter` alone, request id seen before", lambda: filt.filter(record))
    )

    counter = iter(range(10**12))
    fresh = SamplingFilter(rate=RATE)
    fresh_record = logging.LogRecord("bench", logging.INFO, __file__, 1, "m", None, None)

    def new_id() -> object:
        fresh_record.request_id = f"req-{next(counter)}"  # type: ignore[attr-defined]
        return fresh.filter(fresh_record)

    new_id_case = "`SamplingFilter.filter` alone, new request id each call (hashed)"
    making_ids = "making the new ids (subtracted)"
    cases.append((new_id_case, new_id))
    cases.append((making_ids, lambda: f"req-{next(counter)}"))

    if request_context is not None:
        with request_context(request_id=DROPPED_ID):
            best = _measure_all(cases, n, repeats)
    else:  # pragma: no cover
        best = _measure_all(cases, n, repeats)
    best[new_id_case] -= best.pop(making_ids)
    return list(best.items())


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10_000, help="calls per repeat")
    parser.add_argument("--repeats", type=int, default=40, help="repeats per case")
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
