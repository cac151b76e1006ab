"""The bounded buffer between a sender sink's callers and its sender thread.

Callers append prepared entries; the sender takes them off in chunks bounded by
count and bytes. A full buffer never makes a caller wait longer than
``block_timeout``: the overflow policy of :mod:`inferlog._overflow` picks the entry
that goes, and the sink counts it. ``accepted``/``taken`` let a flush wait for
exactly the entries that were in the buffer when it was asked for.
"""

from __future__ import annotations

import collections
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from typing import Any, cast

from inferlog.pipeline._overflow import OverflowPolicy, choose_victim

__all__ = ["Entry", "EntryBuffer"]


@dataclasses.dataclass(eq=False)
class Entry:
    """One record as a sender sink ships it (compared by identity)."""

    #: Milliseconds since the epoch.
    timestamp_ms: int
    #: The record's level (the overflow policy keeps ERROR and above).
    levelno: int
    #: What the service receives (the sink decides: text, a dict, ...).
    payload: Any
    #: Bytes counted against the request and buffer limits.
    size: int
    #: Entries with different keys never share a request (e.g. a log stream).
    key: Hashable = None
    #: The record dict written to the spool, when the payload is not that already.
    record: dict[str, Any] | None = None


class _Sealed(Exception):
    """The buffer was drained for good: the entry must go elsewhere."""


class EntryBuffer:
    """A bounded FIFO of entries with the condition the sender thread waits on.

    Every method except :meth:`put_all`, :meth:`wait_taken` and :meth:`flush_pending`
    expects the caller to hold :attr:`cond`.
    """

    def __init__(
        self, max_entries: int, max_bytes: int, overflow: OverflowPolicy, block_timeout: float
    ) -> None:
        self.cond = threading.Condition(threading.Lock())
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.overflow = overflow
        self.block_timeout = block_timeout
        self._items: collections.deque[Entry] = collections.deque()
        #: Bytes of the entries held.
        self.bytes = 0
        #: ``time.monotonic()`` when the oldest entry held arrived (or was last taken).
        self.oldest_at = 0.0
        #: Entries ever appended, and entries ever taken off and finished with.
        self.accepted = 0
        self.taken = 0
        #: ``accepted`` value a flush waits for; the sender sends early while behind it.
        self.flush_wanted = 0
        #: Set by a shutdown: no more waiting for full requests, no more blocking callers.
        self.closing = False
        #: Set once a shutdown drained the buffer for good: nothing more is taken.
        self.sealed = False

    def __len__(self) -> int:
        return len(self._items)

    def _full(self, extra: int) -> bool:
        return bool(self._items) and (
            len(self._items) >= self.max_entries or self.bytes + extra > self.max_bytes
        )

    def put_all(
        self, entries: list[Entry], deadline: float | None, wake_at: tuple[int, int]
    ) -> tuple[int, list[Entry]]:
        """Append ``entries``; return how many the overflow policy dropped, and the
        entries refused because the buffer is :attr:`sealed` (the sink shut down).

        The sender is woken once ``wake_at`` (entries, bytes) is reached.
        """
        dropped = 0
        for index, entry in enumerate(entries):
            with self.cond:
                try:
                    dropped += self._put(entry, deadline, wake_at) is not None
                except _Sealed:
                    return dropped, entries[index:]
        return dropped, []

    def _put(self, entry: Entry, deadline: float | None, wake_at: tuple[int, int]) -> Entry | None:
        # The caller holds the lock. Returns the entry the overflow policy dropped.
        if self.sealed:
            raise _Sealed
        if self.overflow == "block" and self._full(entry.size):
            until = time.monotonic() + self.block_timeout
            if deadline is not None:
                until = min(until, deadline)
            while self._full(entry.size) and not self.closing:
                remaining = until - time.monotonic()
                if remaining <= 0:
                    break
                self.cond.wait(remaining)
            if self.sealed:  # drained for good while this caller waited for room
                raise _Sealed
        dropped: Entry | None = None
        # Past begin_shutdown nothing is dropped: the shutdown delivers or spools it all.
        if self._full(entry.size) and not self.closing:
            # choose_victim reads nothing but levelno, which entries share with records.
            victim = choose_victim(
                cast("Iterable[logging.LogRecord]", self._items),
                cast(logging.LogRecord, entry),
                self.overflow,
            )
            if victim < 0:
                return entry
            dropped = self._items[victim]
            del self._items[victim]
            self.bytes -= dropped.size
            self.taken += 1  # a dropped entry is finished with, as far as a flush goes
        if not self._items:
            self.oldest_at = time.monotonic()
        self._items.append(entry)
        self.bytes += entry.size
        self.accepted += 1
        if len(self._items) >= wake_at[0] or self.bytes >= wake_at[1]:
            self.cond.notify_all()
        return dropped

    def ready(self, now: float, interval: float, max_count: int, max_bytes: int) -> bool:
        """Whether a chunk should be taken now."""
        return bool(self._items) and (
            self.closing
            or self.flush_wanted > self.taken
            or len(self._items) >= max_count
            or self.bytes >= max_bytes
            or now - self.oldest_at >= interval
        )

    def take(self, max_count: int, max_bytes: int) -> list[Entry]:
        """Remove and return the oldest entries, at most ``max_count`` and ``max_bytes``.

        One entry is always taken when any is held, whatever its size.
        """
        chunk: list[Entry] = []
        size = 0
        items = self._items
        while items and len(chunk) < max_count:
            if chunk and size + items[0].size > max_bytes:
                break
            entry = items.popleft()
            chunk.append(entry)
            size += entry.size
        self.bytes -= size
        self.oldest_at = time.monotonic()
        self.cond.notify_all()  # room for a blocked caller
        return chunk

    def drain(self) -> list[Entry]:
        """Remove and return every entry held, and seal the buffer."""
        self.sealed = True
        chunk = list(self._items)
        self._items.clear()
        self.bytes = 0
        return chunk

    def flush_pending(self) -> bool:
        """Whether a flush waits for entries not finished with yet (takes the lock)."""
        with self.cond:
            return self.flush_wanted > self.taken

    def finished(self, count: int) -> None:
        """Record that ``count`` entries taken off were delivered, spooled or refused."""
        self.taken += count
        self.cond.notify_all()

    def wait_taken(self, timeout: float, busy: Callable[[], bool]) -> bool:
        """Wait until every entry accepted before the call is finished with.

        ``busy()`` (called with :attr:`cond` held) says whether the sender still works
        on something; returns False at ``timeout`` seconds or when the sender is gone.
        """
        deadline = time.monotonic() + timeout
        with self.cond:
            target = self.accepted
            self.flush_wanted = max(self.flush_wanted, target)
            self.cond.notify_all()
            while self.taken < target:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not busy():
                    return self.taken >= target
                self.cond.wait(remaining)
        return True
