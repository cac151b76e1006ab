"""One retry policy for every network sink: what to retry, how long to wait, when to stop.

A failed call is retried only when retrying can succeed (throttling, a 5xx answer, a
timeout, a dropped connection); the sink's own classifier says which failures those
are (:class:`Verdict`). Waits grow exponentially up to a cap, each drawn uniformly
from zero to that bound ("full jitter", so that many processes that failed together
do not retry together), and the retries of one call stop at a total deadline.
Sleeping goes through an injectable ``wait`` callable (a sink passes its
``wait_cancelled``, which a shutdown wakes at once) and time through an injectable
clock, so tests run the policy without sleeping.
"""

from __future__ import annotations

import dataclasses
import enum
import random
import socket
import time
from collections.abc import Callable
from typing import Final, Generic, TypeVar

from inferlog._validation import check_seconds

__all__ = [
    "DEFAULT_RETRY_DEADLINE",
    "DEFAULT_RETRY_INITIAL",
    "DEFAULT_RETRY_MAXIMUM",
    "DEFAULT_RETRY_MULTIPLIER",
    "Attempted",
    "RetryPolicy",
    "Verdict",
    "classify_transport_error",
    "retry_call",
]

#: First backoff bound, in seconds.
DEFAULT_RETRY_INITIAL: Final = 0.2
#: Largest backoff bound, in seconds.
DEFAULT_RETRY_MAXIMUM: Final = 10.0
#: Factor by which the bound grows after each failed attempt.
DEFAULT_RETRY_MULTIPLIER: Final = 2.0
#: Longest the retries of one call may take, in seconds, before it is given up.
DEFAULT_RETRY_DEADLINE: Final = 60.0

T = TypeVar("T")


class Verdict(enum.Enum):
    """What a sink does with a call that failed with a given exception."""

    #: Transient (throttling, 5xx, timeout, connection): wait and try again.
    RETRY = "retry"
    #: The request itself is wrong but its parts may not be: split or fix it and send again.
    SPLIT = "split"
    #: Credentials are missing, expired or refused: nothing will succeed until a human acts.
    CREDENTIALS = "credentials"
    #: The request can never succeed as it is: give it up (to the spool) with the reason.
    REJECT = "reject"


def classify_transport_error(exc: BaseException) -> Verdict | None:
    """Return :attr:`Verdict.RETRY` for the transport failures every client shares.

    Timeouts, refused or reset connections and DNS failures are worth retrying;
    anything else returns ``None`` for the sink's own classifier to decide.
    """
    if isinstance(exc, (TimeoutError, ConnectionError, socket.gaierror, socket.timeout)):
        return Verdict.RETRY
    return None


class RetryPolicy:
    """Capped exponential backoff with full jitter and a total deadline.

    Args:
        initial: Bound of the first wait, in seconds.
        maximum: Cap on any wait's bound, in seconds.
        multiplier: Growth of the bound per attempt (``>= 1``).
        deadline: Seconds after the first attempt after which no retry starts.
        rng: Source of jitter; a seeded ``random.Random`` makes delays reproducible.
    """

    def __init__(
        self,
        *,
        initial: float = DEFAULT_RETRY_INITIAL,
        maximum: float = DEFAULT_RETRY_MAXIMUM,
        multiplier: float = DEFAULT_RETRY_MULTIPLIER,
        deadline: float = DEFAULT_RETRY_DEADLINE,
        rng: random.Random | None = None,
    ) -> None:
        self.initial = check_seconds("retry_initial", initial, positive=True)
        self.maximum = check_seconds("retry_maximum", maximum, positive=True)
        if self.maximum < self.initial:
            raise ValueError(
                f"retry_maximum ({maximum!r}) must be at least retry_initial ({initial!r})"
            )
        if (
            isinstance(multiplier, bool)
            or not isinstance(multiplier, (int, float))
            or not (1 <= multiplier < float("inf"))
        ):
            raise ValueError(f"retry_multiplier must be a finite number >= 1, got {multiplier!r}")
        self.multiplier = float(multiplier)
        self.deadline = check_seconds("retry_deadline", deadline)
        self._rng = rng or random.Random()

    def bound(self, attempt: int) -> float:
        """Return the upper bound of the wait after failed attempt number ``attempt`` (0-based)."""
        # Capped before exponentiation overflows: the bound reaches the cap long before.
        exponent = min(attempt, 64)
        return float(min(self.maximum, self.initial * self.multiplier**exponent))

    def delay(self, attempt: int) -> float:
        """Return the wait after failed attempt ``attempt``: uniform in ``[0, bound]``."""
        return self._rng.uniform(0.0, self.bound(attempt))

    def __repr__(self) -> str:
        return (
            f"RetryPolicy(initial={self.initial}, maximum={self.maximum}, "
            f"multiplier={self.multiplier}, deadline={self.deadline})"
        )


@dataclasses.dataclass
class Attempted(Generic[T]):
    """The outcome of :func:`retry_call`: a value, or the last error and what it means."""

    #: What the call returned, when it succeeded.
    value: T | None = None
    #: The last exception, when it did not.
    error: BaseException | None = None
    #: How the last exception was classified (``None`` on success).
    verdict: Verdict | None = None
    #: Calls made.
    attempts: int = 0
    #: True when the retries stopped because the wait was cancelled (shutdown).
    cancelled: bool = False
    #: True when the retries stopped because the deadline passed.
    exhausted: bool = False

    @property
    def ok(self) -> bool:
        """Whether the call succeeded."""
        return self.error is None


def retry_call(
    call: Callable[[], T],
    policy: RetryPolicy,
    classify: Callable[[BaseException], Verdict],
    *,
    wait: Callable[[float], bool],
    clock: Callable[[], float] = time.monotonic,
    deadline: float | None = None,
    on_retry: Callable[[BaseException, float], None] | None = None,
) -> Attempted[T]:
    """Call ``call`` until it succeeds, fails for good, or time runs out.

    ``classify`` decides what each exception means; only :attr:`Verdict.RETRY` is
    retried. ``wait(seconds)`` sleeps and returns True when it was cancelled (then no
    further attempt is made). No retry starts once ``policy.deadline`` seconds have
    passed since the first attempt, or when its wait would end after ``deadline``
    (an absolute ``clock()`` value, e.g. a shutdown deadline). ``on_retry(exc,
    delay)`` is told of each retry before its wait. Never raises what ``call``
    raises (only ``BaseException`` that is not an ``Exception`` goes through).
    """
    started = clock()
    attempt = 0
    while True:
        try:
            value = call()
        except Exception as exc:
            attempt += 1
            verdict = classify(exc)
            outcome: Attempted[T] = Attempted(error=exc, verdict=verdict, attempts=attempt)
            if verdict is not Verdict.RETRY:
                return outcome
            delay = policy.delay(attempt - 1)
            now = clock()
            if now + delay - started > policy.deadline or (
                deadline is not None and now + delay >= deadline
            ):
                outcome.exhausted = True
                return outcome
            if on_retry is not None:
                on_retry(exc, delay)
            if wait(delay):
                outcome.cancelled = True
                return outcome
            continue
        return Attempted(value=value, attempts=attempt + 1)
