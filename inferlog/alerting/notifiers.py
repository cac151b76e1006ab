"""Where alert events go: user callbacks, a log record, an HTTP webhook.

A notifier has one method, ``notify(event)``. The alert handler calls every
notifier from its own dispatcher thread, never from the thread that logged, so a slow
callback never delays logging, and the alert record enters the pipeline like any
other record (a queue's listener thread would keep it out). The webhook does its
network I/O on a thread of its own, so a receiver that is down or hangs delays
nothing but its own retries.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Final, Protocol, runtime_checkable

from inferlog._diagnostics import Counters, report_once
from inferlog._validation import check_level
from inferlog.alerting._worker import NOTIFIER_STAGE, BackgroundWorker
from inferlog.alerting.events import FIRING, AlertEvent
from inferlog.pipeline import ShutdownReport

__all__ = [
    "DEFAULT_ALERT_LOGGER",
    "DEFAULT_WEBHOOK_BACKOFF",
    "DEFAULT_WEBHOOK_QUEUE_SIZE",
    "DEFAULT_WEBHOOK_RETRIES",
    "DEFAULT_WEBHOOK_TIMEOUT",
    "CallbackNotifier",
    "LogNotifier",
    "Notifier",
    "WebhookNotifier",
    "check_webhook_options",
]

#: Logger of the alert records.
DEFAULT_ALERT_LOGGER: Final = "inferlog.alerts"
#: Seconds one webhook POST may take (connect and read).
DEFAULT_WEBHOOK_TIMEOUT: Final = 5.0
#: Further attempts after a failed POST.
DEFAULT_WEBHOOK_RETRIES: Final = 3
#: Seconds before the first retry; each further one waits twice as long.
DEFAULT_WEBHOOK_BACKOFF: Final = 0.5
#: Longest pause between two attempts.
_MAX_BACKOFF: Final = 30.0
#: Events that may wait for the webhook before new ones are dropped (and counted).
DEFAULT_WEBHOOK_QUEUE_SIZE: Final = 1000
# Client errors that a retry cannot fix; 408 and 429 are worth retrying.
_RETRYABLE_4XX: Final = frozenset({408, 425, 429})


def check_webhook_options(
    timeout: object, retries: object, backoff: object, queue_size: object
) -> None:
    """Raise ``ValueError`` naming the first webhook option that is out of range."""
    for name, value in (("webhook_timeout", timeout), ("webhook_backoff", backoff)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise ValueError(f"{name} must be a number of seconds >= 0, got {value!r}")
    if timeout == 0:
        raise ValueError("webhook_timeout must be > 0")
    for name, count in (("webhook_retries", retries), ("webhook_queue_size", queue_size)):
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {count!r}")


@runtime_checkable
class Notifier(Protocol):
    """Anything with ``notify(event)``; called on the alert handler's dispatcher thread."""

    def notify(self, event: AlertEvent) -> None:
        """Deliver ``event``; may raise (the handler counts and reports it)."""


class CallbackNotifier:
    """Calls ``callback(event)`` with each :class:`~inferlog.alerting.AlertEvent`."""

    def __init__(self, callback: Callable[[AlertEvent], object]) -> None:
        if not callable(callback):
            raise TypeError(f"callbacks must be callables taking an AlertEvent, got {callback!r}")
        self.callback = callback

    def notify(self, event: AlertEvent) -> None:
        """Call the callback."""
        self.callback(event)


class LogNotifier:
    """Logs each event on ``logger``: firing at ``level``, resolved at ``resolved_level``.

    The record's message is the event's sentence; its ``alert`` field holds
    :meth:`AlertEvent.to_dict`, and ``alert_state``/``alert_rule`` and the key's
    fields (``model_id``, ``model_version``...) are fields of their own. It has no
    ``status`` field, so the alert handler never counts it as an inference call.
    """

    def __init__(
        self,
        logger: str = DEFAULT_ALERT_LOGGER,
        *,
        level: int | str = logging.CRITICAL,
        resolved_level: int | str = logging.WARNING,
    ) -> None:
        if not isinstance(logger, str):
            raise TypeError(f"alert_logger must be a logger name, got {logger!r}")
        self.logger = logging.getLogger(logger)
        self.level = check_level("alert_level", level)
        self.resolved_level = check_level("resolved_level", resolved_level)

    def notify(self, event: AlertEvent) -> None:
        """Log the event."""
        level = self.level if event.state == FIRING else self.resolved_level
        extra: dict[str, object] = {
            "alert": event.to_dict(),
            "alert_state": event.state,
            "alert_rule": event.rule,
        }
        for name, value in event.key.items():
            extra.setdefault(name, value)
        self.logger.log(level, "alert %s: %s", event.state, event.message, extra=extra)


class WebhookNotifier:
    """POSTs each event as JSON to ``url`` from a background thread, with retries.

    Args:
        url: ``http://`` or ``https://`` address.
        timeout: Seconds each attempt may take.
        retries: Further attempts after a failure (connection refused, timeout, 5xx,
            408, 425, 429); other 4xx answers are not retried.
        backoff: Seconds before the first retry, doubled for each next one (at most 30).
        headers: Extra request headers (e.g. an authorization token).
        queue_size: Events waiting for delivery before new ones are dropped.

    Failures never reach the application or the logging call: they are counted in
    :attr:`counters` (``sent``, ``failed``, ``retries``, ``dropped``) and reported once
    on the diagnostics channel. The thread joins the pipeline's shutdown: at the
    deadline, retries stop and waiting events are counted as dropped.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = DEFAULT_WEBHOOK_TIMEOUT,
        retries: int = DEFAULT_WEBHOOK_RETRIES,
        backoff: float = DEFAULT_WEBHOOK_BACKOFF,
        headers: Mapping[str, str] | None = None,
        queue_size: int = DEFAULT_WEBHOOK_QUEUE_SIZE,
    ) -> None:
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook_url must be an http:// or https:// URL, got {url!r}")
        check_webhook_options(timeout, retries, backoff, queue_size)
        self.url = url
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self.headers = {"Content-Type": "application/json", **dict(headers or {})}
        self.counters = Counters()
        self._worker: BackgroundWorker[AlertEvent] = BackgroundWorker(
            "inferlog-alert-webhook",
            self._post,
            capacity=max(1, queue_size),
            counters=self.counters,
            stage=NOTIFIER_STAGE,
        )

    def start(self) -> None:
        """Start the thread now (it also starts with the first event)."""
        self._worker.start()

    def notify(self, event: AlertEvent) -> None:
        """Queue ``event`` for the webhook thread; never blocks."""
        self._worker.submit(event)

    def _attempt(self, body: bytes) -> tuple[bool, bool, str]:
        """One POST: (delivered, worth retrying, what happened)."""
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
                return True, False, f"HTTP {response.status}"
        except urllib.error.HTTPError as err:
            retry = err.code >= 500 or err.code in _RETRYABLE_4XX
            return False, retry, f"HTTP {err.code}"
        except (OSError, ValueError) as err:  # refused, timed out, reset, bad URL
            return False, True, f"{type(err).__name__}: {err}"

    def _post(self, event: AlertEvent) -> None:
        body = json.dumps(event.to_dict(), ensure_ascii=False).encode("utf-8")
        delay = self.backoff
        outcome = ""
        for attempt in range(self.retries + 1):
            if attempt:
                self.counters.add("retries")
                if self._worker.wait_cancelled(delay):
                    break
                delay = min(delay * 2, _MAX_BACKOFF)
            delivered, retry, outcome = self._attempt(body)
            if delivered:
                self.counters.add("sent")
                return
            if not retry or self._worker.cancelled:
                break
        self.counters.add("failed")
        report_once(
            f"alert-webhook-{self.url}",
            logging.WARNING,
            "alert webhook %s failed (%s); alerts still go to the other notifiers, "
            "further failures are counted, not shown",
            self.url,
            outcome,
        )

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until every queued event was posted or given up; False on timeout."""
        return self._worker.flush(timeout)

    def close(self, timeout: float) -> ShutdownReport:
        """Stop the thread within ``timeout`` seconds (retries are cut short)."""
        return self._worker.close(timeout)
