"""Each sink gets what its own configuration says, whatever the other sinks do."""

from __future__ import annotations

import io
import json
import logging
import time
from pathlib import Path

import pytest

from inferlog import JsonFormatter, QueueHandler, RedactionFilter, read_records
from inferlog.handlers import RotatingJsonFileHandler

EMAIL = "ada.lovelace@example.com"


def _file_sink(tmp_path: Path) -> tuple[logging.Handler, object]:
    path = tmp_path / "out.jsonl"
    sink = RotatingJsonFileHandler(path)
    return sink, lambda: list(read_records(path)) if path.exists() else []


def _stream_sink() -> tuple[logging.Handler, object]:
    stream = io.StringIO()
    sink = logging.StreamHandler(stream)
    sink.setFormatter(JsonFormatter())
    return sink, lambda: [json.loads(line) for line in stream.getvalue().splitlines()]


@pytest.mark.parametrize("redacting_kind", ["batch", "plain"])
@pytest.mark.parametrize("redacting_first", [True, False])
def test_two_sinks_one_redacting_each_writes_what_its_own_configuration_says(
    tmp_path: Path, redacting_kind: str, redacting_first: bool
) -> None:
    batch, read_batch = _file_sink(tmp_path)
    plain, read_plain = _stream_sink()
    redacting, raw = (batch, plain) if redacting_kind == "batch" else (plain, batch)
    read_redacting, read_raw = (
        (read_batch, read_plain) if redacting_kind == "batch" else (read_plain, read_batch)
    )
    redacting.addFilter(RedactionFilter())
    order = [redacting, raw] if redacting_first else [raw, redacting]
    queue = QueueHandler(handlers=order)
    logger = logging.getLogger(f"fanout.{time.monotonic_ns()}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(queue)
    payload = {"prompt": f"mail me at {EMAIL}"}
    logger.info("contact %s", EMAIL, extra={"user_email": EMAIL, "request_payload": payload})
    queue.shutdown(5)
    batch.close()

    (redacted,) = read_redacting()  # type: ignore[operator]
    (untouched,) = read_raw()  # type: ignore[operator]
    assert EMAIL not in json.dumps(redacted)
    assert (f"contact {EMAIL}", EMAIL, f"mail me at {EMAIL}") == (
        untouched["message"],
        untouched["user_email"],
        untouched["request_payload"]["prompt"],
    )
    assert {"prompt": f"mail me at {EMAIL}"} == payload  # the caller's dict is never changed


def test_sinks_are_served_in_the_order_they_were_configured(tmp_path: Path) -> None:
    seen: list[str] = []

    class Named(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(f"plain:{record.getMessage()}")

    class Batch(logging.Handler):
        def handle_batch(self, records: list[logging.LogRecord]) -> None:
            seen.extend(f"batch:{r.getMessage()}" for r in records)

        def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - unused
            raise AssertionError

    queue = QueueHandler(handlers=[Named(), Batch()])
    logger = logging.getLogger(f"fanout.order.{time.monotonic_ns()}")
    logger.propagate = False
    logger.addHandler(queue)
    logger.warning("one")
    queue.shutdown(5)
    assert ["plain:one", "batch:one"] == seen
