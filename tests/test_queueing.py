"""Tests for inferlog.queueing: the bounded queue, its listener, overflow and shutdown."""

from __future__ import annotations

import json
import logging
import logging.config
import logging.handlers
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferlog._record import STANDARD_RECORD_ATTRS
from inferlog._spill import record_to_spill_dict
from inferlog.queueing import (
    DROPPED_LOGGER_NAME,
    ProcessQueueHandler,
    QueueHandler,
    shutdown_all,
    suppress_logging,
)


class ListHandler(logging.Handler):
    """A real handler that keeps every record it is given."""

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self.threads: set[str] = set()

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.threads.add(threading.current_thread().name)

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


class GateHandler(ListHandler):
    """Blocks in ``emit`` until the gate opens, so a test controls the listener."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.gate = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        self.entered.set()
        self.gate.wait(10)
        super().emit(record)


class BatchListHandler(logging.Handler):
    """A handler with ``handle_batch``: records arrive as lists."""

    def __init__(self) -> None:
        super().__init__()
        self.batches: list[list[logging.LogRecord]] = []

    def handle_batch(self, records: Sequence[logging.LogRecord]) -> None:
        self.batches.append(list(records))

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover - unused
        raise AssertionError("records must arrive through handle_batch")


@pytest.fixture
def logger() -> logging.Logger:
    lg = logging.getLogger(f"test.queueing.{time.monotonic_ns()}")
    lg.setLevel(logging.DEBUG)
    lg.propagate = False
    return lg


def _attach(lg: logging.Logger, **kwargs: Any) -> tuple[QueueHandler, ListHandler]:
    sink = kwargs.pop("sink", None) or ListHandler()
    qh = QueueHandler(handlers=[sink], **kwargs)
    lg.addHandler(qh)
    return qh, sink


def _fill_behind_gate(lg: logging.Logger, qh: QueueHandler, gate: GateHandler, count: int) -> None:
    """Park the listener inside the sink on record "r0", then queue ``count`` more."""
    lg.info("r0")
    assert gate.entered.wait(5)
    for i in range(1, count + 1):
        lg.info("r%d", i)


# ------------------------------------------------------------------ delivery


def test_records_reach_the_sink_on_the_listener_thread_with_extras(
    logger: logging.Logger,
) -> None:
    qh, sink = _attach(logger)
    logger.info("scored %s in %d ms", "fraud-v3", 12, extra={"model_id": "m", "seed": 7})
    assert qh.force_flush(5)
    assert ["scored fraud-v3 in 12 ms"] == sink.messages()
    record = sink.records[0]
    assert ("m", 7) == (record.__dict__["model_id"], record.__dict__["seed"])
    assert {"inferlog-queue-listener"} == sink.threads
    qh.close()


def test_exception_becomes_data_and_the_callers_record_is_untouched(
    logger: logging.Logger,
) -> None:
    qh, sink = _attach(logger)
    seen: list[logging.LogRecord] = []

    class Spy(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    logger.addHandler(Spy())
    try:
        raise ValueError("bad input")
    except ValueError:
        logger.exception("failed")
    assert qh.force_flush(5)
    queued = sink.records[0]
    assert queued.exc_info is None
    assert queued.exc_text is None
    assert "ValueError" == queued.__dict__["exception"]["type"]
    assert "bad input" == queued.__dict__["exception"]["message"]
    assert any("raise ValueError" in line for line in queued.__dict__["exception"]["stack"])
    assert seen[0].exc_info is not None  # the other handler still got the traceback
    assert queued is not seen[0]
    qh.close()


def test_mutable_arguments_are_formatted_on_the_caller(logger: logging.Logger) -> None:
    qh, sink = _attach(logger)
    items = [1, 2]
    logger.info("items=%s", items)
    items.append(3)
    logger.info("n=%d name=%s", 5, "x")
    assert qh.force_flush(5)
    assert ["items=[1, 2]", "n=5 name=x"] == sink.messages()
    assert (5, "x") == sink.records[1].args  # immutable arguments travel unformatted
    qh.close()


def test_sinks_get_only_records_at_their_level(logger: logging.Logger) -> None:
    errors = ListHandler(logging.ERROR)
    everything = ListHandler()
    qh = QueueHandler(handlers=[errors, everything])
    logger.addHandler(qh)
    logger.info("a")
    logger.error("b")
    assert qh.force_flush(5)
    assert (["b"], ["a", "b"]) == (errors.messages(), everything.messages())
    qh.close()


def test_batch_sinks_receive_lists_of_at_most_batch_size(logger: logging.Logger) -> None:
    sink = BatchListHandler()
    qh = QueueHandler(handlers=[sink], batch_size=100, flush_interval=10)
    qh.start()
    logger.addHandler(qh)
    gate_before = time.monotonic()
    for i in range(250):
        logger.info("m%d", i)
    assert qh.force_flush(5)
    assert time.monotonic() - gate_before < 5
    assert all(len(b) <= 100 for b in sink.batches)
    assert [f"m{i}" for i in range(250)] == [r.getMessage() for b in sink.batches for r in b]
    qh.close()


def test_100k_records_from_8_threads_arrive_once_and_in_per_thread_order(
    logger: logging.Logger,
) -> None:
    qh, sink = _attach(logger, queue_size=200_000)
    per_thread = 12_500

    def produce(tid: int) -> None:
        for i in range(per_thread):
            logger.info("t", extra={"tid": tid, "seq": i})

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert qh.force_flush(30)
    assert 100_000 == len(sink.records)
    by_thread: dict[int, list[int]] = {}
    for r in sink.records:
        by_thread.setdefault(r.__dict__["tid"], []).append(r.__dict__["seq"])
    assert {t: list(range(per_thread)) for t in range(8)} == by_thread
    assert 0 == qh.stats()["dropped_total"]
    qh.close()


def test_a_slow_sink_does_not_slow_the_caller(logger: logging.Logger, tmp_path: Path) -> None:
    class SlowHandler(ListHandler):
        def emit(self, record: logging.LogRecord) -> None:
            time.sleep(0.01)
            super().emit(record)

    qh, sink = _attach(logger, sink=SlowHandler(), spill_path=tmp_path / "spill.jsonl")
    start = time.perf_counter()
    for i in range(200):
        logger.info("m%d", i)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.5  # delivering them takes >= 2 s
    assert len(sink.records) < 200
    qh.shutdown(timeout=0.1)


# ------------------------------------------------------------------ overflow


def test_drop_newest_refuses_the_incoming_records_with_exact_counts(
    logger: logging.Logger,
) -> None:
    gate = GateHandler()
    qh, _ = _attach(logger, sink=gate, queue_size=10, overflow="drop_newest")
    _fill_behind_gate(logger, qh, gate, 15)
    logger.debug("d")
    assert {"INFO": 5, "DEBUG": 1} == qh.stats()["dropped"]
    gate.gate.set()
    assert qh.force_flush(5)
    delivered = [m for m in gate.messages() if not m.startswith("inferlog dropped")]
    assert [f"r{i}" for i in range(11)] == delivered
    qh.close()


def test_drop_oldest_evicts_the_oldest_waiting_records(logger: logging.Logger) -> None:
    gate = GateHandler()
    qh, _ = _attach(logger, sink=gate, queue_size=10, overflow="drop_oldest")
    _fill_behind_gate(logger, qh, gate, 15)
    assert {"INFO": 5} == qh.stats()["dropped"]
    gate.gate.set()
    assert qh.force_flush(5)
    delivered = [r.getMessage() for r in gate.records if r.name != DROPPED_LOGGER_NAME]
    assert ["r0"] + [f"r{i}" for i in range(6, 16)] == delivered
    qh.close()


@pytest.mark.parametrize("overflow", ["drop_oldest", "drop_newest", "block"])
def test_errors_are_never_dropped_in_favour_of_lower_levels(
    logger: logging.Logger, overflow: str
) -> None:
    gate = GateHandler()
    qh, _ = _attach(logger, sink=gate, queue_size=10, overflow=overflow, block_timeout=0.01)
    _fill_behind_gate(logger, qh, gate, 10)
    logger.error("e1")
    logger.critical("e2")
    assert {"INFO": 2} == qh.stats()["dropped"]
    gate.gate.set()
    assert qh.force_flush(5)
    delivered = [r.getMessage() for r in gate.records if r.name != DROPPED_LOGGER_NAME]
    assert ["e1", "e2"] == delivered[-2:]
    assert ["r0"] + [f"r{i}" for i in range(3, 11)] == delivered[:-2]
    qh.close()


def test_a_queue_full_of_errors_drops_incoming_lower_records(logger: logging.Logger) -> None:
    gate = GateHandler()
    qh, _ = _attach(logger, sink=gate, queue_size=3, overflow="drop_oldest")
    logger.info("r0")
    assert gate.entered.wait(5)
    for i in range(3):
        logger.error("e%d", i)
    logger.warning("w")
    assert {"WARNING": 1} == qh.stats()["dropped"]
    gate.gate.set()
    qh.close()


def test_block_waits_for_room_then_drops_after_the_timeout(logger: logging.Logger) -> None:
    gate = GateHandler()
    qh, _ = _attach(logger, sink=gate, queue_size=5, overflow="block", block_timeout=0.05)
    _fill_behind_gate(logger, qh, gate, 5)
    start = time.monotonic()
    logger.info("late")
    assert 0.04 <= time.monotonic() - start < 2
    assert {"INFO": 1} == qh.stats()["dropped"]

    opener = threading.Timer(0.05, gate.gate.set)
    opener.start()
    qh.block_timeout = 5.0
    for i in range(6, 20):
        logger.info("r%d", i)
    opener.join()
    assert {"INFO": 1} == qh.stats()["dropped"]
    qh.close()


def test_a_summary_record_counts_drops_by_level_once_pressure_ends(
    logger: logging.Logger,
) -> None:
    gate = GateHandler()
    qh, _ = _attach(logger, sink=gate, queue_size=4, overflow="drop_newest")
    _fill_behind_gate(logger, qh, gate, 4)
    logger.info("x")
    logger.debug("y")
    logger.warning("z")
    gate.gate.set()
    assert qh.force_flush(5)
    summaries = [r for r in gate.records if r.name == DROPPED_LOGGER_NAME]
    assert 1 == len(summaries)
    assert {"INFO": 1, "DEBUG": 1, "WARNING": 1} == summaries[0].__dict__["dropped"]
    assert 3 == summaries[0].__dict__["dropped_total"]
    assert logging.WARNING == summaries[0].levelno
    qh.close()


# ------------------------------------------------------------------ shutdown


def test_shutdown_drains_everything_and_is_idempotent(logger: logging.Logger) -> None:
    qh, sink = _attach(logger)
    for i in range(1000):
        logger.info("m%d", i)
    report = qh.shutdown(timeout=5)
    assert 1000 == len(sink.records)
    assert (0, False) == (report.spilled, report.timed_out)
    assert report is qh.shutdown(timeout=5)
    logger.info("after")  # delivered on the caller's thread, not lost
    assert "after" == sink.records[-1].getMessage()
    qh.close()


def test_shutdown_spills_what_the_deadline_leaves_and_says_so(
    logger: logging.Logger, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    gate = GateHandler()
    spill = tmp_path / "spill.jsonl"
    qh, _ = _attach(logger, sink=gate, spill_path=spill)
    _fill_behind_gate(logger, qh, gate, 9)
    logger.error("boom", extra={"model_id": "m1"})
    report = qh.shutdown(timeout=0.2)
    gate.gate.set()
    lines = [json.loads(line) for line in spill.read_text().splitlines()]
    assert report.timed_out
    # r0 was inside the sink at the deadline: it is spilled too (at-least-once).
    assert [f"r{i}" for i in range(10)] + ["boom"] == [line["message"] for line in lines]
    assert ("m1", "ERROR") == (lines[-1]["model_id"], lines[-1]["level"])
    assert (11, [str(spill)]) == (report.spilled, report.spill_paths)
    assert (
        "11 record(s) for sink 'GateHandler#0' could not be delivered "
        f"(undelivered at the shutdown deadline) and were spooled to {spill}"
    ) in capfd.readouterr().err
    assert {"sink": "GateHandler#0"} == {"sink": lines[0]["spool"]["sink"]}


def test_spilled_records_are_redacted_like_the_sinks_and_private_to_the_owner(
    logger: logging.Logger, tmp_path: Path
) -> None:
    from inferlog.redaction import RedactionFilter

    gate = GateHandler()
    gate.addFilter(RedactionFilter())
    spill = tmp_path / "spill.jsonl"
    qh, _ = _attach(logger, sink=gate, spill_path=spill)
    _fill_behind_gate(logger, qh, gate, 0)
    logger.info("mail jane.doe@example.com", extra={"password": "hunter2", 7: "x"})
    report = qh.shutdown(timeout=0.2)
    gate.gate.set()
    text = spill.read_text()
    assert report.spilled == 2
    assert "jane.doe@example.com" not in text
    assert "hunter2" not in text
    assert "mail [REDACTED:EMAIL]" == json.loads(text.splitlines()[-1])["message"]
    assert 0o600 == spill.stat().st_mode & 0o777


def test_shutdown_all_drains_every_live_handler(logger: logging.Logger) -> None:
    qh1, sink1 = _attach(logger)
    other = logging.getLogger(logger.name + ".other")
    qh2, sink2 = _attach(other)
    other.propagate = False
    logger.info("one")
    other.info("two")
    report = shutdown_all(timeout=5)
    assert (["one"], ["two"]) == (sink1.messages(), sink2.messages())
    assert report.handlers >= 2
    assert not report.timed_out
    assert 0 == shutdown_all(timeout=1).handlers
    qh1.close()
    qh2.close()


def test_close_flushes_but_does_not_close_the_sinks(logger: logging.Logger, tmp_path: Path) -> None:
    file_handler = logging.FileHandler(tmp_path / "out.log")
    qh, _ = _attach(logger, sink=file_handler)
    logger.info("hello")
    qh.close()
    qh.close()
    assert "hello\n" == (tmp_path / "out.log").read_text()
    assert file_handler.stream is not None
    file_handler.close()


# ------------------------------------------------------------------ feedback guard


def test_records_logged_by_a_sink_while_shipping_are_not_fed_back(
    logger: logging.Logger,
) -> None:
    chatty_logger = logging.getLogger("botocore.test_feedback")

    class ChattySink(ListHandler):
        def emit(self, record: logging.LogRecord) -> None:
            chatty_logger.debug("sending %s", record.getMessage())
            super().emit(record)

    root = logging.getLogger()
    qh = QueueHandler(handlers=[ChattySink()])
    root.addHandler(qh)
    root.setLevel(logging.DEBUG)
    before = qh.stats()["suppressed"]
    logging.getLogger("app").info("one")
    assert qh.force_flush(5)
    time.sleep(0.2)
    assert qh.force_flush(5)
    assert ["one"] == qh.listener.handlers[0].messages()  # type: ignore[attr-defined]
    assert 1 == qh.stats()["suppressed"] - before
    qh.close()


def test_feedback_loggers_are_suppressed_on_other_threads_during_network_shipping(
    logger: logging.Logger,
) -> None:
    qh, sink = _attach(logging.getLogger("urllib3.test_guard"))
    logging.getLogger("urllib3.test_guard").propagate = False
    entered, release = threading.Event(), threading.Event()

    def ship() -> None:
        with suppress_logging(network=True):
            entered.set()
            release.wait(5)

    shipper = threading.Thread(target=ship)
    shipper.start()
    assert entered.wait(5)
    logging.getLogger("urllib3.test_guard").warning("retrying")
    release.set()
    shipper.join()
    logging.getLogger("urllib3.test_guard").warning("after")
    assert qh.force_flush(5)
    assert ["after"] == sink.messages()
    qh.close()


# ------------------------------------------------------------------ dictConfig


def _dict_config(shape: str) -> dict[str, Any]:
    sink_ref = "cfg://handlers.zz_sink" if shape == "factory-cfg" else "zz_sink"
    queue: dict[str, Any] = {"handlers": [sink_ref], "queue_size": 100}
    if shape.startswith("factory"):
        queue["()"] = "inferlog.queueing.QueueHandler"
    else:
        queue["class"] = "inferlog.queueing.QueueHandler"
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "handlers": {
            # Named to sort after "queue": dictConfig creates it second.
            "zz_sink": {"()": ListHandler, "level": "INFO"},
            "queue": queue,
        },
        "loggers": {
            "test.dictconfig": {"handlers": ["queue"], "level": "DEBUG", "propagate": False}
        },
    }


@pytest.mark.parametrize("shape", ["factory", "factory-cfg", "class"])
def test_dictconfig_puts_the_queue_in_front_of_named_handlers(shape: str) -> None:
    logging.config.dictConfig(_dict_config(shape))
    lg = logging.getLogger("test.dictconfig")
    (qh,) = lg.handlers
    assert isinstance(qh, QueueHandler)
    import gc

    gc.collect()  # the sink is referenced only by the queue: it must survive
    lg.debug("below the sink's level")
    lg.info("configured")
    assert qh.force_flush(5)
    (sink,) = qh.listener.handlers
    assert isinstance(sink, ListHandler)
    assert ["configured"] == sink.messages()
    qh.close()


def test_invalid_options_raise_clear_errors() -> None:
    with pytest.raises(ValueError, match="overflow must be one of"):
        QueueHandler(overflow="drop_random")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="queue_size must be a positive integer"):
        QueueHandler(queue_size=0)
    with pytest.raises(ValueError, match="flush_interval must be a finite number of seconds > 0"):
        QueueHandler(flush_interval=0)
    with pytest.raises(ValueError, match="handlers must be a list"):
        QueueHandler(handlers="file")
    with pytest.raises(ValueError, match="handlers must hold handlers or handler names"):
        QueueHandler(handlers=[42])  # type: ignore[list-item]


def test_the_python_312_dictconfig_shape_adopts_the_stdlib_listeners_handlers() -> None:
    # What logging.config does on 3.12+ for {"class": QueueHandler subclass, "handlers": [...]}:
    # build a stdlib QueueListener over the handlers, then assign it to handler.listener.
    import queue

    sink = ListHandler()
    q: queue.Queue[logging.LogRecord] = queue.Queue(maxsize=50)
    qh = QueueHandler(q)
    qh.listener = logging.handlers.QueueListener(q, sink)
    assert 50 == qh.queue_size
    lg = logging.getLogger("test.queueing.py312")
    lg.propagate = False
    lg.addHandler(qh)
    lg.warning("adopted")
    qh.listener.start()
    assert qh.force_flush(5)
    assert ["adopted"] == sink.messages()
    qh.listener.stop()
    assert not qh.stats()["running"]


def test_a_failing_sink_is_counted_and_the_others_still_get_records(
    logger: logging.Logger,
) -> None:
    class BrokenBatchSink(BatchListHandler):
        def handle_batch(self, records: Sequence[logging.LogRecord]) -> None:
            raise OSError("network down")

    good = ListHandler()
    qh = QueueHandler(handlers=[BrokenBatchSink(), good])
    logger.addHandler(qh)
    logger.info("one")
    assert qh.force_flush(5)
    logger.info("two")
    assert qh.force_flush(5)
    assert ["one", "two"] == good.messages()
    assert 2 == qh.stats()["sink_errors"]
    assert qh.stats()["running"]
    qh.close()


def test_request_ids_stamped_on_the_caller_thread_arrive_with_the_record(
    logger: logging.Logger,
) -> None:
    context = pytest.importorskip("inferlog.context")
    qh, sink = _attach(logger)
    qh.addFilter(context.ContextFilter())
    with context.request_context(request_id="req-42"):
        logger.info("in scope")
    assert qh.force_flush(5)
    assert "req-42" == sink.records[0].__dict__["request_id"]
    qh.close()


def test_a_process_sender_round_trip_keeps_structure_and_reprs_the_unpicklable(
    logger: logging.Logger,
) -> None:
    qh, sink = _attach(logger)
    worker_side = ProcessQueueHandler(qh.process_sender())
    try:
        raise RuntimeError("worker failed")
    except RuntimeError:
        record = logger.makeRecord(
            "worker", logging.ERROR, __file__, 1, "shard %s", ([1, 2],), sys.exc_info()
        )
    record.__dict__.update(request_id="req-7", callback=lambda: None)
    worker_side.handle(record)
    deadline = time.monotonic() + 5
    while not sink.records and time.monotonic() < deadline:
        qh.force_flush(1)
    (got,) = sink.records
    assert ("shard [1, 2]", "req-7") == (got.getMessage(), got.__dict__["request_id"])
    assert got.__dict__["callback"].startswith("<function")
    assert "RuntimeError" == got.__dict__["exception"]["type"]
    assert got.exc_info is None
    qh.close()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    extras=st.dictionaries(
        st.from_regex(r"[a-z][a-z_]{0,8}", fullmatch=True).filter(
            lambda k: k not in STANDARD_RECORD_ATTRS
        ),
        json_values,
        max_size=5,
    ),
    args=st.lists(st.integers() | st.text(max_size=10) | st.lists(st.integers()), max_size=3),
)
def test_any_record_arrives_with_its_message_and_extras_and_spills_cleanly(
    extras: dict[str, Any], args: list[Any]
) -> None:
    sink = ListHandler()
    qh = QueueHandler(handlers=[sink])
    msg = " ".join(["%r"] * len(args))
    record = logging.LogRecord("prop", logging.INFO, __file__, 1, msg, tuple(args), None)
    record.__dict__.update(extras)
    expected = record.getMessage()
    qh.handle(record)
    assert qh.force_flush(5)
    (got,) = sink.records
    assert expected == got.getMessage()
    assert extras == {k: got.__dict__[k] for k in extras}
    line = json.loads(json.dumps(record_to_spill_dict(got), default=repr))
    assert expected == line["message"]
    qh.close()


def test_a_queue_behind_a_queue_receives_the_outer_listeners_records(
    logger: logging.Logger,
) -> None:
    slow_sink, fast_sink = ListHandler(), ListHandler()
    inner = QueueHandler(handlers=[slow_sink])
    outer = QueueHandler(handlers=[fast_sink, inner])
    logger.addHandler(outer)
    logger.info("both")
    assert outer.force_flush(5)
    assert inner.force_flush(5)
    assert (["both"], ["both"]) == (fast_sink.messages(), slow_sink.messages())
    outer.close()
    inner.close()


def test_routing_diagnostics_into_a_queue_does_not_loop(logger: logging.Logger) -> None:
    internal = logging.getLogger("inferlog.internal")

    class WarnOnEmit(ListHandler):
        def emit(self, record: logging.LogRecord) -> None:
            logger.warning("logged by the sink while shipping")
            super().emit(record)

    qh = QueueHandler(handlers=[WarnOnEmit()])
    internal.addHandler(qh)
    logger.addHandler(qh)
    before = qh.stats()["suppressed"]
    logger.info("go")
    assert qh.force_flush(5)
    assert ["go"] == qh.listener.handlers[0].messages()  # type: ignore[attr-defined]
    # Once as itself, once more when the diagnostics logger handed it back.
    assert 2 == qh.stats()["suppressed"] - before
    qh.close()


def test_shutdown_from_a_thread_interrupted_inside_enqueue_still_delivers(
    logger: logging.Logger, tmp_path: Path
) -> None:
    # What a SIGTERM handler sees when the signal lands while the main thread holds
    # the queue's lock: the listener cannot take the buffer, so the shutdown must.
    qh, sink = _attach(logger, spill_path=tmp_path / "spill.jsonl")
    qh.start()
    with qh._lock:
        for i in range(100):
            logger.info("m%d", i)
        report = qh.shutdown(timeout=2)
    assert (False, 0) == (report.timed_out, report.spilled)
    assert [f"m{i}" for i in range(100)] == sink.messages()


def test_records_arrive_exactly_once_when_the_listener_races_the_callers(
    logger: logging.Logger,
) -> None:
    # A listener that wakes constantly and finds the buffer empty half the time, with
    # thread switches forced every few microseconds: the window between taking the
    # buffer and reading it is hit often.
    qh, sink = _attach(logger, flush_interval=0.0005, batch_size=8)
    per_thread = 10_000
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    try:

        def produce(tid: int) -> None:
            for i in range(per_thread):
                logger.info("t", extra={"tid": tid, "seq": i})

        threads = [threading.Thread(target=produce, args=(t,)) for t in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert qh.force_flush(30)
    finally:
        sys.setswitchinterval(previous)
    by_thread: dict[int, list[int]] = {}
    for r in sink.records:
        by_thread.setdefault(r.__dict__["tid"], []).append(r.__dict__["seq"])
    assert {t: list(range(per_thread)) for t in range(2)} == by_thread
    qh.close()
