"""What the alert handler keeps per key, and the firing / cooldown / resolved policy.

One :class:`KeyState` per key holds, for each rule, its window and where the rule
stands: whether a ``firing`` notification is out (so ``resolved`` must follow), when
it last fired (for the cooldown), and whether a firing is being held back by the
cooldown (counted once per episode). :meth:`KeyState.judge` is the policy, kept
apart from threads and notifiers so it can be read, and tested, on its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from inferlog._diagnostics import Counters
from inferlog.alerting.events import FIRING, RESOLVED, AlertState
from inferlog.alerting.rules import Rule, Verdict
from inferlog.alerting.window import SlidingWindow

__all__ = ["KeyState", "RuleState", "Transition"]


class RuleState:
    """One rule's window and notification state for one key."""

    __slots__ = ("last_fired", "notified", "suppressed", "window")

    def __init__(self, window: SlidingWindow) -> None:
        self.window = window
        self.notified = False
        self.suppressed = False
        self.last_fired: float | None = None


@dataclass(frozen=True)
class Transition:
    """A rule that started (``firing``) or stopped (``resolved``) holding for a key."""

    state: AlertState
    rule: Rule
    verdict: Verdict


class KeyState:
    """Every rule's state for one key, and when the key was last judged."""

    __slots__ = ("last_evaluated", "rules")

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = [RuleState(rule.new_window()) for rule in rules]
        self.last_evaluated = float("-inf")

    def judge(self, rules: Sequence[Rule], now: float, counters: Counters) -> list[Transition]:
        """Judge every rule at ``now``; return the notifications to send.

        A rule that holds fires once, unless it fired less than its ``cooldown`` ago
        (then it is counted ``suppressed``, once, and fires when it still holds after
        the cooldown); one that is known not to hold any more resolves the firing
        that is out. Counts ``fired`` and ``resolved``.
        """
        self.last_evaluated = now
        out: list[Transition] = []
        for rule, state in zip(rules, self.rules, strict=True):
            verdict = rule.evaluate(state.window, now)
            if verdict.holds:
                if state.notified:
                    continue
                if state.last_fired is not None and now - state.last_fired < rule.cooldown:
                    if not state.suppressed:
                        state.suppressed = True
                        counters.add("suppressed")
                    continue
                state.notified, state.suppressed, state.last_fired = True, False, now
                counters.add("fired")
                out.append(Transition(FIRING, rule, verdict))
            elif verdict.clear:
                state.suppressed = False
                if state.notified:
                    state.notified = False
                    counters.add("resolved")
                    out.append(Transition(RESOLVED, rule, verdict))
        return out

    def forgettable(self, rules: Sequence[Rule], now: float) -> bool:
        """No alert firing or cooling down, and no calls left in any window."""
        for rule, state in zip(rules, self.rules, strict=True):
            if state.notified or state.window.totals(now).calls > 0:
                return False
            if state.last_fired is not None and now - state.last_fired < rule.cooldown:
                return False
        return True
