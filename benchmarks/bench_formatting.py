"""What it costs to turn one inference record into a JSON line, beside the peers.

Compares, in one run and one process, on the same ``LogRecord``:

* ``inferlog.JsonFormatter`` (schema order, caps, never raises);
* python-json-logger's ``OrjsonFormatter`` and ``JsonFormatter`` (the base we build on);
* structlog's ``JSONRenderer`` with orjson, on the equivalent event dict (structlog
  does not format stdlib records itself, so this is its renderer alone: a lower bound);
* ``json.dumps(record.__dict__)`` with ``default=str``, the hand-rolled approach.

Two records: the DESIGN.md inference record with a 2 KB prompt and a 1 KB response
(plain JSON types, the common case), and the same record carrying a datetime, a
Decimal, a UUID, a set and a numpy array (the careful path).

Run: ``.venv/bin/python benchmarks/bench_formatting.py``. Prints a Markdown table of
the best mean µs per record over repeats and the ratio to python-json-logger's
``OrjsonFormatter``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import decimal
import json
import logging
import platform
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson
from pythonjsonlogger.json import JsonFormatter as PjlJsonFormatter
from pythonjsonlogger.orjson import OrjsonFormatter as PjlOrjsonFormatter

from inferlog.formatting import JsonFormatter

PROMPT = ("Summarise this support ticket for the on-call engineer. " * 40)[:2048]
RESPONSE = ("The customer reports intermittent timeouts on checkout. " * 20)[:1024]
INFERENCE_FIELDS: dict[str, Any] = {
    "request_id": "01936f1e-7c1a-7b3e-9f1c-2d4e5f6a7b8c",
    "user_id": "u-1001",
    "model_id": "chat-llm",
    "model_version": "2026-11-15",
    "latency_ms": 412.5,
    "input_token_count": 512,
    "output_token_count": 230,
    "temperature": 0.2,
    "top_p": 0.9,
    "seed": 7,
    "status": "ok",
    "intent": "summarise",
    "request_payload": {"messages": [{"role": "user", "content": PROMPT}]},
    "response_payload": {"text": RESPONSE},
}


def _odd_fields() -> dict[str, Any]:
    fields = dict(INFERENCE_FIELDS)
    fields["received_at"] = dt.datetime(2026, 11, 29, 7, 0, tzinfo=dt.timezone.utc)
    fields["price"] = decimal.Decimal("0.0021")
    fields["trace"] = uuid.UUID(int=7)
    fields["tags"] = {"beta", "eu"}
    try:
        import numpy

        fields["embedding"] = numpy.arange(16, dtype=numpy.float32)
    except ImportError:  # pragma: no cover - numpy is a test dependency
        pass
    return fields


def _record(fields: dict[str, Any]) -> logging.LogRecord:
    logger = logging.getLogger("bench.inference")
    return logger.makeRecord(
        logger.name, logging.INFO, __file__, 1, "inference", None, None, extra=fields
    )


def _structlog_renderer() -> Callable[[logging.LogRecord], Any] | None:
    try:
        from structlog.processors import JSONRenderer
    except ImportError:  # pragma: no cover
        return None
    render = JSONRenderer(serializer=orjson.dumps, option=orjson.OPT_NON_STR_KEYS)

    def run(record: logging.LogRecord) -> Any:
        event = {
            "timestamp": record.created,
            "level": record.levelname,
            "logger": record.name,
            "event": record.getMessage(),
            **{k: v for k, v in record.__dict__.items() if k in INFERENCE_FIELDS},
        }
        try:
            return render(None, "info", event)
        except TypeError:  # orjson rejects sets and some numpy types without a default
            return render(None, "info", {k: repr(v) for k, v in event.items()})

    return run


def _hand_rolled(record: logging.LogRecord) -> str:
    return json.dumps(record.__dict__, default=str)


def _time(fn: Callable[[logging.LogRecord], Any], record: logging.LogRecord, n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn(record)
    return (time.perf_counter() - start) / n * 1e6


def main() -> None:
    """Run the comparison and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=5000, help="records per repeat")
    parser.add_argument("--repeat", type=int, default=5, help="repeats; the best is kept")
    args = parser.parse_args()

    contenders: dict[str, Callable[[logging.LogRecord], Any]] = {
        "inferlog JsonFormatter": JsonFormatter().format,
        "python-json-logger OrjsonFormatter": PjlOrjsonFormatter().format,
        "python-json-logger JsonFormatter": PjlJsonFormatter().format,
        "json.dumps(record.__dict__)": _hand_rolled,
    }
    structlog_run = _structlog_renderer()
    if structlog_run is not None:
        contenders["structlog JSONRenderer (orjson)"] = structlog_run

    print(f"Python {platform.python_version()} on {platform.machine()}, best of {args.repeat}")
    for label, fields in (("plain types", INFERENCE_FIELDS), ("odd types", _odd_fields())):
        record = _record(fields)
        results: dict[str, float] = {}
        for name, fn in contenders.items():
            try:
                fn(record)
            except Exception as err:  # a peer that cannot format this record
                print(f"  {name}: raised {type(err).__name__}: {err}")
                continue
            results[name] = min(_time(fn, record, args.number) for _ in range(args.repeat))
        base = results["python-json-logger OrjsonFormatter"]
        print(f"\n### {label} (DESIGN.md record, 2 KB prompt + 1 KB response)\n")
        print("| formatter | µs / record | ratio to pjl Orjson |")
        print("| --- | ---: | ---: |")
        for name, micros in results.items():
            print(f"| {name} | {micros:.2f} | {micros / base:.2f} |")


if __name__ == "__main__":
    main()
