"""Background compression and retention of a rotating handler's rotated files.

A rotation queues up to two jobs: gzip the file just rotated away, then sweep the
directory, deleting rotated files beyond ``backup_count`` or older than
``max_age_seconds`` and compressing any that a dead process left plain. One daemon
thread per handler runs them, off the logging call; it starts with the first job and
exits when idle. Other processes writing the same log may sweep the same directory at
the same time: a file is compressed under an ``flock`` and only ever renamed into place.
"""

from __future__ import annotations

import collections
import fcntl
import gzip
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from typing import Final

from inferlog._diagnostics import Counters, report
from inferlog.handlers._rotation import parse_rotation_stamp

# Compression temp files older than this are leftovers of a process that died.
_STALE_TMP_SECONDS: Final[float] = 3600.0
_COPY_CHUNK: Final[int] = 1024 * 1024
# A background worker with nothing to do for this long exits.
_WORKER_IDLE_SECONDS: Final[float] = 30.0


class _BackgroundMaintenance:
    """Compression and retention jobs of a handler, run on its background thread.

    A mixin of :class:`~inferlog.handlers.RotatingJsonFileHandler`; the options it
    applies (``compress``, ``backup_count``, ...) are the handler's attributes, read
    when each job runs.
    """

    counters: Counters
    clock: Callable[[], float]
    compress: bool
    compress_level: int
    file_mode: int
    backup_count: int | None
    max_age_seconds: float | None
    _directory: str
    _stem: str
    _rotated_re: re.Pattern[str]

    def _init_background_state(self) -> None:
        self._jobs: collections.deque[tuple[str, str]] = collections.deque()
        self._jobs_cv = threading.Condition(threading.Lock())
        self._job_running = False
        self._worker: threading.Thread | None = None
        self._stopping = False

    def _stop_background(self, timeout: float) -> None:
        """Let the worker exit and wait up to ``timeout`` for it (on ``close()``)."""
        with self._jobs_cv:
            self._stopping = True
            self._jobs_cv.notify_all()
        worker = self._worker
        if worker is not None and worker is not threading.current_thread():
            worker.join(timeout)

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
