"""How the file sink copes with a disk that refuses writes, and its fsync policy.

A mixin of :class:`~inferlog.handlers.RotatingJsonFileHandler` (the attributes it
uses are set by the handler's ``_init_state``): a failing write is reported once,
records are held in memory up to ``max_pending_bytes`` and written when the disk
recovers (full disk, read-only remount), or, for errors that waiting will not cure
(:data:`~inferlog.handlers._file_options.PERMANENT_ERRNOS`), refused so that the
queue spools them; the recovery is reported with what was dropped meanwhile.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from inferlog._diagnostics import Counters, report, report_once
from inferlog.handlers._file_options import PERMANENT_ERRNOS, WRITE_ERRNOS_HINT

__all__ = ["_WriteFailures"]


class _WriteFailures:
    """Write-failure and fsync handling of the file sink."""

    # Set by RotatingJsonFileHandler; declared for the type checker.
    baseFilename: str
    counters: Counters
    fsync: str
    fsync_interval: float
    max_pending_bytes: int
    retry_interval: float
    _fd: int | None
    _failing: OSError | None
    _failed_attempts: int
    _dropped_in_outage: int
    _next_retry: float
    _last_fsync: float

    if TYPE_CHECKING:

        def _close_fds(self) -> Any: ...

    def _drop(self, count: int) -> None:
        self.counters.add("records_dropped", count)
        self._dropped_in_outage += count

    def _maybe_fsync(self, *, force: bool) -> None:
        """Apply the fsync policy; a failure is reported and counted, never raised."""
        fd = self._fd
        if fd is None or self.fsync == "never":
            return
        now = time.monotonic()
        if force or now - self._last_fsync >= self.fsync_interval:
            self._last_fsync = now
            try:
                os.fsync(fd)
            except OSError as err:
                self._on_fsync_error(err)

    def _on_fsync_error(self, err: OSError) -> None:
        self.counters.add("fsync_errors")
        report_once(
            f"file-fsync-{id(self)}",
            logging.ERROR,
            "fsync of %s failed (%s); records written since the last successful fsync "
            "may not survive a power loss; further fsync errors are only counted",
            self.baseFilename,
            err,
        )

    def _on_write_error(self, err: OSError, now: float) -> None:
        self.counters.add("write_errors")
        self._failed_attempts += 1
        self._next_retry = now + self.retry_interval
        # A new descriptor on the next attempt copes with a deleted file or
        # directory, a remount and an fd the kernel has given up on.
        self._close_fds()
        if self._failing is None:
            self._failing = err
            self._dropped_in_outage = 0
            hint = WRITE_ERRNOS_HINT.get(err.errno or 0, "the write failed")
            if err.errno in PERMANENT_ERRNOS:
                report(
                    logging.ERROR,
                    "cannot write to %s (%s: %s); records go to the queue's spool while "
                    "it fails, retried every %gs",
                    self.baseFilename,
                    hint,
                    err,
                    self.retry_interval,
                )
                return
            report(
                logging.ERROR,
                "cannot write to %s (%s: %s); holding up to %d bytes of records in "
                "memory and retrying every %gs",
                self.baseFilename,
                hint,
                err,
                self.max_pending_bytes,
                self.retry_interval,
            )

    def _on_recovered(self) -> None:
        report(
            logging.WARNING,
            "writing to %s resumed after %d failed attempts; %d records were dropped "
            "while it failed",
            self.baseFilename,
            self._failed_attempts,
            self._dropped_in_outage,
        )
        self._failing = None
        self._failed_attempts = 0
        self._dropped_in_outage = 0
