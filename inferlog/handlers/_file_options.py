"""The options of :class:`~inferlog.handlers.RotatingJsonFileHandler`: defaults and checks.

Every check names the option and says what is accepted. Sizes may be given as a
number of bytes or as a string with a binary unit (``"100MB"``, ``"512 KiB"``,
``"1g"``: K, M and G are 1024-based, as in logrotate), and permission bits as an int
or an octal string (``"0640"``, ``"0o640"``), as they appear in configuration files.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from inferlog._validation import check_count, check_level, check_seconds
from inferlog.handlers._rotation import WHEN_VALUES

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

#: What an ``OSError`` on write most likely means, for the one diagnostic.
WRITE_ERRNOS_HINT: Final[dict[int, str]] = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exhausted",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
    errno.EROFS: "the file system is read-only",
    errno.EISDIR: "the path is a directory",
    errno.ENOTDIR: "a parent of the path is not a directory",
    errno.EEXIST: "a parent of the path is a file",
}
#: Write errors that waiting will not cure: the records go to the spool rather than
#: being held in memory for a retry.
PERMANENT_ERRNOS: Final[frozenset[int]] = frozenset(
    {errno.EISDIR, errno.ENOTDIR, errno.EEXIST, errno.ENAMETOOLONG, errno.ELOOP, errno.EINVAL}
)

_UNITS: Final[dict[str, int]] = {
    "": 1,
    "b": 1,
    "k": 1024,
    "kb": 1024,
    "kib": 1024,
    "m": 1024**2,
    "mb": 1024**2,
    "mib": 1024**2,
    "g": 1024**3,
    "gb": 1024**3,
    "gib": 1024**3,
}
_T = TypeVar("_T")
_SIZE: Final = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*")


def parse_size(name: str, value: object, *, minimum: int = 0) -> int:
    """Return ``value`` as bytes: an int, or a string such as ``"100MB"`` (1024-based)."""
    if isinstance(value, int) and not isinstance(value, bool):
        size = value
    elif isinstance(value, str) and (match := _SIZE.fullmatch(value)):
        unit = _UNITS.get(match.group(2).lower())
        if unit is None:
            raise ValueError(f"{name}: unknown unit in {value!r}; use B, KB, MB or GB (1024-based)")
        size = int(float(match.group(1)) * unit)
    else:
        raise TypeError(f"{name} must be a number of bytes or a size like '100MB', got {value!r}")
    if size < minimum:
        raise ValueError(f"{name} must be >= {minimum} bytes, got {value!r}")
    return size


def parse_mode(name: str, value: object) -> int:
    """Return permission bits from an int or an octal string (``"0640"``, ``"0o640"``)."""
    if isinstance(value, int) and not isinstance(value, bool):
        mode = value
    elif isinstance(value, str):
        text = value.strip().lower().removeprefix("0o")
        if not text or any(c not in "01234567" for c in text):
            raise ValueError(f"{name} must be octal permission bits like '0640', got {value!r}")
        mode = int(text, 8)
    else:
        raise TypeError(f"{name} must be permission bits (an int or '0640'), got {value!r}")
    if not 0 <= mode <= 0o777:
        raise ValueError(f"{name} must be permission bits (0 to 0o777), got {value!r}")
    return mode


def _optional(check: Callable[..., _T], name: str, value: object, **bounds: Any) -> _T | None:
    """``None`` for ``None`` (the option is off), else ``check(name, value, **bounds)``."""
    return None if value is None else check(name, value, **bounds)


def _choice(name: str, value: object, accepted: frozenset[str]) -> str:
    if isinstance(value, str) and value in accepted:
        return value
    raise ValueError(f"{name} must be one of {sorted(accepted)}, got {value!r}")


@dataclass(frozen=True)
class FileOptions:
    """The checked, normalised options of one file handler."""

    filename: str
    max_bytes: int
    when: str | None
    interval: int
    backup_count: int | None
    max_age_seconds: float | None
    compress_level: int
    file_mode: int
    flush_mode: str
    batch_max_bytes: int
    flush_level: int
    fsync: str
    fsync_interval: float
    max_pending_bytes: int
    retry_interval: float
    level: int


def check_file_options(**options: Any) -> FileOptions:
    """Check every option; ``ValueError``/``TypeError`` naming the first bad one."""
    filename = options["filename"]
    if not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"filename must be a path (str or os.PathLike), got {filename!r}")
    path = os.fspath(filename)
    if not isinstance(path, str) or not path.strip():
        raise ValueError(f"filename must be a non-empty path, got {filename!r}")
    when = options["when"]
    if when is not None and (not isinstance(when, str) or when.upper() not in WHEN_VALUES):
        raise ValueError(f"when must be None or one of {sorted(WHEN_VALUES)}, got {when!r}")
    compress_level = check_count("compress_level", options["compress_level"])
    if compress_level > 9:
        raise ValueError(f"compress_level must be between 1 and 9, got {compress_level}")
    batch_max_bytes = parse_size("batch_max_bytes", options["batch_max_bytes"], minimum=1)
    max_pending_bytes = parse_size("max_pending_bytes", options["max_pending_bytes"], minimum=1)
    if max_pending_bytes < batch_max_bytes:
        raise ValueError(
            f"max_pending_bytes ({max_pending_bytes}) must be >= batch_max_bytes "
            f"({batch_max_bytes})"
        )
    for flag in ("utc", "compress", "lock"):
        if options[flag] not in (True, False):
            raise TypeError(f"{flag} must be True or False, got {options[flag]!r}")
    return FileOptions(
        filename=path,
        max_bytes=parse_size("max_bytes", options["max_bytes"]),
        when=when.upper() if isinstance(when, str) else None,
        interval=check_count("interval", options["interval"]),
        backup_count=_optional(check_count, "backup_count", options["backup_count"], minimum=0),
        max_age_seconds=_optional(
            check_seconds, "max_age_seconds", options["max_age_seconds"], positive=True
        ),
        compress_level=compress_level,
        file_mode=parse_mode("file_mode", options["file_mode"]),
        flush_mode=_choice("flush_mode", options["flush_mode"], FLUSH_MODES),
        batch_max_bytes=batch_max_bytes,
        flush_level=check_level("flush_level", options["flush_level"]),
        fsync=_choice("fsync", options["fsync"], FSYNC_POLICIES),
        fsync_interval=check_seconds("fsync_interval", options["fsync_interval"], positive=True),
        max_pending_bytes=max_pending_bytes,
        retry_interval=check_seconds("retry_interval", options["retry_interval"], positive=True),
        level=check_level("level", options["level"]),
    )


__all__ = [
    "DEFAULT_BACKUP_COUNT",
    "DEFAULT_BATCH_MAX_BYTES",
    "DEFAULT_CLOSE_TIMEOUT_SECONDS",
    "DEFAULT_COMPRESS_LEVEL",
    "DEFAULT_FILE_MODE",
    "DEFAULT_FSYNC_INTERVAL_SECONDS",
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_PENDING_BYTES",
    "DEFAULT_RETRY_INTERVAL_SECONDS",
    "FLUSH_MODES",
    "FSYNC_POLICIES",
    "PERMANENT_ERRNOS",
    "WRITE_ERRNOS_HINT",
    "FileOptions",
    "check_file_options",
    "parse_mode",
    "parse_size",
]
