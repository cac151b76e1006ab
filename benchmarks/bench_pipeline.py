"""End to end: what one inference record costs, every stage on, beside the peers.

Each setup runs in a fresh process (so no setup warms another's caches or leaves a
thread behind): a warm-up, then ``--records`` records of the same inference record
(11 extra fields, a 2 KB prompt holding one e-mail address and one card number, a
1 KB response), written as JSON lines to a file, timed as **total process CPU until
every record is on disk**. Setups run interleaved ``--rounds`` times; the table shows
the median, the min-max and the ratio of the medians to setup A.

Setups:

* **floor**: ``logger.info(extra=...)`` to a ``NullHandler``: what ``logging`` itself
  costs, which no library can avoid;
* **A**: stdlib ``FileHandler`` + python-json-logger's ``JsonFormatter`` (no queue);
* **C**: structlog with orjson and a ``BytesLogger`` (no stdlib logging);
* **inferlog full**: the README's ``dictConfig`` (context, sampling that keeps the
  record, redaction with the default detectors, JSON, queue, rotating file);
* **inferlog no redaction**: the same without the redaction filter.

Run: ``.venv/bin/python benchmarks/bench_pipeline.py`` (``--json out.json`` writes
the figures).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SETUPS = ("floor", "A", "C", "inferlog-full", "inferlog-no-redaction")
LABELS = {
    "floor": "`logger.info(extra=...)` to a NullHandler (floor)",
    "A": "A: stdlib FileHandler + python-json-logger JsonFormatter",
    "C": "C: structlog, orjson, BytesLogger (no stdlib)",
    "inferlog-full": "inferlog, full pipeline from dictConfig",
    "inferlog-no-redaction": "inferlog, the same without redaction",
}
WARM_UP = 2_000


def _record_fields(seed: int) -> tuple[str, dict[str, Any]]:
    rng = random.Random(seed)
    words = ["model", "token", "latency", "user", "context", "answer", "prompt", "vector"]
    prompt = " ".join(rng.choice(words) for _ in range(300))[:1900]
    prompt += " contact ada.lovelace@example.com card 4111 1111 1111 1111"
    response = " ".join(rng.choice(words) for _ in range(150))[:1024]
    extra = {
        "request_id": "0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b",
        "user_id": "u-42",
        "model_id": "chat-llm",
        "model_version": "2026-11-15",
        "latency_ms": 412.5,
        "input_token_count": 512,
        "output_token_count": 128,
        "temperature": 0.7,
        "top_p": 0.95,
        "seed": 1234567890123,
        "status": "ok",
        "request_payload": {"prompt": prompt},
        "response_payload": {"text": response},
    }
    # 11 extra fields besides the two payloads, as the record.
    return "inference", extra


def inferlog_config(
    path: Path, queue_size: int, *, redact: bool = True, logger: str = "bench"
) -> dict[str, Any]:
    """The README's ``dictConfig`` that the inferlog setups measure, writing to ``path``.

    Context and sampling that keeps every record on the queue (the caller's thread),
    redaction (when ``redact``) on the rotating file handler behind it (the listener).
    ``tests/test_output_identity.py`` runs this same configuration.
    """
    filters: dict[str, dict[str, Any]] = {
        "context": {"()": "inferlog.ContextFilter"},
        "sampling": {"()": "inferlog.SamplingFilter", "rate": 1.0},
    }
    file_filters = []
    if redact:
        filters["redact"] = {"()": "inferlog.RedactionFilter"}
        file_filters = ["redact"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": filters,
        "formatters": {"json": {"()": "inferlog.JsonFormatter"}},
        "handlers": {
            "file": {
                "()": "inferlog.handlers.RotatingJsonFileHandler",
                "filename": str(path),
                "formatter": "json",
                "filters": file_filters,
            },
            "queue": {
                "()": "inferlog.QueueHandler",
                "handlers": ["file"],
                "filters": ["context", "sampling"],
                "queue_size": queue_size,
            },
        },
        "loggers": {logger: {"level": "INFO", "handlers": ["queue"], "propagate": False}},
    }


def _run_setup(setup: str, records: int, out: Path) -> float:
    """Configure ``setup``, log, drain; return process CPU seconds for ``records``."""
    import logging
    import logging.config

    message, extra = _record_fields(7)
    path = out / "out.jsonl"
    if setup == "C":
        import orjson
        import structlog

        fh = path.open("wb")
        structlog.configure(
            processors=[
                structlog.processors.TimeStamper(fmt="iso", utc=True),
                structlog.processors.add_log_level,
                structlog.processors.JSONRenderer(serializer=orjson.dumps),
            ],
            logger_factory=structlog.BytesLoggerFactory(fh),
            cache_logger_on_first_use=True,
        )
        log = structlog.get_logger("bench")
        for _ in range(WARM_UP):
            log.info(message, **extra)
        start = time.process_time()
        for _ in range(records):
            log.info(message, **extra)
        fh.flush()
        os.fsync(fh.fileno())
        elapsed = time.process_time() - start
        fh.close()
        return elapsed

    logger = logging.getLogger("bench")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    if setup == "floor":
        logger.addHandler(logging.NullHandler())
    elif setup == "A":
        from pythonjsonlogger.json import JsonFormatter

        handler = logging.FileHandler(path)
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    else:
        logging.config.dictConfig(
            inferlog_config(path, records + WARM_UP, redact=setup == "inferlog-full")
        )
    for _ in range(WARM_UP):
        logger.info(message, extra=extra)
    for handler in logger.handlers:
        handler.flush()
    start = time.process_time()
    for _ in range(records):
        logger.info(message, extra=extra)
    for handler in logger.handlers:
        shutdown = getattr(handler, "shutdown", None)
        if shutdown is not None:
            shutdown(60)  # drained: every record is in the file
        handler.flush()
    return time.process_time() - start


def _child(setup: str, records: int) -> float:
    done = subprocess.run(
        [sys.executable, __file__, "--child", setup, "--records", str(records)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(json.loads(done.stdout)["cpu_us_per_record"])


def main() -> int:
    """Run every setup ``--rounds`` times, interleaved; print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--child", choices=SETUPS)
    args = parser.parse_args()
    if args.child:
        with tempfile.TemporaryDirectory() as directory:
            cpu = _run_setup(args.child, args.records, Path(directory))
        print(json.dumps({"cpu_us_per_record": cpu / args.records * 1e6}))
        return 0
    runs: dict[str, list[float]] = {setup: [] for setup in SETUPS}
    for _ in range(args.rounds):
        for setup in SETUPS:
            runs[setup].append(_child(setup, args.records))
    medians = {setup: statistics.median(values) for setup, values in runs.items()}
    print(
        f"Python {sys.version.split()[0]}, {args.records:,} records per run after "
        f"{WARM_UP:,} warm-up, {args.rounds} rounds, load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| setup | µs per record (median) | min-max | ratio to A |")
    print("| --- | ---: | ---: | ---: |")
    for setup in SETUPS:
        values = runs[setup]
        print(
            f"| {LABELS[setup]} | {medians[setup]:.1f} | {min(values):.1f}-{max(values):.1f} "
            f"| {medians[setup] / medians['A']:.2f} |"
        )
    if args.json:
        args.json.write_text(json.dumps({"runs": runs, "medians": medians}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
