"""``inferlog stats`` records per second on a generated 1M-record log, beside peers.

The log: ``--records`` inference records (default 1,000,000) over four model
versions, with token counts, latencies that depend on them, 3% errors and no
sampling (so unweighted peers compute the same figures), written half as a plain
file and half as a gzip file, as a rotated set looks.

Side by side, each in a fresh child process: work time (measured inside the child,
without interpreter start and imports; best of ``--repeat`` runs, of
``--repeat-fast`` for the inferlog cases, which take about a second, so that a
shared machine's busy moments count less), work CPU time (all threads), wall time
including start, peak RSS of the child, and the load average before each case:

* ``inferlog stats``: :func:`inferlog.analysis.stats.compute_stats`, the whole table
  (calls, error rate, exact p50/p95/p99, token means, correlation and slope);
* pandas: ``pd.concat(pd.read_json(f, lines=True) for f in files)`` then one
  ``groupby`` computing the same figures;
* jq (when installed): one streaming ``reduce`` over ``cat``/``zcat`` output computing
  counts, error rate and means; jq has no streaming quantiles, so it does less;
* floor: DuckDB's ``read_json`` over the same files converting one field and
  computing nothing: what decompressing and parsing costs by itself.

Also ``inferlog stats`` on a quarter of the records and on four times as many (the
same two files, each four times over), to show what memory does as the input grows.

Run: ``.venv/bin/python benchmarks/bench_stats.py`` (``--help`` for options); prints
Markdown tables. The files go to a temporary directory, removed afterwards.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VERSIONS = ("2026-09-01", "2026-11-15", "3.1.0", "3.2.0")

JQ_PROGRAM = (
    "reduce inputs as $r ({}; .[$r.model_version] |= "
    '(.n += 1 | .err += (if $r.status == "error" then 1 else 0 end) '
    "| .lat += $r.latency_ms | .tin += $r.input_token_count | .tout += $r.output_token_count))"
    " | map_values(.err /= .n | .lat /= .n | .tin /= .n | .tout /= .n)"
)


def generate(directory: Path, records: int, seed: int = 1) -> list[str]:
    """Write ``records`` records, half plain, half gzip; return the two paths."""
    rng = random.Random(seed)
    base = datetime(2027, 1, 1, tzinfo=timezone.utc)
    half = records // 2
    older = directory / "inferlog.20270101T000000.000000Z.jsonl.gz"
    newer = directory / "inferlog.jsonl"

    def lines(start: int, stop: int) -> bytes:
        chunk = []
        for index in range(start, stop):
            tokens_in, tokens_out = rng.randint(10, 2000), rng.randint(5, 500)
            failed = rng.random() < 0.03
            record = {
                "timestamp": (base + timedelta(milliseconds=index))
                .isoformat(timespec="milliseconds")
                .replace("+00:00", "Z"),
                "level": "ERROR" if failed else "INFO",
                "logger": "inferlog.inference",
                "message": "inference",
                "request_id": f"r-{index:08d}",
                "user_id": f"u-{index % 97}",
                "model_id": "chat-llm",
                "model_version": rng.choice(VERSIONS),
                "latency_ms": round(
                    40 + 0.01 * tokens_in + 0.05 * tokens_out + rng.random() * 5, 3
                ),
                "input_token_count": tokens_in,
                "output_token_count": tokens_out,
                "temperature": 0.2,
                "status": "error" if failed else "ok",
                "request_payload": {"messages": [{"role": "user", "content": "Summarise."}]},
                "response_payload": {"text": "(answer)"},
            }
            chunk.append(orjson.dumps(record))
        return b"\n".join(chunk) + b"\n"

    with gzip.open(older, "wb", compresslevel=6) as handle:
        for start in range(0, half, 50_000):
            handle.write(lines(start, min(half, start + 50_000)))
    with open(newer, "wb") as handle:
        for start in range(half, records, 50_000):
            handle.write(lines(start, min(records, start + 50_000)))
    return [str(older), str(newer)]


def child_inferlog(files: list[str], memory_limit: str | None) -> None:
    from inferlog.analysis.sql import StatsSpec
    from inferlog.analysis.stats import compute_stats

    start, cpu = time.perf_counter(), time.process_time()
    result = compute_stats(files, StatsSpec(), memory_limit=memory_limit)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"records": result.records, "seconds": seconds, "cpu": cpu}))


def child_floor(files: list[str]) -> None:
    """What reading alone costs: DuckDB decompressing and parsing every line for one field."""
    from inferlog.analysis.engine import connect, read_json_sql

    start, cpu = time.perf_counter(), time.process_time()
    con = connect()
    source = read_json_sql(files, {"latency_ms": "DOUBLE"})
    (count,) = con.execute(f"SELECT count(latency_ms) FROM {source}").fetchone()
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"records": count, "seconds": seconds, "cpu": cpu}))


def child_pandas(files: list[str]) -> None:
    import pandas as pd

    start, cpu = time.perf_counter(), time.process_time()
    frame = pd.concat(pd.read_json(f, lines=True) for f in files)
    frame["failed"] = frame["status"] == "error"
    grouped = frame.groupby(["model_id", "model_version"])
    table = grouped.agg(
        calls=("latency_ms", "size"),
        error_rate=("failed", "mean"),
        p50=("latency_ms", lambda s: s.quantile(0.5, interpolation="higher")),
        p95=("latency_ms", lambda s: s.quantile(0.95, interpolation="higher")),
        p99=("latency_ms", lambda s: s.quantile(0.99, interpolation="higher")),
        tin=("input_token_count", "mean"),
        tout=("output_token_count", "mean"),
    )
    table["r_in"] = grouped.apply(lambda g: g["latency_ms"].corr(g["input_token_count"]))
    table["slope_in"] = grouped.apply(
        lambda g: 1000 * g["latency_ms"].cov(g["input_token_count"]) / g["input_token_count"].var()
    )
    table["r_out"] = grouped.apply(lambda g: g["latency_ms"].corr(g["output_token_count"]))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(json.dumps({"records": int(table["calls"].sum()), "seconds": seconds, "cpu": cpu}))


def measure(argv: list[str], repeat: int, shell: bool = False) -> tuple[float, float, float]:
    """Best of ``repeat`` runs of a child: wall seconds, work seconds (without
    interpreter start and imports, as the child measured it; wall for jq), and work
    CPU seconds (user + system of all its threads, which waiting for a busy machine's
    cores does not inflate; for jq, of the whole pipeline)."""
    best, inner, cpu = float("inf"), float("inf"), float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        result = subprocess.run(
            argv if not shell else " ".join(argv), shell=shell, capture_output=True, check=False
        )
        elapsed = time.perf_counter() - start
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if result.returncode != 0:
            raise RuntimeError(result.stderr.decode(errors="replace")[-2000:])
        best = min(best, elapsed)
        try:
            report = json.loads(result.stdout)
            inner = min(inner, float(report["seconds"]))
            cpu = min(cpu, float(report["cpu"]))
        except (ValueError, KeyError, TypeError):
            inner = min(inner, elapsed)
            used = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            cpu = min(cpu, used)
    return best, inner, cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--repeat-fast",
        type=int,
        default=7,
        help="runs of the inferlog cases, which take about a second (best of them counts)",
    )
    parser.add_argument("--no-peers", action="store_true", help="leave out pandas and jq")
    parser.add_argument("--child", choices=("inferlog", "pandas", "floor"), help=argparse.SUPPRESS)
    parser.add_argument("--memory-limit", default=None, help=argparse.SUPPRESS)
    parser.add_argument("files", nargs="*", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child == "inferlog":
        child_inferlog(args.files, args.memory_limit)
        return 0
    if args.child == "pandas":
        child_pandas(args.files)
        return 0
    if args.child == "floor":
        child_floor(args.files)
        return 0

    directory = Path(tempfile.mkdtemp(prefix="inferlog-bench-stats-"))
    try:
        started = time.perf_counter()
        files = generate(directory, args.records)
        quarter_dir = directory / "quarter"
        quarter_dir.mkdir()
        quarter = generate(quarter_dir, args.records // 4)
        four_dir = directory / "four"
        four_dir.mkdir()
        four = [str(four_dir / Path(f).name) for f in files]
        for source, target in zip(files, four, strict=True):
            # Four copies one after another (gzip members concatenate into one stream).
            with open(target, "wb") as out:
                for _ in range(4):
                    with open(source, "rb") as part:
                        shutil.copyfileobj(part, out)
        sizes = sum(os.path.getsize(f) for f in files) / 2**20
        print(
            f"{args.records:,} records ({sizes:.0f} MiB on disk, half gzip) generated in "
            f"{time.perf_counter() - started:.0f} s; Python {platform.python_version()}, "
            f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}\n"
        )
        me = [sys.executable, __file__]
        cases: list[tuple[str, list[str], int, bool]] = [
            ("inferlog stats (DuckDB)", [*me, "--child", "inferlog", *files], args.records, False),
            (
                "floor: DuckDB read_json of one field, no statistics",
                [*me, "--child", "floor", *files],
                args.records,
                False,
            ),
        ]
        if not args.no_peers:
            cases.append(
                (
                    "pandas read_json + groupby",
                    [*me, "--child", "pandas", *files],
                    args.records,
                    False,
                ),
            )
        if shutil.which("jq") and not args.no_peers:
            plain = f"cat {files[1]}"
            zipped = f"zcat {files[0]}"
            cases.append(
                (
                    "jq reduce (no quantiles)",
                    ["(", zipped, ";", plain, ")", "|", "jq", "-n", f"'{JQ_PROGRAM}'"],
                    args.records,
                    True,
                )
            )
        cases += [
            (
                f"inferlog stats, {args.records // 4:,} records",
                [*me, "--child", "inferlog", *quarter],
                args.records // 4,
                False,
            ),
            (
                f"inferlog stats, {4 * args.records:,} records (the log 4 times over)",
                [*me, "--child", "inferlog", *four],
                4 * args.records,
                False,
            ),
        ]
        results = []
        for name, argv, count, shell in cases:
            load = os.getloadavg()[0]
            fast = "--child" in argv and "pandas" not in argv
            wall, seconds, cpu = measure(argv, args.repeat_fast if fast else args.repeat, shell)
            rss = child_peak(argv, shell)
            runs = args.repeat_fast if fast else args.repeat
            results.append((name, count, runs, seconds, cpu, wall, rss, load))
        base = results[0][3]
        print(
            "| tool | records | runs | work, best (s) | records / s | time ratio to inferlog | "
            "work CPU (s) | records / CPU s | wall incl. start (s) | peak RSS (MiB) | "
            "load before |"
        )
        print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for name, count, runs, seconds, cpu, wall, rss, load in results:
            print(
                f"| {name} | {count:,} | {runs} | {seconds:.2f} | {count / seconds:,.0f} | "
                f"{seconds / base:.2f} | {cpu:.2f} | {count / cpu:,.0f} | {wall:.2f} | "
                f"{rss:.0f} | {load:.1f} |"
            )
        print(f"\nload average after: {os.getloadavg()[0]:.1f}")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
    return 0


def child_peak(argv: list[str], shell: bool) -> float:
    """Peak RSS (MiB) of one run of ``argv``, measured by GNU time when present."""
    timer = shutil.which("time") or "/usr/bin/time"
    if os.path.exists(timer) and not shell:
        result = subprocess.run([timer, "-f", "%M", *argv], capture_output=True, check=False)
        tail = result.stderr.decode(errors="replace").strip().splitlines()
        if result.returncode == 0 and tail and tail[-1].isdigit():
            return int(tail[-1]) / 1024
    script = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1], shell=True, check=True, capture_output=True); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    command = " ".join(argv) if shell else " ".join(f"'{a}'" for a in argv)
    result = subprocess.run(
        [sys.executable, "-c", script, command], capture_output=True, check=True
    )
    return int(result.stdout.decode().strip()) / 1024


if __name__ == "__main__":
    sys.exit(main())
