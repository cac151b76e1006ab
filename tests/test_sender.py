"""The sender core: buffer, sender thread, retries, spool and resend, health, lifecycle.

The sink under test is a real :class:`SenderSink` whose service is an in-memory
list behind a script of failures; the CloudWatch tests run the same core against
moto's server.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inferlog.pipeline import Spool, shutdown_all
from inferlog.pipeline.invocation import flush_per_invocation
from inferlog.pipeline.retry import RetryPolicy, Verdict
from inferlog.pipeline.sender import HEALTH_LOGGER_NAME, Entry, SenderSink
from tests.helpers import RecordCollector


class Refused(Exception):
    """The service refuses the request for good."""


class Malformed(Exception):
    """The service finds the request malformed (split it)."""


class BadCredentials(Exception):
    """The service refuses the credentials."""


class MemorySink(SenderSink):
    """A sender sink whose service is a list; ``script`` holds failures to raise in turn."""

    max_request_count = 100

    def __init__(self, **options: Any) -> None:
        options.setdefault("batch_interval", 0.01)
        options.setdefault("health_interval", 0)
        options.setdefault("retry_policy", fast_policy())
        super().__init__(**options)
        self.received: list[str] = []
        self.requests: list[list[str]] = []
        self.script: list[BaseException | None] = []
        self.gate: threading.Event | None = None  # when set, send_request waits on it
        self.entered = threading.Event()
        self.poison: set[str] = set()  # a request holding one of these is malformed

    def prepare(self, record: logging.LogRecord) -> Entry:
        message = record.getMessage()
        return Entry(int(record.created * 1000), record.levelno, message, len(message))

    def send_request(self, entries: list[Entry]) -> list[tuple[Entry, str]]:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        messages = [str(e.payload) for e in entries]
        self.requests.append(messages)
        if self.script:
            error = self.script.pop(0)
            if error is not None:
                raise error
        if self.poison & set(messages):
            raise Malformed(messages)
        refused = [(e, "refused: too odd") for e in entries if str(e.payload).startswith("odd")]
        self.received += [str(e.payload) for e in entries if not str(e.payload).startswith("odd")]
        return refused

    def classify_error(self, exc: BaseException) -> Verdict:
        if isinstance(exc, Refused):
            return Verdict.REJECT
        if isinstance(exc, Malformed):
            return Verdict.SPLIT
        if isinstance(exc, BadCredentials):
            return Verdict.CREDENTIALS
        return super().classify_error(exc)

    def entry_from_spool(self, item: dict[str, Any]) -> Entry:
        message = str(item["message"])
        return Entry(0, logging.INFO, message, len(message))


def fast_policy(deadline: float = 5.0) -> RetryPolicy:
    return RetryPolicy(initial=0.001, maximum=0.01, deadline=deadline, rng=random.Random(0))


@pytest.fixture
def make_sink(tmp_path: Path) -> Iterator[Any]:
    made: list[MemorySink] = []

    def make(**options: Any) -> MemorySink:
        options.setdefault("spool", f"{tmp_path}{os.sep}")
        name = options.pop("name", f"memory{len(made)}")
        sink = MemorySink(**options)
        sink.set_name(name)
        made.append(sink)
        return sink

    yield make
    for sink in made:
        if sink.gate is not None:
            sink.gate.set()
        sink.close()


def logger_for(sink: logging.Handler, name: str = "sender.test") -> logging.Logger:
    logger = logging.getLogger(f"{name}.{id(sink)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(sink)
    return logger


def spooled(tmp_path: Path) -> list[dict[str, Any]]:
    return list(Spool(f"{tmp_path}{os.sep}").records())


def test_the_sender_thread_starts_with_the_first_record_not_in_init(make_sink: Any) -> None:
    sink = make_sink()
    assert not sink.started
    assert not [t for t in threading.enumerate() if t.name.startswith("inferlog-sender-memory0")]
    logger_for(sink).info("one")
    assert sink.started
    assert sink.force_flush(5)
    assert ["one"] == sink.received


def test_records_are_acknowledged_once_buffered_and_delivered_in_order(make_sink: Any) -> None:
    sink = make_sink()
    records = [logging.makeLogRecord({"msg": f"m{i}", "levelno": 20}) for i in range(250)]
    assert 250 == sink.handle_batch(records)
    assert sink.force_flush(5)
    assert [f"m{i}" for i in range(250)] == sink.received
    assert all(len(r) <= 100 for r in sink.requests)  # max_request_count
    assert {"sent": 250, "retried": 0, "rejected": 0, "spooled": 0, "dropped": 0} == {
        k: v for k, v in sink.health().items() if k != "buffered"
    }


def test_batches_are_bounded_by_count_and_bytes(make_sink: Any) -> None:
    sink = make_sink(max_batch_count=7, max_batch_bytes=20)
    logger = logger_for(sink)
    for i in range(30):
        logger.info("abcde%d", i % 10)  # 6 bytes each
    assert sink.force_flush(5)
    assert 30 == len(sink.received)
    assert all(len(r) <= 3 for r in sink.requests)  # 3 * 6 <= 20 < 4 * 6


def test_transient_failures_are_retried_and_counted(make_sink: Any) -> None:
    sink = make_sink()
    sink.script = [ConnectionResetError(), TimeoutError(), None]
    logger_for(sink).info("survivor")
    assert sink.force_flush(5)
    assert ["survivor"] == sink.received
    assert 2 == sink.health()["retried"]


def test_a_refused_request_goes_to_the_spool_with_the_reason(
    make_sink: Any, tmp_path: Path
) -> None:
    sink = make_sink()
    sink.script = [Refused("no")]
    logger_for(sink).info("unwanted")
    assert sink.force_flush(5)
    [item] = spooled(tmp_path)
    assert "unwanted" == item["message"]
    assert "refused by the service" in item["spool"]["reason"]
    assert (1, 1) == (sink.health()["rejected"], sink.health()["spooled"])


def test_entries_the_service_refuses_are_spooled_and_the_rest_counted_sent(
    make_sink: Any, tmp_path: Path
) -> None:
    sink = make_sink()
    logger = logger_for(sink)
    for message in ("even1", "odd1", "even2"):
        logger.info(message)
    assert sink.force_flush(5)
    assert ["even1", "even2"] == sink.received
    assert ["odd1"] == [i["message"] for i in spooled(tmp_path)]
    assert (2, 1) == (sink.health()["sent"], sink.health()["rejected"])


def test_a_malformed_request_is_split_until_the_bad_entry_stands_alone(
    make_sink: Any, tmp_path: Path
) -> None:
    sink = make_sink()
    sink.poison = {"bad"}
    logger = logger_for(sink)
    sink.gate = threading.Event()
    logger.info("warm-up")  # holds the sender, so the next eight make one request
    assert sink.entered.wait(5)
    for message in ["a", "b", "c", "bad", "d", "e", "f", "g"]:
        logger.info(message)
    sink.gate.set()
    assert sink.force_flush(5)
    assert ["warm-up", "a", "b", "c", "d", "e", "f", "g"] == sink.received
    assert ["bad"] == [i["message"] for i in spooled(tmp_path)]


def test_a_credentials_failure_stops_sending_with_one_error_and_spools(
    make_sink: Any, tmp_path: Path, diagnostics: RecordCollector
) -> None:
    sink = make_sink()
    sink.script = [BadCredentials("expired")]
    logger = logger_for(sink)
    logger.info("first")
    assert sink.force_flush(5)
    logger.info("second")
    assert sink.force_flush(5)
    assert [] == sink.received
    assert 1 == len(sink.requests)  # no second attempt
    assert ["first", "second"] == [i["message"] for i in spooled(tmp_path)]
    errors = diagnostics.at(logging.ERROR)
    assert 1 == len(errors)
    assert "credentials" in errors[0]
    assert "inferlog.pipeline.resend" in errors[0]


def test_an_outage_spools_in_order_and_the_spool_is_resent_when_the_service_is_back(
    make_sink: Any, tmp_path: Path
) -> None:
    sink = make_sink(retry_policy=fast_policy(deadline=0.0))
    sink.script = [ConnectionError("down")] * 3
    logger = logger_for(sink)
    logger.info("r0")
    assert sink.force_flush(5)
    assert [] == sink.received  # given up at once (deadline 0): the outage began
    logger.info("r1")
    logger.info("r2")
    # The probe (every retry_maximum) resends the spool in order, then the live ones.
    deadline = time.monotonic() + 5
    while sink.received != ["r0", "r1", "r2"] and time.monotonic() < deadline:
        assert sink.force_flush(5)
        sink.wait_cancelled(0.01)
    assert ["r0", "r1", "r2"] == sink.received
    assert [] == spooled(tmp_path)


def test_a_full_buffer_drops_with_a_count_and_never_blocks_the_caller(make_sink: Any) -> None:
    sink = make_sink(buffer_size=5, overflow="drop_newest")
    sink.gate = threading.Event()
    logger = logger_for(sink)
    logger.info("held")
    assert sink.entered.wait(5)
    for i in range(20):
        logger.info("m%d", i)
    assert 15 == sink.health()["dropped"]
    sink.gate.set()
    assert sink.force_flush(5)
    assert ["held", "m0", "m1", "m2", "m3", "m4"] == sink.received


def test_errors_are_kept_over_lower_levels_when_the_buffer_is_full(make_sink: Any) -> None:
    sink = make_sink(buffer_size=3, overflow="drop_newest")
    sink.gate = threading.Event()
    logger = logger_for(sink)
    logger.info("held")
    assert sink.entered.wait(5)
    for i in range(3):
        logger.info("info%d", i)
    logger.error("error")
    sink.gate.set()
    assert sink.force_flush(5)
    assert "error" in sink.received
    assert 1 == sink.health()["dropped"]


def test_the_shutdown_deadline_spools_exactly_what_was_not_sent(
    make_sink: Any, tmp_path: Path
) -> None:
    sink = make_sink()
    sink.gate = threading.Event()
    logger = logger_for(sink)
    logger.info("stuck")
    assert sink.entered.wait(5)
    for i in range(3):
        logger.info("waiting%d", i)
    sink.begin_shutdown()
    report = sink.finish_shutdown(time.monotonic() + 0.05)
    sink.gate.set()
    assert report.timed_out
    assert (4, 4) == (report.pending, report.spilled)
    messages = [i["message"] for i in spooled(tmp_path)]
    assert ["stuck", "waiting0", "waiting1", "waiting2"] == messages
    assert "in flight" in spooled(tmp_path)[0]["spool"]["reason"]
    assert 0 == sink.finish_shutdown(time.monotonic() + 1).spilled  # idempotent


def test_close_twice_returns_and_a_record_after_close_is_spooled(
    make_sink: Any, tmp_path: Path
) -> None:
    sink = make_sink()
    logger = logger_for(sink)
    logger.info("before")
    sink.close()
    sink.close()
    logger.info("after")
    assert ["before"] == sink.received
    assert ["after"] == [i["message"] for i in spooled(tmp_path)]


def test_shutdown_all_drains_the_sink(make_sink: Any) -> None:
    sink = make_sink()
    logger_for(sink).info("at exit")
    report = shutdown_all(5)
    assert ["at exit"] == sink.received
    assert not report.timed_out


def test_health_records_go_to_their_own_logger_and_never_into_the_sink(make_sink: Any) -> None:
    collector = RecordCollector()
    health_logger = logging.getLogger(HEALTH_LOGGER_NAME)
    health_logger.addHandler(collector)
    sink = make_sink(health_interval=0.001)
    root = logging.getLogger()
    root.addHandler(sink)  # the sink sees everything, health records included
    root.setLevel(logging.INFO)
    logging.getLogger("app").info("payload")
    assert sink.force_flush(5)
    sink.close()
    assert "payload" in sink.received
    assert not [m for m in sink.received if m.startswith("sink health")]
    records = collector.named(f"{HEALTH_LOGGER_NAME}.memory0")
    assert records
    assert records[-1].health["sent"] >= 1


def test_records_logged_on_the_sender_thread_never_enter_the_sink(make_sink: Any) -> None:
    class Chatty(MemorySink):
        def send_request(self, entries: list[Entry]) -> list[tuple[Entry, str]]:
            logging.getLogger("botocore.chatty").warning("sending %d", len(entries))
            return super().send_request(entries)

    sink = Chatty(spool=None, batch_interval=0.01, health_interval=0)
    sink.set_name("chatty")
    root = logging.getLogger()
    root.addHandler(sink)
    try:
        logging.getLogger("app").warning("one")
        assert sink.force_flush(5)
        logging.getLogger("app").warning("two")
        assert sink.force_flush(5)
    finally:
        root.removeHandler(sink)
        sink.close()
    assert ["one", "two"] == sink.received


def test_the_spool_of_a_gone_process_is_resent_at_start(make_sink: Any, tmp_path: Path) -> None:
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)  # a process that is gone: its spool is ours to resend
    name = "memory0"
    Spool(tmp_path / f"inferlog-spill-{pid}-{name}.jsonl").write(
        [{"message": "old1"}, {"message": "old2"}], sink=name, reason="test"
    )
    sink = make_sink(name=name)
    logger_for(sink).info("new")
    assert sink.force_flush(5)
    assert ["old1", "old2", "new"] == sink.received
    assert [] == spooled(tmp_path)


def test_a_forked_child_gets_an_empty_buffer_and_its_own_sender(make_sink: Any) -> None:
    sink = make_sink()
    sink.gate = threading.Event()
    logger = logger_for(sink)
    logger.info("parent-held")
    assert sink.entered.wait(5)
    logger.info("parent-buffered")
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: must not inherit the parent's buffer or its stuck thread
        try:
            sink.gate = None
            buffered = sink.health()["buffered"]
            logger.info("child")
            flushed = sink.force_flush(5)
            os.write(write_end, f"{buffered},{flushed},{','.join(sink.received)}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done:
            break
        sink.wait_cancelled(0.01)
    else:
        os.kill(pid, 9)
        pytest.fail("the forked child hung")
    answer = os.read(read_end, 1000).decode()
    os.close(read_end)
    sink.gate.set()
    assert "0,True,child" == answer


def test_flush_per_invocation_delivers_before_returning(make_sink: Any) -> None:
    sink = make_sink(batch_interval=60)  # only a flush sends early
    logger = logger_for(sink)

    @flush_per_invocation(timeout=5)
    def handler(event: str) -> str:
        logger.info(event)
        return "done"

    @flush_per_invocation
    async def async_handler(event: str) -> str:
        logger.info(event)
        return "async done"

    assert "done" == handler("sync")
    assert ["sync"] == sink.received
    assert "async done" == asyncio.run(async_handler("async"))
    assert ["sync", "async"] == sink.received


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"buffer_size": 0}, "buffer_size"),
        ({"overflow": "spill"}, "overflow"),
        ({"max_batch_count": 101}, "max_batch_count"),
        ({"batch_interval": -1}, "batch_interval"),
        ({"health_interval": float("nan")}, "health_interval"),
    ],
)
def test_bad_options_name_the_option(options: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MemorySink(**options)
