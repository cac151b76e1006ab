"""Log-based alerting: :class:`ErrorRateAlertHandler` and the pieces it is built from.

The handler watches inference records in sliding windows per model version and
notifies (callbacks, a CRITICAL record, an HTTP webhook) when a rule holds, with a
cooldown and a matching "resolved" notification. See ``docs/alerting.md``.
"""

from __future__ import annotations

from inferlog.alerting.events import FIRING, RESOLVED, AlertEvent
from inferlog.alerting.handler import DEFAULT_MAX_KEYS, OTHER_KEY, ErrorRateAlertHandler
from inferlog.alerting.notifiers import (
    CallbackNotifier,
    LogNotifier,
    Notifier,
    WebhookNotifier,
)
from inferlog.alerting.rules import (
    ErrorRateRule,
    LatencyRule,
    OutputTokensShiftRule,
    Rule,
    build_rule,
)
from inferlog.alerting.sketch import QuantileSketch
from inferlog.alerting.window import SlidingWindow

__all__ = [
    "DEFAULT_MAX_KEYS",
    "FIRING",
    "OTHER_KEY",
    "RESOLVED",
    "AlertEvent",
    "CallbackNotifier",
    "ErrorRateAlertHandler",
    "ErrorRateRule",
    "LatencyRule",
    "LogNotifier",
    "Notifier",
    "OutputTokensShiftRule",
    "QuantileSketch",
    "Rule",
    "SlidingWindow",
    "WebhookNotifier",
    "build_rule",
]
