"""AuditHandler: one redacted row per inference call, off the caller, never sampled."""

from __future__ import annotations

import json
import logging
import logging.config
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

import pytest

import inferlog
from inferlog.audit import AuditHandler, find_calls, verify
from inferlog.pipeline import QueueHandler, resend
from inferlog.sampling import SamplingFilter
from tests.helpers import RecordCollector


def _rows(path: Path) -> list[dict[str, Any]]:
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    rows = [dict(r) for r in conn.execute("SELECT * FROM audit_log ORDER BY seq")]
    conn.close()
    return rows


def _attach(handler: logging.Handler, name: str = "test.audit") -> logging.Logger:
    log = logging.getLogger(name)
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    log.propagate = False
    return log


def test_an_inference_call_becomes_one_redacted_row(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    handler = AuditHandler(path)
    _attach(handler)
    with inferlog.request_context(user_id="u-7") as request_id:
        with inferlog.inference(
            "chat", "2", temperature=0.7, seed=3, max_tokens=64, logger="test.audit"
        ) as call:
            call.request({"prompt": "mail me at jane.doe@example.com"})
            call.response("sure")
            call.tokens(input=9, output=1)
    logging.getLogger("test.audit").info("not an inference call")
    handler.close()

    rows = _rows(path)
    assert len(rows) == 1
    row = rows[0]
    assert (row["request_id"], row["model_id"], row["model_version"]) == (request_id, "chat", "2")
    assert (row["status"], row["error_code"], row["redacted"]) == ("ok", None, 1)
    assert (row["input_token_count"], row["output_token_count"]) == (9, 1)
    assert json.loads(row["request_payload"]) == {"prompt": "mail me at [REDACTED:EMAIL]"}
    assert json.loads(row["response_payload"]) == "sure"
    parameters = json.loads(row["parameters"])
    assert parameters["temperature"] == 0.7
    assert parameters["seed"] == 3
    assert parameters["max_tokens"] == 64
    assert row["timestamp"].endswith("Z")
    assert handler.counters.get("ignored") == 1
    assert verify(path).ok


def test_a_failed_call_keeps_its_error_code(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    handler = AuditHandler(path)
    _attach(handler)
    with pytest.raises(TimeoutError), inferlog.inference("chat", logger="test.audit"):
        raise TimeoutError("upstream")
    handler.close()
    assert [(r["status"], r["error_code"]) for r in _rows(path)] == [("error", "TimeoutError")]


def test_raw_payloads_are_stored_only_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    handler = AuditHandler(path, store_raw_payloads=True)
    _attach(handler)
    with inferlog.inference("chat", logger="test.audit") as call:
        call.request("jane.doe@example.com")
    handler.close()
    (row,) = _rows(path)
    assert (json.loads(row["request_payload"]), row["redacted"]) == ("jane.doe@example.com", 0)


def test_redacting_for_the_audit_does_not_change_what_other_handlers_see(tmp_path: Path) -> None:
    collector = RecordCollector()
    log = _attach(AuditHandler(tmp_path / "audit.db"))
    log.addHandler(collector)
    with inferlog.inference("chat", logger="test.audit") as call:
        call.request("jane.doe@example.com")
    assert collector.records[0].request_payload == "jane.doe@example.com"  # type: ignore[attr-defined]


def test_behind_its_own_queue_every_call_is_kept_while_the_main_path_samples(
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.db"
    audit = AuditHandler(path)
    audit_queue = QueueHandler(handlers=[audit])
    kept = RecordCollector()
    sampled_queue = QueueHandler(handlers=[kept])
    sampled_queue.addFilter(SamplingFilter(rate=0.1))
    log = _attach(audit_queue)
    log.addHandler(sampled_queue)
    for i in range(200):
        log.info("inference", extra={"model_id": "m", "status": "ok", "request_id": f"r{i}"})
    audit_queue.flush()
    sampled_queue.flush()

    assert len(kept.records) < 200
    assert len(_rows(path)) == 200
    assert verify(path).ok
    audit_queue.shutdown(5)
    sampled_queue.shutdown(5)
    audit.close()


def test_an_unwritable_path_is_a_clear_error_at_configuration(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="does not exist"):
        AuditHandler(tmp_path / "missing" / "audit.db")
    with pytest.raises(ValueError, match="is a directory"):
        AuditHandler(tmp_path)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores the mode
            pytest.skip("running as root: every directory is writable")
        with pytest.raises(ValueError, match="not writable"):
            AuditHandler(locked / "audit.db")
    finally:
        locked.chmod(0o700)


def test_dictconfig_reports_the_unwritable_path(tmp_path: Path) -> None:
    config = {
        "version": 1,
        "handlers": {
            "audit": {
                "class": "inferlog.audit.AuditHandler",
                "path": str(tmp_path / "nowhere" / "audit.db"),
            }
        },
    }
    with pytest.raises(ValueError, match="audit"):
        logging.config.dictConfig(config)


def test_nothing_is_created_until_the_first_record(tmp_path: Path) -> None:
    AuditHandler(tmp_path / "audit.db").close()
    assert list(tmp_path.iterdir()) == []


def test_the_database_file_is_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    handler = AuditHandler(path)
    _attach(handler).info("inference", extra={"model_id": "m", "status": "ok"})
    handler.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_database_that_cannot_be_written_spools_the_batch_and_resend_delivers_it(
    tmp_path: Path, diagnostics: RecordCollector
) -> None:
    path = tmp_path / "audit.db"
    spool = tmp_path / "spool.jsonl"
    handler = AuditHandler(path, spool_path=spool, busy_timeout=0)
    handler.set_name("audit")
    log = _attach(handler)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("PRAGMA journal_mode=WAL")
    log.info("inference", extra={"model_id": "m", "status": "ok", "request_id": "first"})
    blocker.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    log.info(
        "inference",
        extra={
            "model_id": "m",
            "status": "ok",
            "request_id": "second",
            "request_payload": "a@b.io",
        },
    )
    blocker.execute("ROLLBACK")
    blocker.close()

    assert handler.counters.get("spooled") == 1
    assert "jane" not in spool.read_text()
    assert "[REDACTED:EMAIL]" in spool.read_text()  # spooled after the handler's redaction
    assert any("could not be written" in m for m in diagnostics.messages)

    assert resend(spool, handler) == (1, 0)
    handler.close()
    assert [r["request_id"] for r in _rows(path)] == ["first", "second"]
    assert find_calls(path, "second")[0]["request_payload"] == "[REDACTED:EMAIL]"
    assert verify(path).ok


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"synchronous": "OFF"}, "synchronous"),
        ({"retention_max_rows": -1}, "retention_max_rows"),
        ({"retention_max_age": "old"}, "retention_max_age"),
        ({"store_raw_payloads": "yes"}, "store_raw_payloads"),
        ({"store_raw_payloads": True, "redaction": {"default_mode": "hash"}}, "redaction"),
        ({"redaction": {"modes": {"nope": "mask"}}}, "nope"),
    ],
)
def test_bad_options_name_themselves(tmp_path: Path, options: dict[str, Any], named: str) -> None:
    with pytest.raises((ValueError, TypeError), match=named):
        AuditHandler(tmp_path / "audit.db", **options)


def test_retention_runs_as_rows_are_written(tmp_path: Path) -> None:
    path = tmp_path / "audit.db"
    handler = AuditHandler(path, retention_max_rows=5, retention_interval=0)
    log = _attach(handler)
    for i in range(12):
        log.info("inference", extra={"model_id": "m", "status": "ok", "request_id": f"r{i}"})
    handler.close()
    assert [r["request_id"] for r in _rows(path)] == [f"r{i}" for i in range(7, 12)]
    assert handler.counters.get("pruned") == 7
    assert verify(path).ok
