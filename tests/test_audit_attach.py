"""attach_audit_trail: next to a sampling configure(), the trail still gets every call."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest

import inferlog
from inferlog.audit import AuditHandler, attach_audit_trail, verify
from tests.helpers import RecordCollector


def _count(path: Path) -> int:
    conn = sqlite3.connect(path)
    (count,) = conn.execute("SELECT COUNT(*) FROM audit_log").fetchone()
    conn.close()
    return int(count)


def test_every_call_reaches_the_trail_while_configure_samples(tmp_path: Path) -> None:
    inferlog.configure(filename=tmp_path / "app.jsonl", console=False, sampling={"rate": 0.05})
    queue = attach_audit_trail(tmp_path / "audit.db")
    try:
        for i in range(100):
            with inferlog.inference("chat", "1") as call:
                call.request(f"question {i}")
    finally:
        inferlog.shutdown(10)
        logging.getLogger("inferlog.inference").removeHandler(queue)
    written = list(inferlog.read_records([tmp_path / "app.jsonl"]))
    assert len(written) < 100
    assert _count(tmp_path / "audit.db") == 100
    assert verify(tmp_path / "audit.db").ok


def test_raw_payloads_stay_raw_when_configure_adds_its_redaction(
    tmp_path: Path, diagnostics: RecordCollector
) -> None:
    audit = AuditHandler(tmp_path / "audit.db", store_raw_payloads=True)
    inferlog.configure(filename=None, console=False, handlers=[audit])
    try:
        with inferlog.inference("chat") as call:
            call.request("jane.doe@example.com")
    finally:
        inferlog.shutdown(10)
    conn = sqlite3.connect(tmp_path / "audit.db")
    (payload,) = conn.execute("SELECT request_payload FROM audit_log").fetchone()
    conn.close()
    assert payload == '"jane.doe@example.com"'
    assert any("redaction filter added to it is not applied" in m for m in diagnostics.messages)


def test_a_trail_behind_sampling_says_so(tmp_path: Path, diagnostics: RecordCollector) -> None:
    audit = AuditHandler(tmp_path / "audit.db")
    audit.handle(
        logging.makeLogRecord(
            {"levelno": logging.INFO, "model_id": "m", "status": "ok", "sample_rate": 0.1}
        )
    )
    audit.close()
    assert audit.counters.get("sampled") == 1
    assert any("receives sampled records" in m for m in diagnostics.messages)


@pytest.mark.parametrize("level", [logging.NOTSET, logging.WARNING])
def test_the_logger_lets_info_records_through(tmp_path: Path, level: int) -> None:
    logger = logging.getLogger("test.attach")
    logger.setLevel(level)
    queue = attach_audit_trail(tmp_path / "audit.db", logger="test.attach")
    try:
        assert logger.isEnabledFor(logging.INFO)
        assert queue.get_name() == "inferlog.audit.queue"
    finally:
        logger.removeHandler(queue)
        queue.shutdown(5)
