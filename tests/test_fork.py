"""inferlog._fork: the one place that registers work for a forked child."""

from __future__ import annotations

import os
from collections.abc import Callable

from inferlog._fork import after_fork_in_child, renew_after_fork


def _true_in_child(check: Callable[[], bool]) -> bool:
    """Fork, evaluate ``check`` in the child, and return what it said."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write_end, b"1" if check() else b"0")
        os._exit(0)
    os.close(write_end)
    try:
        return b"1" == os.read(read_end, 1)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)


class Owner:
    def __init__(self) -> None:
        self.renewed = False

    def after_fork_in_child(self) -> None:
        self.renewed = True


def test_an_owner_registered_for_renewal_is_renewed_in_a_forked_child_only() -> None:
    owner = Owner()
    renew_after_fork(owner)
    assert _true_in_child(lambda: owner.renewed)
    assert not owner.renewed


def test_a_callback_runs_in_a_forked_child_only() -> None:
    calls: list[int] = []
    after_fork_in_child(lambda: calls.append(os.getpid()))
    assert _true_in_child(lambda: calls == [os.getpid()])
    assert [] == calls
