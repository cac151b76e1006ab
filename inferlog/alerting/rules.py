"""Alert rules: what must hold over a window of one key's inference records.

Each rule is a small immutable object built from a plain dict (so it can come from
``logging.config.dictConfig``) by :func:`build_rule`. A rule owns the shape of the
window it needs (:meth:`Rule.new_window`) and judges it (:meth:`Rule.evaluate`),
returning a :class:`Verdict`: ``holds`` (fire), ``clear`` (the condition is known
not to hold: resolve) or neither (too few calls to say).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from inferlog.alerting.window import SlidingWindow

__all__ = [
    "DEFAULT_COOLDOWN",
    "DEFAULT_MIN_CALLS",
    "DEFAULT_SLICES",
    "DEFAULT_WINDOW",
    "RULE_TYPES",
    "ErrorRateRule",
    "LatencyRule",
    "OutputTokensShiftRule",
    "Rule",
    "Verdict",
    "build_rule",
]

#: Window of a rule that does not give one: five minutes.
DEFAULT_WINDOW: Final = 300.0
#: Slices per window: the window moves by a tenth of its span.
DEFAULT_SLICES: Final = 10
#: Fewest calls (weighted by sample rate) in the window before a rule may fire.
DEFAULT_MIN_CALLS: Final = 20.0
#: Seconds after a firing notification before the same rule and key may fire again.
DEFAULT_COOLDOWN: Final = 600.0


@dataclass(frozen=True)
class Verdict:
    """A rule's judgement of one window: the measured value and the calls behind it."""

    holds: bool
    clear: bool
    value: float | None
    calls: float


def _number(rule: str, name: str, value: object, *, low: float, strict: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"rule {rule!r}: {name} must be a number, got {value!r}")
    if value < low or (strict and value == low):
        bound = f"> {low}" if strict else f">= {low}"
        raise ValueError(f"rule {rule!r}: {name} must be {bound}, got {value!r}")
    return float(value)


def _slices(rule: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"rule {rule!r}: slices must be an integer >= 1, got {value!r}")
    return value


@dataclass(frozen=True)
class Rule:
    """Base of the rules: a name, a window, a minimum of calls and a cooldown."""

    name: str
    window: float = DEFAULT_WINDOW
    slices: int = DEFAULT_SLICES
    min_calls: float = DEFAULT_MIN_CALLS
    cooldown: float = DEFAULT_COOLDOWN

    kind: str = "rule"

    def check(self) -> None:
        """Validate the common options; raise ``ValueError`` naming the bad one."""
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"rule name must be a non-empty string, got {self.name!r}")
        _number(self.name, "window", self.window, low=0)
        _slices(self.name, self.slices)
        _number(self.name, "min_calls", self.min_calls, low=0, strict=False)
        _number(self.name, "cooldown", self.cooldown, low=0, strict=False)

    @property
    def threshold(self) -> float:
        """The bound the measured value is compared with."""
        raise NotImplementedError

    def new_window(self) -> SlidingWindow:
        """A fresh window of the shape this rule reads (override when it differs)."""
        return SlidingWindow(self.window, self.slices)

    def evaluate(self, window: SlidingWindow, now: float) -> Verdict:
        """Judge ``window`` at time ``now``; override in each rule."""
        raise NotImplementedError

    def describe(self, value: float | None) -> str:
        """A one-line statement of the condition with ``value`` in it."""
        return f"{self.kind} {value} vs {self.threshold}"


@dataclass(frozen=True)
class ErrorRateRule(Rule):
    """Fires when errors / calls exceeds ``rate`` over the window, with ``min_calls`` calls."""

    rate: float = 0.02
    kind: str = "error_rate"

    @property
    def threshold(self) -> float:
        """The error rate above which the rule holds."""
        return self.rate

    def check(self) -> None:
        """Validate, including ``0 <= rate < 1``."""
        super().check()
        _number(self.name, "rate", self.rate, low=0, strict=False)
        if self.rate >= 1:
            raise ValueError(f"rule {self.name!r}: rate must be below 1, got {self.rate!r}")

    def evaluate(self, window: SlidingWindow, now: float) -> Verdict:
        """Error rate of the window against ``rate``."""
        totals = window.totals(now)
        if totals.calls <= 0:
            return Verdict(False, True, None, 0.0)
        value = totals.error_rate
        enough = totals.calls >= self.min_calls
        return Verdict(
            enough and value > self.rate, enough and value <= self.rate, value, totals.calls
        )

    def describe(self, value: float | None) -> str:
        """``error rate 5.00% > 2.00%``."""
        shown = "n/a" if value is None else f"{value:.2%}"
        return f"error rate {shown} (limit {self.rate:.2%})"


@dataclass(frozen=True)
class LatencyRule(Rule):
    """Fires when the ``quantile`` of ``latency_ms`` exceeds ``threshold_ms``."""

    threshold_ms: float = 1000.0
    quantile: float = 0.95
    kind: str = "latency"

    @property
    def threshold(self) -> float:
        """The latency in milliseconds above which the rule holds."""
        return self.threshold_ms

    def check(self) -> None:
        """Validate, including ``0 < quantile < 1`` and ``threshold_ms > 0``."""
        super().check()
        _number(self.name, "threshold_ms", self.threshold_ms, low=0)
        _number(self.name, "quantile", self.quantile, low=0)
        if self.quantile >= 1:
            raise ValueError(f"rule {self.name!r}: quantile must be below 1, got {self.quantile!r}")

    def new_window(self) -> SlidingWindow:
        """A window with a latency sketch in each slice."""
        return SlidingWindow(self.window, self.slices, track_latency=True)

    def evaluate(self, window: SlidingWindow, now: float) -> Verdict:
        """The window's latency quantile against ``threshold_ms``."""
        totals = window.totals(now)
        sketch = totals.latency
        value = sketch.quantile(self.quantile) if sketch is not None else None
        if value is None:
            return Verdict(False, totals.calls <= 0, None, totals.calls)
        enough = sketch is not None and sketch.total >= self.min_calls
        return Verdict(
            enough and value > self.threshold_ms,
            enough and value <= self.threshold_ms,
            value,
            totals.calls,
        )

    def describe(self, value: float | None) -> str:
        """``p95 latency 1234.0 ms (limit 800.0 ms)``."""
        shown = "n/a" if value is None else f"{value:.1f} ms"
        return f"p{self.quantile * 100:g} latency {shown} (limit {self.threshold_ms:g} ms)"


@dataclass(frozen=True)
class OutputTokensShiftRule(Rule):
    """Fires when mean ``output_token_count`` over the window moves by more than ``change``.

    The window is compared with the ``baseline`` seconds just before it; ``change`` is
    relative (0.5: the recent mean is more than 1.5x or less than 0.5x the baseline's).
    Both periods need ``min_calls`` calls that reported output tokens.
    """

    baseline: float = 3600.0
    change: float = 0.5
    kind: str = "output_tokens_shift"

    @property
    def threshold(self) -> float:
        """The relative change above which the rule holds."""
        return self.change

    def check(self) -> None:
        """Validate, including ``baseline > 0`` and ``change > 0``."""
        super().check()
        _number(self.name, "baseline", self.baseline, low=0)
        _number(self.name, "change", self.change, low=0)

    def _baseline_slices(self) -> int:
        return max(1, math.ceil(self.baseline / (self.window / self.slices) - 1e-9))

    def new_window(self) -> SlidingWindow:
        """One window covering the recent slices and the baseline before them."""
        width = self.window / self.slices
        total = self.slices + self._baseline_slices()
        return SlidingWindow(width * total, total)

    def evaluate(self, window: SlidingWindow, now: float) -> Verdict:
        """Relative change of the recent mean against the baseline mean."""
        recent = window.totals(now, 0, self.slices)
        base = window.totals(now, self.slices, self._baseline_slices())
        recent_mean, base_mean = recent.mean_tokens, base.mean_tokens
        if recent.calls <= 0:
            return Verdict(False, True, None, 0.0)
        if (
            recent_mean is None
            or base_mean is None
            or recent.token_calls < self.min_calls
            or base.token_calls < self.min_calls
        ):
            return Verdict(False, False, None, recent.calls)
        value = abs(recent_mean - base_mean) / base_mean if base_mean > 0 else math.inf
        if base_mean <= 0 and recent_mean <= 0:
            value = 0.0
        return Verdict(value > self.change, value <= self.change, value, recent.calls)

    def describe(self, value: float | None) -> str:
        """``mean output tokens changed by 80% (limit 50%)``."""
        shown = "n/a" if value is None else f"{value:.0%}"
        return f"mean output tokens changed by {shown} (limit {self.change:.0%})"


#: ``type`` of a rule dict -> the rule class it builds.
RULE_TYPES: Final[Mapping[str, type[Rule]]] = {
    "error_rate": ErrorRateRule,
    "latency": LatencyRule,
    "output_tokens_shift": OutputTokensShiftRule,
}


def build_rule(spec: Rule | Mapping[str, Any]) -> Rule:
    """Return the rule described by ``spec``: a :class:`Rule`, or a dict with ``type``.

    A dict takes ``type`` (one of :data:`RULE_TYPES`), an optional ``name`` (default:
    the type) and the rule's fields. Raises ``ValueError``/``TypeError`` naming what is
    wrong and what is accepted.
    """
    if isinstance(spec, Rule):
        spec.check()
        return spec
    if not isinstance(spec, Mapping):
        raise TypeError(f"a rule must be a dict with a 'type' or a Rule, got {spec!r}")
    options = dict(spec)
    kind = options.pop("type", None)
    cls = RULE_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValueError(f"rule type must be one of {sorted(RULE_TYPES)}, got {kind!r}")
    options.setdefault("name", kind)
    known = {f for f in cls.__dataclass_fields__ if f != "kind"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(
            f"rule {options['name']!r} ({kind}): unknown option(s) {unknown}; "
            f"accepted: {sorted(known)}"
        )
    rule = cls(**options)
    rule.check()
    return rule
