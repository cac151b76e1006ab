"""``ErrorRateAlertHandler``: sliding-window alert rules over inference records.

The handler keeps, for each key (``model_id``, ``model_version`` and any fields the
user names), one :class:`~inferlog.alerting.window.SlidingWindow` per rule. Each
inference record (one with ``model_id`` and ``status``) is counted in the windows
of its key with weight ``1 / sample_rate``; the key's rules are then judged (at most
once per ``evaluate_interval`` seconds per key, and for every key every
``tick_interval`` seconds on the dispatcher thread, which is how an alert resolves
once the traffic stops). A rule that starts to hold sends a ``firing`` event to every
notifier, unless it fired for that key less than its ``cooldown`` ago; when it stops
holding, a matching ``resolved`` event follows.

Memory is bounded: ``max_keys`` keys, each with a fixed number of slices per rule.
Records of further keys are counted together under the key whose every field is
``"<other>"`` (counted as ``keys_overflowed``, reported once), so nothing goes
unwatched; keys with no calls left in any window (and no alert firing or in its
cooldown) are forgotten at each tick.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, cast

from inferlog import schema
from inferlog._diagnostics import Counters, report_once
from inferlog._options import check_callable, check_list, check_names, check_text
from inferlog._safe import safe_str
from inferlog._validation import check_level, check_seconds
from inferlog.alerting._state import KeyState
from inferlog.alerting._worker import BackgroundWorker, call_guarded
from inferlog.alerting.events import AlertEvent, AlertState
from inferlog.alerting.notifiers import (
    DEFAULT_ALERT_LOGGER,
    DEFAULT_WEBHOOK_BACKOFF,
    DEFAULT_WEBHOOK_QUEUE_SIZE,
    DEFAULT_WEBHOOK_RETRIES,
    DEFAULT_WEBHOOK_TIMEOUT,
    CallbackNotifier,
    LogNotifier,
    Notifier,
    WebhookNotifier,
    check_webhook_options,
)
from inferlog.alerting.rules import Rule, build_rule
from inferlog.alerting.window import Observation
from inferlog.inference import STATUS_ERROR
from inferlog.pipeline import (
    STAGE_SINK,
    BatchSink,
    ShutdownReport,
    register_at_fork,
    register_participant,
    unregister_participant,
)

__all__ = [
    "DEFAULT_EVALUATE_INTERVAL",
    "DEFAULT_MAX_KEYS",
    "DEFAULT_RULES",
    "DEFAULT_TICK_INTERVAL",
    "FINAL_JUDGEMENT_STAGE",
    "OTHER_KEY",
    "ErrorRateAlertHandler",
]


#: Keys tracked at most; records of further keys share the ``"<other>"`` key.
DEFAULT_MAX_KEYS: Final = 1000
#: Value of every field of the key that collects records beyond ``max_keys``.
OTHER_KEY: Final = "<other>"
#: Least seconds between two judgements of one key's rules triggered by records.
DEFAULT_EVALUATE_INTERVAL: Final = 1.0
#: Seconds between judgements of every key on the dispatcher thread.
DEFAULT_TICK_INTERVAL: Final = 5.0
#: Rules used when none are given: more than 2% errors over 5 minutes, 20+ calls.
DEFAULT_RULES: Final[tuple[Mapping[str, Any], ...]] = (
    {"type": "error_rate", "rate": 0.02, "window": 300, "min_calls": 20},
)
#: Shutdown stage of the handler's final judgement: after the queues, before its threads.
FINAL_JUDGEMENT_STAGE: Final = STAGE_SINK - 1
#: Events waiting for the dispatcher before new ones are dropped (and counted).
_DISPATCH_CAPACITY: Final = 10_000
_BASE_KEYS: Final = (schema.MODEL_ID, schema.MODEL_VERSION)


@dataclass(frozen=True)
class _Item:
    key: tuple[str | None, ...]
    observation: Observation


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _weight(record: logging.LogRecord) -> float:
    rate = _number(record.__dict__.get(schema.SAMPLE_RATE))
    return 1.0 / rate if rate is not None and 0 < rate <= 1 else 1.0


def _event(
    state: AlertState,
    rule: Rule,
    fields: dict[str, str | None],
    value: float | None,
    calls: float,
    now: float,
) -> AlertEvent:
    where = " ".join(f"{name}={v}" for name, v in fields.items() if v is not None)
    message = (
        f"{rule.name} {state}: {rule.describe(value)} over {rule.window:g}s "
        f"({calls:g} calls) for {where or 'all records'}"
    )
    return AlertEvent(
        state=state,
        rule=rule.name,
        kind=rule.kind,
        key=fields,
        value=value,
        threshold=rule.threshold,
        calls=calls,
        window=rule.window,
        at=now,
        message=message,
    )


def _any(name: str, value: object) -> object:
    return value


def _build_rule(index: int, spec: object) -> Rule:
    try:
        return build_rule(spec)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise type(err)(f"rules[{index}]: {err}") from None


class ErrorRateAlertHandler(BatchSink):
    """Watches inference records in sliding windows and notifies when a rule holds.

    Args:
        rules: Rule dicts (``{"type": "error_rate", "rate": 0.02, "window": 300,
            "min_calls": 50}``; types ``error_rate``, ``latency``,
            ``output_tokens_shift``) or :class:`~inferlog.alerting.rules.Rule`
            objects. Default: :data:`DEFAULT_RULES`.
        keys: Record fields that split the windows further, after ``model_id`` and
            ``model_version`` (e.g. ``["region"]``).
        max_keys: Most keys tracked (see the module docs for what happens beyond).
        callbacks: Callables given each :class:`~inferlog.alerting.AlertEvent`.
        alert_logger: Logger name for alert records (``CRITICAL`` when firing,
            ``WARNING`` when resolved); None for no records.
        alert_level, resolved_level: Levels of those records.
        webhook_url: POST each event as JSON here (None: no webhook).
        webhook_timeout, webhook_retries, webhook_backoff, webhook_headers: See
            :class:`~inferlog.alerting.WebhookNotifier`.
        notifiers: Further objects with ``notify(event)``.
        evaluate_interval: Least seconds between judgements of one key triggered by
            its records (0: after every record).
        tick_interval: Seconds between judgements of every key on the dispatcher
            thread; None for none (then call :meth:`evaluate` yourself).
        clock: Returns the current time in seconds since the epoch (default
            ``time.time``); tests inject their own.
        level: Handler level.

    Notifications run on a dispatcher thread, never on the logging thread; a
    notifier that raises is counted (``notifier_errors``) and reported once. The
    counters are in :attr:`counters`: ``records``, ``late`` (records older than some
    rule's window, left out of it), ``keys_overflowed``,
    ``fired``, ``resolved``, ``suppressed`` (firings held back by a cooldown),
    ``notifier_errors``, ``dropped`` (events the dispatcher had no room for).
    """

    def __init__(
        self,
        *,
        rules: Iterable[Rule | Mapping[str, Any]] | None = None,
        keys: Iterable[str] = (),
        max_keys: int = DEFAULT_MAX_KEYS,
        callbacks: Iterable[Callable[[AlertEvent], object]] = (),
        alert_logger: str | None = DEFAULT_ALERT_LOGGER,
        alert_level: int | str = logging.CRITICAL,
        resolved_level: int | str = logging.WARNING,
        webhook_url: str | None = None,
        webhook_timeout: float = DEFAULT_WEBHOOK_TIMEOUT,
        webhook_retries: int = DEFAULT_WEBHOOK_RETRIES,
        webhook_backoff: float = DEFAULT_WEBHOOK_BACKOFF,
        webhook_headers: Mapping[str, str] | None = None,
        notifiers: Iterable[Notifier] = (),
        evaluate_interval: float = DEFAULT_EVALUATE_INTERVAL,
        tick_interval: float | None = DEFAULT_TICK_INTERVAL,
        clock: Callable[[], float] | None = None,
        level: int | str = logging.NOTSET,
    ) -> None:
        super().__init__(check_level("level", level))
        if isinstance(rules, (str, Mapping)):
            raise TypeError("rules must be a list of rule dicts or Rule objects")
        specs = list(DEFAULT_RULES) if rules is None else check_list("rules", rules, _any)
        self.rules: tuple[Rule, ...] = tuple(
            _build_rule(index, spec) for index, spec in enumerate(specs)
        )
        names = [rule.name for rule in self.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rule names must be unique (give each a 'name'), got {names}")
        if isinstance(keys, str):
            raise TypeError(f"keys must be a list of field names, got {keys!r}")
        extra_keys = tuple(k for k in check_names("keys", keys) if k not in _BASE_KEYS)
        self.key_fields: tuple[str, ...] = _BASE_KEYS + extra_keys
        if isinstance(max_keys, bool) or not isinstance(max_keys, int) or max_keys < 1:
            raise ValueError(f"max_keys must be an integer >= 1, got {max_keys!r}")
        self.max_keys = max_keys
        self.evaluate_interval = check_seconds("evaluate_interval", evaluate_interval)
        if tick_interval is not None:
            tick_interval = check_seconds("tick_interval", tick_interval, positive=True)
        if clock is not None and not callable(clock):
            raise TypeError(f"clock must be a callable returning epoch seconds, got {clock!r}")
        self.clock: Callable[[], float] = clock or time.time
        check_webhook_options(
            webhook_timeout, webhook_retries, webhook_backoff, DEFAULT_WEBHOOK_QUEUE_SIZE
        )
        built: list[Notifier] = [
            CallbackNotifier(cb) for cb in check_list("callbacks", callbacks, check_callable)
        ]
        if alert_logger is not None:
            check_text("alert_logger", alert_logger)
            built.append(
                LogNotifier(alert_logger, level=alert_level, resolved_level=resolved_level)
            )
        if webhook_url is not None:
            built.append(
                WebhookNotifier(
                    webhook_url,
                    timeout=webhook_timeout,
                    retries=webhook_retries,
                    backoff=webhook_backoff,
                    headers=webhook_headers,
                )
            )
        for notifier in check_list("notifiers", notifiers, _any):
            if not callable(getattr(notifier, "notify", None)):
                raise TypeError(f"notifiers must have a notify(event) method, got {notifier!r}")
            built.append(cast(Notifier, notifier))
        self.notifiers: tuple[Notifier, ...] = tuple(built)
        self.counters = Counters()
        self._state_lock = threading.Lock()
        self._keys: dict[tuple[str | None, ...], KeyState] = {}
        self._started = False
        owner = weakref.ref(self)

        def _after_fork() -> None:
            handler = owner()
            if handler is not None:
                handler.after_fork_in_child()

        register_at_fork(_after_fork)
        self._dispatcher: BackgroundWorker[AlertEvent] = BackgroundWorker(
            "inferlog-alert-dispatch",
            self._dispatch,
            capacity=_DISPATCH_CAPACITY,
            counters=self.counters,
            idle=self._tick if tick_interval is not None else None,
            idle_interval=tick_interval,
        )

    # ------------------------------------------------------------------ records in

    def prepare(self, record: logging.LogRecord) -> _Item | None:
        """The key and observation of an inference record; None for any other record."""
        attributes = record.__dict__
        if schema.MODEL_ID not in attributes or schema.STATUS not in attributes:
            return None
        key = tuple(
            None if (value := attributes.get(name)) is None else safe_str(value)
            for name in self.key_fields
        )
        tokens = _number(attributes.get(schema.OUTPUT_TOKEN_COUNT))
        observation = Observation(
            timestamp=record.created,
            error=attributes.get(schema.STATUS) == STATUS_ERROR,
            weight=_weight(record),
            latency_ms=_number(attributes.get(schema.LATENCY_MS)),
            output_tokens=tokens,
        )
        return _Item(key, observation)

    def write_batch(self, items: list[Any], deadline: float | None) -> int:
        """Count the items in their windows and judge the keys they touched."""
        events: list[AlertEvent] = []
        now = self.clock()
        with self._state_lock:
            touched: dict[tuple[str | None, ...], KeyState] = {}
            for item in items:
                if not isinstance(item, _Item):
                    continue
                key, state = self._state_for(item.key)
                self.counters.add("records")
                kept = [rs.window.add(item.observation, now) for rs in state.rules]
                if not all(kept):  # older than some rule's window
                    self.counters.add("late")
                touched[key] = state
            for key, state in touched.items():
                if now - state.last_evaluated >= self.evaluate_interval:
                    events += self._judge(key, state, now)
            # Queued under the lock, so that a tick's "resolved" can never overtake
            # the "firing" it follows (the dispatcher takes this lock only while it holds
            # none of its own).
            self._send(events)
        if touched and not self._started:
            self._start_threads()
        return len(items)

    # ------------------------------------------------------------------ lifecycle

    #: Shutdown stage: after the queues (which drain into the handler), before the
    #: dispatcher and webhook threads (which deliver what it decides then).
    lifecycle_stage = FINAL_JUDGEMENT_STAGE

    def begin_shutdown(self) -> None:
        """Judge every key once more: a burst that ends with the process still alerts.

        Runs from :func:`inferlog.pipeline.shutdown_all` once the queues have drained.
        """
        if self._started:
            self.evaluate()

    def finish_shutdown(self, deadline: float) -> ShutdownReport:
        """Nothing to drain here (the dispatcher and webhook threads drain themselves)."""
        unregister_participant(self)
        return ShutdownReport()

    def after_fork_in_child(self) -> None:
        """In a forked child: start with empty windows, a fresh lock and no threads."""
        # A child watches its own calls: the parent's windows, lock and threads stay behind.
        self._state_lock = threading.Lock()
        self._keys = {}
        self._started = False

    def _start_threads(self) -> None:
        # With the first record rather than the first event: ticks resolve alerts once
        # traffic stops, and a shutdown must know every thread before it begins.
        self._started = True
        register_participant(self)
        self._dispatcher.start()
        for notifier in self.notifiers:
            if isinstance(notifier, WebhookNotifier):
                notifier.start()

    def _state_for(self, key: tuple[str | None, ...]) -> tuple[tuple[str | None, ...], KeyState]:
        state = self._keys.get(key)
        if state is not None:
            return key, state
        if len(self._keys) >= self.max_keys:
            self.counters.add("keys_overflowed")
            report_once(
                f"alert-keys-overflow-{id(self)}",
                logging.WARNING,
                "alert handler %r: more than max_keys=%d keys; further keys are counted "
                "together under %r",
                self.name,
                self.max_keys,
                OTHER_KEY,
            )
            key = (OTHER_KEY,) * len(self.key_fields)
            state = self._keys.get(key)
            if state is not None:
                return key, state
        state = self._keys[key] = KeyState(self.rules)
        return key, state

    # ------------------------------------------------------------------ judging

    def _judge(self, key: tuple[str | None, ...], state: KeyState, now: float) -> list[AlertEvent]:
        fields = dict(zip(self.key_fields, key, strict=True))
        return [
            _event(t.state, t.rule, fields, t.verdict.value, t.verdict.calls, now)
            for t in state.judge(self.rules, now, self.counters)
        ]

    def evaluate(self, now: float | None = None) -> list[AlertEvent]:
        """Judge every key now (or at ``now``), send the events, and return them.

        Also forgets keys with no calls left in any window and no alert firing or
        cooling down.
        Runs every ``tick_interval`` seconds on the dispatcher thread.
        """
        now = self.clock() if now is None else now
        events: list[AlertEvent] = []
        with self._state_lock:
            idle: list[tuple[str | None, ...]] = []
            for key, state in self._keys.items():
                events += self._judge(key, state, now)
                if state.forgettable(self.rules, now):
                    idle.append(key)
            for key in idle:
                del self._keys[key]
            self._send(events)
        return events

    def _tick(self) -> None:
        self.evaluate()

    def firing(self) -> list[tuple[str, dict[str, str | None]]]:
        """The alerts firing now, as ``(rule name, key fields)`` pairs."""
        with self._state_lock:
            return [
                (rule.name, dict(zip(self.key_fields, key, strict=True)))
                for key, state in self._keys.items()
                for rule, rule_state in zip(self.rules, state.rules, strict=True)
                if rule_state.notified
            ]

    # ------------------------------------------------------------------ notifying

    def _send(self, events: list[AlertEvent]) -> None:
        for event in events:
            self._dispatcher.submit(event)

    def _dispatch(self, event: AlertEvent) -> None:
        for notifier in self.notifiers:
            call_guarded(
                functools.partial(notifier.notify, event),
                self.counters,
                "notifier_errors",
                f"alert notifier {notifier!r}",
            )

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Wait until every event sent so far reached every notifier (webhooks included).

        Returns False if ``timeout`` seconds passed first. Not part of ``flush()``,
        which a queue listener calls and which must never wait on a webhook.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self._dispatcher.flush(timeout):
            return False
        for notifier in self.notifiers:
            if isinstance(notifier, WebhookNotifier):
                remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
                if not notifier.flush(remaining):
                    return False
        return True

    def close(self, timeout: float = DEFAULT_WEBHOOK_TIMEOUT) -> None:
        """Deliver what is pending within ``timeout`` seconds, stop the threads; idempotent."""
        deadline = time.monotonic() + timeout
        unregister_participant(self)
        self._dispatcher.finish_shutdown(deadline)
        for notifier in self.notifiers:
            if isinstance(notifier, WebhookNotifier):
                notifier.close(max(0.0, deadline - time.monotonic()))
        super().close()
