"""Sliding windows of bucketed counters: constant memory, out-of-order timestamps.

A :class:`SlidingWindow` of ``span`` seconds is cut into ``slices`` equal slices held
in a ring. A record lands in the slice its own timestamp falls in, so records that
arrive out of order (a queue drains in batches, processes share a sink) are counted
where they belong. Slice ``k`` covers ``[k * width, (k + 1) * width)`` seconds since
the epoch; the window at time ``now`` is the ``slices`` slices ending with the one
``now`` falls in, and a record stamped later than ``now`` counts as ``now``. A record
older than that (or older than a newer record already held in its ring slot) is
*late*: it is counted in :attr:`SlidingWindow.late` and left out. The lateness bound
is therefore the window's span. Memory never depends on
the number of records: ``slices`` counters, and one :class:`QuantileSketch` per slice
when latency is tracked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from inferlog._validation import check_seconds
from inferlog.alerting.sketch import DEFAULT_ACCURACY, QuantileSketch

__all__ = ["Observation", "SlidingWindow", "WindowTotals"]


@dataclass(frozen=True)
class Observation:
    """What one inference record contributes to a window.

    ``weight`` is ``1 / sample_rate``: a record a sampler kept with probability 0.1
    stands for ten calls.
    """

    timestamp: float
    error: bool
    weight: float = 1.0
    latency_ms: float | None = None
    output_tokens: float | None = None


@dataclass
class WindowTotals:
    """Sums over some slices of a window."""

    calls: float = 0.0
    errors: float = 0.0
    token_calls: float = 0.0
    tokens: float = 0.0
    latency: QuantileSketch | None = field(default=None, repr=False)

    @property
    def error_rate(self) -> float:
        """Errors over calls (0 when there were no calls)."""
        return self.errors / self.calls if self.calls > 0 else 0.0

    @property
    def mean_tokens(self) -> float | None:
        """Mean output tokens of the calls that reported them (None if none did)."""
        return self.tokens / self.token_calls if self.token_calls > 0 else None


class _Slice:
    __slots__ = ("calls", "errors", "index", "latency", "token_calls", "tokens")

    def __init__(self, latency: QuantileSketch | None) -> None:
        self.index = -1
        self.calls = 0.0
        self.errors = 0.0
        self.token_calls = 0.0
        self.tokens = 0.0
        self.latency = latency

    def reset(self, index: int) -> None:
        self.index = index
        self.calls = self.errors = self.token_calls = self.tokens = 0.0
        if self.latency is not None:
            self.latency.clear()


class SlidingWindow:
    """Counters for the last ``span`` seconds, in ``slices`` slices.

    Args:
        span: Window length in seconds (> 0).
        slices: Number of slices (>= 1); the window moves by ``span / slices``.
        track_latency: Keep a latency sketch per slice (for quantile rules).
        accuracy: Relative accuracy of the latency sketches.
    """

    def __init__(
        self,
        span: float,
        slices: int,
        *,
        track_latency: bool = False,
        accuracy: float = DEFAULT_ACCURACY,
    ) -> None:
        self.span = check_seconds("span", span, positive=True)
        if isinstance(slices, bool) or not isinstance(slices, int) or slices < 1:
            raise ValueError(f"slices must be an integer >= 1, got {slices!r}")
        self.slices = slices
        self.width = self.span / slices
        self._accuracy = accuracy
        self._ring = [
            _Slice(QuantileSketch(accuracy) if track_latency else None) for _ in range(slices)
        ]
        #: Weight of records left out because they were older than the window.
        self.late = 0.0

    def slice_index(self, timestamp: float) -> int:
        """The absolute index of the slice holding ``timestamp``."""
        return math.floor(timestamp / self.width)

    def add(self, observation: Observation, now: float) -> bool:
        """Count ``observation`` in its slice; False (and counted late) if it is too old."""
        # A record stamped ahead of this clock (another process's clock, or skew)
        # counts now: a slice in the future would not be read until it came.
        index = self.slice_index(min(observation.timestamp, now))
        if index <= self.slice_index(now) - self.slices:
            self.late += observation.weight
            return False
        slot = self._ring[index % self.slices]
        if slot.index != index:
            if slot.index > index:
                # The slot already holds a newer slice: this record is beyond the window
                # of a clock that has moved on (a future-dated record came first).
                self.late += observation.weight
                return False
            slot.reset(index)
        weight = observation.weight
        slot.calls += weight
        if observation.error:
            slot.errors += weight
        if observation.output_tokens is not None:
            slot.token_calls += weight
            slot.tokens += weight * observation.output_tokens
        if slot.latency is not None and observation.latency_ms is not None:
            slot.latency.add(observation.latency_ms, weight)
        return True

    def totals(self, now: float, first: int = 0, count: int | None = None) -> WindowTotals:
        """Sum the slices of the window at ``now``.

        ``first`` and ``count`` select slices counted back from the newest (slice 0
        is the one ``now`` falls in), e.g. ``first=3, count=6`` for an earlier part of
        the window used as a baseline.
        """
        newest = self.slice_index(now) - first
        count = self.slices - first if count is None else count
        oldest = newest - count + 1
        out = WindowTotals()
        sketch: QuantileSketch | None = None
        for slot in self._ring:
            if not oldest <= slot.index <= newest:
                continue
            out.calls += slot.calls
            out.errors += slot.errors
            out.token_calls += slot.token_calls
            out.tokens += slot.tokens
            if slot.latency is not None:
                if sketch is None:
                    sketch = QuantileSketch(self._accuracy)
                sketch.merge(slot.latency)
        out.latency = sketch
        return out
