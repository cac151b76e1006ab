"""The active log file as several processes share it, and the lock that coordinates them.

Every write and every rotation happens under an exclusive ``flock`` on a hidden lock
file next to the log file, whose first bytes count rotations; a writer that sees the
count change reopens the path, so a file another process has rotated away is never
written to. A batch of lines goes to the kernel in one ``write`` call on an
``O_APPEND`` descriptor, and a failed write is truncated away.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Final

from inferlog._diagnostics import Counters
from inferlog.handlers._maintenance import _fsync_directory
from inferlog.handlers._rotation import _MAX_TIE_BREAK, _rotation_stamp, next_rollover_time

# The lock file's first 8 bytes count rotations; writers map them to notice another
# process's rotation without a stat() per write.
_GENERATION_BYTES: Final[int] = 8
# Even with no rotation counted, the path is checked this often (seconds), so a file
# removed or renamed by something other than inferlog is noticed.
_PATH_CHECK_INTERVAL_SECONDS: Final[float] = 1.0

Opener = Callable[[str, int], int]


class _SharedFile:
    """Opening, following, appending to and rotating the handler's active file.

    A mixin of :class:`~inferlog.handlers.RotatingJsonFileHandler`; the options it
    applies (``file_mode``, ``lock``, ``opener``, ``when``, ...) are the handler's
    attributes. All of it runs with the handler's (thread) ``lock`` held.
    """

    baseFilename: str
    file_mode: int
    use_lock: bool
    opener: Opener | None
    when: str | None
    interval: int
    utc: bool
    clock: Callable[[], float]
    fsync: str
    compress: bool
    backup_count: int | None
    max_age_seconds: float | None
    counters: Counters
    _directory: str
    _stem: str
    _suffix: str
    _lock_path: str
    _is_closed: bool

    if TYPE_CHECKING:
        # Provided by the handler, its stdlib base and the background mixin.
        def rotate(self, source: str, dest: str) -> None: ...
        def rotation_filename(self, default_name: str) -> str: ...
        def rollover_due(self, size: int, incoming: int, now: float) -> bool: ...
        def _maybe_fsync(self, *, force: bool) -> None: ...
        def _submit_job(self, kind: str, path: str) -> None: ...

    def _init_shared_file_state(self) -> None:
        self._fd: int | None = None
        self._lock_fd: int | None = None
        self._shared: mmap.mmap | None = None
        self._generation = -1
        self._last_path_check = float("-inf")
        self._identity: tuple[int, int] | None = None
        self._rollover_at: float | None = None
        # File size right after our own last write: if it still is, nobody else wrote
        # and the last byte is known to be a newline.
        self._known_end: int | None = None

    # -- writing ---------------------------------------------------------------------

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
