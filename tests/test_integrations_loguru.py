"""loguru messages forwarded into the pipeline (``integrations.loguru``)."""

from __future__ import annotations

from collections.abc import Iterator

import loguru
import pytest

import inferlog
from inferlog.integrations.loguru import forward_to_logging
from inferlog.testing import capture_records


@pytest.fixture
def loguru_logger() -> Iterator[loguru.Logger]:
    logger = loguru.logger
    logger.remove()
    sink = logger.add(forward_to_logging, level="TRACE")
    yield logger
    logger.remove(sink)


def test_a_message_keeps_level_module_line_and_bound_fields(loguru_logger: loguru.Logger) -> None:
    with capture_records() as records, inferlog.request_context(request_id="r-9"):
        loguru_logger.bind(model_id="fraud-v3").success("scored {}", "tx-1")
    (record,) = records
    assert ("SUCCESS", "scored tx-1", "fraud-v3", "r-9") == (
        record["level"],
        record["message"],
        record["model_id"],
        record["request_id"],
    )
    assert __name__ == record["logger"]


def test_contextualize_fields_and_exceptions_arrive(loguru_logger: loguru.Logger) -> None:
    with capture_records() as records, loguru_logger.contextualize(tenant="acme"):
        try:
            raise ValueError("bad feature")
        except ValueError:
            loguru_logger.exception("failed")
    assert ("acme", "ValueError", "bad feature") == (
        records[0]["tenant"],
        records[0]["exception"]["type"],
        records[0]["exception"]["message"],
    )


def test_levels_the_logging_logger_does_not_want_are_not_forwarded(
    loguru_logger: loguru.Logger,
) -> None:
    with capture_records(level="WARNING") as records:
        loguru_logger.info("quiet")
        loguru_logger.warning("loud")
    assert ["loud"] == [record["message"] for record in records]


def test_a_bound_name_the_record_owns_is_prefixed(loguru_logger: loguru.Logger) -> None:
    with capture_records() as records:
        loguru_logger.bind(name="x").info("hi")
    assert "x" == records[0]["extra.name"]
