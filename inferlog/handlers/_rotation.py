"""Rotation boundaries and rotated-file names of the rotating JSON file handler.

Where the calendar boundaries of time rotation fall (:func:`next_rollover_time`), how a
rotated file is named after the UTC time it stopped receiving records, and how the
files of one log are found again (:func:`log_files`).
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from typing import Final

#: Where ``inferlog.configure()`` writes when given no path.
DEFAULT_LOG_PATH: Final[str] = os.path.join(".", "logs", "inferlog.jsonl")
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
