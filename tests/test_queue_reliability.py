"""The queue never loses a record silently, and refuses options that cannot work."""

from __future__ import annotations

import logging
import logging.config
import math
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from inferlog import QueueHandler
from tests.helpers import RecordCollector


def _logger(name: str) -> logging.Logger:
    logger = logging.getLogger(f"reliability.{name}.{time.monotonic_ns()}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger


def test_block_is_lossless_under_contention_from_dictconfig() -> None:
    name = f"reliability.block.{time.monotonic_ns()}"
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "sink": {"()": "tests.helpers.RecordCollector"},
                "queue": {
                    "()": "inferlog.QueueHandler",
                    "handlers": ["sink"],
                    "overflow": "block",
                    "queue_size": 64,
                },
            },
            "loggers": {name: {"level": "INFO", "handlers": ["queue"], "propagate": False}},
        }
    )
    logger = logging.getLogger(name)
    (queue,) = logger.handlers
    assert isinstance(queue, QueueHandler)

    def produce(t: int) -> None:
        for i in range(10_000):
            logger.info("t%d-%d", t, i)

    threads = [threading.Thread(target=produce, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    queue.shutdown(30)
    (sink,) = queue.listener.handlers
    assert isinstance(sink, RecordCollector)
    assert (80_000, 0) == (len(sink.records), queue.stats()["dropped_total"])
    for t in range(8):
        mine = [m for m in sink.messages if m.startswith(f"t{t}-")]
        assert [f"t{t}-{i}" for i in range(10_000)] == mine


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"handlers": []}, "handlers must name at least one sink"),
        ({"handlers": ()}, "handlers must name at least one sink"),
        ({"handlers": 5}, "handlers must be a list"),
        ({"shutdown_timeout": math.nan}, "shutdown_timeout"),
        ({"shutdown_timeout": -1}, "shutdown_timeout"),
        ({"block_timeout": "1s"}, "block_timeout"),
        ({"flush_interval": math.inf}, "flush_interval"),
        ({"level": "LOUD"}, "level"),
        ({"spill_path": 42}, "spill_path"),
    ],
)
def test_options_that_cannot_work_are_refused_naming_the_option(
    options: dict[str, object], named: str
) -> None:
    options = {"handlers": [RecordCollector()], **options}
    with pytest.raises((ValueError, TypeError), match=named):
        QueueHandler(**options)  # type: ignore[arg-type]


def test_a_dictconfig_naming_a_handler_that_does_not_exist_is_refused() -> None:
    with pytest.raises(ValueError, match="Unable to configure handler 'queue'") as raised:
        logging.config.dictConfig(
            {
                "version": 1,
                "disable_existing_loggers": False,
                "handlers": {"queue": {"()": "inferlog.QueueHandler", "handlers": ["missing"]}},
            }
        )
    assert "no handler named 'missing'" in str(raised.value.__cause__)


@pytest.mark.skipif(not hasattr(signal, "SIGUSR1"), reason="POSIX signals")
def test_logging_from_a_signal_handler_while_the_queue_is_full_loses_nothing() -> None:
    logger = _logger("signal")
    gate_open = threading.Event()
    entered = threading.Event()

    class Gate(RecordCollector):
        def emit(self, record: logging.LogRecord) -> None:
            entered.set()
            gate_open.wait(10)
            super().emit(record)

    sink = Gate()
    queue = QueueHandler(handlers=[sink], queue_size=20, overflow="drop_oldest")
    logger.addHandler(queue)
    fired = []

    def on_signal(signum: int, frame: object) -> None:
        fired.append(signum)
        logger.error("from the signal handler")

    previous = signal.signal(signal.SIGUSR1, on_signal)
    try:
        logger.info("hold")
        assert entered.wait(5)
        for i in range(20):
            logger.info("fill %d", i)
        # The signal arrives while the main thread is inside the overflow path.
        with queue._lock:
            os.kill(os.getpid(), signal.SIGUSR1)
            for _ in range(1000):  # let the interpreter run the Python-level handler
                if fired:
                    break
                time.sleep(0)
            logger.info("overflowing")
    finally:
        signal.signal(signal.SIGUSR1, previous)
        gate_open.set()
    queue.shutdown(10)
    stats = queue.stats()
    assert fired
    assert "from the signal handler" in sink.messages
    assert len(sink.messages) + stats["dropped_total"] >= 22  # every record is accounted for


def test_shutdown_refuses_a_negative_or_nan_timeout() -> None:
    queue = QueueHandler(handlers=[RecordCollector()])
    for bad in (-1, math.nan):
        with pytest.raises(ValueError, match="timeout"):
            queue.shutdown(bad)
    queue.shutdown(1)


def test_records_after_shutdown_are_delivered_on_the_callers_thread(tmp_path: Path) -> None:
    sink = RecordCollector()
    logger = _logger("after")
    queue = QueueHandler(handlers=[sink])
    logger.addHandler(queue)
    queue.shutdown(5)
    logger.info("late")
    assert ["late"] == sink.messages
