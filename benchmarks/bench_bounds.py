"""What it costs to format a record carrying a large bytes value, beside the peers.

A request or response body logged as raw bytes (``extra={"payload": body}``) is the
case: inferlog keeps a bounded, readable prefix (``\\xNN`` escapes for bytes that are
not UTF-8) and a marker, and must not pay for the part it cuts. Compares, in one run,
``inferlog.JsonFormatter`` with python-json-logger's ``OrjsonFormatter`` and the
hand-rolled ``json.dumps(record.__dict__, default=str)`` (both write the whole value)
at 20 KB, 1 MB and 10 MB of undecodable bytes.

Run: ``.venv/bin/python benchmarks/bench_bounds.py``. Prints a Markdown table of the
best mean ms per record and the size of the line each wrote.
"""

from __future__ import annotations

import argparse
import json
import logging
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pythonjsonlogger.orjson import OrjsonFormatter as PjlOrjsonFormatter

from inferlog.formatting import JsonFormatter

SIZES = (20_000, 1_000_000, 10_000_000)


def _record(size: int) -> logging.LogRecord:
    record = logging.LogRecord("app", logging.INFO, __file__, 1, "body", None, None)
    record.payload = b"\xff" * size
    return record


def _hand_rolled(record: logging.LogRecord) -> str:
    return json.dumps(record.__dict__, default=str)


def _best_ms(
    fn: Callable[[logging.LogRecord], str], record: logging.LogRecord, repeat: int
) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(record)
        best = min(best, time.perf_counter() - start)
    return best * 1e3


def main() -> None:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="repeats; the best is kept")
    args = parser.parse_args()
    contenders: dict[str, Callable[[logging.LogRecord], str]] = {
        "inferlog JsonFormatter": JsonFormatter().format,
        "python-json-logger OrjsonFormatter": PjlOrjsonFormatter().format,
        "json.dumps(record.__dict__)": _hand_rolled,
    }
    print(f"Python {platform.python_version()} on {platform.machine()}, best of {args.repeat}\n")
    print("| bytes | formatter | ms / record | line bytes |")
    print("| ---: | --- | ---: | ---: |")
    for size in SIZES:
        record = _record(size)
        for name, fn in contenders.items():
            try:
                line = fn(record)
            except Exception as err:  # a peer that cannot format this record
                print(f"| {size:,} | {name} | raised {type(err).__name__} | |")
                continue
            print(
                f"| {size:,} | {name} | {_best_ms(fn, record, args.repeat):.2f} | {len(line):,} |"
            )


if __name__ == "__main__":
    main()
