"""A background thread that delivers items one by one, within the pipeline's lifecycle.

The alert handler's dispatcher (callbacks, alert records) and each webhook notifier
run one. The buffer is bounded: an item beyond ``capacity`` is dropped and counted.
The thread starts with the first item and joins the shutdown registry then
(:func:`inferlog.pipeline.register_participant`); at a shutdown deadline the items
still waiting are counted as dropped (alert notifications are not worth a spool).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable
from typing import Final, Generic, TypeVar

from inferlog._diagnostics import Counters, report_once
from inferlog.pipeline import (
    STAGE_SINK,
    ShutdownReport,
    register_participant,
    unregister_participant,
)

__all__ = ["NOTIFIER_STAGE", "BackgroundWorker", "call_guarded"]

#: Shutdown stage of workers fed by other sinks' workers: after the sinks.
NOTIFIER_STAGE: Final = STAGE_SINK + 5

_T = TypeVar("_T")


def call_guarded(fn: Callable[[], object], counters: Counters, counter: str, who: str) -> None:
    """Call ``fn``; if it raises, add 1 to ``counter`` and report the first such error."""
    try:
        fn()
    except Exception as exc:
        counters.add(counter)
        report_once(
            f"alert-{counter}-{who}",
            logging.ERROR,
            "%s raised %s: %s; further errors are counted, not shown",
            who,
            type(exc).__name__,
            exc,
        )


class BackgroundWorker(Generic[_T]):
    """Calls ``deliver(item)`` for each submitted item on its own daemon thread.

    ``idle`` (if given) is called every ``idle_interval`` seconds while the thread
    waits. ``stage`` orders shutdowns: the alert dispatcher feeds the webhook, so the
    webhook's worker has the later stage (:data:`NOTIFIER_STAGE`). ``deliver`` and
    ``idle`` should not raise; if they do, it is counted and reported once.
    """

    def __init__(
        self,
        name: str,
        deliver: Callable[[_T], None],
        *,
        capacity: int,
        counters: Counters,
        idle: Callable[[], None] | None = None,
        idle_interval: float | None = None,
        stage: int = STAGE_SINK,
    ) -> None:
        #: Shutdown stage: a worker that feeds another has a lower one.
        self.lifecycle_stage = stage
        self.name = name
        self._deliver = deliver
        self._capacity = capacity
        self._idle = idle
        self._idle_interval = idle_interval
        self.counters = counters
        self._init_state()

    def _init_state(self) -> None:
        self._cond = threading.Condition(threading.Lock())
        self._items: collections.deque[_T] = collections.deque()
        self._thread: threading.Thread | None = None
        self._submitted = 0
        self._done = 0
        self._stopping = False
        self._closed = False
        self._cancel = threading.Event()

    # ------------------------------------------------------------------ feeding

    def submit(self, item: _T) -> bool:
        """Queue ``item``; False (and counted ``dropped``) when full or shut down."""
        with self._cond:
            if self._stopping or len(self._items) >= self._capacity:
                self.counters.add("dropped")
                return False
            self._items.append(item)
            self._submitted += 1
            self._cond.notify_all()
            if self._thread is None:
                self._start()
        return True

    def start(self) -> None:
        """Start the thread now (it also starts with the first item)."""
        with self._cond:
            if self._thread is None and not self._stopping:
                self._start()

    def _start(self) -> None:
        thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread = thread
        register_participant(self)
        thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._items and not self._stopping:
                    if not self._cond.wait(self._idle_interval) and self._idle is not None:
                        break
                if not self._items:
                    if self._stopping:
                        self._closed = True
                        self._cond.notify_all()
                        return
                    item = None
                else:
                    item = self._items.popleft()
            if item is None:
                self._call(self._idle)
                continue
            self._call(lambda: self._deliver(item))  # noqa: B023 - called at once
            with self._cond:
                self._done += 1
                self._cond.notify_all()

    def _call(self, fn: Callable[[], None] | None) -> None:
        if fn is not None:
            call_guarded(fn, self.counters, "errors", self.name)

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every item submitted so far was delivered; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            target = self._submitted
            while self._done < target and self._thread is not None and not self._closed:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return self._done >= target

    @property
    def cancelled(self) -> bool:
        """True once a shutdown deadline passed: stop retrying."""
        return self._cancel.is_set()

    def wait_cancelled(self, seconds: float) -> bool:
        """Sleep up to ``seconds`` (a backoff); True at once if cancelled."""
        return self._cancel.wait(seconds)

    # ------------------------------------------------------------------ lifecycle

    def begin_shutdown(self) -> None:
        """Take no more items; the thread ends once the buffer is empty."""
        with self._cond:
            self._stopping = True
            self._cond.notify_all()

    def finish_shutdown(self, deadline: float) -> ShutdownReport:
        """Wait for the buffer to empty until ``deadline``; count what is left as dropped."""
        self.begin_shutdown()
        report = ShutdownReport(handlers=1)
        with self._cond:
            report.pending = len(self._items)
            while self._thread is not None and not self._closed:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            left = len(self._items)
            self._items.clear()
        if left or not (self._thread is None or self._closed):
            self._cancel.set()
            report.timed_out = True
        if left:
            self.counters.add("dropped", left)
            report.dropped = {"alert": left}
        unregister_participant(self)
        return report

    def close(self, timeout: float) -> ShutdownReport:
        """:meth:`finish_shutdown` with a deadline ``timeout`` seconds from now."""
        self.begin_shutdown()
        return self.finish_shutdown(time.monotonic() + timeout)

    def after_fork_in_child(self) -> None:
        """In a forked child: forget the parent's thread and items, start afresh."""
        self._init_state()
