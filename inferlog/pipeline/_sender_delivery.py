"""How a sender sink delivers what its sender thread took off the buffer.

The :class:`Courier` sends a chunk as the sink plans it, request by request, each
under the retry policy; splits a request the service calls malformed; stops for
good on a credentials failure; and, when the service stays unreachable, gives up
the request and everything after it (the sink spools them, so nothing newer
overtakes them) until a probe finds the service back. It tracks which entries are
still in flight, so that a shutdown deadline spools exactly those.

Each sink has two spool files of its own (:class:`SinkSpools`): one for what may be
sent later (an outage, a credentials failure, a shutdown deadline), sent again
automatically, and one for what the service refused for good (too old, malformed),
kept with the reason for a human to look at.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Final, Protocol

from inferlog import _feedback
from inferlog._diagnostics import Counters, report, report_once
from inferlog.pipeline._sender_buffer import Entry
from inferlog.pipeline.retry import Attempted, RetryPolicy, Verdict, retry_call
from inferlog.pipeline.spool import Spool

__all__ = ["BEHIND_OUTAGE", "Courier", "SinkHooks", "SinkSpools", "group_by_key"]

#: Spool reason of entries that waited behind a request the service did not take.
BEHIND_OUTAGE: Final = "service unreachable; queued behind earlier spooled records"
_UNSAFE_CHARS: Final = re.compile(r"[^A-Za-z0-9._-]")
_RESENDABLE: Final = "inferlog-spill-{pid}-{sink}.jsonl"
_REFUSED: Final = "inferlog-refused-{pid}-{sink}.jsonl"


class SinkHooks(Protocol):
    """The parts of a sender sink the courier calls (its public hooks)."""

    def get_name(self) -> str | None: ...

    def send_request(self, entries: list[Entry]) -> list[tuple[Entry, str]]: ...

    def classify_error(self, exc: BaseException) -> Verdict: ...

    def plan_requests(
        self, entries: list[Entry]
    ) -> tuple[list[list[Entry]], list[tuple[Entry, str]]]: ...

    def split_request(
        self, entries: list[Entry], exc: BaseException
    ) -> list[list[Entry]] | None: ...

    def spool_dict(self, entry: Entry) -> dict[str, Any]: ...

    def wait_cancelled(self, seconds: float) -> bool: ...


def group_by_key(entries: list[Entry]) -> list[list[Entry]]:
    """Split ``entries`` by :attr:`Entry.key`, keeping their order within each key."""
    groups: dict[Hashable, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.key, []).append(entry)
    return list(groups.values())


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True


class SinkSpools:
    """The spool files of one sink: resendable and refused, per process.

    ``path`` is the ``spool`` option: a directory (default: the temp directory)
    that gets one file of each kind per process and sink, or one file used for both.
    """

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = os.fspath(path) if path is not None else None

    def _directory(self) -> str | None:
        if self.path is None:
            return tempfile.gettempdir()
        if self.path.endswith(os.sep) or os.path.isdir(self.path):
            return self.path
        return None  # one file for everything

    def _file(self, pattern: str, label: str) -> Spool:
        directory = self._directory()
        if directory is None:
            return Spool(self.path)
        safe = _UNSAFE_CHARS.sub("_", label)
        return Spool(os.path.join(directory, pattern.format(pid=os.getpid(), sink=safe)))

    def resendable(self, label: str) -> Spool:
        """This process's spool of records that may be sent later."""
        return self._file(_RESENDABLE, label)

    def refused(self, label: str) -> Spool:
        """This process's spool of records the service refused for good."""
        return self._file(_REFUSED, label)

    def left_over(self, label: str) -> list[str]:
        """Resendable files of ``label`` from this process and from processes gone."""
        directory = self._directory()
        if directory is None:
            return [self.path] if self.path and os.path.exists(self.path) else []
        safe = _UNSAFE_CHARS.sub("_", label)
        pattern = re.compile(r"inferlog-spill-(\d+)-" + re.escape(safe) + r"\.jsonl")
        try:
            names = sorted(os.listdir(directory))
        except OSError:
            return []
        found = []
        for name in names:
            match = pattern.fullmatch(name)
            if match and (
                int(match.group(1)) == os.getpid() or not _pid_alive(int(match.group(1)))
            ):
                found.append(os.path.join(directory, name))
        return found


class Courier:
    """Delivery, retries, outage and spooling for one sink (used by its sender thread)."""

    def __init__(
        self,
        sink: SinkHooks,
        *,
        policy: RetryPolicy,
        spools: SinkSpools,
        counters: Counters,
        cond: threading.Condition,
    ) -> None:
        self._sink = sink
        self.policy = policy
        self.spools = spools
        self.counters = counters
        self._cond = cond
        #: Entries handed to :meth:`ship` and not yet delivered or given up.
        self.inflight: list[Entry] = []
        #: Set when a shutdown spooled :attr:`inflight` itself.
        self.inflight_spooled = False
        #: The credentials failure that stopped sending, if any.
        self.halted: str | None = None
        #: ``time.monotonic()`` at which the service stopped answering, while it does not.
        self.outage_since: float | None = None
        self.next_probe = 0.0
        #: The shutdown deadline, once known: no retry waits past it.
        self.stop_at: float | None = None
        #: Set by a shutdown: a failure then is not the start of an outage.
        self.closing = False

    @property
    def label(self) -> str:
        """The sink's name in the spool and in diagnostics."""
        return self._sink.get_name() or type(self._sink).__name__

    @property
    def probe_every(self) -> float:
        """Seconds between two attempts to reach the service during an outage."""
        return self.policy.maximum

    def ship(self, entries: list[Entry], *, keep_failed: bool = False) -> list[Entry]:
        """Plan and deliver ``entries`` in order.

        Refusals go to the refused spool. What could not be sent (outage, stopped
        sender, shutdown) goes to the resendable spool, or, with ``keep_failed``, is
        returned instead (a resend leaves it where it was).
        """
        if not entries:
            return []
        with self._cond:
            self.inflight = list(entries)
            self.inflight_spooled = False
        failed: list[Entry] = []

        def fail(part: Sequence[Entry], reason: str) -> None:
            if keep_failed:
                self._resolve(part)
                failed.extend(part)
            else:
                self.give_up(part, reason)

        if self.halted is not None:
            fail(entries, f"sending stopped: {self.halted}")
            return failed
        if self.outage_since is not None:
            fail(entries, BEHIND_OUTAGE)
            return failed
        requests, diverted = self._sink.plan_requests(entries)
        for entry, reason in diverted:
            self.refuse([entry], reason)
        for index, request in enumerate(requests):
            delivered, reason = self._deliver(request)
            if not delivered:
                # Parts of a split request may have gone already.
                fail(self._pending(request), reason)
                fail([e for later in requests[index + 1 :] for e in later], BEHIND_OUTAGE)
                break
        return failed

    def done(self) -> None:
        """Forget the entries of the last :meth:`ship` (all accounted for by now)."""
        with self._cond:
            self.inflight = []
            self.inflight_spooled = False

    def take_stuck(self) -> list[Entry]:
        """At the shutdown deadline: return the entries still in flight, once."""
        with self._cond:
            if self.inflight_spooled or not self.inflight:
                return []
            self.inflight_spooled = True
            return list(self.inflight)

    def _pending(self, entries: Sequence[Entry]) -> list[Entry]:
        with self._cond:
            flying = {id(entry) for entry in self.inflight}
        return [entry for entry in entries if id(entry) in flying]

    def _resolve(self, entries: Sequence[Entry]) -> bool:
        with self._cond:
            if self.inflight_spooled:
                return False  # the shutdown deadline spooled them already
            finished = {id(entry) for entry in entries}
            self.inflight = [e for e in self.inflight if id(e) not in finished]
            return True

    def give_up(self, entries: Sequence[Entry], reason: str) -> None:
        """Spool in-flight ``entries`` for a later resend (unless a shutdown did)."""
        if entries and self._resolve(entries):
            self.write_spool(entries, reason)

    def refuse(self, entries: Sequence[Entry], reason: str) -> None:
        """Count in-flight ``entries`` as refused for good and keep them with ``reason``."""
        if entries and self._resolve(entries):
            self.counters.add("rejected", len(entries))
            self.write_spool(entries, reason, refused=True)

    def write_spool(
        self, entries: Sequence[Entry], reason: str, *, refused: bool = False
    ) -> tuple[int, str]:
        """Append ``entries`` to a spool with ``reason``; returns ``(count, where)``."""
        if not entries:
            return 0, ""
        label = self.label
        spool = self.spools.refused(label) if refused else self.spools.resendable(label)
        count, where = spool.write(
            [self._sink.spool_dict(entry) for entry in entries], sink=label, reason=reason
        )
        self.counters.add("spooled", count)
        return count, where

    def _attempt(self, request: list[Entry]) -> Attempted[list[tuple[Entry, str]]]:
        sink = self._sink

        def call() -> list[tuple[Entry, str]]:
            with _feedback.suppress_logging(network=True):
                return sink.send_request(request)

        return retry_call(
            call,
            self.policy,
            sink.classify_error,
            wait=sink.wait_cancelled,
            deadline=self.stop_at,
            on_retry=lambda exc, delay: self.counters.add("retried", len(request)),
        )

    def _deliver(self, request: list[Entry]) -> tuple[bool, str]:
        """Send one request with retries: ``(True, "")``, or False and why it was not sent.

        Refused entries are dealt with here; a False leaves ``request`` in flight.
        """
        if not request:
            return True, ""
        outcome = self._attempt(request)
        if outcome.ok:
            refused = list(outcome.value or ())
            self.counters.add("sent", len(request) - len(refused))
            gone = {id(entry) for entry, _ in refused}
            self._resolve([e for e in request if id(e) not in gone])
            for entry, reason in refused:
                self.refuse([entry], reason)
            return True, ""
        exc = outcome.error
        assert exc is not None
        if outcome.verdict is Verdict.SPLIT:
            parts = self._sink.split_request(request, exc)
            if parts is not None:
                for part in parts:
                    delivered, reason = self._deliver(part)
                    if not delivered:
                        return False, reason
                return True, ""
            outcome.verdict = Verdict.REJECT
        if outcome.verdict is Verdict.CREDENTIALS:
            self._halt(exc)
            return False, f"sending stopped: {self.halted}"
        if outcome.verdict is Verdict.REJECT:
            self.refuse(request, f"refused by the service: {exc!r}")
            return True, ""
        # Retries ran out, or the shutdown deadline cancelled them.
        if not outcome.cancelled and not self.closing:
            self.outage_since = time.monotonic()
            self.next_probe = self.outage_since + self.probe_every
            report(
                logging.WARNING,
                "%s: service unreachable (%r); spooling until it answers",
                self.label,
                exc,
            )
        return False, f"undelivered after {outcome.attempts} attempt(s): {exc!r}"

    def _halt(self, exc: BaseException) -> None:
        self.halted = f"credentials refused or missing: {exc!r}"
        report_once(
            f"sender-credentials-{id(self)}",
            logging.ERROR,
            "%s: %s. Sending stopped; records go to the spool (%s); send them later "
            "with inferlog.pipeline.resend(path, handler).",
            self.label,
            self.halted,
            self.spools.resendable(self.label).file_path(),
        )

    def resend(
        self,
        items: list[dict[str, Any]],
        rebuild: Callable[[dict[str, Any]], Entry | list[Entry] | None],
        run: int,
    ) -> int:
        """Ship spooled ``items`` (rebuilt into entries) ``run`` at a time, in order.

        Returns how many from the start are finished with (delivered or refused);
        stops at the first run the service did not take entirely.
        """
        finished = 0
        for start in range(0, len(items), run):
            chunk = items[start : start + run]
            entries: list[Entry] = []
            for item in chunk:
                made = rebuild(item)
                if made is None:
                    self.counters.add("rejected")
                    self.spools.refused(self.label).write(
                        [item], sink=self.label, reason="cannot be rebuilt for sending"
                    )
                    continue
                entries.extend(made if isinstance(made, list) else [made])
            failed = self.ship(entries, keep_failed=True)
            self.done()
            if failed:
                break
            finished += len(chunk)
        return finished

    def resend_left_over(self, resend_file: Callable[[str], object]) -> None:
        """Send this sink's resendable spool files again (ends an outage if it works)."""
        self.next_probe = time.monotonic() + self.probe_every
        self.outage_since = None
        for path in self.spools.left_over(self.label):
            try:
                resend_file(path)
            except Exception as exc:
                report(logging.WARNING, "%s: cannot resend %s: %r", self.label, path, exc)
                return
            if self.outage_since is not None or self.halted is not None:
                return
