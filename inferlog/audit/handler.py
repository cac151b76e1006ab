"""``AuditHandler``: every inference call, hash-chained in SQLite.

The handler is a :class:`~inferlog.pipeline.BatchSink`. Behind a
:class:`~inferlog.QueueHandler` (the intended place) it writes each batch the
listener hands it in one transaction, off the calling thread, and acknowledges the
batch only once it is committed: what ``QueueHandler.flush()`` has waited for is on
disk and survives a crash of the process. Attached directly to a logger it writes
each record in its own transaction on the calling thread (durable when the logging
call returns, but slow).

**Never sampled.** An audit trail must see every call, so the handler must sit where
no sampling reaches: on a queue of its own without a ``SamplingFilter``, attached to
the inference logger (see ``docs/audit.md``). It keeps only inference records
(those with ``model_id`` and ``status``) and ignores every other record.

**Redaction.** Unless ``store_raw_payloads=True``, the handler carries its own
:class:`~inferlog.RedactionFilter` (built from ``redaction``), so the trail holds
redacted payloads whatever the other sinks do; each row says whether it was
redacted. Storing raw payloads is a compliance decision: the database then holds
personal data and must be protected and retained as such.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
import weakref
from collections.abc import Mapping
from typing import Any, Final

from inferlog._diagnostics import Counters, report_once
from inferlog._record import copy_record
from inferlog.audit.chain import DEFAULT_KEY_ENV, resolve_key
from inferlog.audit.retention import prune_connection
from inferlog.audit.rows import is_inference_record, record_from_dict, row_from_record
from inferlog.audit.schema import DEFAULT_BUSY_TIMEOUT, SYNCHRONOUS_MODES, Synchronous
from inferlog.audit.writer import AuditWriter
from inferlog.pipeline import BatchSink
from inferlog.pipeline.lifecycle import register_at_fork
from inferlog.pipeline.spool import Spool, record_to_spill_dict
from inferlog.redaction import RedactionFilter
from inferlog.schema import SAMPLE_RATE

__all__ = [
    "DEFAULT_AUDIT_PATH",
    "DEFAULT_RETENTION_INTERVAL",
    "DEFAULT_WRITE_ATTEMPTS",
    "AuditHandler",
]

#: Database file used when no ``path`` is given.
DEFAULT_AUDIT_PATH: Final = "audit.db"
#: Attempts at writing one batch before it is spooled.
DEFAULT_WRITE_ATTEMPTS: Final = 3
#: Seconds before the second attempt; doubled for each further one.
_RETRY_BACKOFF: Final = 0.2
#: Least seconds between two retention runs.
DEFAULT_RETENTION_INTERVAL: Final = 3600.0


def _check_writable(path: str) -> None:
    """Raise ``ValueError`` now if ``path`` can never be written (configuration time)."""
    # Only metadata is read: the database itself is opened with the first record.
    if os.path.isdir(path):
        raise ValueError(f"AuditHandler path={path!r} is a directory; give a database file")
    if os.path.exists(path):
        if not os.access(path, os.R_OK | os.W_OK):
            raise ValueError(f"AuditHandler path={path!r} exists but is not readable and writable")
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ValueError(f"AuditHandler path={path!r}: directory {directory!r} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise ValueError(
            f"AuditHandler path={path!r}: directory {directory!r} is not writable, "
            "so the database (and its -wal file) cannot be created"
        )


def _optional_number(name: str, value: object, *, integer: bool = False) -> None:
    if value is None:
        return
    kinds = (int,) if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
        what = "an integer" if integer else "a number"
        raise ValueError(f"{name} must be None or {what} >= 0, got {value!r}")


class AuditHandler(BatchSink):
    """Writes one hash-chained row per inference call to a SQLite database.

    Args:
        path: The database file; created with mode 0o600 (WAL mode) at the first
            record. Its directory must exist and be writable (checked here, so a bad
            path fails at configuration).
        store_raw_payloads: Keep prompts and outputs unredacted (default False; see
            the module docs).
        redaction: Options of the handler's :class:`~inferlog.RedactionFilter`
            (those of :class:`~inferlog.Redactor`), e.g. ``{"default_mode": "hash"}``.
        hmac_key: Key for an HMAC-SHA256 chain instead of plain SHA-256; prefer
            ``hmac_key_env``, which names an environment variable holding it
            (default ``INFERLOG_AUDIT_KEY``; used only if set).
        synchronous: ``"FULL"`` (default: a commit survives power loss) or
            ``"NORMAL"`` (survives a crash of the process, faster).
        busy_timeout: Seconds to wait for another process's write transaction.
        retention_max_age: Delete rows older than this many seconds (None: keep).
        retention_max_rows: Keep at most this many rows (None: no limit).
        retention_interval: Least seconds between two retention runs.
        spool_path: Where batches that cannot be written are spooled (a file or
            directory; default: the temp directory). Send them again with
            ``inferlog spool resend``.
        level: Handler level.

    Raises:
        ValueError: For a path that cannot be written, an unknown ``synchronous``,
            or a negative limit.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] = DEFAULT_AUDIT_PATH,
        *,
        store_raw_payloads: bool = False,
        redaction: Mapping[str, Any] | None = None,
        hmac_key: str | None = None,
        hmac_key_env: str | None = DEFAULT_KEY_ENV,
        synchronous: Synchronous = "FULL",
        busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
        retention_max_age: float | None = None,
        retention_max_rows: int | None = None,
        retention_interval: float = DEFAULT_RETENTION_INTERVAL,
        spool_path: str | os.PathLike[str] | None = None,
        level: int | str = logging.NOTSET,
    ) -> None:
        super().__init__(level)
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"AuditHandler path must be a str or os.PathLike, got {path!r}")
        self.path = os.fspath(path)
        _check_writable(self.path)
        if synchronous not in SYNCHRONOUS_MODES:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS_MODES}, got {synchronous!r}")
        _optional_number("busy_timeout", busy_timeout)
        _optional_number("retention_max_age", retention_max_age)
        _optional_number("retention_max_rows", retention_max_rows, integer=True)
        _optional_number("retention_interval", retention_interval)
        if not isinstance(store_raw_payloads, bool):
            raise TypeError(f"store_raw_payloads must be True or False, got {store_raw_payloads!r}")
        if hmac_key is not None and not isinstance(hmac_key, str):
            raise TypeError("hmac_key must be a string (better: set hmac_key_env)")
        self.store_raw_payloads = store_raw_payloads
        if not store_raw_payloads:
            self.addFilter(RedactionFilter(**dict(redaction or {})))
        elif redaction:
            raise ValueError("redaction options have no effect with store_raw_payloads=True")
        self.retention_max_age = retention_max_age
        self.retention_max_rows = retention_max_rows
        self.retention_interval = float(retention_interval)
        self._last_retention = float("-inf")
        self._spool = Spool(spool_path)
        #: ``rows`` written, ``ignored`` (not inference records), ``sampled`` (records
        #: a sampler had thinned: the trail is misplaced), ``retried``, ``spooled``,
        #: ``pruned``.
        self.counters = Counters()
        self._writer = AuditWriter(
            self.path,
            key=resolve_key(hmac_key, hmac_key_env),
            synchronous=synchronous,
            busy_timeout=float(busy_timeout),
        )
        owner = weakref.ref(self)

        def _after_fork() -> None:
            handler = owner()
            if handler is not None:
                handler._writer.forget_after_fork()

        register_at_fork(_after_fork)

    def addFilter(self, filter: Any) -> None:
        """Add ``filter``; a :class:`~inferlog.RedactionFilter` is refused with raw payloads.

        ``store_raw_payloads=True`` is a decision about this trail, which must hold
        whatever else is configured: ``inferlog.configure(handlers=[...])`` adds its
        redaction filter to every sink it is given, and that one would undo it.
        """
        if self.__dict__.get("store_raw_payloads") and isinstance(filter, RedactionFilter):
            report_once(
                f"audit-raw-redaction-{id(self)}",
                logging.WARNING,
                "audit trail %s stores raw payloads (store_raw_payloads=True); the "
                "redaction filter added to it is not applied",
                self.path,
            )
            return
        super().addFilter(filter)

    def handle(self, record: logging.LogRecord) -> logging.LogRecord | bool:  # type: ignore[override]
        """Filter (redact) and write a copy of ``record``: other handlers keep theirs."""
        # Behind a queue each sink already gets its own copy; attached to a logger the
        # record is shared with the logger's other handlers, which must not see the
        # redaction done here.
        return super().handle(copy_record(record))

    def prepare(self, record: logging.LogRecord) -> tuple[logging.LogRecord, dict[str, Any]] | None:
        """The record and its row, or None for a record that is not an inference call."""
        if not is_inference_record(record):
            self.counters.add("ignored")
            return None
        rate = record.__dict__.get(SAMPLE_RATE)
        if isinstance(rate, (int, float)) and rate < 1:
            self._sampled_upstream()
        return record, row_from_record(record, redacted=not self.store_raw_payloads)

    def _sampled_upstream(self) -> None:
        self.counters.add("sampled")
        report_once(
            f"audit-sampled-{id(self)}",
            logging.ERROR,
            "audit trail %s receives sampled records (sample_rate < 1): calls that "
            "sampling dropped are missing from it; give it a path without a "
            "SamplingFilter (see attach_audit_trail)",
            self.path,
        )

    def write_batch(self, items: list[Any], deadline: float | None) -> int:
        """Append the batch's rows in one transaction; spool them if that keeps failing.

        Returns ``len(items)`` once the rows are committed or spooled.
        """
        kept = [item for item in items if item is not None]
        if not kept:
            return len(items)
        rows = [row for _, row in kept]
        delay = _RETRY_BACKOFF
        for attempt in range(DEFAULT_WRITE_ATTEMPTS):
            try:
                self._writer.append(rows)
            except (sqlite3.Error, OSError) as exc:
                error: Exception = exc
            else:
                self.counters.add("rows", len(rows))
                self._maybe_prune()
                return len(items)
            last = attempt + 1 == DEFAULT_WRITE_ATTEMPTS
            if (
                last
                or self.cancelled
                or (deadline is not None and time.monotonic() + delay > deadline)
            ):
                break
            self.counters.add("retried")
            if self.wait_cancelled(delay):
                break
            delay *= 2
        self._spool_batch([record for record, _ in kept], error)
        return len(items)

    def _spool_batch(self, records: list[logging.LogRecord], error: Exception) -> None:
        name = self.get_name() or type(self).__name__
        count, where = self._spool.write(
            [record_to_spill_dict(r) for r in records],
            sink=name,
            reason=f"audit write failed: {type(error).__name__}: {error}",
        )
        self.counters.add("spooled", count)
        report_once(
            f"audit-write-failed-{id(self)}",
            logging.ERROR,
            "audit trail %s could not be written (%s: %s); %d rows spooled to %s "
            "(send them again with 'inferlog spool resend'); further failures are counted",
            self.path,
            type(error).__name__,
            error,
            count,
            where,
        )

    def _maybe_prune(self) -> None:
        if self.retention_max_age is None and self.retention_max_rows is None:
            return
        now = time.monotonic()
        if now - self._last_retention < self.retention_interval:
            return
        self._last_retention = now
        try:
            deleted = self._writer.run(
                lambda conn: prune_connection(
                    conn,
                    max_age=self.retention_max_age,
                    max_rows=self.retention_max_rows,
                    now=time.time(),
                )
            )
        except sqlite3.Error as exc:
            report_once(
                f"audit-retention-{id(self)}",
                logging.WARNING,
                "audit retention on %s failed (%s: %s); rows are kept",
                self.path,
                type(exc).__name__,
                exc,
            )
            return
        self.counters.add("pruned", deleted)

    def resend_items(self, items: list[dict[str, Any]]) -> int:
        """Write spooled record dicts (``inferlog spool resend``); return how many.

        Raises ``sqlite3.Error`` if the database still cannot be written.
        """
        rows = [
            row_from_record(record, redacted=not self.store_raw_payloads)
            for record in map(record_from_dict, items)
            if is_inference_record(record)
        ]
        self._writer.append(rows)
        self.counters.add("rows", len(rows))
        return len(items)

    def close(self) -> None:
        """Close the database connection; idempotent."""
        self._writer.close()
        super().close()
