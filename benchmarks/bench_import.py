"""What ``import inferlog`` costs a process, side by side with structlog and python-json-logger.

Each measurement is a fresh interpreter (``python -c``) that times one import
statement with ``time.perf_counter`` around it, so interpreter start-up is left out
and nothing is cached from an earlier run except the operating system's file cache.
The statements are run round-robin, ``--runs`` times each, and the table shows the
median in milliseconds and the ratios to python-json-logger's and structlog's imports.

Besides ``import inferlog`` (public names are imported on first use), the table shows
what a process pays when it uses inferlog: ``inferlog.configure`` (the whole pipeline:
formatter, queue, file handler, redaction engine), ``inferlog.inference`` with
``request_context``, and the middleware.

Run: ``.venv/bin/python benchmarks/bench_import.py`` (``--help`` for options).
"""

from __future__ import annotations

import argparse
import platform
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: (label, import statement); the first is the reference for the ratios.
CASES: tuple[tuple[str, str], ...] = (
    ("python-json-logger", "from pythonjsonlogger import json"),
    ("structlog", "import structlog"),
    ("inferlog", "import inferlog"),
    ("inferlog + configure", "import inferlog; inferlog.configure"),
    (
        "inferlog + inference, request_context",
        "from inferlog import inference, request_context",
    ),
    ("inferlog.middleware", "import inferlog.middleware"),
)

_TIMER = "import time; _t = time.perf_counter(); {statement}; print(time.perf_counter() - _t)"


def time_import(statement: str) -> float:
    """Seconds one fresh interpreter spends on ``statement``."""
    out = subprocess.run(
        [sys.executable, "-c", _TIMER.format(statement=statement)],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout
    return float(out.strip().splitlines()[-1])


def main() -> int:
    """Measure every case and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=21, help="interpreters per case")
    args = parser.parse_args()
    samples: dict[str, list[float]] = {label: [] for label, _ in CASES}
    for label, statement in CASES:  # warm the file cache once
        time_import(statement)
    for _ in range(args.runs):
        for label, statement in CASES:
            samples[label].append(time_import(statement) * 1000)
    reference = statistics.median(samples[CASES[0][0]])
    print(
        f"Python {platform.python_version()} on {platform.machine()}, "
        f"{args.runs} fresh interpreters per row, median\n"
    )
    structlog = statistics.median(samples["structlog"])
    print("| import | ms (median) | min | max | x python-json-logger | x structlog |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for label, statement in CASES:
        values = samples[label]
        median = statistics.median(values)
        print(
            f"| `{statement}` | {median:.1f} | {min(values):.1f} | {max(values):.1f} "
            f"| {median / reference:.2f} | {median / structlog:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
