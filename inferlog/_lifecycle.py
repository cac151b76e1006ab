"""The lifecycle of the queue handlers in a process: registry, shutdown, signals, fork.

:func:`shutdown_all` drains every live :class:`~inferlog.queueing.QueueHandler`
within one deadline. It runs from an ``atexit`` hook, from a ``multiprocessing``
finalizer in a child (which never runs ``atexit`` hooks), and from the SIGTERM
handler that :func:`install_signal_handlers` installs. ``os.register_at_fork`` gives
a forked child fresh locks and lets each handler start afresh.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import logging
import os
import signal
import threading
import time
import weakref
from collections.abc import Callable, Iterable
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

from inferlog._diagnostics import report_once

if TYPE_CHECKING:
    from inferlog.queueing import QueueHandler

__all__ = [
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "ShutdownReport",
    "install_signal_handlers",
    "live_handlers",
    "shutdown_all",
]

#: Deadline for draining at close, at exit and on SIGTERM, in seconds.
DEFAULT_SHUTDOWN_TIMEOUT: Final = 5.0


@dataclasses.dataclass
class ShutdownReport:
    """What a shutdown achieved; returned by :func:`shutdown_all` and ``shutdown``."""

    #: Queue handlers that were shut down.
    handlers: int = 0
    #: Records waiting in the queues when the shutdown began.
    pending: int = 0
    #: Records written to spill files (or stderr) because the deadline passed.
    spilled: int = 0
    #: Where spilled records went.
    spill_paths: list[str] = dataclasses.field(default_factory=list)
    #: Records dropped by overflow over the handlers' lifetime, by level name.
    dropped: dict[str, int] = dataclasses.field(default_factory=dict)
    #: True when some handler had not finished by the deadline.
    timed_out: bool = False

    def merge(self, other: ShutdownReport) -> None:
        """Add ``other``'s figures to this report."""
        self.handlers += other.handlers
        self.pending += other.pending
        self.spilled += other.spilled
        self.spill_paths += [p for p in other.spill_paths if p not in self.spill_paths]
        for level, count in other.dropped.items():
            self.dropped[level] = self.dropped.get(level, 0) + count
        self.timed_out = self.timed_out or other.timed_out


# ------------------------------------------------------------------ registry

_instances: weakref.WeakSet[QueueHandler] = weakref.WeakSet()
_live: set[QueueHandler] = set()  # started and not yet shut down: strong references
# Reentrant, like every lock the shutdown path takes: a signal handler runs on the
# main thread, possibly while the code it interrupted holds one of them.
_registry_lock = threading.RLock()
signal_depth = 0  # > 0 while an inferlog signal handler runs


def live_handlers() -> list[QueueHandler]:
    """Return the queue handlers of this process whose listener is running."""
    with _registry_lock:
        return list(_live)


def register(handler: QueueHandler) -> None:
    """Remember ``handler``, so that a forked child can reset it."""
    with _registry_lock:
        _instances.add(handler)


def mark_live(handler: QueueHandler) -> None:
    """Record that ``handler``'s listener runs: :func:`shutdown_all` must drain it."""
    with _registry_lock:
        _live.add(handler)


def mark_stopped(handler: QueueHandler) -> None:
    """Record that ``handler`` has shut down."""
    with _registry_lock:
        _live.discard(handler)


def retire_inherited(handler: logging.Handler) -> None:
    """Mark ``handler`` closed if it is one of this process's queue handlers.

    A worker calls this for the handlers it inherited through fork: they belong to
    the parent, so they are neither drained nor closed here.
    """
    with _registry_lock:
        inherited = next((h for h in _instances if h is handler), None)
    if inherited is not None:
        with inherited._lock:
            inherited._closed = True


def lock_is_owned(lock: Any) -> bool:
    """Whether the current thread holds ``lock`` (an ``RLock``)."""
    # RLock._is_owned is what threading.Condition itself relies on.
    is_owned = getattr(lock, "_is_owned", None)
    return bool(is_owned()) if is_owned is not None else False


class ListenerControl:
    """The ``listener`` of a :class:`QueueHandler`: stdlib-shaped start and stop."""

    def __init__(self, owner: QueueHandler) -> None:
        self._owner = weakref.ref(owner)

    @property
    def handlers(self) -> tuple[logging.Handler, ...]:
        """The sinks the listener delivers to (resolved on first use)."""
        owner = self._owner()
        return tuple(owner._resolve_targets()) if owner is not None else ()

    def start(self) -> None:
        """Start the listener thread now rather than at the first record."""
        owner = self._owner()
        if owner is not None:
            owner.start()

    def stop(self) -> None:
        """Drain and stop, as :meth:`QueueHandler.shutdown` with its default deadline."""
        owner = self._owner()
        if owner is not None:
            owner.shutdown()


# ------------------------------------------------------------------ shutdown_all


_shutdown_lock = threading.RLock()


def shutdown_all(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> ShutdownReport:
    """Drain every live :class:`QueueHandler` in this process within one deadline.

    All listeners drain in parallel; what is undelivered at ``timeout`` seconds is
    spilled and counted. Safe to call twice, from an ``atexit`` hook and from a
    signal handler (the locks it takes are reentrant or taken with a timeout).
    """
    deadline = time.monotonic() + timeout
    result = ShutdownReport()
    if not _shutdown_lock.acquire(timeout=timeout):
        result.timed_out = True
        return result
    try:
        handlers = [h for h in live_handlers() if h._shutdown_report is None]
        pending = {id(h): h._begin_shutdown() for h in handlers}
        for handler in handlers:
            result.merge(handler._finish_shutdown(deadline, pending[id(handler)]))
    finally:
        _shutdown_lock.release()
    return result


def _exit_hook() -> None:
    # The longest shutdown_timeout among the live handlers: the user's deadline.
    with contextlib.suppress(Exception):
        timeout = max((h.shutdown_timeout for h in live_handlers()), default=0.0)
        shutdown_all(timeout or DEFAULT_SHUTDOWN_TIMEOUT)


# Registered at import, after ``logging`` registered its own hook: atexit runs hooks
# last-in first-out, so the queues drain before logging.shutdown closes the sinks.
atexit.register(_exit_hook)

_installed_signals: dict[int, Callable[[int, FrameType | None], Any]] = {}


def install_signal_handlers(
    signals: Iterable[int] = (signal.SIGTERM,), timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
) -> bool:
    """Drain every queue when one of ``signals`` arrives, then let the signal act.

    The handler runs :func:`shutdown_all` with ``timeout`` and then calls the handler
    that was installed before, or, if that was the default action, restores it and
    re-sends the signal, so the process still ends the way the signal says (a
    container sees exit by SIGTERM). Idempotent. Only possible on the main thread;
    returns False (with a diagnostic) elsewhere.
    """
    if threading.current_thread() is not threading.main_thread():
        report_once(
            "queue-signal-thread",
            logging.WARNING,
            "signal handlers can only be installed from the main thread; not installed",
        )
        return False
    for signum in signals:
        if signum in _installed_signals and signal.getsignal(signum) is _installed_signals[signum]:
            continue
        previous = signal.getsignal(signum)

        def _on_signal(received: int, frame: FrameType | None, _previous: Any = previous) -> None:
            global signal_depth
            signal_depth += 1
            try:
                shutdown_all(timeout)
            finally:
                signal_depth -= 1
            if callable(_previous):
                _previous(received, frame)
            elif _previous == signal.SIG_IGN:
                return
            else:
                signal.signal(received, signal.SIG_DFL)
                os.kill(os.getpid(), received)

        signal.signal(signum, _on_signal)
        _installed_signals[signum] = _on_signal
    return True


# ------------------------------------------------------------------ fork safety


def _after_fork_in_child() -> None:
    global _registry_lock, _shutdown_lock
    _registry_lock = threading.RLock()
    _shutdown_lock = threading.RLock()
    _live.clear()
    for handler in list(_instances):
        handler._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _ForkToken:
    """Weak-referenceable key for ``multiprocessing.util.register_after_fork``."""


_mp_token = _ForkToken()


def _register_exit_in_child(_token: object) -> None:
    # A multiprocessing child ends with os._exit after running its finalizers, so
    # atexit hooks never run there; a finalizer does.
    from multiprocessing import util

    util.Finalize(None, _exit_hook, exitpriority=100)


def _register_multiprocessing_exit() -> None:
    try:
        from multiprocessing import util
    except Exception:  # pragma: no cover - no multiprocessing on this platform
        return
    util.register_after_fork(_mp_token, _register_exit_in_child)


_register_multiprocessing_exit()
