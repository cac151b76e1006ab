"""The audit handler passes the batch-sink contract (tests/contract_batch_sink.py).

The audit trail keeps inference records only, so the contract's records are given a
``status`` and their message as ``request_id`` (the harness reads the request ids
back), and the direct-use test logs an inference record.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import tests.contract_batch_sink as contract
from inferlog.audit import AuditHandler
from tests.contract_batch_sink import BatchSinkContract, SinkHarness

_plain_records = contract.make_records


def _inference_records(
    count: int, prefix: str = "m", level: int = logging.INFO
) -> list[logging.LogRecord]:
    records = _plain_records(count, prefix, level)
    for record in records:
        record.__dict__.update(status="ok", request_id=record.getMessage())
    return records


class _Stamp(logging.Filter):
    """Makes a plain record an inference record (a Filter object: the spool applies those)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.__dict__.update(model_id="m", status="ok", request_id=record.getMessage())
        return True


class TestAuditHandlerContract(BatchSinkContract):
    @pytest.fixture
    def harness(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[SinkHarness]:
        monkeypatch.setattr(contract, "make_records", _inference_records)
        path = tmp_path / "audit.db"
        sink = AuditHandler(path, synchronous="NORMAL")

        def delivered() -> list[str]:
            if not path.exists():
                return []
            conn = sqlite3.connect(path)
            try:
                return [r[0] for r in conn.execute("SELECT request_id FROM audit_log ORDER BY seq")]
            finally:
                conn.close()

        yield SinkHarness(sink=sink, delivered=delivered)
        sink.close()

    def test_contract_a_queue_deadline_spools_exactly_what_the_sink_did_not_take(
        self, harness: SinkHarness, tmp_path: Path
    ) -> None:
        # The queue logs with a logger: its records become inference records here.
        harness.sink.addFilter(_Stamp())
        super().test_contract_a_queue_deadline_spools_exactly_what_the_sink_did_not_take(
            harness, tmp_path
        )

    def test_contract_a_logger_can_use_the_sink_directly(self, harness: SinkHarness) -> None:
        logger = logging.getLogger(f"contract.direct.{time.monotonic_ns()}")
        logger.propagate = False
        logger.addHandler(harness.sink)
        logger.warning(
            "direct %s", "one", extra={"model_id": "m", "status": "ok", "request_id": "direct one"}
        )
        logger.removeHandler(harness.sink)
        assert ["direct one"] == self._flushed(harness)
