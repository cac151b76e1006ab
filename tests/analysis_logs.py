"""Log files for the analysis and CLI tests, generated with known contents."""

from __future__ import annotations

import gzip
import json
import logging
import random
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from inferlog._spill import spill_records

BASE = datetime(2027, 1, 15, 8, 0, 0, tzinfo=timezone.utc)


def stamp(seconds: float) -> str:
    """RFC 3339 timestamp ``seconds`` after :data:`BASE`."""
    moment = BASE + timedelta(seconds=seconds)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


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


def write(path: Path, records: Iterable[dict[str, Any]], tail: str = "") -> Path:
    """Write ``records`` as JSON lines (gzip when ``path`` ends in .gz), then ``tail``."""
    text = "".join(json.dumps(r) + "\n" for r in records) + tail
    if path.name.endswith(".gz"):
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


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
