"""The rotating file sink passes the batch-sink contract (tests/contract_batch_sink.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from inferlog import read_records
from inferlog.handlers import RotatingJsonFileHandler
from tests.contract_batch_sink import BatchSinkContract, SinkHarness


class TestRotatingFileSinkContract(BatchSinkContract):
    @pytest.fixture
    def harness(self, tmp_path: Path) -> SinkHarness:
        path = tmp_path / "logs" / "contract.jsonl"
        sink = RotatingJsonFileHandler(path)

        def delivered() -> list[str]:
            if not path.exists():
                return []
            return [str(r["message"]) for r in read_records(path)]

        yield SinkHarness(sink=sink, delivered=delivered)  # type: ignore[misc]
        sink.close()
