"""Batch fraud scoring in a process pool, logged with inferlog.

Run it with ``python examples/batch_scoring.py --rows 200 --workers 4``.

The whole run is one request scope: its ``request_id`` and the bound ``job`` field
travel with every task into the worker processes (``ContextProcessPoolExecutor``), and
the workers' records travel back to the parent's pipeline through a process sender, so
``logs/batch_scoring.jsonl`` holds one inference record per row, from every worker,
all carrying the run's id. Rows with a missing amount fail and are recorded with their
stack; the run goes on.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
from typing import Any

import inferlog
from inferlog.propagation import ContextProcessPoolExecutor
from inferlog.queueing import install_process_sender

MODEL_ID = "fraud-gbm"
MODEL_VERSION = "3.2.0"
FLAG_THRESHOLD = 0.5

log = logging.getLogger("batch-scoring")


def make_rows(count: int, seed: int) -> list[dict[str, Any]]:
    """Synthetic transactions; every 25th has no amount, as real exports sometimes do."""
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        row: dict[str, Any] = {
            "transaction_id": f"t-{i:06d}",
            "amount": round(rng.lognormvariate(3.5, 1.2), 2),
            "card_age_days": rng.randint(0, 2_000),
            "foreign": rng.random() < 0.1,
        }
        if i % 25 == 24:
            del row["amount"]
        rows.append(row)
    return rows


def score_row(row: dict[str, Any]) -> float | None:
    """Score one transaction in a worker process; None when the row cannot be scored."""
    try:
        with inferlog.inference(MODEL_ID, MODEL_VERSION) as call:
            call.set(transaction_id=row["transaction_id"], worker_pid=os.getpid())
            vector = [
                math.log1p(float(row["amount"])),
                1.0 / (1.0 + row["card_age_days"]),
                1.0 if row["foreign"] else 0.0,
            ]
            call.request(vector)
            z = -5.0 + 0.9 * vector[0] + 6.0 * vector[1] + 1.5 * vector[2]
            probability = 1.0 / (1.0 + math.exp(-z))
            call.response({"score": round(probability, 4)})
    except KeyError:
        return None  # already recorded, with its stack, by the inference block
    return probability


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, configure logging, score, and print a summary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--log-file", default="logs/batch_scoring.jsonl")
    parser.add_argument("--no-console", action="store_true", help="log to the file only")
    args = parser.parse_args(argv)

    pipeline = inferlog.configure(
        filename=args.log_file, console=not args.no_console, static_fields={"job": "nightly"}
    )
    # Workers log into the parent's queue; the parent formats and writes.
    sender = pipeline.queue_handler.process_sender()
    rows = make_rows(args.rows, args.seed)
    with inferlog.request_context(batch_size=len(rows)) as run_id:
        log.info("batch started", extra={"workers": args.workers})
        with ContextProcessPoolExecutor(
            max_workers=args.workers, initializer=install_process_sender, initargs=(sender,)
        ) as pool:
            scores = list(pool.map(score_row, rows, chunksize=16))
        failed = sum(score is None for score in scores)
        flagged = sum(score is not None and score >= FLAG_THRESHOLD for score in scores)
        log.info(
            "batch finished",
            extra={"rows": len(rows), "failed": failed, "flagged": flagged},
        )
    inferlog.shutdown()
    print(f"run {run_id}: {len(rows)} rows, {flagged} flagged, {failed} failed -> {args.log_file}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
