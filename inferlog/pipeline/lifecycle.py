"""The lifecycle every handler with a buffer or a thread joins: shutdown, signals, fork.

A *participant* is any object that implements :class:`Lifecycle`: the queue handler,
the file sink, the cloud sinks, the audit writer, the alert notifier. It registers
itself with :func:`register_participant` when it starts background work, and from
then on :func:`shutdown_all` drains it within the process's one deadline. That runs
from an ``atexit`` hook, from a ``multiprocessing`` child's exit (which never runs
``atexit`` hooks), from :func:`inferlog.shutdown`, and from the SIGTERM handler that
:func:`install_signal_handlers` installs. After ``fork()`` every participant ever
registered is told so in the child, and starts afresh there.

Participants shut down by stage: queues (:data:`STAGE_QUEUE`) first, since they feed
the sinks, then sinks with buffers of their own (:data:`STAGE_SINK`), all within one
deadline.
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
from typing import Any, Final, Protocol, runtime_checkable

from inferlog._diagnostics import report_once
from inferlog._fork import after_fork_in_child
from inferlog._validation import check_seconds

__all__ = [
    "DEFAULT_SHUTDOWN_TIMEOUT",
    "STAGE_QUEUE",
    "STAGE_SINK",
    "Lifecycle",
    "ShutdownReport",
    "install_signal_handlers",
    "live_participants",
    "register_at_fork",
    "register_participant",
    "shutdown_all",
    "unregister_participant",
]

#: Deadline for draining at close, at exit and on SIGTERM, in seconds.
DEFAULT_SHUTDOWN_TIMEOUT: Final = 5.0
#: Stage of participants that feed others (queues): they drain first.
STAGE_QUEUE: Final = 0
#: Stage of sinks with a buffer or thread of their own: they drain after the queues.
STAGE_SINK: Final = 10


@dataclasses.dataclass
class ShutdownReport:
    """What a shutdown achieved; returned by :func:`shutdown_all` and ``shutdown``."""

    #: Participants (queue handlers, sinks) that were shut down.
    handlers: int = 0
    #: Records waiting in their buffers when the shutdown began.
    pending: int = 0
    #: Records written to a spool file (or stderr) because they could not be delivered.
    spilled: int = 0
    #: Where spooled records went.
    spill_paths: list[str] = dataclasses.field(default_factory=list)
    #: Records dropped over the participants' lifetime, by level name.
    dropped: dict[str, int] = dataclasses.field(default_factory=dict)
    #: True when some participant had not finished by the deadline.
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


@runtime_checkable
class Lifecycle(Protocol):
    """What a handler with a buffer or a background thread implements to join shutdown.

    Implement it, call :func:`register_participant` when background work starts, and
    :func:`unregister_participant` once closed. ``time.monotonic()`` is the clock of
    every deadline.
    """

    @property
    def lifecycle_stage(self) -> int:
        """:data:`STAGE_QUEUE` or :data:`STAGE_SINK`: lower stages shut down first."""

    def begin_shutdown(self) -> None:
        """Stop taking new background work and start draining; must not block."""

    def finish_shutdown(self, deadline: float) -> ShutdownReport:
        """Wait until drained or ``deadline``; spool what is left; idempotent.

        Must return promptly, spooling only, when the deadline has already passed.
        """

    def after_fork_in_child(self) -> None:
        """In a forked child: forget inherited threads, locks and buffered records."""


# ------------------------------------------------------------------ registry

_known: weakref.WeakSet[Any] = weakref.WeakSet()  # every participant ever registered
_live: dict[int, Any] = {}  # registered and not yet shut down: strong references
# Reentrant, like every lock the shutdown path takes: a signal handler runs on the
# main thread, possibly while the code it interrupted holds one of them.
_registry_lock = threading.RLock()
signal_depth = 0  # > 0 while an inferlog signal handler runs


def register_participant(participant: Lifecycle) -> None:
    """Make ``participant`` part of :func:`shutdown_all` and of fork handling."""
    with _registry_lock:
        _known.add(participant)
        _live[id(participant)] = participant


def unregister_participant(participant: Lifecycle) -> None:
    """Take ``participant`` out of :func:`shutdown_all` (it has shut down)."""
    with _registry_lock:
        _live.pop(id(participant), None)


def live_participants() -> list[Any]:
    """Return the registered participants that have not shut down, by stage."""
    with _registry_lock:
        found = list(_live.values())
    return sorted(found, key=lambda p: getattr(p, "lifecycle_stage", STAGE_SINK))


def lock_is_owned(lock: Any) -> bool:
    """Whether the current thread holds ``lock`` (an ``RLock``)."""
    # RLock._is_owned is what threading.Condition itself relies on.
    is_owned = getattr(lock, "_is_owned", None)
    return bool(is_owned()) if is_owned is not None else False


# ------------------------------------------------------------------ shutdown_all

_shutdown_lock = threading.RLock()


def shutdown_all(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> ShutdownReport:
    """Drain every live participant in this process within one deadline.

    Stage by stage (queues, then sinks): every participant of a stage is asked to
    begin, so they drain in parallel, then each is waited for. What is undelivered at
    ``timeout`` seconds is spooled and counted. Safe to call twice, from an
    ``atexit`` hook and from a signal handler (its locks are reentrant or taken with
    a timeout). A participant that raises is reported and the others still run.
    """
    timeout = check_seconds("timeout", timeout)
    deadline = time.monotonic() + timeout
    result = ShutdownReport()
    if not _shutdown_lock.acquire(timeout=timeout):
        result.timed_out = True
        return result
    try:
        participants = live_participants()
        stages = sorted({getattr(p, "lifecycle_stage", STAGE_SINK) for p in participants})
        for stage in stages:
            group = [p for p in participants if getattr(p, "lifecycle_stage", STAGE_SINK) == stage]
            for participant in group:
                _guarded(participant, "begin_shutdown", participant.begin_shutdown)
            for participant in group:
                report = _guarded(
                    participant,
                    "finish_shutdown",
                    lambda p=participant: p.finish_shutdown(deadline),
                )
                if isinstance(report, ShutdownReport):
                    result.merge(report)
                unregister_participant(participant)
    finally:
        _shutdown_lock.release()
    return result


def _guarded(participant: object, what: str, call: Callable[..., Any], *args: Any) -> Any:
    try:
        return call(*args)
    except Exception as exc:
        report_once(
            f"lifecycle-{what}-{type(participant).__name__}",
            logging.ERROR,
            "%s.%s raised %s: %s",
            type(participant).__name__,
            what,
            type(exc).__name__,
            exc,
        )
        return None


def _exit_hook() -> None:
    # The longest shutdown_timeout among the live participants: the user's deadline.
    with contextlib.suppress(Exception):
        timeout = max(
            (float(getattr(p, "shutdown_timeout", 0.0) or 0.0) for p in live_participants()),
            default=0.0,
        )
        shutdown_all(timeout or DEFAULT_SHUTDOWN_TIMEOUT)


# Registered at import, after ``logging`` registered its own hook: atexit runs hooks
# last-in first-out, so the participants drain before logging.shutdown closes sinks.
atexit.register(_exit_hook)

_installed_signals: dict[int, Callable[[int, FrameType | None], Any]] = {}


def install_signal_handlers(
    signals: Iterable[int] = (signal.SIGTERM,), timeout: float = DEFAULT_SHUTDOWN_TIMEOUT
) -> bool:
    """Drain every participant when one of ``signals`` arrives, then let the signal act.

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


def register_at_fork(after_in_child: Callable[[], None]) -> None:
    """Run ``after_in_child`` in every child this process forks.

    The public name of :func:`inferlog._fork.after_fork_in_child`, the one place
    that knows inferlog's platforms (POSIX).
    """
    after_fork_in_child(after_in_child)


def _after_fork_in_child() -> None:
    global _registry_lock, _shutdown_lock
    _registry_lock = threading.RLock()
    _shutdown_lock = threading.RLock()
    _live.clear()
    for participant in list(_known):
        with contextlib.suppress(Exception):
            participant.after_fork_in_child()


register_at_fork(_after_fork_in_child)


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
