"""Records per second shipped to CloudWatch Logs (moto's server), and the caller's cost.

Side by side, in one run, against one moto server started on 127.0.0.1 in a
process of its own (so that its CPU does not share our GIL):

* ``CloudWatchHandler`` attached to the logger (formatting on the caller's thread);
* ``CloudWatchHandler`` behind :class:`inferlog.QueueHandler` (the recommended setup:
  formatting on the listener thread);
* watchtower's ``CloudWatchLogHandler`` attached to the logger, configured alike
  (same formatter, batches of up to 10,000 events / 1 MiB, one stream).

Each round logs ``--records`` inference records (the record of DESIGN.md with a
1 KB prompt) from one thread, timing each ``logger.info`` call, then flushes and
waits until the handler reports delivery. Throughput is records divided by the time
from the first call to the end of the flush; the caller's cost is the p50 and p99 of
the per-call times. Cases take turns round by round; the median round is reported,
with ratios to watchtower. One untimed record first lets every handler create its
client, group and stream (watchtower does so in its constructor, inferlog on first
use). Every round's events are read back and counted, so a
handler that dropped records cannot look fast.

Run: ``.venv/bin/python benchmarks/bench_cloudwatch.py`` (``--help`` for options).
Needs the ``bench`` extra (watchtower) besides ``aws`` and ``test`` (moto[server]).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3
import watchtower

from inferlog import JsonFormatter, QueueHandler
from inferlog.handlers import CloudWatchHandler

REGION = "us-east-1"
PAYLOAD = {"messages": [{"role": "user", "content": "x" * 1000}], "max_tokens": 256}
EXTRA = {
    "request_id": "018f3a52-7c1e-7d2a-9b1f-3c2d4e5f6a7b",
    "user_id": "u-123",
    "model_id": "llm-chat",
    "model_version": "2026-11-01",
    "latency_ms": 41.7,
    "input_token_count": 512,
    "output_token_count": 128,
    "temperature": 0.2,
    "status": "ok",
    "request_payload": PAYLOAD,
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server in a child process; yields its URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if time.monotonic() > deadline or process.poll() is not None:
                raise RuntimeError("moto server did not start")
            time.sleep(0.05)  # polling a child process's port, not timing anything
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def count_events(url: str, group: str) -> int:
    client = boto3.client("logs", region_name=REGION, endpoint_url=url)
    total = 0
    for stream in client.describe_log_streams(logGroupName=group)["logStreams"]:
        token = None
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": group,
                "logStreamName": stream["logStreamName"],
                "startFromHead": True,
            }
            if token:
                kwargs["nextToken"] = token
            page = client.get_log_events(**kwargs)
            total += len(page["events"])
            if not page["events"] or page["nextForwardToken"] == token:
                break
            token = page["nextForwardToken"]
    return total


Setup = Callable[[str, str], tuple[logging.Handler, Callable[[], None], Callable[[], None]]]


def inferlog_direct(url: str, group: str) -> tuple[logging.Handler, Any, Any]:
    handler = CloudWatchHandler(
        log_group=group,
        log_stream="bench",
        endpoint_url=url,
        region_name=REGION,
        buffer_size=100_000,
        health_interval=0,
    )
    return handler, handler.flush, handler.close


def inferlog_queued(url: str, group: str) -> tuple[logging.Handler, Any, Any]:
    sink, _flush, close = inferlog_direct(url, group)
    queue = QueueHandler(handlers=[sink], queue_size=100_000)

    def flush() -> None:
        queue.flush(120)
        sink.flush(120)  # type: ignore[call-arg]

    def close_both() -> None:
        queue.close()
        close()

    return queue, flush, close_both


def watchtower_direct(url: str, group: str) -> tuple[logging.Handler, Any, Any]:
    client = boto3.client("logs", region_name=REGION, endpoint_url=url)
    handler = watchtower.CloudWatchLogHandler(
        log_group_name=group,
        log_stream_name="bench",
        boto3_client=client,
        send_interval=1,
        max_batch_count=10_000,
        max_batch_size=1024 * 1024,
    )
    handler.setFormatter(JsonFormatter())
    return handler, handler.flush, handler.close


CASES: dict[str, Setup] = {
    "inferlog CloudWatchHandler (direct)": inferlog_direct,
    "inferlog QueueHandler -> CloudWatchHandler": inferlog_queued,
    "watchtower CloudWatchLogHandler (direct)": watchtower_direct,
}
BASELINE = "watchtower CloudWatchLogHandler (direct)"


def run_case(setup: Setup, url: str, records: int) -> dict[str, float]:
    group = f"/bench/{uuid.uuid4().hex[:12]}"
    handler, flush, close = setup(url, group)
    if isinstance(handler, CloudWatchHandler):
        handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"bench.{group}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    times = []
    clock = time.perf_counter_ns
    try:
        # Warm-up, untimed: client, group and stream exist before the clock starts
        # (watchtower makes them in its constructor, inferlog on first use).
        logger.info("warm-up", extra=EXTRA)
        flush()
        start = time.perf_counter()
        for _ in range(records):
            before = clock()
            logger.info("inference", extra=EXTRA)
            times.append(clock() - before)
        flush()
        elapsed = time.perf_counter() - start
    finally:
        logger.removeHandler(handler)
        close()
    delivered = count_events(url, group) - 1  # the warm-up record
    times.sort()
    return {
        "per_second": records / elapsed,
        "p50_us": times[len(times) // 2] / 1000,
        "p99_us": times[int(len(times) * 0.99)] / 1000,
        "delivered": delivered,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--records", type=int, default=20_000, help="records per round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds per case (median kept)")
    args = parser.parse_args()
    for key, value in {
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }.items():
        os.environ[key] = value
    results: dict[str, list[dict[str, float]]] = {name: [] for name in CASES}
    with moto_server() as url:
        for _ in range(args.rounds):
            for name, setup in CASES.items():
                results[name].append(run_case(setup, url, args.records))
    summary = {
        name: {k: statistics.median(r[k] for r in rounds) for k in rounds[0]}
        for name, rounds in results.items()
    }
    base = summary[BASELINE]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"Python {platform.python_version()}, {args.records} records x {args.rounds} rounds "
        f"(median), load average {load:.1f}\n"
    )
    print(
        "| handler | records/s shipped | ratio | caller p50 µs | ratio | caller p99 µs "
        "| delivered |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for name, row in summary.items():
        print(
            f"| {name} | {row['per_second']:,.0f} | {row['per_second'] / base['per_second']:.2f} "
            f"| {row['p50_us']:.1f} | {row['p50_us'] / base['p50_us']:.2f} | {row['p99_us']:.1f} "
            f"| {row['delivered']:.0f} / {args.records} |"
        )
    complete = all(r["delivered"] == args.records for rows in results.values() for r in rows)
    return 0 if complete else 1


if __name__ == "__main__":
    sys.exit(main())
