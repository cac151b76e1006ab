"""Request ids: RFC 9562 version-7 UUIDs, time-ordered and monotonic in a process."""

from __future__ import annotations

import os
import threading
import time
from typing import TYPE_CHECKING, Final

from inferlog._fork import after_fork_in_child

if TYPE_CHECKING:
    import uuid

__all__ = [
    "new_request_id",
    "uuid7",
]


class _UUIDv7Generator:
    """RFC 9562 UUIDv7 with a 42-bit per-millisecond counter (the RFC's "Method 1").

    Layout: 48-bit Unix milliseconds, version 7, the counter's top 12 bits in
    ``rand_a``, variant ``10``, the counter's low 30 bits and 32 fresh random bits in
    ``rand_b``. The counter restarts at a random value with its top bit clear each new
    millisecond (so at least 2**41 ids fit in one millisecond) and is incremented
    otherwise, which keeps ids strictly increasing within the process even when the
    wall clock stands still or steps backwards.
    """

    _COUNTER_BITS: Final = 42
    _COUNTER_MAX: Final = (1 << 42) - 1

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def reset_after_fork(self) -> None:
        """Give a forked child its own lock and counter.

        The lock may have been held by another parent thread at fork time, and a
        child continuing the parent's counter would mint the same sequence.
        """
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def next_int(self) -> int:
        """Return the next UUIDv7 as a 128-bit integer."""
        # One CSPRNG read per id (RFC 9562 asks for unguessable random bits): the low
        # 32 bits fill the tail, the top 41 seed the counter when a millisecond starts.
        rand = int.from_bytes(os.urandom(10), "big")
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms > self._last_ms:
                self._last_ms = now_ms
                self._counter = rand >> 39
            else:
                # Same millisecond, or the clock went backwards: stay on the last
                # timestamp and count, so ordering never regresses.
                self._counter += 1
                if self._counter > self._COUNTER_MAX:
                    self._last_ms += 1
                    self._counter = rand >> 39
            unix_ms, counter = self._last_ms, self._counter
        return (
            (unix_ms & 0xFFFF_FFFF_FFFF) << 80
            | 0x7 << 76
            | (counter >> 30) << 64
            | 0b10 << 62
            | (counter & 0x3FFF_FFFF) << 32
            | (rand & 0xFFFF_FFFF)
        )

    def __call__(self) -> uuid.UUID:
        # Imported here: request ids are strings (new_request_id), and uuid is only
        # needed by callers who want UUID objects.
        import uuid

        return uuid.UUID(int=self.next_int())


_uuid7_generator = _UUIDv7Generator()
after_fork_in_child(_uuid7_generator.reset_after_fork)


def uuid7() -> uuid.UUID:
    """Return a new RFC 9562 version-7 UUID: time-ordered and monotonic in this process.

    ``uuid.uuid7`` only exists from Python 3.14, so inferlog carries its own.
    """
    return _uuid7_generator()


def new_request_id() -> str:
    """Return a new request id: a UUIDv7 in its canonical 36-character form.

    Version 7 starts with the creation time, so ids sort by time in log stores and
    index well, while 74 random/counter bits keep them unique across processes.
    """
    # Formatting the integer directly is several times cheaper than str(UUID(...)).
    h = f"{_uuid7_generator.next_int():032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
