"""Log files for the analysis and CLI tests, generated with known contents."""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from inferlog._spill import spill_records
from tests.test_reader import BASE, stamp, write

__all__ = ["BASE", "access_record", "call", "mixed_calls", "stamp", "write", "write_spill"]


def call(
    index: int,
    *,
    version: str = "1.0",
    latency: float = 10.0,
    tokens_in: int | None = None,
    tokens_out: int | None = None,
    status: str = "ok",
    sample_rate: float | None = None,
    model: str = "chat-llm",
    **extra: Any,
) -> dict[str, Any]:
    """One inference record, as the JSON formatter writes it."""
    record: dict[str, Any] = {
        "timestamp": stamp(index),
        "level": "INFO" if status == "ok" else "ERROR",
        "logger": "inferlog.inference",
        "message": "inference",
        "request_id": f"r-{index:05d}",
        "model_id": model,
        "model_version": version,
        "latency_ms": latency,
    }
    if tokens_in is not None:
        record["input_token_count"] = tokens_in
    if tokens_out is not None:
        record["output_token_count"] = tokens_out
    record["status"] = status
    if status == "error":
        record["error_code"] = "TimeoutError"
    if sample_rate is not None:
        record["sample_rate"] = sample_rate
    record.update(extra)
    return record


def access_record(index: int, **extra: Any) -> dict[str, Any]:
    """An access record with a latency: never an inference call (it names no model)."""
    return {
        "timestamp": stamp(index),
        "level": "INFO",
        "logger": "inferlog.access",
        "message": "POST /x",
        "latency_ms": 99.0,
        **extra,
    }


def write_spill(path: Path, records: Iterable[dict[str, Any]]) -> Path:
    """Write ``records`` through the real spill writer (what a stuck queue leaves)."""
    log_records = []
    for record in records:
        fields = {k: v for k, v in record.items() if k not in ("timestamp", "level", "message")}
        log_record = logging.makeLogRecord(
            {"name": fields.pop("logger"), "msg": record["message"], "levelname": "INFO"}
        )
        log_record.__dict__.update(fields)
        log_records.append(log_record)
    count, where = spill_records(log_records, str(path))
    assert (count, where) == (len(log_records), str(path))
    return path


def mixed_calls(count: int, seed: int = 1) -> list[dict[str, Any]]:
    """Calls over two versions with latency = 20 + 0.03 * in + 0.2 * out + noise ms."""
    rng = random.Random(seed)
    calls = []
    for index in range(count):
        tokens_in = rng.randint(10, 3000)
        tokens_out = rng.randint(1, 400)
        latency = round(20 + 0.03 * tokens_in + 0.2 * tokens_out + rng.gauss(0, 5), 3)
        calls.append(
            call(
                index,
                version=rng.choice(["1.0", "2.0"]),
                latency=latency,
                tokens_in=tokens_in,
                tokens_out=tokens_out,
                status="error" if rng.random() < 0.1 else "ok",
                sample_rate=rng.choice([None, 1.0, 0.5, 0.25]),
            )
        )
    return calls
