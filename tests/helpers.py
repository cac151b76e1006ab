"""Test helpers shared by the test modules: a real handler that keeps what it handles,
and reaping a forked child with a deadline."""

from __future__ import annotations

import logging
import os
import threading
import time

import pytest


class RecordCollector(logging.Handler):
    """A real ``logging.Handler`` that keeps every record it handles, thread-safely.

    Tests attach it where a sink would go and assert on the records it kept.
    """

    def __init__(self, level: int = logging.NOTSET) -> None:
        super().__init__(level)
        self.records: list[logging.LogRecord] = []
        self._records_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._records_lock:
            self.records.append(record)

    @property
    def messages(self) -> list[str]:
        """The formatted message of every kept record, in order."""
        return [record.getMessage() for record in self.records]

    def at(self, level: int) -> list[str]:
        """The messages of the kept records at exactly ``level``."""
        return [record.getMessage() for record in self.records if record.levelno == level]

    def named(self, name: str) -> list[logging.LogRecord]:
        """The kept records logged on the logger called ``name``."""
        return [record for record in self.records if record.name == name]


def isolated_logger(handler: logging.Handler, prefix: str) -> logging.Logger:
    """A logger of its own (named after ``handler``), at DEBUG, feeding only ``handler``.

    The autouse fixture in ``conftest.py`` removes it again after the test.
    """
    logger = logging.getLogger(f"{prefix}.{id(handler)}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    return logger


def wait_for_child(pid: int, timeout: float = 30.0) -> int:
    """Reap forked child ``pid`` and return its exit code; kill it and fail after ``timeout``.

    Proves that a child cannot hang (on a lock held at fork time, say) without
    letting the test hang with it.
    """
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return os.waitstatus_to_exitcode(status)
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail(f"forked child {pid} did not end within {timeout} s")
        threading.Event().wait(0.02)
