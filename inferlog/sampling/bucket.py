"""Rate-limit mode: a token bucket, and the limiter that scales rates to a target."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from inferlog._diagnostics import Counters, report
from inferlog._fork import renew_after_fork

__all__ = [
    "RATE_WINDOW_SECONDS",
    "TokenBucket",
]

#: Length of the window over which rate-limit mode measures demand, in seconds.
RATE_WINDOW_SECONDS = 1.0


class TokenBucket:
    """A thread-safe token bucket: ``rate`` tokens a second, at most ``capacity`` saved.

    Args:
        rate: tokens added per second; must be positive.
        capacity: the most tokens that can be saved up, i.e. the largest burst;
            defaults to ``max(rate, 1)``. The bucket starts full.
        clock: a monotonic clock in seconds; inject a fake one in tests.
    """

    def __init__(
        self,
        rate: float,
        capacity: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if isinstance(rate, bool) or not isinstance(rate, int | float) or not rate > 0:
            raise ValueError(f"rate must be a positive number of tokens per second, got {rate!r}")
        cap = max(float(rate), 1.0) if capacity is None else capacity
        if isinstance(cap, bool) or not isinstance(cap, int | float) or not cap >= 1:
            raise ValueError(f"capacity must be a number >= 1, got {capacity!r}")
        self.rate = float(rate)
        self.capacity = float(cap)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = self.capacity
        self._last = clock()
        renew_after_fork(self)

    def after_fork_in_child(self) -> None:
        """Give a forked child a new lock (a parent thread may have held this one)."""
        self._lock = threading.Lock()

    def try_take(self, tokens: float = 1.0) -> bool:
        """Take ``tokens`` if the bucket holds that many; return whether it did."""
        with self._lock:
            now = self._clock()
            elapsed = now - self._last
            if elapsed > 0:
                self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
                self._last = now
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False

    @property
    def tokens(self) -> float:
        """Tokens in the bucket as of the last :meth:`try_take` (no refill)."""
        return self._tokens


class _RateLimiter:
    """Rate-limit mode: scales rates so kept records stay near ``per_second``.

    Demand (the sum of the unscaled rates of the records offered, i.e. how many would
    be kept without a limit) is measured per window; the next window's rates are
    multiplied by ``per_second / demand``. Scaling keeps decisions deterministic per
    request and ``sample_rate`` exact. The token bucket is the hard cap for the first
    window of a burst, before the scale has caught up; what it drops is counted and
    reported.
    """

    def __init__(
        self,
        per_second: float,
        burst: float | None,
        clock: Callable[[], float],
        counters: Counters,
    ) -> None:
        self.per_second = per_second
        self.bucket = TokenBucket(per_second, burst, clock)
        self._clock = clock
        self._counters = counters
        self._lock = threading.Lock()
        self._window_start = clock()
        self._demand = 0.0
        self._dropped = 0
        self.scale = 1.0
        renew_after_fork(self)

    def after_fork_in_child(self) -> None:
        """Give a forked child a new lock (a parent thread may have held this one)."""
        self._lock = threading.Lock()

    def scaled(self, rate: float) -> float:
        with self._lock:
            now = self._clock()
            elapsed = now - self._window_start
            if elapsed >= RATE_WINDOW_SECONDS:
                self._roll(elapsed)
                self._window_start = now
            self._demand += rate
            return rate * self.scale

    def _roll(self, elapsed: float) -> None:
        demand_per_second = self._demand / elapsed
        self.scale = (
            1.0 if demand_per_second <= self.per_second else self.per_second / demand_per_second
        )
        self._demand = 0.0
        if self._dropped:
            dropped, self._dropped = self._dropped, 0
            report(
                logging.WARNING,
                "sampling: rate limit of %g records/s dropped %d records in the last %.1f s",
                self.per_second,
                dropped,
                elapsed,
            )

    def admit(self) -> bool:
        if self.bucket.try_take():
            return True
        with self._lock:
            self._dropped += 1
        self._counters.add("rate_limited")
        return False
