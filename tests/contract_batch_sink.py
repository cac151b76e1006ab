"""The batch-sink contract: tests every sink built on ``inferlog.pipeline.BatchSink`` passes.

A sink's own test module subclasses :class:`BatchSinkContract` and provides the
``harness`` fixture, a :class:`SinkHarness` around a real sink writing to its real
destination (a file, moto's server, the fake Cloud Logging server). The tests here
then prove, for that sink:

* every record handed over is acknowledged and arrives once, in order;
* records below the level or refused by a filter are acknowledged, not written;
* a cancelled sink, or one past its deadline, returns promptly, and what it
  acknowledged is exactly what arrives (a prefix);
* through a queue whose shutdown deadline passes, the spool holds exactly the
  records the sink did not take, and ``resend`` delivers them: in the end every
  record has arrived exactly once;
* the sink used directly by a logger (``emit``) delivers too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from inferlog.pipeline import BatchSink, QueueHandler, Spool, resend


@dataclass
class SinkHarness:
    """A real sink and a way to read back what reached its destination."""

    sink: BatchSink
    #: The messages that reached the destination, in arrival order (after a flush).
    delivered: Callable[[], list[str]]


def make_records(
    count: int, prefix: str = "m", level: int = logging.INFO
) -> list[logging.LogRecord]:
    """Records as a queue hands them over: ``prefix0`` ... with an extra field."""
    records = []
    for i in range(count):
        record = logging.LogRecord("contract", level, __file__, 1, f"{prefix}{i}", None, None)
        record.__dict__["model_id"] = "contract-model"
        records.append(record)
    return records


class _Gate(logging.Handler):
    """Holds the queue's listener inside ``emit`` until opened: a sink ahead that is stuck."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.opened = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.entered.set()
        self.opened.wait(10)


class BatchSinkContract:
    """Subclass it and provide a ``harness`` fixture returning a :class:`SinkHarness`."""

    def _flushed(self, harness: SinkHarness) -> list[str]:
        harness.sink.flush()
        return harness.delivered()

    def test_contract_every_record_is_acknowledged_and_arrives_once_in_order(
        self, harness: SinkHarness
    ) -> None:
        records = make_records(250)
        assert 250 == harness.sink.handle_batch(records)
        assert [f"m{i}" for i in range(250)] == self._flushed(harness)

    def test_contract_records_below_the_level_or_filtered_are_acknowledged_not_written(
        self, harness: SinkHarness
    ) -> None:
        harness.sink.setLevel(logging.INFO)
        harness.sink.addFilter(lambda r: not r.getMessage().endswith("3"))
        records = make_records(5, "keep") + make_records(2, "quiet", logging.DEBUG)
        assert 7 == harness.sink.handle_batch(records)
        assert ["keep0", "keep1", "keep2", "keep4"] == self._flushed(harness)

    def test_contract_a_cancelled_sink_past_its_deadline_acknowledges_exactly_what_arrives(
        self, harness: SinkHarness
    ) -> None:
        harness.sink.cancel()
        records = make_records(40)
        taken = harness.sink.handle_batch(records, time.monotonic() - 1.0)
        assert 0 <= taken <= 40
        assert [f"m{i}" for i in range(taken)] == self._flushed(harness)

    def test_contract_a_queue_deadline_spools_exactly_what_the_sink_did_not_take(
        self, harness: SinkHarness, tmp_path: Path
    ) -> None:
        gate = _Gate()
        spool_path = tmp_path / "spool.jsonl"
        harness.sink.set_name("contract-sink")
        queue = QueueHandler(handlers=[gate, harness.sink], spill_path=spool_path, batch_size=50)
        logger = logging.getLogger(f"contract.{id(self)}.{time.monotonic_ns()}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(queue)
        try:
            logger.info("first")
            assert gate.entered.wait(5)
            for i in range(120):
                logger.info("m%d", i)
            report = queue.shutdown(timeout=0.2)
        finally:
            gate.opened.set()
            logger.removeHandler(queue)
        assert report.timed_out
        spooled = [r["message"] for r in Spool(spool_path).records("contract-sink")]
        arrived = self._flushed(harness)
        expected = ["first"] + [f"m{i}" for i in range(120)]
        assert sorted(expected) == sorted(arrived + spooled)
        assert not set(arrived) & set(spooled)
        sent, left = resend(spool_path, harness.sink)
        assert (len(spooled), 0) == (sent, left)
        assert sorted(expected) == sorted(self._flushed(harness))

    def test_contract_a_logger_can_use_the_sink_directly(self, harness: SinkHarness) -> None:
        logger = logging.getLogger(f"contract.direct.{time.monotonic_ns()}")
        logger.propagate = False
        logger.addHandler(harness.sink)
        logger.warning("direct %s", "one")
        logger.removeHandler(harness.sink)
        assert ["direct one"] == self._flushed(harness)


@pytest.fixture
def contract_records() -> Callable[[int], list[logging.LogRecord]]:
    """The record factory, for sink test modules that add their own contract tests."""
    return make_records
