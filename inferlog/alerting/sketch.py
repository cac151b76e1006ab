"""A bounded, mergeable quantile sketch with a relative-error guarantee.

Values are counted in logarithmic bins: bin ``i`` holds the values in
``(gamma**(i-1), gamma**i]`` with ``gamma = (1 + accuracy) / (1 - accuracy)``, and a
quantile is answered with the bin's midpoint ``2 * gamma**i / (gamma + 1)``, which is
within ``accuracy`` (relative) of every value in the bin. This is the scheme of
DDSketch (Masson, Rim and Lee, VLDB 2019). Memory is bounded by ``max_bins``: when a
value would open one bin too many, the two lowest bins are merged, so the guarantee
then holds for the upper quantiles (the ones latency alerts ask about) and the lowest
ones are reported too high. Values at or below zero share one bin and read as 0.
Weights are floats, so a record kept with ``sample_rate`` 0.1 counts ten times.
"""

from __future__ import annotations

import math
from typing import Final

__all__ = ["DEFAULT_ACCURACY", "DEFAULT_MAX_BINS", "QuantileSketch"]

#: Relative error of every quantile while no bins were merged.
DEFAULT_ACCURACY: Final = 0.01
#: Most bins one sketch keeps. With 1% accuracy, 2,048 bins span values from 1 µs to
#: more than a day when measured in milliseconds, so merging is rare in practice.
DEFAULT_MAX_BINS: Final = 2048


class QuantileSketch:
    """Weighted values summarised in at most ``max_bins`` logarithmic bins.

    Args:
        accuracy: Relative error bound, strictly between 0 and 1.
        max_bins: Most bins kept (at least 2).
    """

    __slots__ = ("_bins", "_gamma_log", "_zero", "accuracy", "gamma", "max_bins", "total")

    def __init__(
        self, accuracy: float = DEFAULT_ACCURACY, max_bins: int = DEFAULT_MAX_BINS
    ) -> None:
        if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)):
            raise TypeError(f"accuracy must be a number between 0 and 1, got {accuracy!r}")
        if not 0 < accuracy < 1:
            raise ValueError(f"accuracy must be between 0 and 1 (exclusive), got {accuracy!r}")
        if isinstance(max_bins, bool) or not isinstance(max_bins, int) or max_bins < 2:
            raise ValueError(f"max_bins must be an integer of at least 2, got {max_bins!r}")
        self.accuracy = float(accuracy)
        self.max_bins = max_bins
        self.gamma = (1 + self.accuracy) / (1 - self.accuracy)
        self._gamma_log = math.log(self.gamma)
        self._bins: dict[int, float] = {}
        self._zero = 0.0
        #: Sum of the weights added.
        self.total = 0.0

    def __len__(self) -> int:
        """Number of bins in use (at most ``max_bins``, plus the zero bin)."""
        return len(self._bins) + (1 if self._zero else 0)

    def add(self, value: float, weight: float = 1.0) -> None:
        """Count ``value`` with ``weight``; NaN, infinite values and weights <= 0 are ignored."""
        if not (weight > 0 and math.isfinite(weight) and math.isfinite(value)):
            return
        self.total += weight
        if value <= 0:
            self._zero += weight
            return
        index = math.ceil(math.log(value) / self._gamma_log)
        bins = self._bins
        if index in bins:
            bins[index] += weight
            return
        bins[index] = weight
        if len(bins) > self.max_bins:
            self._collapse_lowest()

    def _collapse_lowest(self) -> None:
        lowest, second = sorted(self._bins)[:2]
        self._bins[second] += self._bins.pop(lowest)

    def merge(self, other: QuantileSketch) -> None:
        """Add every value of ``other`` (same accuracy) to this sketch."""
        if other.gamma != self.gamma:
            raise ValueError("only sketches of the same accuracy can be merged")
        self.total += other.total
        self._zero += other._zero
        bins = self._bins
        for index, weight in other._bins.items():
            bins[index] = bins.get(index, 0.0) + weight
        while len(bins) > self.max_bins:
            self._collapse_lowest()

    def clear(self) -> None:
        """Forget every value."""
        self._bins.clear()
        self._zero = 0.0
        self.total = 0.0

    def quantile(self, q: float) -> float | None:
        """Return the ``q`` quantile (0 <= q <= 1), or None when the sketch is empty.

        The answer is within ``accuracy`` (relative) of the value of rank
        ``q * (total - 1)`` (counting weights, from 0) among the values added.
        """
        if not 0 <= q <= 1:
            raise ValueError(f"q must be between 0 and 1, got {q!r}")
        if self.total <= 0:
            return None
        rank = q * (self.total - 1)
        seen = self._zero
        if seen > rank:
            return 0.0
        for index in sorted(self._bins):
            seen += self._bins[index]
            if seen > rank:
                return 2 * math.exp(index * self._gamma_log) / (self.gamma + 1)
        # Float sums may leave the top rank a hair beyond the last bin.
        return 2 * math.exp(max(self._bins) * self._gamma_log) / (self.gamma + 1)
