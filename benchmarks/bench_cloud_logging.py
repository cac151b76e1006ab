"""Records per second to Cloud Logging: inferlog's handlers next to google-cloud-logging's.

Cases, each sending the same records (a message, four inference fields, a trace id,
a per-record label) with the same client configuration, resource and labels:

* **to the service**: ``inferlog.handlers.CloudLoggingHandler`` and the stock
  ``google.cloud.logging.handlers.CloudLoggingHandler`` (its default background
  thread transport), both with the real client over REST to a local fake
  ``entries:write`` server that runs in its own process (so that it does not share
  the benchmark's GIL), and inferlog's handler again behind ``inferlog.QueueHandler``
  (the recommended set-up, where the entry is built on the listener thread).
  Reported: the caller's time per record (the logging loop) and the end-to-end rate
  (until the fake has stored every record);
* **to stdout**: ``inferlog.handlers.StructuredStdoutHandler`` and the stock
  ``StructuredLogHandler``, writing to a null stream: time per record.

Run: ``.venv/bin/python benchmarks/bench_cloud_logging.py`` (``--records N``).
One run: the cases interleaved ``--repeats`` times (3), best of each; prints Markdown
tables with ratios to the stock handlers.
"""

from __future__ import annotations

import argparse
import io
import logging
import multiprocessing
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PROJECT = "bench-project"
RESOURCE = {"type": "generic_task", "labels": {"job": "bench"}}
LABELS = {"service": "scoring"}
#: Large enough that the queue never drops a record of the run.
QUEUE_SIZE = 100_000


def _serve(port: Any, stored: Any, ready: Any, stop: Any) -> None:
    from tests._fake_cloud_logging import FakeCloudLogging

    fake = FakeCloudLogging()
    fake.start_rest()
    port.value = fake.rest_port
    ready.set()
    while not stop.wait(0.01):
        stored.value = len(fake.entries)
    fake.stop()


def _fields(index: int) -> dict[str, Any]:
    return {
        "model_id": "fraud-gbm",
        "model_version": "3.2.0",
        "latency_ms": 12.5,
        "input_token_count": index,
        "trace_id": TRACE,
        "labels": {"tenant": "t-1"},
    }


def _logger(name: str, handler: logging.Handler) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.setLevel(logging.INFO)
    logger.propagate = False
    return logger


def _client(port: int) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud.logging_v2 import Client

    return Client(
        project=PROJECT,
        credentials=AnonymousCredentials(),
        _use_grpc=False,
        client_options={"api_endpoint": f"http://127.0.0.1:{port}"},
    )


def _ours(port: int, spool: str) -> logging.Handler:
    from inferlog.handlers import CloudLoggingHandler

    return CloudLoggingHandler(
        client=_client(port),
        project=PROJECT,
        resource=RESOURCE,
        labels=LABELS,
        spool=spool,
        health_interval=0,
    )


def _stock(port: int) -> logging.Handler:
    from google.cloud.logging import Resource
    from google.cloud.logging.handlers import CloudLoggingHandler

    return CloudLoggingHandler(
        _client(port),
        name="inferlog",
        resource=Resource(type=RESOURCE["type"], labels=RESOURCE["labels"]),
        labels=LABELS,
    )


def _queued(handler: logging.Handler) -> logging.Handler:
    from inferlog import QueueHandler

    return QueueHandler(handlers=[handler], queue_size=QUEUE_SIZE)


def _to_service(
    name: str, handler: logging.Handler, records: int, stored: Any
) -> tuple[float, float]:
    """Return (caller µs per record, end-to-end records per second)."""
    logger = _logger(f"bench.{name}", handler)
    before = stored.value
    start = time.perf_counter()
    for index in range(records):
        logger.info("scored request %d", index, extra=_fields(index))
    caller = time.perf_counter() - start
    handler.flush()
    while stored.value < before + records:
        time.sleep(0.005)
    total = time.perf_counter() - start
    handler.close()
    return caller / records * 1e6, records / total


def _to_stdout(handler: logging.Handler, records: int) -> float:
    logger = _logger("bench.stdout", handler)
    start = time.perf_counter()
    for index in range(records):
        logger.info("scored request %d", index, extra=_fields(index))
    return (time.perf_counter() - start) / records * 1e6


def main() -> None:
    """Run the cases (interleaved, best of ``--repeats``) and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    records = args.records

    context = multiprocessing.get_context("fork")
    port, stored = context.Value("i", 0), context.Value("q", 0)
    ready, stop = context.Event(), context.Event()
    server = context.Process(target=_serve, args=(port, stored, ready, stop), daemon=True)
    server.start()
    ready.wait(30)
    spool = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"bench-gcp-spool-{os.getpid()}")
    cases: dict[str, list[tuple[float, float]]] = {"stock": [], "ours": [], "queued": []}
    try:
        for _ in range(args.repeats):  # interleaved, so a busy spell hits every case
            cases["stock"].append(_to_service("stock", _stock(port.value), records, stored))
            cases["ours"].append(_to_service("ours", _ours(port.value, spool), records, stored))
            queued = _queued(_ours(port.value, spool))
            cases["queued"].append(_to_service("queued", queued, records, stored))
    finally:
        stop.set()
        server.join(10)
    if os.path.exists(spool):
        print(f"(records were spooled to {spool})")
    # Best of the repeats: the least disturbed run of each case.
    stock_caller, stock_rate = min(c for c, _ in cases["stock"]), max(r for _, r in cases["stock"])
    ours_caller, ours_rate = min(c for c, _ in cases["ours"]), max(r for _, r in cases["ours"])
    queued_caller = min(c for c, _ in cases["queued"])
    queued_rate = max(r for _, r in cases["queued"])

    from google.cloud.logging.handlers import StructuredLogHandler

    from inferlog.handlers import StructuredStdoutHandler

    stock_stdout = ours_stdout = float("inf")
    for _ in range(args.repeats):
        stock_stdout = min(
            stock_stdout,
            _to_stdout(
                StructuredLogHandler(stream=io.StringIO(), labels=LABELS, project_id=PROJECT),
                records,
            ),
        )
        ours_stdout = min(
            ours_stdout,
            _to_stdout(
                StructuredStdoutHandler(stream=io.StringIO(), labels=LABELS, project=PROJECT),
                records,
            ),
        )

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{records:,} records, best of {args.repeats}, Python {sys.version.split()[0]}, "
        f"load average {load:.1f}"
    )
    print()
    print(
        "| to Cloud Logging (REST, local fake) | caller µs / record | records / s end to end "
        "| end-to-end ratio to stock |"
    )
    print("| --- | ---: | ---: | ---: |")
    print(
        f"| inferlog CloudLoggingHandler | {ours_caller:.1f} | {ours_rate:,.0f} "
        f"| {ours_rate / stock_rate:.2f} |"
    )
    print(
        f"| inferlog CloudLoggingHandler behind inferlog.QueueHandler | {queued_caller:.1f} "
        f"| {queued_rate:,.0f} | {queued_rate / stock_rate:.2f} |"
    )
    print(
        f"| google-cloud-logging CloudLoggingHandler | {stock_caller:.1f} | {stock_rate:,.0f} "
        "| 1.00 |"
    )
    print()
    print("| to stdout (null stream) | µs / record | ratio to stock |")
    print("| --- | ---: | ---: |")
    print(
        f"| inferlog StructuredStdoutHandler | {ours_stdout:.1f} "
        f"| {ours_stdout / stock_stdout:.2f} |"
    )
    print(f"| google-cloud-logging StructuredLogHandler | {stock_stdout:.1f} | 1.00 |")


if __name__ == "__main__":
    main()
