"""Last resort for records a queue could not deliver before its shutdown deadline.

A spill file is JSON lines, one record per line, in a deliberately plain shape that
needs nothing but the standard library to write (the sinks' own formatters may be
what is stuck). ``inferlog replay`` and a human with ``jq`` can both read it. The
count and the path are always printed to stderr, so nothing is lost silently even
when the file itself cannot be written.
"""

from __future__ import annotations

import copy
import datetime
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from typing import Any, Final

from inferlog._exceptions import EXCEPTION_ATTR, describe_exception
from inferlog._record import iter_extras

#: File name pattern used when no spill path is configured; ``{pid}`` is filled in.
DEFAULT_SPILL_NAME: Final = "inferlog-spill-{pid}.jsonl"
#: Permission bits of a spill file created here: only the owner may read what the
#: sinks could not take.
SPILL_FILE_MODE: Final = 0o600


def default_spill_path() -> str:
    """Return the spill path used when none is configured: the temp dir, per process."""
    return os.path.join(tempfile.gettempdir(), DEFAULT_SPILL_NAME.format(pid=os.getpid()))


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        return f"{record.msg!r} % {record.args!r}"


def record_to_spill_dict(record: logging.LogRecord) -> dict[str, Any]:
    """Return the plain, JSON-ready form of ``record`` written to a spill file."""
    out: dict[str, Any] = {
        "timestamp": datetime.datetime.fromtimestamp(record.created, datetime.timezone.utc)
        .isoformat(timespec="microseconds")
        .replace("+00:00", "Z"),
        "level": record.levelname,
        "logger": record.name,
        "message": _message(record),
    }
    for key, value in iter_extras(record):
        # extra= may carry non-str keys; JSON object keys must be strings.
        out.setdefault(key if isinstance(key, str) else repr(key), value)
    if record.exc_info and EXCEPTION_ATTR not in out:
        out[EXCEPTION_ATTR] = describe_exception(record.exc_info)
    out["spilled"] = True
    return out


def _dumps(obj: dict[str, Any]) -> str:
    try:
        return json.dumps(obj, default=repr, ensure_ascii=False)
    except Exception:
        # Circular or otherwise hostile values: keep what can be kept as text.
        return json.dumps({key: repr(value) for key, value in obj.items()}, ensure_ascii=False)


def _stderr(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except Exception:  # pragma: no cover - no stderr left to complain to
        pass


def _filtered(record: logging.LogRecord, filters: Sequence[logging.Filter]) -> logging.LogRecord:
    # A copy: a stuck sink may still hold the original. Redaction filters replace
    # values rather than mutate them, so a shallow copy keeps the original intact.
    record = copy.copy(record)
    for record_filter in filters:
        try:
            record_filter.filter(record)
        except Exception:  # a redaction filter never raises; anything else must not stop us
            pass
    return record


def spill_records(
    records: Iterable[logging.LogRecord],
    path: str | None,
    filters: Sequence[logging.Filter] = (),
) -> tuple[int, str]:
    """Append ``records`` to the spill file at ``path`` and say so on stderr.

    ``filters`` (the sinks' redaction filters) run on a copy of each record first,
    so a spill file holds no more than the sinks would have written. A new spill
    file is created with :data:`SPILL_FILE_MODE`.

    Returns ``(count, where)``, ``where`` being the file actually written, or
    ``"<stderr>"`` when neither ``path`` nor the temp-dir fallback could be opened,
    in which case the records themselves are written to stderr. Never raises.
    """
    lines = [_dumps(record_to_spill_dict(_filtered(r, filters))) for r in records]
    if not lines:
        return 0, ""
    candidates = [path] if path else []
    candidates.append(default_spill_path())
    for candidate in candidates:
        try:
            directory = os.path.dirname(os.path.abspath(candidate))
            os.makedirs(directory, exist_ok=True)
            fd = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_APPEND, SPILL_FILE_MODE)
            with open(fd, "a", encoding="utf-8") as fh:
                fh.write("\n".join(lines) + "\n")
        except Exception:
            continue
        _stderr(
            f"inferlog: {len(lines)} record(s) undelivered at the shutdown deadline "
            f"were spilled to {candidate}\n"
        )
        return len(lines), candidate
    _stderr(
        f"inferlog: {len(lines)} record(s) undelivered at the shutdown deadline and no "
        "spill file could be written; they follow:\n" + "\n".join(lines) + "\n"
    )
    return len(lines), "<stderr>"
