"""The library's own diagnostics channel.

inferlog must be able to say that something went wrong (a sink is down, records were
dropped, the disk is full) without ever feeding those words back into the pipeline
that failed. Diagnostics therefore go to a dedicated logger, ``inferlog.internal``,
that does not propagate to the root logger and writes plain text to stderr unless the
user configures it otherwise.
"""

from __future__ import annotations

import logging
import sys
import threading
import weakref
from collections import Counter

from inferlog._fork import after_fork_in_child

INTERNAL_LOGGER_NAME = "inferlog.internal"

_lock = threading.Lock()
_reported_once: set[str] = set()


def _build_internal_logger() -> logging.Logger:
    logger = logging.getLogger(INTERNAL_LOGGER_NAME)
    # Never propagate: the root logger is where the user's inferlog pipeline lives,
    # and a diagnostic about that pipeline must not travel through it.
    logger.propagate = False
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("inferlog: %(levelname)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    return logger


internal_logger = _build_internal_logger()


def report(level: int, message: str, *args: object) -> None:
    """Write one diagnostic line; never raises."""
    try:
        internal_logger.log(level, message, *args)
    except Exception:  # pragma: no cover - a broken stderr must not break the caller
        pass


def report_once(key: str, level: int, message: str, *args: object) -> None:
    """Write a diagnostic only the first time ``key`` is seen in this process."""
    with _lock:
        if key in _reported_once:
            return
        _reported_once.add(key)
    report(level, message, *args)


def reset_report_once(key: str | None = None) -> None:
    """Forget that ``key`` (or every key) was reported, so it can be reported again."""
    with _lock:
        if key is None:
            _reported_once.clear()
        else:
            _reported_once.discard(key)


class Counters:
    """Thread-safe named counters for what the pipeline dropped, spilled or retried."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        _live_counters.add(self)

    def add(self, name: str, amount: int = 1) -> None:
        """Add ``amount`` to counter ``name``."""
        with self._lock:
            self._counts[name] += amount

    def get(self, name: str) -> int:
        """Return the current value of counter ``name`` (0 if never touched)."""
        with self._lock:
            return self._counts[name]

    def snapshot(self) -> dict[str, int]:
        """Return a copy of every non-zero counter."""
        with self._lock:
            return {k: v for k, v in self._counts.items() if v}

    def take(self) -> dict[str, int]:
        """Return every non-zero counter and reset them all to zero."""
        with self._lock:
            out = {k: v for k, v in self._counts.items() if v}
            self._counts.clear()
            return out


_live_counters: weakref.WeakSet[Counters] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    # A thread of the parent may have held one of these locks at fork time; in the
    # child that thread no longer exists and the lock would never be released.
    global _lock
    _lock = threading.Lock()
    for counters in list(_live_counters):
        counters._lock = threading.Lock()


after_fork_in_child(_after_fork_in_child)
