"""ErrorRateAlertHandler: fires once on crossing, stays quiet, resolves, cools down, webhooks."""

from __future__ import annotations

import http.server
import json
import logging
import logging.config
import os
import socket
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings

from inferlog.alerting import FIRING, RESOLVED, AlertEvent, ErrorRateAlertHandler
from inferlog.pipeline import QueueHandler, shutdown_all
from tests.helpers import RecordCollector, wait_for_child
from tests.strategies import extras

T0 = 1_800_000_000.0


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def _record(status: str = "ok", at: float = T0, **fields: Any) -> logging.LogRecord:
    attributes = {
        "name": "inferlog.inference",
        "levelno": logging.INFO,
        "levelname": "INFO",
        "msg": "inference",
        "model_id": "fraud-gbm",
        "model_version": "3.2.0",
        "status": status,
        "latency_ms": 10.0,
        "created": at,
    }
    attributes.update(fields)
    return logging.makeLogRecord(attributes)


class Receiver:
    """A real HTTP server on 127.0.0.1 that keeps every JSON body POSTed to it.

    With ``hang=True`` it reads each request and then never answers (until closed).
    """

    def __init__(self, hang: bool = False) -> None:
        bodies: list[dict[str, Any]] = []
        self.arrived = arrived = threading.Condition()
        self.released = released = threading.Event()

        class _Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with arrived:  # before answering: the client counts it sent on the answer
                    bodies.append(body)
                    arrived.notify_all()
                if hang:
                    released.wait(30)
                    return
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.bodies = bodies
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        """Wait until ``count`` bodies have arrived."""
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.bodies) >= count, timeout)

    def close(self) -> None:
        self.released.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


def _handler(clock: Clock, events: list[AlertEvent], **options: Any) -> ErrorRateAlertHandler:
    settings: dict[str, Any] = {
        "rules": [{"type": "error_rate", "rate": 0.1, "window": 60, "min_calls": 10}],
        "callbacks": [events.append],
        "alert_logger": None,
        "evaluate_interval": 0,
        "tick_interval": None,
        "clock": clock,
    }
    settings.update(options)
    return ErrorRateAlertHandler(**settings)


def test_fires_exactly_once_when_the_error_rate_crosses(clock: Clock) -> None:
    events: list[AlertEvent] = []
    handler = _handler(clock, events)
    for _ in range(18):
        handler.handle(_record("ok"))
    handler.handle(_record("error"))
    handler.handle(_record("error"))  # 2 of 20: exactly 10%, not above
    assert handler.wait_idle(10)
    assert events == []

    handler.handle(_record("error"))  # 3 of 21: above
    for _ in range(5):
        handler.handle(_record("error"))
    assert handler.wait_idle(10)

    assert [(e.state, e.rule) for e in events] == [(FIRING, "error_rate")]
    event = events[0]
    assert event.key == {"model_id": "fraud-gbm", "model_version": "3.2.0"}
    assert event.value == pytest.approx(3 / 21)
    assert event.calls == 21
    assert "fraud-gbm" in event.message
    handler.close()


def test_quiet_below_the_threshold_and_below_the_minimum_count(clock: Clock) -> None:
    events: list[AlertEvent] = []
    handler = _handler(clock, events)
    for i in range(100):
        handler.handle(_record("error" if i % 20 == 0 else "ok", model_version="1"))
    for _ in range(9):  # all errors, but fewer than min_calls
        handler.handle(_record("error", model_version="2"))
    assert handler.wait_idle(10)
    assert events == []
    handler.close()


def test_resolves_when_the_rate_falls_and_when_the_traffic_stops(clock: Clock) -> None:
    events: list[AlertEvent] = []
    handler = _handler(clock, events)
    for _ in range(10):
        handler.handle(_record("error"))
    for _ in range(90):
        handler.handle(_record("ok"))
    assert handler.wait_idle(10)
    assert [e.state for e in events] == [FIRING, RESOLVED]

    handler.handle(_record("error", model_version="9", at=T0))
    for _ in range(10):
        handler.handle(_record("error", model_version="9", at=T0))
    clock.now = T0 + 120  # the window is empty now
    handler.evaluate()
    assert handler.wait_idle(10)
    assert [(e.state, e.key["model_version"]) for e in events[2:]] == [
        (FIRING, "9"),
        (RESOLVED, "9"),
    ]
    assert handler.firing() == []
    handler.close()


def test_respects_the_cooldown_and_counts_what_it_held_back(clock: Clock) -> None:
    events: list[AlertEvent] = []
    rule = {"type": "error_rate", "rate": 0.1, "window": 60, "min_calls": 10, "cooldown": 300}
    handler = _handler(clock, events, rules=[rule])
    for _ in range(10):
        handler.handle(_record("error", at=clock.now))
    clock.now += 61
    handler.evaluate()  # resolved: the window emptied
    for _ in range(10):
        handler.handle(_record("error", at=clock.now))  # holds again, 61 s after firing
    assert handler.wait_idle(10)
    assert [e.state for e in events] == [FIRING, RESOLVED]
    assert handler.counters.get("suppressed") == 1

    clock.now = T0 + 301
    for _ in range(10):
        handler.handle(_record("error", at=clock.now))
    assert handler.wait_idle(10)
    assert [e.state for e in events] == [FIRING, RESOLVED, FIRING]
    handler.close()


def test_records_count_by_their_sample_rate(clock: Clock) -> None:
    events: list[AlertEvent] = []
    handler = _handler(clock, events)
    # Successes were kept at 10%, errors always: 5 errors among 10 * 10 + 5 = 105 calls.
    for _ in range(10):
        handler.handle(_record("ok", sample_rate=0.1))
    for _ in range(5):
        handler.handle(_record("error", sample_rate=1.0))
    assert handler.wait_idle(10)
    assert events == []  # 4.8%, where an unweighted count would say 33%

    for _ in range(10):
        handler.handle(_record("error", sample_rate=1.0))
    assert handler.wait_idle(10)
    assert [e.state for e in events] == [FIRING]
    assert events[0].calls == pytest.approx(112)  # 12 errors in 112 calls: first above 10%
    handler.close()


def test_records_older_than_the_window_are_counted_late(clock: Clock) -> None:
    events: list[AlertEvent] = []
    handler = _handler(clock, events)
    for _ in range(20):
        handler.handle(_record("error", at=T0 - 600))
    assert handler.wait_idle(10)
    assert events == []
    assert handler.counters.get("late") == 20
    handler.close()


def test_user_named_keys_split_the_windows(clock: Clock) -> None:
    events: list[AlertEvent] = []
    handler = _handler(clock, events, keys=["region"])
    for _ in range(10):
        handler.handle(_record("error", region="eu"))
        handler.handle(_record("ok", region="us"))
    assert handler.wait_idle(10)
    assert [e.key.get("region") for e in events] == ["eu"]
    handler.close()


def test_keys_beyond_the_cap_are_watched_together_and_counted(clock: Clock) -> None:
    events: list[AlertEvent] = []
    handler = _handler(clock, events, max_keys=2)
    for version in ("1", "2", "3", "4"):
        for _ in range(5):
            handler.handle(_record("error", model_version=version))
    assert handler.wait_idle(10)
    assert handler.counters.get("keys_overflowed") == 10
    assert [e.key for e in events] == [{"model_id": "<other>", "model_version": "<other>"}]
    handler.close()


def test_records_without_model_id_and_status_are_ignored(clock: Clock) -> None:
    events: list[AlertEvent] = []
    handler = _handler(clock, events)
    for _ in range(20):
        handler.handle(logging.makeLogRecord({"msg": "x", "status": "error", "created": T0}))
    assert handler.counters.get("records") == 0
    handler.close()


def test_a_failing_callback_does_not_stop_the_others(
    clock: Clock, diagnostics: RecordCollector
) -> None:
    events: list[AlertEvent] = []

    def broken(event: AlertEvent) -> None:
        raise RuntimeError("callback bug")

    handler = _handler(clock, events, callbacks=[broken, events.append])
    for _ in range(10):
        handler.handle(_record("error"))
    assert handler.wait_idle(10)
    assert len(events) == 1
    assert handler.counters.get("notifier_errors") == 1
    assert any("callback bug" in m for m in diagnostics.messages)
    handler.close()


def test_the_alert_record_is_critical_and_resolved_is_a_warning(clock: Clock) -> None:
    collector = RecordCollector()
    alerts = logging.getLogger("test.alerts")
    alerts.addHandler(collector)
    alerts.propagate = False
    handler = _handler(clock, [], alert_logger="test.alerts")
    for _ in range(10):
        handler.handle(_record("error"))
    clock.now += 120
    handler.evaluate()
    assert handler.wait_idle(10)

    levels = [r.levelno for r in collector.records]
    assert levels == [logging.CRITICAL, logging.WARNING]
    first = collector.records[0]
    assert first.alert["state"] == "firing"  # type: ignore[attr-defined]
    assert first.model_id == "fraud-gbm"  # type: ignore[attr-defined]
    assert not hasattr(first, "status")
    handler.close()


def test_behind_a_queue_the_alert_record_still_enters_the_pipeline(clock: Clock) -> None:
    collector = RecordCollector()
    handler = _handler(clock, [], alert_logger="test.queued.alerts")
    queue = QueueHandler(handlers=[handler, collector])
    service = logging.getLogger("test.queued")
    service.addHandler(queue)
    service.propagate = False
    alerts = logging.getLogger("test.queued.alerts")
    alerts.addHandler(queue)
    alerts.propagate = False
    for _ in range(10):
        service.handle(_record("error"))
    queue.flush()
    assert handler.wait_idle(10)
    queue.flush()
    assert [r.levelno for r in collector.named("test.queued.alerts")] == [logging.CRITICAL]
    queue.shutdown(5)
    handler.close()


def test_webhook_receives_firing_then_resolved_as_json(clock: Clock, receiver: Receiver) -> None:
    handler = _handler(clock, [], webhook_url=receiver.url)
    for _ in range(10):
        handler.handle(_record("error"))
    clock.now += 120
    handler.evaluate()
    assert handler.wait_idle(10)

    assert [b["state"] for b in receiver.bodies] == ["firing", "resolved"]
    body = receiver.bodies[0]
    assert body["rule"] == "error_rate"
    assert body["key"] == {"model_id": "fraud-gbm", "model_version": "3.2.0"}
    assert body["at"].endswith("Z")
    handler.close()


def test_shutdown_delivers_the_events_still_on_their_way_to_the_webhook(
    clock: Clock, receiver: Receiver
) -> None:
    handler = _handler(clock, [], webhook_url=receiver.url)
    for _ in range(10):
        handler.handle(_record("error"))

    report = shutdown_all(10)  # the dispatcher drains before the webhook it feeds

    assert not report.timed_out
    assert [b["state"] for b in receiver.bodies] == ["firing"]


def test_shutdown_judges_once_more_so_a_last_burst_still_alerts(clock: Clock) -> None:
    events: list[AlertEvent] = []
    handler = _handler(clock, events, evaluate_interval=3600)
    for _ in range(10):  # judged at the first record only: one call, too few
        handler.handle(_record("error"))
    assert handler.wait_idle(10)
    assert events == []

    shutdown_all(10)

    assert [e.state for e in events] == [FIRING]


def _refused_url() -> str:
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now: connection refused
    return f"http://127.0.0.1:{port}/alerts"


def test_a_receiver_that_is_down_changes_nothing_for_logging(
    clock: Clock, diagnostics: RecordCollector
) -> None:
    events: list[AlertEvent] = []
    handler = _handler(
        clock, events, webhook_url=_refused_url(), webhook_retries=2, webhook_backoff=0.01
    )
    for _ in range(10):
        handler.handle(_record("error"))
    assert handler.wait_idle(30)

    webhook = handler.notifiers[-1]
    assert webhook.counters.snapshot() == {"failed": 1, "retries": 2}  # type: ignore[attr-defined]
    assert [e.state for e in events] == [FIRING]  # the callback still heard of it
    assert any("alert webhook" in m for m in diagnostics.messages)
    handler.close()


def test_a_hanging_receiver_times_out_and_is_given_up(clock: Clock) -> None:
    hanging = Receiver(hang=True)
    try:
        handler = _handler(
            clock,
            [],
            webhook_url=hanging.url,
            webhook_timeout=0.2,
            webhook_retries=1,
            webhook_backoff=0.01,
        )
        for _ in range(10):
            handler.handle(_record("error"))
        assert handler.counters.get("records") == 10
        assert handler.wait_idle(30)
        webhook = handler.notifiers[-1]
        assert webhook.counters.snapshot() == {"failed": 1, "retries": 1}  # type: ignore[attr-defined]
        assert hanging.wait_for(2)  # the request arrived, twice; no answer came
        handler.close()
    finally:
        hanging.close()


DICTCONFIG_EVENTS: list[AlertEvent] = []


def _configured(clock: Clock, rules: list[dict[str, Any]], callback: Any) -> logging.Logger:
    """A logger whose one handler is an alert handler built by dictConfig."""
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "alerts": {
                    "class": "inferlog.alerting.ErrorRateAlertHandler",
                    "rules": rules,
                    "callbacks": [callback],
                    "alert_logger": None,
                    "evaluate_interval": 0,
                    "tick_interval": None,
                    "clock": clock,
                }
            },
            "loggers": {"test.dict": {"handlers": ["alerts"], "propagate": False}},
        }
    )
    return logging.getLogger("test.dict")


def _log_and_wait(log: logging.Logger, count: int, **fields: Any) -> None:
    for _ in range(count):
        log.handle(_record(**fields))
    handler = log.handlers[0]
    assert isinstance(handler, ErrorRateAlertHandler)
    assert handler.wait_idle(10)


def test_callbacks_given_as_ext_names_in_dictconfig_are_resolved(clock: Clock) -> None:
    DICTCONFIG_EVENTS.clear()
    rules = [{"type": "error_rate", "rate": 0.1, "min_calls": 10}]
    log = _configured(clock, rules, f"ext://{__name__}.DICTCONFIG_EVENTS.append")
    _log_and_wait(log, 10, status="error")
    assert [e.state for e in DICTCONFIG_EVENTS] == [FIRING]


def test_rules_come_from_dictconfig(clock: Clock) -> None:
    events: list[AlertEvent] = []
    rules = [
        {"type": "error_rate", "rate": 0.05, "window": 300, "min_calls": 10},
        {"type": "latency", "threshold_ms": 500, "quantile": 0.95, "min_calls": 10},
    ]
    log = _configured(clock, rules, events.append)
    _log_and_wait(log, 10, status="ok", latency_ms=900.0)
    assert [(e.rule, e.state) for e in events] == [("latency", FIRING)]


@settings(max_examples=100, deadline=None)
@given(fields=extras)
def test_any_record_is_counted_or_ignored_and_never_raises(fields: dict[Any, Any]) -> None:
    events: list[AlertEvent] = []
    handler = _handler(Clock(), events, keys=["region"])
    record = _record("error")
    record.__dict__.update(fields)
    handler.handle(record)
    handler.evaluate()
    assert handler.counters.get("records") <= 1
    assert handler.counters.get("late") <= handler.counters.get("records")
    handler.close()


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"rules": [{"type": "nope"}]}, "rule type"),
        ({"rules": [{"type": "error_rate", "rate": 2}]}, "rate"),
        ({"rules": [{"type": "error_rate", "windw": 5}]}, "windw"),
        ({"rules": [{"type": "latency"}, {"type": "latency"}]}, "unique"),
        ({"max_keys": 0}, "max_keys"),
        ({"webhook_url": "ftp://x"}, "webhook_url"),
        ({"webhook_retries": -1}, "webhook_retries"),
        ({"webhook_backoff": 0}, "webhook_backoff"),
        ({"webhook_timeout": float("nan")}, "webhook_timeout"),
        ({"evaluate_interval": -1}, "evaluate_interval"),
        ({"keys": "region"}, "keys"),
        ({"callbacks": [42]}, "callbacks"),
    ],
)
def test_bad_options_name_themselves(options: dict[str, Any], named: str) -> None:
    with pytest.raises((ValueError, TypeError), match=named):
        ErrorRateAlertHandler(**options)


def test_a_forked_child_watches_its_own_calls(clock: Clock) -> None:
    events: list[AlertEvent] = []
    handler = _handler(clock, events)
    for _ in range(9):
        handler.handle(_record("error"))  # one short of min_calls in the parent
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 1
        try:
            handler.handle(_record("error"))  # alone in the child: nothing fires
            ok = handler.wait_idle(5) and events == []
            for _ in range(9):
                handler.handle(_record("error"))
            code = 0 if handler.wait_idle(5) and [e.state for e in events] == [FIRING] else 2
            code = code if ok else 3
        finally:
            os._exit(code)
    assert wait_for_child(pid) == 0
    assert events == []  # the parent's own windows are as they were
    handler.close()


@pytest.mark.parametrize("option", ["tick_interval", "evaluate_interval"])
@pytest.mark.parametrize("value", [1e300, float("inf"), -1, True, "5"])
def test_intervals_no_wait_can_take_are_refused_at_construction(option: str, value: object) -> None:
    # A tick interval of 1e300 used to be accepted and then stop the dispatcher
    # thread (Condition.wait: timestamp out of range), silently ending alerts.
    with pytest.raises(ValueError, match=option):
        ErrorRateAlertHandler(**{option: value})
