"""structlog's standard-library integration into the pipeline (``integrations.structlog``)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

import inferlog
from inferlog.integrations.structlog import configure_structlog, render_to_log_kwargs
from inferlog.reader import read_records
from inferlog.testing import capture_records


@pytest.fixture(autouse=True)
def _structlog_configured() -> Iterator[None]:
    logger_class = logging.getLoggerClass()
    configure_structlog()
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    # structlog's LoggerFactory sets the class of every logger made afterwards, whose
    # findCaller counts frames its own way: other tests' loggers must not get it.
    logging.setLoggerClass(logger_class)


def test_event_dict_keys_become_fields_with_inferlogs_request_id() -> None:
    log = structlog.get_logger("scoring")
    with capture_records() as records, inferlog.request_context(request_id="req-42"):
        log.info("scored", model_id="fraud-v3", latency_ms=4.5, features={"n": 3})
    (record,) = records
    assert ("scoring", "scored", "req-42") == (
        record["logger"],
        record["message"],
        record["request_id"],
    )
    assert ("fraud-v3", 4.5, {"n": 3}) == (
        record["model_id"],
        record["latency_ms"],
        record["features"],
    )


def test_bound_and_contextvar_fields_and_positional_args_arrive() -> None:
    structlog.contextvars.bind_contextvars(tenant="acme")
    log = structlog.get_logger("scoring").bind(user_id="u-1")
    with capture_records() as records:
        log.warning("slow call %s ms", 900)
    assert ("slow call 900 ms", "acme", "u-1", "WARNING") == (
        records[0]["message"],
        records[0]["tenant"],
        records[0]["user_id"],
        records[0]["level"],
    )


def test_keys_the_record_owns_are_kept_under_a_prefix() -> None:
    with capture_records() as records:
        structlog.get_logger("s").info("hi", name="x", message="y")
    assert ("x", "y") == (records[0]["extra.name"], records[0]["extra.message"])


def test_exceptions_become_the_exception_object() -> None:
    log = structlog.get_logger("s")
    with capture_records() as records:
        try:
            raise KeyError("feature")
        except KeyError:
            log.exception("lookup failed")
    assert "KeyError" == records[0]["exception"]["type"]


def test_levels_below_the_loggers_are_dropped_by_structlog() -> None:
    with capture_records(level="INFO") as records:
        structlog.get_logger("s").debug("noise")
    assert [] == records


def test_through_configure_into_the_file(tmp_path: Path) -> None:
    path = tmp_path / "app.jsonl"
    inferlog.configure(filename=path, console=False)
    try:
        structlog.get_logger("svc").info("ready", port=8000)
    finally:
        inferlog.shutdown()
    (record,) = list(read_records(path))
    assert ("ready", 8000) == (record["message"], record["port"])


def test_the_processor_returns_args_and_kwargs_for_the_logging_call() -> None:
    args, kwargs = render_to_log_kwargs(
        None, "info", {"event": "e %s", "positional_args": (1,), "exc_info": True, "k": 2}
    )
    assert (("e %s", 1), {"exc_info": True, "extra": {"k": 2}}) == (args, kwargs)
