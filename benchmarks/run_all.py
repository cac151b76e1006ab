"""Run every benchmark under ``benchmarks/`` in turn (what ``make bench`` does).

Each benchmark prints its own Markdown table; this script only runs them one after
another, so that no two compete for the machine's cores, and prints how long each
took and the total. By default the slow ones run in a quick mode (fewer records or
repeats, see ``QUICK``) so that the whole run stays under five minutes on a 2-core
machine; ``--full`` runs every benchmark with its own defaults, as the figures in
``docs/performance.md`` were taken.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

#: Arguments that make each slow benchmark quick; the others run as they are.
QUICK: dict[str, list[str]] = {
    "bench_alerting.py": ["--repeats", "2"],
    "bench_audit.py": ["-n", "4000", "--rows", "4000", "--repeats", "2"],
    "bench_cloud_logging.py": ["--records", "8000", "--repeats", "2"],
    "bench_cloudwatch.py": ["--records", "8000", "--rounds", "2"],
    "bench_files.py": ["--records", "20000", "--repeats", "2"],
    "bench_formatting.py": ["--number", "2000", "--repeat", "3"],
    "bench_import.py": ["--runs", "7"],
    "bench_pipeline.py": ["--records", "10000", "--rounds", "3"],
    "bench_queue.py": ["-n", "20000"],
    "bench_redaction.py": ["-n", "1000", "--repeats", "5"],
    "bench_sampling.py": ["--repeats", "20"],
    "bench_stats.py": ["--records", "200000", "--repeat", "1", "--repeat-fast", "2"],
}


def main(argv: list[str] | None = None) -> int:
    """Run each ``bench_*.py`` and return non-zero if any of them failed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="each benchmark's own defaults")
    args = parser.parse_args(argv)
    failed = []
    took: list[tuple[str, float]] = []
    started = time.perf_counter()
    for script in sorted(HERE.glob("bench_*.py")):
        extra = [] if args.full else QUICK.get(script.name, [])
        print(f"\n## {script.name} {' '.join(extra)}\n", flush=True)
        begin = time.perf_counter()
        if subprocess.run([sys.executable, str(script), *extra], check=False).returncode != 0:
            failed.append(script.name)
        took.append((script.name, time.perf_counter() - begin))
    total = time.perf_counter() - started
    print(f"\n## wall time ({'full' if args.full else 'quick'} mode)\n")
    print("| benchmark | seconds |\n| --- | ---: |")
    for name, seconds in took:
        print(f"| {name} | {seconds:.1f} |")
    print(f"| **total** | **{total:.1f}** |")
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
