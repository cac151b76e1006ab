"""The one place inferlog asks to run code in a forked child.

inferlog runs on POSIX systems only (Linux and macOS): the shared-file handler needs
``fcntl`` locks, and the fork hooks below need ``os.register_at_fork``, which every
POSIX Python has. Modules register through this module rather than calling
``os.register_at_fork`` themselves, so the platform decision is written once.

Why a child needs the hooks: a lock that another thread of the parent held at fork
time stays held forever in the child, where that thread does not exist (gunicorn
and ``multiprocessing`` fork after threads have started). The hooks give the child
new locks and forget per-process state, the same approach as ``logging``'s own
handler locks.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from typing import Protocol

__all__ = ["ForkAware", "after_fork_in_child", "renew_after_fork"]


class ForkAware(Protocol):
    """An object that replaces its locks and per-process state in a forked child."""

    def after_fork_in_child(self) -> None:
        """Called in the child right after ``fork``, before any other code runs there."""


def after_fork_in_child(callback: Callable[[], None]) -> None:
    """Run ``callback`` in every child process right after it is forked."""
    os.register_at_fork(after_in_child=callback)


_owners: weakref.WeakSet[ForkAware] = weakref.WeakSet()


def renew_after_fork(owner: ForkAware) -> None:
    """Call ``owner.after_fork_in_child()`` in forked children while ``owner`` lives."""
    _owners.add(owner)


def _renew_owners() -> None:
    for owner in list(_owners):
        owner.after_fork_in_child()


after_fork_in_child(_renew_owners)
