"""``inferlog.testing``: capture what the pipeline would write, and the pytest plugin."""

from __future__ import annotations

import logging

import pytest

import inferlog
from inferlog.testing import capture_records

pytest_plugins = ("pytester",)


def test_capture_keeps_each_record_as_the_dict_a_sink_writes() -> None:
    logger = logging.getLogger("testing.capture")
    with capture_records() as records:
        logger.info("scored %s", "tx-1", extra={"model_id": "fraud", "latency_ms": 3.5})
    assert 1 == len(records)
    record = records[0]
    assert ["timestamp", "level", "logger", "message", "model_id", "latency_ms"] == list(record)
    assert ("INFO", "scored tx-1", "fraud") == (
        record["level"],
        record["message"],
        record["model_id"],
    )


def test_capture_runs_context_and_redaction() -> None:
    logger = logging.getLogger("testing.stages")
    with capture_records() as records, inferlog.request_context(request_id="req-7"):
        logger.info("mail %s", "ana@example.com")
    assert "req-7" == records[0]["request_id"]
    assert "ana@example.com" not in records[0]["message"]


def test_capture_applies_sampling_when_asked() -> None:
    logger = logging.getLogger("testing.sampling")
    with capture_records(sampling={"rate": 0.0}) as records:
        logger.info("dropped")
        logger.error("kept")
    assert ["kept"] == [record["message"] for record in records]


def test_capture_without_redaction_keeps_the_text() -> None:
    with capture_records(redaction=False) as records:
        logging.getLogger("testing.raw").info("ana@example.com")
    assert "ana@example.com" == records[0]["message"]


def test_capture_restores_levels_and_handlers() -> None:
    logger = logging.getLogger("testing.restore")
    logger.setLevel(logging.WARNING)
    handlers = list(logger.handlers)
    with capture_records(loggers=["testing.restore"]) as records:
        logger.debug("seen")
    assert ["seen"] == [record["message"] for record in records]
    assert (logging.WARNING, handlers) == (logger.level, logger.handlers)


def test_a_bad_level_is_refused() -> None:
    with pytest.raises(ValueError, match="level"), capture_records(level="LOUD"):
        pass


@pytest.mark.slow
def test_the_fixture_is_available_to_any_project_through_the_entry_point(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(
        """
        import logging

        def test_uses_the_fixture(inferlog_records):
            logging.getLogger("user.app").warning("low balance", extra={"user_id": "u1"})
            assert inferlog_records[-1]["message"] == "low balance"
            assert inferlog_records[-1]["user_id"] == "u1"

        def test_records_do_not_leak_between_tests(inferlog_records):
            assert inferlog_records == []

        def test_a_wrong_expectation_fails(inferlog_records):
            logging.getLogger("user.app").info("actual")
            assert inferlog_records[0]["message"] == "expected"
        """
    )
    # A subprocess: the plugin must come from the installed entry point, not from us.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
