"""Rotating JSON-lines files: the embedded default sink and the cloud sinks' spill target.

:class:`RotatingJsonFileHandler` writes one JSON object per line to a local file and
rotates it by size, by time (on calendar boundaries) or both. Rotated files get names
that sort by time and are compressed with gzip on a background thread.

Several processes of one job may point a handler at the same file. Every write and
every rotation happens under an exclusive ``flock`` on a hidden lock file next to the
log file, whose first bytes count rotations; a writer that sees the count change
reopens the path, so a file another process has rotated away is never written to.
Each batch of lines
goes to the kernel in one ``write`` call on an ``O_APPEND`` descriptor, and a failed
write is truncated away, so a reader sees whole lines only, apart from at most one
torn last line left by a process killed in the middle of a ``write``. See
``docs/files.md`` for the choice and its cost.
"""

from __future__ import annotations

import collections
import importlib
import logging
import logging.handlers
import os
import time
from collections.abc import Callable, Iterable
from typing import Final

from inferlog._diagnostics import Counters, report
from inferlog.handlers._file_failures import _WriteFailures
from inferlog.handlers._file_options import (
    DEFAULT_BACKUP_COUNT,
    DEFAULT_BATCH_MAX_BYTES,
    DEFAULT_CLOSE_TIMEOUT_SECONDS,
    DEFAULT_COMPRESS_LEVEL,
    DEFAULT_FILE_MODE,
    DEFAULT_FSYNC_INTERVAL_SECONDS,
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PENDING_BYTES,
    DEFAULT_RETRY_INTERVAL_SECONDS,
    FLUSH_MODES,
    FSYNC_POLICIES,
    PERMANENT_ERRNOS,
    check_file_options,
)
from inferlog.handlers._lines import encode_line, encode_text
from inferlog.handlers._maintenance import _BackgroundMaintenance
from inferlog.handlers._rotation import (
    DEFAULT_LOG_PATH,
    WHEN_VALUES,
    _rotated_pattern,
    _split_name,
    log_files,
    next_rollover_time,
    parse_rotation_stamp,
)
from inferlog.handlers._shared_file import Opener, _SharedFile
from inferlog.pipeline.batch import BatchSink
from inferlog.pipeline.lifecycle import (
    STAGE_SINK,
    ShutdownReport,
    register_participant,
    unregister_participant,
)

__all__ = [
    "DEFAULT_BACKUP_COUNT",
    "DEFAULT_BATCH_MAX_BYTES",
    "DEFAULT_CLOSE_TIMEOUT_SECONDS",
    "DEFAULT_COMPRESS_LEVEL",
    "DEFAULT_FILE_MODE",
    "DEFAULT_FSYNC_INTERVAL_SECONDS",
    "DEFAULT_LOG_PATH",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PENDING_BYTES",
    "DEFAULT_RETRY_INTERVAL_SECONDS",
    "FLUSH_MODES",
    "FSYNC_POLICIES",
    "WHEN_VALUES",
    "RotatingJsonFileHandler",
    "log_files",
    "next_rollover_time",
    "parse_rotation_stamp",
]


class RotatingJsonFileHandler(
    _SharedFile,
    _BackgroundMaintenance,
    _WriteFailures,
    BatchSink,
    logging.handlers.BaseRotatingHandler,
):
    """Write records as JSON lines to a local file, rotating by size and/or time.

    Nothing is opened in ``__init__``: the directory, the file and the lock file are
    created on the first write. Writes go to the operating system on every record
    (``flush_mode="record"``, the default) or when ``flush()`` is called, the buffer
    reaches ``batch_max_bytes`` or a record at ``flush_level`` or above arrives
    (``flush_mode="batch"``). A killed process therefore loses at most the records
    not yet written; ``fsync`` adds protection against power loss.

    Args:
        filename: the active file; rotated files sit next to it as
            ``<stem>.<UTC stamp><suffix>[.gz]``, e.g.
            ``inferlog.20261129T070000.000000Z.jsonl.gz``.
        max_bytes: rotate before a write would take the file past this size;
            0 disables size rotation.
        when: time rotation unit (``"S"``, ``"M"``, ``"H"``, ``"D"``, ``"MIDNIGHT"``,
            ``"W0"``-``"W6"``), or None for none; see :func:`next_rollover_time`.
        interval: how many ``when`` units make one rotation period.
        utc: align time boundaries to UTC (default) or to local time.
        backup_count: rotated files to keep, or None for no limit.
        max_age_seconds: delete rotated files older than this, or None.
        compress: gzip rotated files on a background thread.
        compress_level: gzip level, 1 (fast) to 9 (small).
        file_mode: permission bits of created files (directories get the matching
            search bits).
        flush_mode: ``"record"`` or ``"batch"``, see above.
        batch_max_bytes: in batch mode, buffered bytes that force a write.
        flush_level: in batch mode, records at this level or above are written at once.
        fsync: ``"never"`` (survives a process crash, not power loss), ``"always"``
            (after every write) or ``"interval"`` (at most ``fsync_interval`` apart).
        fsync_interval: seconds between two fsyncs with ``fsync="interval"``.
        max_pending_bytes: records held in memory while the file cannot be written;
            beyond that new records are dropped and counted.
        retry_interval: seconds between two attempts on a failing file.
        lock: coordinate with other processes through an ``flock``; turn off only
            when this handler is the file's single writer.
        opener: ``opener(path, flags) -> fd`` used to open the log file, as for the
            built-in ``open``; the file mode is applied afterwards.
        clock: returns the current epoch time; rotation, names and retention read
            it, so tests can drive time without sleeping.
        level: the handler's level.
    """

    def __init__(
        self,
        filename: str | os.PathLike[str] = DEFAULT_LOG_PATH,
        *,
        max_bytes: int | str = DEFAULT_MAX_BYTES,
        when: str | None = None,
        interval: int = 1,
        utc: bool = True,
        backup_count: int | None = DEFAULT_BACKUP_COUNT,
        max_age_seconds: float | None = None,
        compress: bool = True,
        compress_level: int = DEFAULT_COMPRESS_LEVEL,
        file_mode: int | str = DEFAULT_FILE_MODE,
        flush_mode: str = "record",
        batch_max_bytes: int | str = DEFAULT_BATCH_MAX_BYTES,
        flush_level: int | str = logging.ERROR,
        fsync: str = "never",
        fsync_interval: float = DEFAULT_FSYNC_INTERVAL_SECONDS,
        max_pending_bytes: int | str = DEFAULT_MAX_PENDING_BYTES,
        retry_interval: float = DEFAULT_RETRY_INTERVAL_SECONDS,
        lock: bool = True,
        opener: Opener | None = None,
        clock: Callable[[], float] = time.time,
        level: int | str = logging.NOTSET,
    ) -> None:
        checked = check_file_options(
            filename=filename,
            max_bytes=max_bytes,
            when=when,
            interval=interval,
            utc=utc,
            backup_count=backup_count,
            max_age_seconds=max_age_seconds,
            compress=compress,
            compress_level=compress_level,
            file_mode=file_mode,
            flush_mode=flush_mode,
            batch_max_bytes=batch_max_bytes,
            flush_level=flush_level,
            fsync=fsync,
            fsync_interval=fsync_interval,
            max_pending_bytes=max_pending_bytes,
            retry_interval=retry_interval,
            lock=lock,
            level=level,
        )
        # delay=True: the stdlib base would otherwise open the file here.
        super().__init__(checked.filename, "a", encoding="utf-8", delay=True)
        self.setLevel(checked.level)
        self.max_bytes = checked.max_bytes
        self.when = checked.when
        self.interval = checked.interval
        self.utc = utc
        self.backup_count = checked.backup_count
        self.max_age_seconds = checked.max_age_seconds
        self.compress = compress
        self.compress_level = checked.compress_level
        self.file_mode = checked.file_mode
        self.flush_mode = checked.flush_mode
        self.batch_max_bytes = checked.batch_max_bytes
        self.flush_level = checked.flush_level
        self.fsync = checked.fsync
        self.fsync_interval = checked.fsync_interval
        self.max_pending_bytes = checked.max_pending_bytes
        self.retry_interval = checked.retry_interval
        self.use_lock = lock
        self.opener = opener
        self.clock = clock
        #: What this handler wrote, rotated, held and dropped.
        self.counters = Counters()

        directory, name = os.path.split(self.baseFilename)
        self._directory = directory
        self._stem, self._suffix = _split_name(name)
        self._lock_path = os.path.join(directory, f".{name}.lock")
        self._rotated_re = _rotated_pattern(self._stem, self._suffix)
        self._init_state()
        self.reset_cancel()
        # A participant from the start: a fork must never duplicate its buffer, and
        # shutdown_all writes what it holds and waits for compression by the deadline.
        register_participant(self)

    # -- state ---------------------------------------------------------------------

    def _init_state(self) -> None:
        self._init_shared_file_state()
        self._init_background_state()
        self._pending: collections.deque[bytes] = collections.deque()
        self._pending_bytes = 0
        self._failing: OSError | None = None
        self._failed_attempts = 0
        self._dropped_in_outage = 0
        self._next_retry = 0.0
        self._last_fsync = 0.0
        self._is_closed = False

    #: The file sink drains after the queues that feed it.
    lifecycle_stage: Final = STAGE_SINK

    def begin_shutdown(self) -> None:
        """Nothing to start: writing happens on the caller of :meth:`finish_shutdown`."""

    def finish_shutdown(self, deadline: float) -> ShutdownReport:
        """Write what is buffered and wait for compression until ``deadline``."""
        pending = self.pending_records
        self.flush()
        finished = self.wait_for_background(max(0.0, deadline - time.monotonic()))
        return ShutdownReport(handlers=1, pending=pending, timed_out=not finished)

    def after_fork_in_child(self) -> None:
        """In a forked child: drop the inherited descriptors and buffer (Lifecycle)."""
        self._reset_after_fork()

    def _reset_after_fork(self) -> None:
        # The child shares the parent's open file descriptions: unlocking the
        # inherited lock descriptor would release the parent's lock, and writing the
        # inherited buffer would duplicate the parent's records. Drop both; the
        # parent still owns its buffer and its background jobs.
        for fd in (self._fd, self._lock_fd):
            if fd is not None:
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._shared is not None:
            self._shared.close()
        self._init_state()

    # -- stdlib hooks --------------------------------------------------------------

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record``; without a formatter set, inferlog's JSON formatter is used."""
        if self.formatter is None:
            self.setFormatter(_default_formatter())
        return super().format(record)

    def emit(self, record: logging.LogRecord) -> None:
        """Format ``record`` as one line and write it (or buffer it in batch mode)."""
        try:
            line = encode_text(self.format(record))
            force = self.flush_mode == "record" or record.levelno >= self.flush_level
            self._submit([line], force=force)
        except Exception:
            self.handleError(record)

    def shouldRollover(self, record: logging.LogRecord) -> int:
        """Return 1 if writing ``record`` now would rotate the file first (stdlib hook).

        The handler itself decides through :meth:`rollover_due`, which also covers
        batches of pre-formatted lines; override that one to add a trigger.
        """
        with self.lock:  # type: ignore[union-attr]
            size = self._current_size()
            incoming = len(encode_text(self.format(record)))
            return int(self.rollover_due(size, incoming, self.clock()))

    def doRollover(self) -> None:
        """Rotate the active file now (stdlib hook), under the inter-process lock."""
        with self.lock:  # type: ignore[union-attr]
            self._open_if_needed()
            with self._process_lock():
                self._follow_path()
                now = self.clock()
                self._rotate_locked(now, now)

    def flush(self, timeout: float | None = None) -> None:
        """Write every buffered record; idempotent.

        While the file is failing this tries again only once ``retry_interval`` has
        passed. With ``timeout`` it also waits up to that many seconds for queued
        background compression and retention to finish.
        """
        with self.lock:  # type: ignore[union-attr]
            try:
                self._drain()
                self._maybe_fsync(force=self.fsync != "never")
            except Exception:
                self.handleError(_flush_record(self))
        if timeout is not None:
            self.wait_for_background(timeout)

    def close(self, timeout: float = DEFAULT_CLOSE_TIMEOUT_SECONDS) -> None:
        """Write what is buffered, wait up to ``timeout`` for compression, close files.

        Idempotent. Records still held because the disk refuses them are reported as
        lost. A handler used after ``close()`` reopens its file, as the stdlib does.
        """
        with self.lock:  # type: ignore[union-attr]
            if self._is_closed:
                return
            self._is_closed = True
            try:
                self._next_retry = 0.0
                self._drain()
            except Exception:
                self.handleError(_flush_record(self))
            if self._pending:
                count = len(self._pending)
                self.counters.add("records_dropped", count)
                report(
                    logging.ERROR,
                    "closing %s with %d records that could not be written; they are lost",
                    self.baseFilename,
                    count,
                )
                self._pending.clear()
                self._pending_bytes = 0
            self._maybe_fsync(force=self.fsync != "never")
            self._close_fds()
        self.wait_for_background(timeout)
        self._stop_background(timeout)
        unregister_participant(self)
        # Handler.close removes us from logging's shutdown list; skip FileHandler's,
        # which expects a stream this handler never has.
        logging.Handler.close(self)

    # -- public batch API ------------------------------------------------------------

    def prepare(self, record: logging.LogRecord) -> bytes:
        """Return ``record`` as one encoded JSON line (the :class:`BatchSink` hook)."""
        formatter = self.formatter
        line_bytes = getattr(formatter, "line_bytes", None)
        if line_bytes is not None:
            line: bytes | None = line_bytes(record)
            if line is not None:
                return line
        return encode_text(self.format(record))

    def write_batch(self, items: list[bytes], deadline: float | None) -> int:
        """Write prepared lines together, in one locked write (the :class:`BatchSink` hook).

        While the disk refuses writes for a while (full, read-only) lines are held
        in memory up to ``max_pending_bytes`` and written when it recovers. Returns
        how many lines were taken: the lines beyond that memory, and every line
        while the path can never be written (it is a directory, a parent is a
        file), are not taken, so the queue spools them. Never raises.
        """
        with self.lock:  # type: ignore[union-attr]
            try:
                taken = self._submit(items, force=True, stop_when_full=True)
            except Exception:
                self.handleError(_flush_record(self))
                return len(items)
            failing = self._failing
            if failing is not None and failing.errno in PERMANENT_ERRNOS:
                for _ in range(min(taken, len(self._pending))):
                    self._pending_bytes -= len(self._pending.pop())
                return 0
        return taken

    def write_lines(self, lines: Iterable[str | bytes]) -> int:
        """Write already-serialised lines (one record each) together, now.

        For the cloud sinks' spill and for replays: the lines are written as they
        are, a trailing newline added where missing and inner line breaks escaped.
        Returns how many lines were accepted (written, or held in memory while the
        disk refuses them); the rest were dropped and counted.
        """
        encoded = [encode_line(line) for line in lines]
        if not encoded:
            return 0
        with self.lock:  # type: ignore[union-attr]
            try:
                return self._submit(encoded, force=True)
            except Exception:
                self.handleError(_flush_record(self))
                return 0

    def rollover_due(self, size: int, incoming: int, now: float) -> bool:
        """Return whether the active file must rotate before ``incoming`` more bytes.

        ``size`` is the file's current size as every process sees it. Override to add
        a trigger; called with the inter-process lock held.
        """
        if self.max_bytes and size > 0 and size + incoming > self.max_bytes:
            return True
        return self._rollover_at is not None and now >= self._rollover_at

    def wait_for_background(self, timeout: float | None = None) -> bool:
        """Wait until queued compression and retention are done; False on timeout."""
        with self._jobs_cv:
            return self._jobs_cv.wait_for(lambda: not self._jobs and not self._job_running, timeout)

    @property
    def pending_records(self) -> int:
        """Records buffered or held in memory, not yet written to the file."""
        return len(self._pending)

    # -- writing ---------------------------------------------------------------------

    def _submit(self, lines: list[bytes], *, force: bool, stop_when_full: bool = False) -> int:
        """Queue ``lines`` (lock held) and write them if due; return how many were kept.

        With ``stop_when_full`` the first line that finds no room ends the call (the
        caller spools the rest); otherwise such lines are dropped and counted.
        """
        accepted = 0
        for line in lines:
            if self._pending_bytes + len(line) > self.max_pending_bytes:
                self._drain()
                if self._pending_bytes + len(line) > self.max_pending_bytes:
                    if stop_when_full:
                        break
                    self._drop(1)
                    continue
            self._pending.append(line)
            self._pending_bytes += len(line)
            accepted += 1
        if force or self._pending_bytes >= self.batch_max_bytes:
            self._drain()
        return accepted

    def _drain(self) -> None:
        """Write everything pending (lock held); on an OSError keep it and retry later."""
        if not self._pending:
            return
        if self._failing is not None and self.clock() < self._next_retry:
            return
        try:
            self._open_if_needed()
            while self._pending:
                chunk = self._take_chunk()
                self._write_chunk(chunk)
                if len(chunk) == len(self._pending):
                    self._pending.clear()
                    self._pending_bytes = 0
                else:
                    for _ in chunk:
                        self._pending_bytes -= len(self._pending.popleft())
                self.counters.add("records_written", len(chunk))
        except OSError as err:
            self._on_write_error(err, self.clock())
            return
        if self._failing is not None:
            self._on_recovered()

    def _take_chunk(self) -> list[bytes]:
        """The longest run of pending lines that fits one file (at least one line)."""
        if not self.max_bytes or self._pending_bytes <= self.max_bytes:
            return list(self._pending)
        chunk: list[bytes] = []
        total = 0
        for line in self._pending:
            if chunk and total + len(line) > self.max_bytes:
                break
            chunk.append(line)
            total += len(line)
        return chunk


def _default_formatter() -> logging.Formatter:
    # Imported on first use: the formatter pulls in orjson and python-json-logger,
    # which a handler given its own formatter never needs.
    module = importlib.import_module("inferlog.formatting")
    formatter: logging.Formatter = module.JsonFormatter()
    return formatter


def _flush_record(handler: logging.Handler) -> logging.LogRecord:
    """A stand-in record for ``handleError`` when a failure belongs to no one record."""
    return logging.LogRecord(
        "inferlog.handlers.file", logging.ERROR, __file__, 0, "flush of %s failed", (handler,), None
    )
