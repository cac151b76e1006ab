"""Shared fixtures: every test leaves the logging configuration as it found it."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from inferlog._diagnostics import internal_logger
from tests._moto_server import moto_url  # noqa: F401  (session fixture: moto's server)
from tests.helpers import RecordCollector


@dataclass
class _LoggerState:
    level: int
    handlers: list[logging.Handler]
    filters: list[object]
    propagate: bool
    disabled: bool


def _snapshot() -> dict[str, _LoggerState]:
    states: dict[str, _LoggerState] = {}
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [
        lg for lg in logging.Logger.manager.loggerDict.values() if isinstance(lg, logging.Logger)
    ]
    for lg in loggers:
        states[lg.name] = _LoggerState(
            lg.level, list(lg.handlers), list(lg.filters), lg.propagate, lg.disabled
        )
    return states


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Snapshot every logger before a test and put it back afterwards."""
    before = _snapshot()
    disable = logging.root.manager.disable
    yield
    logging.disable(disable)
    after_names = set(_snapshot())
    for name in after_names:
        lg = logging.getLogger() if name == "root" else logging.getLogger(name)
        state = before.get(name)
        for handler in list(lg.handlers):
            if state is None or handler not in state.handlers:
                lg.removeHandler(handler)
                try:
                    handler.close()
                except Exception:
                    pass
        if state is None:
            lg.setLevel(logging.NOTSET)
            lg.filters = []
            lg.propagate = True
            lg.disabled = False
            continue
        lg.handlers = list(state.handlers)
        lg.filters = list(state.filters)  # type: ignore[arg-type]
        lg.setLevel(state.level)
        lg.propagate = state.propagate
        lg.disabled = state.disabled


@pytest.fixture
def diagnostics() -> Iterator[RecordCollector]:
    """Collect what inferlog's own diagnostics channel says during the test."""
    collector = RecordCollector()
    internal_logger.addHandler(collector)
    try:
        yield collector
    finally:
        internal_logger.removeHandler(collector)
