"""configure() and shutdown(): the one-call pipeline."""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path

import pytest

import inferlog
from inferlog.formatting import ConsoleFormatter, JsonFormatter


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_configure_without_arguments_writes_json_lines_to_logs_inferlog_jsonl(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    inferlog.configure()
    with inferlog.request_context() as request_id:
        logging.getLogger("svc").info("hello %s", "world", extra={"model_id": "m"})
    logging.getLogger("svc").debug("below the default INFO level")
    inferlog.shutdown()

    records = _lines(tmp_path / "logs" / "inferlog.jsonl")
    assert [(r["message"], r["request_id"], r["model_id"]) for r in records] == [
        ("hello world", request_id, "m")
    ]
    # stderr is not a terminal under pytest, so the console sink writes JSON too.
    err_lines = [line for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    assert [json.loads(line)["message"] for line in err_lines] == ["hello world"]


def test_configure_redacts_before_any_sink_and_stamps_static_fields(tmp_path: Path) -> None:
    log_file = tmp_path / "app.jsonl"
    inferlog.configure(filename=log_file, console=False, static_fields={"env": "test"})
    logging.getLogger("svc").info(
        "card 4111 1111 1111 1111", extra={"api_key": "sk-live-abcdefghijklmnop"}
    )
    inferlog.shutdown()
    (record,) = _lines(log_file)
    # The timestamp is left out: its microseconds may hold any four digits.
    written = json.dumps({key: value for key, value in record.items() if key != "timestamp"})
    assert "4111" not in written
    assert "abcdefghijklmnop" not in written
    assert record["message"] == "card [REDACTED:CARD]"
    assert record["env"] == "test"


def test_configure_with_redaction_false_leaves_text_alone(tmp_path: Path) -> None:
    log_file = tmp_path / "app.jsonl"
    inferlog.configure(filename=log_file, console=False, redaction=False)
    logging.getLogger("svc").info("mail jane.doe@example.com")
    inferlog.shutdown()
    assert [r["message"] for r in _lines(log_file)] == ["mail jane.doe@example.com"]


def test_configure_twice_replaces_the_previous_pipeline(tmp_path: Path) -> None:
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    inferlog.configure(filename=first, console=False)
    logging.getLogger("svc").info("one")
    pipeline = inferlog.configure(filename=second, console=False)
    logging.getLogger("svc").info("two")
    inferlog.shutdown()

    assert [r["message"] for r in _lines(first)] == ["one"]
    assert [r["message"] for r in _lines(second)] == ["two"]
    root_queues = [h for h in logging.getLogger().handlers if isinstance(h, inferlog.QueueHandler)]
    # The second replaced the first; shutdown leaves it attached, delivering inline.
    assert [pipeline.queue_handler] == root_queues
    assert pipeline.queue_handler.name == "inferlog.queue"


def test_configure_with_sampling_keeps_errors_and_stamps_sample_rate(tmp_path: Path) -> None:
    log_file = tmp_path / "app.jsonl"
    inferlog.configure(filename=log_file, console=False, sampling={"rate": 0.0})
    log = logging.getLogger("svc")
    for _ in range(20):
        with inferlog.request_context():
            log.info("success")
    with inferlog.request_context():
        log.error("failure")
    inferlog.shutdown()
    records = _lines(log_file)
    assert [(r["message"], r["sample_rate"]) for r in records] == [("failure", 1.0)]


def test_console_modes_pick_the_formatter(tmp_path: Path) -> None:
    pretty = inferlog.configure(filename=None, console="pretty")
    assert isinstance(pretty.sinks[0].formatter, ConsoleFormatter)
    as_json = inferlog.configure(filename=None, console="json", schema="otel")
    assert isinstance(as_json.sinks[0].formatter, JsonFormatter)
    inferlog.shutdown()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"level": "LOUD"}, "unknown logging level"),
        ({"console": "fancy"}, "console must be one of"),
        ({"schema": "ecs"}, "schema must be one of"),
        ({"filename": None, "console": False}, "no sink"),
        ({"sampling": {"rate": 2.0}}, "rate"),
    ],
)
def test_configure_rejects_bad_options_and_changes_nothing(
    tmp_path: Path, options: dict[str, object], message: str
) -> None:
    before = list(logging.getLogger().handlers)
    with pytest.raises(ValueError, match=message):
        inferlog.configure(**{"filename": tmp_path / "x.jsonl", **options})  # type: ignore[arg-type]
    assert logging.getLogger().handlers == before
    assert not (tmp_path / "x.jsonl").exists()


def test_shutdown_is_idempotent_and_reports_what_it_delivered(tmp_path: Path) -> None:
    inferlog.configure(filename=tmp_path / "app.jsonl", console=False)
    for i in range(100):
        logging.getLogger("svc").info("record %d", i)
    report = inferlog.shutdown(timeout=5)
    assert report.spilled == 0
    again = inferlog.shutdown(timeout=5)
    assert again.spilled == 0
    assert len(_lines(tmp_path / "app.jsonl")) == 100


def test_extra_handlers_sit_behind_the_queue_and_get_redacted_records(tmp_path: Path) -> None:
    seen: list[logging.LogRecord] = []
    emitted_on: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)
            emitted_on.append(threading.current_thread().name)

    inferlog.configure(filename=None, console=False, handlers=[Collect()])
    logging.getLogger("svc").info("call me on +1 415 555 0100")
    inferlog.shutdown()
    assert [r.getMessage() for r in seen] == ["call me on [REDACTED:PHONE]"]
    assert emitted_on != [threading.current_thread().name]
