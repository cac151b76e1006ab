"""A fixed set of records and formatters whose JSON lines are checked in as golden data.

``tests/data/formatting_golden.jsonl`` holds one line per case, written by the
formatter as it was when the golden file was made; ``tests/test_formatting_golden.py``
checks that ``JsonFormatter.format`` still writes exactly those bytes and that
``record_dict`` is the dict of that line. Regenerate only on purpose, after a change
to the output that is meant (``python -m tests.formatting_golden``), and say so in the
changelog.

Every record is built deterministically: a fixed creation time, no real traceback
(its file names and line numbers differ between checkouts), no randomness.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import logging
import pathlib
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

GOLDEN_PATH = pathlib.Path(__file__).parent / "data" / "formatting_golden.jsonl"
CREATED = 1_767_225_600.123456  # 2026-01-01T00:00:00.123456Z


class Colour(enum.Enum):
    RED = "red"


@dataclasses.dataclass
class Point:
    x: int
    y: float


class Unprintable:
    __module__ = "golden"  # the same type name however this file is run

    def __str__(self) -> str:
        raise RuntimeError("no str")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")


def record(
    msg: object = "hello",
    args: Any = None,
    *,
    level: int = logging.INFO,
    name: str = "golden",
    stack_info: str | None = None,
    exc_text: str | None = None,
    **extra: Any,
) -> logging.LogRecord:
    """Build a record with a fixed creation time and the given extras."""
    made = logging.LogRecord(name, level, "golden.py", 7, msg, args, None, "f", stack_info)
    made.created = CREATED
    made.msecs = 123.0
    made.exc_text = exc_text
    for key, value in extra.items():
        made.__dict__[key] = value
    return made


EXCEPTION = {
    "type": "ValueError",
    "message": "bad input",
    "stack": ["Traceback (most recent call last):", '  File "x.py", line 1', "ValueError: bad"],
}


def cases() -> Iterator[tuple[str, dict[str, Any], Callable[[], logging.LogRecord]]]:
    """Yield ``(name, formatter options, record factory)`` for every golden case."""
    inference = {
        "request_id": "0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b",
        "user_id": "u-42",
        "model_id": "fraud-gbm",
        "model_version": "3.2.0",
        "latency_ms": 12.345,
        "input_token_count": 10,
        "output_token_count": 3,
        "temperature": 0.2,
        "top_p": 0.9,
        "seed": 7,
        "status": "ok",
        "intent": "refund",
        "request_payload": {"amount": 12.5, "items": [1, 2, 3]},
        "response_payload": {"score": 0.03},
    }
    reversed_fields = dict(reversed(list(inference.items())))
    yield "plain", {}, lambda: record()
    yield "args", {}, lambda: record("%s has %d", ("x", 3))
    yield "bad args", {}, lambda: record("%d items", ("many",))
    yield "dict message", {}, lambda: record({"event": "x", "n": 1})
    yield "inference order", {}, lambda: record(zeta=1, **reversed_fields, alpha=2)
    yield "otel", {"schema": "otel"}, lambda: record(**inference, exception=EXCEPTION)
    yield (
        "otel stack",
        {"schema": "otel"},
        lambda: record(stack_info="Stack (most recent call last):\n  here", error_code="E"),
    )
    yield (
        "renamed and static",
        {
            "rename_fields": {"message": "msg", "model_id": "model"},
            "static_fields": {"service": "svc", "env": "test"},
        },
        lambda: record(model_id="m", env="override"),
    )
    yield "collision", {}, lambda: record(**{"extra.level": "x"}, timestamp_x=1)
    yield "exception object", {}, lambda: record(level=logging.ERROR, exception=EXCEPTION)
    yield (
        "exc_text",
        {},
        lambda: record(exc_text="Traceback (most recent call last):\nKeyError: 'k'"),
    )
    yield "stack info", {}, lambda: record(stack_info="Stack (most recent call last):\n  a\n  b")
    yield (
        "odd values",
        {},
        lambda: record(
            dec=decimal.Decimal("1.10"),
            when=datetime.datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=datetime.timezone.utc),
            day=datetime.date(2026, 1, 2),
            ident=uuid.UUID("12345678-1234-5678-1234-567812345678"),
            path=pathlib.PurePosixPath("/tmp/x"),
            tags={"b", "a"},
            raw=b"\xff\x00ok",
            colour=Colour.RED,
            point=Point(1, 2.5),
            klass=ValueError,
            err=KeyError("k"),
            nan=float("nan"),
            int_keys={1: "a", 2: "b"},
        ),
    )
    yield "surrogate", {}, lambda: record("bad \udc80 text", value="x\ud800y")
    yield "big int", {}, lambda: record(big=2**70, neg=-(2**65))
    yield "unprintable", {}, lambda: record(Unprintable(), thing=Unprintable())
    yield "cycle", {}, lambda: record(loop=_cycle())
    yield "deep", {}, lambda: record(deep=_deep(300))
    yield (
        "field cap",
        {"max_field_bytes": 256, "max_record_bytes": 4096},
        lambda: record(
            prompt="p" * 1000,
            listed=list(range(500)),
            nested={"k": "v" * 600, "n": list(range(100))},
            raw=b"\xe2\x82\xac" * 200,
        ),
    )
    yield (
        "record cap",
        {"max_field_bytes": 512, "max_record_bytes": 1024},
        lambda: record("m" * 300, **{f"field_{i}": "x" * 200 for i in range(8)}),
    )
    yield "non-str key", {}, lambda: record(n=1, extra_map={None: 1, 2.5: "x"})
    yield "empty extras", {"static_fields": {"service": "svc"}}, lambda: record("")


def _cycle() -> dict[str, Any]:
    loop: dict[str, Any] = {"name": "loop"}
    loop["self"] = loop
    return loop


def _deep(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


def golden_lines() -> list[str]:
    """Format every case with the current ``JsonFormatter``: one line per case."""
    from inferlog.formatting import JsonFormatter

    return [JsonFormatter(**options).format(factory()) for _name, options, factory in cases()]


if __name__ == "__main__":
    GOLDEN_PATH.write_text(
        "".join(line + "\n" for line in golden_lines()), encoding="utf-8", errors="strict"
    )
    sys.stdout.write(f"wrote {GOLDEN_PATH}\n")
