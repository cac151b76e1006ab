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
import errno
import fcntl
import gzip
import importlib
import logging
import logging.handlers
import mmap
import os
import re
import shutil
import threading
import time
import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta, timezone
from typing import Final

from inferlog._diagnostics import Counters, report, report_once

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

#: Where ``inferlog.configure()`` writes when given no path.
DEFAULT_LOG_PATH: Final[str] = os.path.join(".", "logs", "inferlog.jsonl")
#: Size at which the active file is rotated (100 MiB); 0 turns size rotation off.
DEFAULT_MAX_BYTES: Final[int] = 100 * 1024 * 1024
#: Rotated files kept; ``None`` keeps every file (subject to ``max_age_seconds``).
DEFAULT_BACKUP_COUNT: Final[int] = 30
#: Permission bits of the log files (the audit files use 0o600).
DEFAULT_FILE_MODE: Final[int] = 0o640
#: In ``flush_mode="batch"``, buffered bytes that force a write before ``flush()``.
DEFAULT_BATCH_MAX_BYTES: Final[int] = 256 * 1024
#: Bytes of records held in memory while the disk refuses writes; beyond it new
#: records are dropped and counted.
DEFAULT_MAX_PENDING_BYTES: Final[int] = 16 * 1024 * 1024
#: How often a failing file is tried again, in seconds.
DEFAULT_RETRY_INTERVAL_SECONDS: Final[float] = 2.0
#: With ``fsync="interval"``, the longest time between two ``fsync`` calls.
DEFAULT_FSYNC_INTERVAL_SECONDS: Final[float] = 1.0
#: How long ``close()`` waits for background compression and retention.
DEFAULT_CLOSE_TIMEOUT_SECONDS: Final[float] = 5.0
#: gzip level of rotated files: 6 is zlib's default speed/size trade-off.
DEFAULT_COMPRESS_LEVEL: Final[int] = 6

#: Accepted values of ``flush_mode``.
FLUSH_MODES: Final[frozenset[str]] = frozenset({"record", "batch"})
#: Accepted values of ``fsync``.
FSYNC_POLICIES: Final[frozenset[str]] = frozenset({"never", "always", "interval"})
#: Accepted values of ``when`` (case-insensitive), as in the stdlib.
WHEN_VALUES: Final[frozenset[str]] = frozenset(
    {"S", "M", "H", "D", "MIDNIGHT", *(f"W{day}" for day in range(7))}
)

_UNIT_SECONDS: Final[dict[str, int]] = {"S": 1, "M": 60, "H": 3600}
# Rotated names carry the UTC time of the rotation, to the microsecond, so that a
# plain sort of the names is a sort by time; "_NNN" breaks (rare) ties and sorts
# after the untied name because "_" > ".".
_STAMP_FORMAT: Final[str] = "%Y%m%dT%H%M%S.%fZ"
_STAMP_PATTERN: Final[str] = r"\d{8}T\d{6}\.\d{6}Z(?:_\d{3})?"
_MAX_TIE_BREAK: Final[int] = 999
# Compression temp files older than this are leftovers of a process that died.
_STALE_TMP_SECONDS: Final[float] = 3600.0
_COPY_CHUNK: Final[int] = 1024 * 1024
# The lock file's first 8 bytes count rotations; writers map them to notice another
# process's rotation without a stat() per write.
_GENERATION_BYTES: Final[int] = 8
# Even with no rotation counted, the path is checked this often (seconds), so a file
# removed or renamed by something other than inferlog is noticed.
_PATH_CHECK_INTERVAL_SECONDS: Final[float] = 1.0
# A background worker with nothing to do for this long exits.
_WORKER_IDLE_SECONDS: Final[float] = 30.0

_WRITE_ERRNOS_HINT: Final[dict[int, str]] = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
}

Opener = Callable[[str, int], int]


def next_rollover_time(now: float, when: str, interval: int = 1, *, utc: bool = True) -> float:
    """Return the first rotation boundary strictly after ``now`` (epoch seconds).

    Boundaries are aligned to the calendar, not counted from the start of the
    process: ``when="H", interval=6`` rotates at 00:00, 06:00, 12:00 and 18:00;
    ``"S"``/``"M"``/``"H"`` restart at every midnight (a step that does not divide a
    day gives a shorter last slot); ``"D"`` and ``"MIDNIGHT"`` rotate at midnight every
    ``interval`` days counted from 0001-01-01; ``"W0"``-``"W6"`` at the midnight that
    starts that weekday (0 is Monday), every ``interval`` weeks. Local time follows
    the system time zone, daylight saving time included.
    """
    unit = when.upper()
    if unit not in WHEN_VALUES:
        raise ValueError(f"when must be one of {sorted(WHEN_VALUES)}, not {when!r}")
    if interval < 1:
        raise ValueError(f"interval must be at least 1, not {interval}")
    # Local times are handled as naive wall-clock datetimes; ``timestamp()`` on a
    # naive datetime maps it back through the system zone, which is what makes a
    # midnight boundary stay at midnight across a DST change.
    moment = datetime.fromtimestamp(now, timezone.utc) if utc else datetime.fromtimestamp(now)
    midnight = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit in _UNIT_SECONDS:
        step = interval * _UNIT_SECONDS[unit]
        elapsed = (moment - midnight).total_seconds()
        candidate = midnight + timedelta(seconds=(int(elapsed // step) + 1) * step)
        candidate = min(candidate, midnight + timedelta(days=1))
    else:
        ordinal = midnight.toordinal()
        if unit in ("D", "MIDNIGHT"):
            target = (ordinal // interval + 1) * interval
        else:
            period = 7 * interval
            # Ordinal 1 (0001-01-01) is a Monday, so weekday(o) == (o - 1) % 7.
            offset = (1 + int(unit[1])) % period
            target = ordinal + 1 + (offset - (ordinal + 1)) % period
        candidate = datetime.combine(datetime.fromordinal(target).date(), midnight.timetz())
    result = candidate.timestamp()
    # A wall-clock time skipped by DST can map to a moment at or before ``now``.
    while result <= now:
        result += 3600.0
    return result


def _rotation_stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime(_STAMP_FORMAT)


def parse_rotation_stamp(stamp: str) -> float:
    """Return the epoch time encoded in a rotated file's stamp (``20261129T070000.000000Z``).

    A ``_NNN`` tie-break suffix is ignored.
    """
    core = stamp.split("_", 1)[0]
    return datetime.strptime(core, _STAMP_FORMAT).replace(tzinfo=timezone.utc).timestamp()


def _rotated_pattern(stem: str, suffix: str) -> re.Pattern[str]:
    return re.compile(rf"^{re.escape(stem)}\.({_STAMP_PATTERN}){re.escape(suffix)}(\.gz)?$")


def log_files(filename: str | os.PathLike[str] = DEFAULT_LOG_PATH) -> list[str]:
    """Return the rotated files of ``filename``, oldest first, then ``filename`` itself.

    Rotated files are recognised by the default naming scheme. Where a compression
    was interrupted and both ``X`` and ``X.gz`` exist, only ``X`` is listed. Files
    that do not exist are left out, so the result may be empty. Pass the result to
    :func:`inferlog.read_records` to read one log, rotations included.
    """
    path = os.fspath(filename)
    directory, name = os.path.split(path)
    pattern = _rotated_pattern(*_split_name(name))
    try:
        names = set(os.listdir(directory or "."))
    except FileNotFoundError:
        return []
    rotated = sorted(
        n for n in names if pattern.match(n) and not (n.endswith(".gz") and n[:-3] in names)
    )
    out = [os.path.join(directory, n) for n in rotated]
    if name in names:
        out.append(path)
    return out


def _split_name(filename: str) -> tuple[str, str]:
    """Split ``inferlog.jsonl`` into ``("inferlog", ".jsonl")``; no suffix gives ``""``."""
    stem, dot, ext = filename.rpartition(".")
    if not dot or not stem:
        return filename, ""
    return stem, "." + ext


def _one_line(text: str) -> str:
    # JSON never contains a raw line break, but a plain formatter (or a traceback)
    # can: escape it so that one record is always exactly one line.
    if "\n" in text or "\r" in text:
        text = text.replace("\r", "\\r").replace("\n", "\\n")
    return text


_live_handlers: weakref.WeakSet[RotatingJsonFileHandler] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    for handler in list(_live_handlers):
        handler._reset_after_fork()


if hasattr(os, "register_at_fork"):  # pragma: no branch - POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)


class RotatingJsonFileHandler(logging.handlers.BaseRotatingHandler):
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
        max_bytes: int = DEFAULT_MAX_BYTES,
        when: str | None = None,
        interval: int = 1,
        utc: bool = True,
        backup_count: int | None = DEFAULT_BACKUP_COUNT,
        max_age_seconds: float | None = None,
        compress: bool = True,
        compress_level: int = DEFAULT_COMPRESS_LEVEL,
        file_mode: int = DEFAULT_FILE_MODE,
        flush_mode: str = "record",
        batch_max_bytes: int = DEFAULT_BATCH_MAX_BYTES,
        flush_level: int = logging.ERROR,
        fsync: str = "never",
        fsync_interval: float = DEFAULT_FSYNC_INTERVAL_SECONDS,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        retry_interval: float = DEFAULT_RETRY_INTERVAL_SECONDS,
        lock: bool = True,
        opener: Opener | None = None,
        clock: Callable[[], float] = time.time,
        level: int | str = logging.NOTSET,
    ) -> None:
        if max_bytes < 0:
            raise ValueError(f"max_bytes must be >= 0 (0 disables size rotation), not {max_bytes}")
        if when is not None and when.upper() not in WHEN_VALUES:
            raise ValueError(f"when must be None or one of {sorted(WHEN_VALUES)}, not {when!r}")
        if interval < 1:
            raise ValueError(f"interval must be at least 1, not {interval}")
        if backup_count is not None and backup_count < 0:
            raise ValueError(f"backup_count must be None or >= 0, not {backup_count}")
        if max_age_seconds is not None and max_age_seconds <= 0:
            raise ValueError(f"max_age_seconds must be None or > 0, not {max_age_seconds}")
        if not 1 <= compress_level <= 9:
            raise ValueError(f"compress_level must be between 1 and 9, not {compress_level}")
        if not 0 <= file_mode <= 0o777:
            raise ValueError(f"file_mode must be permission bits (0 to 0o777), not {file_mode:#o}")
        if flush_mode not in FLUSH_MODES:
            raise ValueError(f"flush_mode must be one of {sorted(FLUSH_MODES)}, not {flush_mode!r}")
        if batch_max_bytes < 1:
            raise ValueError(f"batch_max_bytes must be >= 1, not {batch_max_bytes}")
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {sorted(FSYNC_POLICIES)}, not {fsync!r}")
        if fsync_interval <= 0:
            raise ValueError(f"fsync_interval must be > 0, not {fsync_interval}")
        if max_pending_bytes < batch_max_bytes:
            raise ValueError(
                f"max_pending_bytes ({max_pending_bytes}) must be >= batch_max_bytes "
                f"({batch_max_bytes})"
            )
        if retry_interval <= 0:
            raise ValueError(f"retry_interval must be > 0, not {retry_interval}")

        # delay=True: the stdlib base would otherwise open the file here.
        super().__init__(os.fspath(filename), "a", encoding="utf-8", delay=True)
        self.setLevel(level)
        self.max_bytes = max_bytes
        self.when = when.upper() if when is not None else None
        self.interval = interval
        self.utc = utc
        self.backup_count = backup_count
        self.max_age_seconds = max_age_seconds
        self.compress = compress
        self.compress_level = compress_level
        self.file_mode = file_mode
        self.flush_mode = flush_mode
        self.batch_max_bytes = batch_max_bytes
        self.flush_level = flush_level
        self.fsync = fsync
        self.fsync_interval = fsync_interval
        self.max_pending_bytes = max_pending_bytes
        self.retry_interval = retry_interval
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
        _live_handlers.add(self)

    # -- state ---------------------------------------------------------------------

    def _init_state(self) -> None:
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._shared: mmap.mmap | None = None
        self._generation = -1
        self._last_path_check = float("-inf")
        self._identity: tuple[int, int] | None = None
        self._rollover_at: float | None = None
        self._pending: collections.deque[bytes] = collections.deque()
        self._pending_bytes = 0
        self._failing: OSError | None = None
        self._failed_attempts = 0
        self._dropped_in_outage = 0
        self._next_retry = 0.0
        self._last_fsync = 0.0
        self._jobs: collections.deque[tuple[str, str]] = collections.deque()
        self._jobs_cv = threading.Condition(threading.Lock())
        self._job_running = False
        self._worker: threading.Thread | None = None
        self._stopping = False
        self._is_closed = False
        # File size right after our own last write: if it still is, nobody else wrote
        # and the last byte is known to be a newline.
        self._known_end: int | None = None

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
            line = self._encode(self.format(record))
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
            incoming = len(self._encode(self.format(record)))
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
        with self._jobs_cv:
            self._stopping = True
            self._jobs_cv.notify_all()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)
        _live_handlers.discard(self)
        # Handler.close removes us from logging's shutdown list; skip FileHandler's,
        # which expects a stream this handler never has.
        logging.Handler.close(self)

    # -- public batch API ------------------------------------------------------------

    def handle_batch(self, records: Sequence[logging.LogRecord]) -> None:
        """Filter, format and write ``records`` together, in one locked write.

        The batch counterpart of ``handle()``, called by inferlog's queue listener
        (:class:`inferlog.queueing.BatchHandler`); never raises.
        """
        lines: list[bytes] = []
        for original in records:
            if original.levelno < self.level:
                continue
            # Python 3.12+ filters may return a replacement record.
            kept = self.filter(original)
            if not kept:
                continue
            record = kept if isinstance(kept, logging.LogRecord) else original
            try:
                lines.append(self._encode(self.format(record)))
            except Exception:
                self.handleError(record)
        if lines:
            with self.lock:  # type: ignore[union-attr]
                try:
                    self._submit(lines, force=True)
                except Exception:
                    self.handleError(records[-1])

    def write_lines(self, lines: Iterable[str | bytes]) -> int:
        """Write already-serialised lines (one record each) together, now.

        For the cloud sinks' spill and for replays: the lines are written as they
        are, a trailing newline added where missing and inner line breaks escaped.
        Returns how many lines were accepted (written, or held in memory while the
        disk refuses them); the rest were dropped and counted.
        """
        encoded = [self._encode_line(line) for line in lines]
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

    def _encode(self, text: str) -> bytes:
        if text.endswith("\n"):
            text = text[:-1]
        return (_one_line(text) + "\n").encode("utf-8", "backslashreplace")

    def _encode_line(self, line: str | bytes) -> bytes:
        if isinstance(line, bytes):
            body = line[:-1] if line.endswith(b"\n") else line
            if b"\n" not in body and b"\r" not in body:
                return body + b"\n"
            line = body.decode("utf-8", "backslashreplace")
        return self._encode(line)

    def _submit(self, lines: list[bytes], *, force: bool) -> int:
        """Queue ``lines`` (lock held) and write them if due; return how many were kept."""
        accepted = 0
        for line in lines:
            if self._pending_bytes + len(line) > self.max_pending_bytes:
                self._drain()
                if self._pending_bytes + len(line) > self.max_pending_bytes:
                    self._drop(1)
                    continue
            self._pending.append(line)
            self._pending_bytes += len(line)
            accepted += 1
        if force or self._pending_bytes >= self.batch_max_bytes:
            self._drain()
        return accepted

    def _drop(self, count: int) -> None:
        self.counters.add("records_dropped", count)
        self._dropped_in_outage += count

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

    def _write_chunk(self, chunk: list[bytes]) -> None:
        data = chunk[0] if len(chunk) == 1 else b"".join(chunk)
        lock_fd = self._lock_fd if self.use_lock else None
        if lock_fd is not None:
            fcntl.flock(lock_fd, fcntl.LOCK_EX)
        try:
            now = self.clock()
            self._follow_path(now)
            fd = self._require_fd()
            known = self._known_end
            if lock_fd is None and known is not None:
                # A single writer (no lock) knows the size from its own last write.
                size = known
            else:
                st = os.fstat(fd)
                if st.st_nlink == 0:  # removed by hand since the last path check
                    self._check_path()
                    fd = self._require_fd()
                    st = os.fstat(fd)
                size = st.st_size
            if self.rollover_due(size, len(data), now):
                boundary = self._rollover_at
                stamp_time = boundary if boundary is not None and now >= boundary else now
                self._rotate_locked(now, stamp_time)
                fd = self._require_fd()
                size = os.fstat(fd).st_size
            if size and size != self._known_end and os.pread(fd, 1, size - 1) != b"\n":
                # A writer was killed in the middle of a line: end that torn line so
                # that ours start on a line of their own (the reader skips the torn one).
                data = b"\n" + data
            try:
                written = os.write(fd, data)
                if written != len(data):  # a short write: go on with the rest
                    view = memoryview(data)[written:]
                    while view:
                        view = view[os.write(fd, view) :]
            except OSError:
                self._known_end = None
                # Remove a partial write so that the file holds whole lines only.
                try:
                    os.ftruncate(fd, size)
                except OSError:
                    pass
                raise
            self._known_end = size + len(data)
            if self.fsync != "never":
                # The lines are in the file: a failed fsync must not requeue them.
                self._maybe_fsync(force=self.fsync == "always")
        finally:
            if lock_fd is not None:
                fcntl.flock(lock_fd, fcntl.LOCK_UN)

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
            hint = _WRITE_ERRNOS_HINT.get(err.errno or 0, "the write failed")
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

    # -- files and locks ---------------------------------------------------------------

    def _open_if_needed(self, *, following: bool = False) -> None:
        if self._fd is not None:
            return
        self._is_closed = False
        self._known_end = None
        dir_mode = self.file_mode | ((self.file_mode & 0o444) >> 2) | 0o700
        os.makedirs(self._directory, mode=dir_mode, exist_ok=True)
        if self.use_lock and self._lock_fd is None:
            # Read-write and not O_APPEND: its first bytes are mapped shared.
            lock_fd = self._create(self._lock_path, self._default_open, os.O_RDWR, append=False)
            try:
                if os.fstat(lock_fd).st_size < _GENERATION_BYTES:
                    # Extending to the same size twice is harmless, so racing
                    # processes may both do it.
                    os.ftruncate(lock_fd, _GENERATION_BYTES)
                self._shared = mmap.mmap(lock_fd, _GENERATION_BYTES)
            except BaseException:
                os.close(lock_fd)
                raise
            self._lock_fd = lock_fd
        # Read access too: the last byte is read back to detect a torn line.
        self._fd = self._create(self.baseFilename, self.opener or self._default_open, os.O_RDWR)
        st = os.fstat(self._fd)
        self._identity = (st.st_dev, st.st_ino)
        if self.when is not None:
            # As in the stdlib, an existing file's last write dates it, so a file
            # left from before a boundary rotates on the first write after restart.
            # A file another process has just rotated in belongs to the current
            # period, whatever its mtime says.
            now = self.clock()
            base = min(st.st_mtime, now) if st.st_size and not following else now
            self._rollover_at = next_rollover_time(base, self.when, self.interval, utc=self.utc)

    def _default_open(self, path: str, flags: int) -> int:
        return os.open(path, flags, self.file_mode)

    def _create(self, path: str, opener: Opener, access: int, *, append: bool = True) -> int:
        """Open ``path`` (for appending); set the mode exactly when this call created it."""
        flags = access | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)
        if append:
            flags |= os.O_APPEND
        try:
            fd = opener(path, flags | os.O_EXCL)
        except FileExistsError:
            return opener(path, flags)
        try:
            # os.open's mode is filtered by the umask; the caller asked for this mode.
            os.fchmod(fd, self.file_mode)
        except OSError:
            pass
        return fd

    def _require_fd(self) -> int:
        if self._fd is None:
            self._open_if_needed()
        assert self._fd is not None
        return self._fd

    def _close_fds(self) -> None:
        for attr in ("_fd", "_lock_fd"):
            fd = getattr(self, attr)
            if fd is not None:
                setattr(self, attr, None)
                try:
                    os.close(fd)
                except OSError:
                    pass
        if self._shared is not None:
            self._shared.close()
            self._shared = None
        self._identity = None
        self._generation = -1

    def _current_size(self) -> int:
        try:
            return os.stat(self.baseFilename).st_size
        except OSError:
            return 0

    def _process_lock(self) -> _FileLock:
        return _FileLock(self._lock_fd if self.use_lock else None)

    def _shared_generation(self) -> int:
        shared = self._shared
        return -1 if shared is None else int.from_bytes(shared[:_GENERATION_BYTES], "little")

    def _bump_generation(self) -> None:
        """Count a rotation in the lock file (lock held), so other writers reopen."""
        shared = self._shared
        if shared is not None:
            value = (self._shared_generation() + 1) % (1 << 63)
            shared[:_GENERATION_BYTES] = value.to_bytes(_GENERATION_BYTES, "little")
            self._generation = value

    def _follow_path(self, now: float | None = None) -> None:
        """Reopen if another process rotated or someone removed the file (lock held).

        A rotation by another inferlog writer shows in the shared generation count;
        anything else (a file removed or moved by hand) is caught by a ``stat`` of
        the path at most ``_PATH_CHECK_INTERVAL_SECONDS`` apart, or at once when the
        open file has no name left.
        """
        if not self.use_lock or self._fd is None:
            self._require_fd()
            return
        generation = self._shared_generation()
        if now is None:
            now = self.clock()
        if (
            generation == self._generation
            and 0 <= now - self._last_path_check < _PATH_CHECK_INTERVAL_SECONDS
        ):
            return
        self._generation = generation
        self._last_path_check = now
        self._check_path()

    def _check_path(self) -> None:
        assert self._fd is not None
        try:
            st = os.stat(self.baseFilename)
            current: tuple[int, int] | None = (st.st_dev, st.st_ino)
        except FileNotFoundError:
            current = None
        if current != self._identity:
            fd = self._fd
            self._fd = None
            os.close(fd)
            self._open_if_needed(following=True)

    # -- rotation ----------------------------------------------------------------------

    def _rotated_path(self, stamp_time: float) -> str:
        stamp = _rotation_stamp(stamp_time)
        for tie in range(_MAX_TIE_BREAK + 1):
            token = stamp if tie == 0 else f"{stamp}_{tie:03d}"
            default = os.path.join(self._directory, f"{self._stem}.{token}{self._suffix}")
            candidate = self.rotation_filename(default)
            if not os.path.exists(candidate) and not os.path.exists(candidate + ".gz"):
                return candidate
        raise FileExistsError(errno.EEXIST, "no free rotated name", stamp)

    def _rotate_locked(self, now: float, stamp_time: float) -> None:
        fd = self._require_fd()
        self._maybe_fsync(force=True)
        if os.fstat(fd).st_size == 0 and self.when is not None:
            # Nothing to keep: only move the boundary on.
            self._rollover_at = next_rollover_time(now, self.when, self.interval, utc=self.utc)
            return
        dest = self._rotated_path(stamp_time)
        self._fd = None
        os.close(fd)
        self.rotate(self.baseFilename, dest)
        self.counters.add("rotations")
        self._open_if_needed()
        self._bump_generation()
        if self.fsync != "never":
            # Make both names (the rotated file and the new active one) durable.
            _fsync_directory(self._directory)
        if self.when is not None:
            self._rollover_at = next_rollover_time(now, self.when, self.interval, utc=self.utc)
        if self.compress:
            self._submit_job("compress", dest)
        if self.backup_count is not None or self.max_age_seconds is not None or self.compress:
            self._submit_job("sweep", dest)

    # -- background work -----------------------------------------------------------------

    def _submit_job(self, kind: str, path: str) -> None:
        with self._jobs_cv:
            self._jobs.append((kind, path))
            self._stopping = False
            # The worker clears ``_worker`` under this lock as it exits, so a job
            # added here is either seen by the running worker or starts a new one.
            if self._worker is None:
                self._worker = threading.Thread(
                    target=self._work, name=f"inferlog-file-{self._stem}", daemon=True
                )
                self._worker.start()
            self._jobs_cv.notify_all()

    def _work(self) -> None:
        while True:
            with self._jobs_cv:
                while not self._jobs and not self._stopping:
                    # Rotations are rare: an idle worker exits rather than keep the
                    # handler (and a thread) alive; the next rotation starts another.
                    if not self._jobs_cv.wait(_WORKER_IDLE_SECONDS) and not self._jobs:
                        break
                if not self._jobs:
                    self._worker = None
                    return
                kind, path = self._jobs.popleft()
                self._job_running = True
            try:
                if kind == "compress":
                    self._compress(path)
                else:
                    self._sweep()
            except Exception as err:  # the worker must survive any one bad file
                self.counters.add("background_errors")
                report(logging.ERROR, "background %s of %s failed: %r", kind, path, err)
            finally:
                with self._jobs_cv:
                    self._job_running = False
                    self._jobs_cv.notify_all()

    def _compress(self, source: str) -> None:
        """Gzip ``source`` to ``source.gz`` and remove it; safe against other processes."""
        try:
            src_fd = os.open(source, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return
        try:
            try:
                # Another process's sweep may be compressing the same leftover file.
                fcntl.flock(src_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return
            try:
                st = os.stat(source)
            except FileNotFoundError:
                return  # compressed (or deleted) meanwhile
            if (st.st_dev, st.st_ino) != (os.fstat(src_fd).st_dev, os.fstat(src_fd).st_ino):
                return
            directory, name = os.path.split(source)
            target = source + ".gz"
            tmp = os.path.join(directory, f".{name}.gz.{os.getpid()}.tmp")
            tmp_fd = os.open(
                tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), 0o600
            )
            try:
                os.fchmod(tmp_fd, self.file_mode)
                with (
                    open(tmp_fd, "wb", closefd=False) as raw,
                    open(src_fd, "rb", closefd=False) as src,
                ):
                    with gzip.GzipFile(
                        filename=name, mode="wb", fileobj=raw, compresslevel=self.compress_level
                    ) as gz:
                        shutil.copyfileobj(src, gz, _COPY_CHUNK)
                    raw.flush()
                    # The gzip file replaces the only copy: make it durable first.
                    os.fsync(tmp_fd)
            except BaseException:
                os.close(tmp_fd)
                _unlink_quietly(tmp)
                raise
            os.close(tmp_fd)
            os.replace(tmp, target)
            _unlink_quietly(source)
            _fsync_directory(directory)
            self.counters.add("files_compressed")
        finally:
            os.close(src_fd)

    def _rotated_files(self) -> list[tuple[str, list[str]]]:
        """Rotated files by stamp, oldest first: ``[(stamp, [names...]), ...]``."""
        groups: dict[str, list[str]] = {}
        try:
            names = os.listdir(self._directory)
        except FileNotFoundError:
            return []
        for name in names:
            match = self._rotated_re.match(name)
            if match:
                groups.setdefault(match.group(1), []).append(name)
            elif name.startswith(f".{self._stem}.") and name.endswith(".tmp"):
                path = os.path.join(self._directory, name)
                try:
                    if time.time() - os.stat(path).st_mtime > _STALE_TMP_SECONDS:
                        _unlink_quietly(path)
                except OSError:
                    pass
        return sorted(groups.items())

    def _sweep(self) -> None:
        """Apply retention, then compress rotated files a dead process left plain."""
        groups = self._rotated_files()
        doomed: list[str] = []
        if self.backup_count is not None:
            excess = len(groups) - self.backup_count
            if excess > 0:
                doomed += [stamp for stamp, _ in groups[:excess]]
        if self.max_age_seconds is not None:
            oldest = self.clock() - self.max_age_seconds
            for stamp, _ in groups:
                try:
                    if parse_rotation_stamp(stamp) < oldest:
                        doomed.append(stamp)
                except ValueError:
                    continue
        doomed_set = set(doomed)
        for stamp, names in groups:
            if stamp in doomed_set:
                for name in names:
                    _unlink_quietly(os.path.join(self._directory, name))
                    self.counters.add("files_deleted")
            elif self.compress:
                for name in names:
                    if not name.endswith(".gz") and name + ".gz" not in names:
                        self._compress(os.path.join(self._directory, name))
                    elif not name.endswith(".gz"):
                        # Died between writing the .gz and removing the source: the
                        # .gz is complete (it is renamed into place last).
                        _unlink_quietly(os.path.join(self._directory, name))


class _FileLock:
    """``with`` wrapper around an exclusive ``flock``; a None descriptor is a no-op."""

    __slots__ = ("_fd",)

    def __init__(self, fd: int | None) -> None:
        self._fd = fd

    def __enter__(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX)

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _fsync_directory(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


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
