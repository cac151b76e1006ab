"""What a notifier receives: one rule starting or stopping to hold for one key."""

from __future__ import annotations

import datetime
import math
from dataclasses import dataclass, field
from typing import Any, Final, Literal

__all__ = ["FIRING", "RESOLVED", "AlertEvent", "AlertState"]

AlertState = Literal["firing", "resolved"]
#: State of an event sent when a rule starts to hold.
FIRING: Final = "firing"
#: State of the matching event sent when it stops holding.
RESOLVED: Final = "resolved"


@dataclass(frozen=True)
class AlertEvent:
    """One notification.

    Attributes:
        state: ``"firing"`` or ``"resolved"``.
        rule: The rule's name.
        kind: The rule's type (``error_rate``, ``latency``, ``output_tokens_shift``).
        key: The key's fields, e.g. ``{"model_id": "fraud-gbm", "model_version": "3"}``.
        value: The measured value (error rate, latency in ms, relative change).
        threshold: The rule's bound.
        calls: Calls in the window, weighted by sample rate.
        window: The window's span in seconds.
        at: When the handler decided, in seconds since the epoch (its clock).
        message: A sentence for people.
    """

    state: AlertState
    rule: str
    kind: str
    key: dict[str, str | None] = field(hash=False)
    value: float | None
    threshold: float
    calls: float
    window: float
    at: float
    message: str

    def to_dict(self) -> dict[str, Any]:
        """The event as a JSON-able dict (the webhook body, the log record's ``alert``)."""
        moment = datetime.datetime.fromtimestamp(self.at, tz=datetime.timezone.utc)
        return {
            "state": self.state,
            "rule": self.rule,
            "kind": self.kind,
            "key": dict(self.key),
            "value": self.value if self.value is None or math.isfinite(self.value) else None,
            "threshold": self.threshold,
            "calls": self.calls,
            "window_seconds": self.window,
            "at": moment.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "message": self.message,
        }
