"""The spool: one on-disk place for records a sink could not take, and sending them again.

A spool file is JSON lines, one record per line, each the record's dict (the keys of
:doc:`/schema`, as the sink's :class:`~inferlog.JsonFormatter` would write them) plus
a ``spool`` object saying which sink it was meant for, why it is here and when it
was spooled. :func:`inferlog.read_records` reads spool files like any log file, and
:func:`resend` (``inferlog spool resend``) delivers them to their sink later.

The queue spools at its shutdown deadline what a sink had not acknowledged, for that
sink only (after that sink's own filters, so a spool holds no more than the sink
would have written); network sinks spool what they give up on. New files are created
with :data:`SPILL_FILE_MODE`. The count and the path are always printed to stderr, so
nothing is lost silently even when no file can be written.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import logging
import os
import sys
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Final

from inferlog._exceptions import EXCEPTION_ATTR, describe_exception
from inferlog._record import copy_record, iter_extras

__all__ = [
    "DEFAULT_SPILL_NAME",
    "SPILL_FILE_MODE",
    "SPOOL_ATTR",
    "Spool",
    "default_spill_path",
    "record_to_spill_dict",
    "resend",
    "spill_records",
]

#: File name used when no spool path is configured; ``{pid}`` is filled in.
DEFAULT_SPILL_NAME: Final = "inferlog-spill-{pid}.jsonl"
#: Permission bits of a spool file created here: only the owner may read what the
#: sinks could not take.
SPILL_FILE_MODE: Final = 0o600
#: Key of the object that says which sink a spooled record was for, and why.
SPOOL_ATTR: Final = "spool"


def default_spill_path() -> str:
    """Return the spool file used when none is configured: the temp dir, per process."""
    return os.path.join(tempfile.gettempdir(), DEFAULT_SPILL_NAME.format(pid=os.getpid()))


def _utc_now() -> str:
    return (
        datetime.datetime.now(datetime.timezone.utc)
        .isoformat(timespec="milliseconds")
        .replace("+00:00", "Z")
    )


def _message(record: logging.LogRecord) -> str:
    try:
        return record.getMessage()
    except Exception:
        return f"{record.msg!r} % {record.args!r}"


def record_to_spill_dict(
    record: logging.LogRecord, formatter: logging.Formatter | None = None
) -> dict[str, Any]:
    """Return the JSON-ready dict of ``record`` that a spool file holds.

    Built by ``record_dict`` (the one record-to-dict path) of the sink's formatter
    when it has one, else of a default :class:`~inferlog.JsonFormatter`, so a
    spooled record reads like a written one. Only if that fails, a plain dict of the
    standard keys and the extras, which needs nothing but the standard library.
    """
    record_dict = getattr(formatter, "record_dict", None)
    if record_dict is None:
        record_dict = _default_record_dict()
    with contextlib.suppress(Exception):
        built = record_dict(record)
        if isinstance(built, dict):
            return built
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
    return out


_default_formatter: list[Any] = []


def _default_record_dict() -> Any:
    if not _default_formatter:
        from inferlog.formatting import JsonFormatter  # the spool is off the hot path

        _default_formatter.append(JsonFormatter())
    return _default_formatter[0].record_dict


def _dumps(obj: dict[str, Any]) -> str:
    try:
        return json.dumps(obj, default=repr, ensure_ascii=False)
    except Exception:
        # Circular or otherwise hostile values: keep what can be kept as text.
        return json.dumps({str(k): repr(v) for k, v in obj.items()}, ensure_ascii=False)


def _stderr(text: str) -> None:
    try:
        sys.stderr.write(text)
        sys.stderr.flush()
    except Exception:  # pragma: no cover - no stderr left to complain to
        pass


def _filtered(
    record: logging.LogRecord, filters: Sequence[logging.Filter | Any]
) -> logging.LogRecord | None:
    # A copy: a stuck sink may still hold the original.
    record = copy_record(record)
    for record_filter in filters:
        try:
            kept = record_filter.filter(record)
        except Exception:  # a filter that fails must not stop the spool
            continue
        if not kept:
            return None
        if isinstance(kept, logging.LogRecord):
            record = kept
    return record


class Spool:
    """Append-only JSON-lines storage for records that could not be delivered.

    Args:
        path: a file, or a directory (existing, or given with a trailing separator)
            that gets one ``inferlog-spill-<pid>.jsonl`` per process. Default: that
            file in the temp directory.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        if path is not None and not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"spool path must be a str or os.PathLike, got {path!r}")
        self.path = os.fspath(path) if path is not None else None

    def file_path(self) -> str:
        """The file this process appends to now."""
        if self.path is None:
            return default_spill_path()
        if self.path.endswith(os.sep) or os.path.isdir(self.path):
            return os.path.join(self.path, DEFAULT_SPILL_NAME.format(pid=os.getpid()))
        return self.path

    def files(self) -> list[str]:
        """Every spool file this spool covers (for reading back), oldest name first."""
        if self.path is not None and os.path.isdir(self.path):
            return sorted(
                os.path.join(self.path, name)
                for name in os.listdir(self.path)
                if name.endswith(".jsonl")
            )
        path = self.file_path()
        return [path] if os.path.exists(path) else []

    def write(self, items: Iterable[dict[str, Any]], *, sink: str, reason: str) -> tuple[int, str]:
        """Append ``items`` for ``sink`` with ``reason``; return ``(count, where)``.

        ``where`` is the file written, or ``"<stderr>"`` when neither this spool's
        file nor the temp-dir fallback could be opened; the records are then written
        to stderr. The count and the place are printed to stderr. Never raises.
        """
        meta = {"sink": sink, "reason": reason, "spooled_at": _utc_now()}
        lines = []
        for item in items:
            entry = dict(item)
            entry[SPOOL_ATTR] = meta
            lines.append(_dumps(entry))
        if not lines:
            return 0, ""
        candidates = [self.file_path()]
        if candidates[0] != default_spill_path():
            candidates.append(default_spill_path())
        for candidate in candidates:
            try:
                _append(candidate, lines)
            except Exception:
                continue
            _stderr(
                f"inferlog: {len(lines)} record(s) for sink {sink!r} could not be delivered "
                f"({reason}) and were spooled to {candidate}\n"
            )
            return len(lines), candidate
        _stderr(
            f"inferlog: {len(lines)} record(s) for sink {sink!r} could not be delivered "
            f"({reason}) and no spool file could be written; they follow:\n"
            + "\n".join(lines)
            + "\n"
        )
        return len(lines), "<stderr>"

    def records(self, sink: str | None = None) -> Iterator[dict[str, Any]]:
        """Yield spooled records in file order, only ``sink``'s when it is given."""
        for path in self.files():
            for item in _read(path):
                if sink is None or _sink_of(item) in (sink, None):
                    yield item


def _append(path: str, lines: list[str]) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, SPILL_FILE_MODE)
    with open(fd, "a", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def _read(path: str) -> Iterator[dict[str, Any]]:
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            line = line.strip()
            if not line:
                continue
            try:
                item = json.loads(line)
            except ValueError:
                continue  # a torn last line: inferlog.read_records reports those
            if isinstance(item, dict):
                yield item


def _sink_of(item: dict[str, Any]) -> str | None:
    meta = item.get(SPOOL_ATTR)
    return meta.get("sink") if isinstance(meta, dict) else None


def spill_records(
    records: Iterable[logging.LogRecord],
    path: str | os.PathLike[str] | None,
    filters: Sequence[logging.Filter | Any] = (),
    *,
    sink: str = "",
    reason: str = "undelivered at the shutdown deadline",
    formatter: logging.Formatter | None = None,
) -> tuple[int, str]:
    """Spool ``records`` meant for one sink, after that sink's ``filters``.

    Records a filter refuses are not spooled (the sink would not have written
    them). Returns ``(count, where)`` as :meth:`Spool.write`. Never raises.
    """
    items = []
    for record in records:
        kept = _filtered(record, filters)
        if kept is not None:
            items.append(record_to_spill_dict(kept, formatter))
    return Spool(path).write(items, sink=sink, reason=reason)


def resend(path: str | os.PathLike[str], handler: logging.Handler) -> tuple[int, int]:
    """Deliver the records spooled for ``handler`` (by its name) and remove them.

    A handler with ``resend_items(items) -> int`` (the network sinks) gets the dicts
    as they are; one with ``write_lines`` (the file sink) gets them as JSON lines;
    any other handler gets a ``LogRecord`` rebuilt from each. Returns
    ``(sent, left)``; what was not sent stays in the spool, in order.
    """
    spool = Spool(path)
    name = handler.get_name() or None
    sent = left = 0
    for file in spool.files():
        items = list(_read(file))
        mine = [i for i in items if name is None or _sink_of(i) in (name, None)]
        if not mine:
            continue
        done = _deliver(handler, mine)
        sent += done
        delivered = {id(i) for i in mine[:done]}
        remaining = [i for i in items if id(i) not in delivered]
        left += len(mine) - done
        _rewrite(file, remaining)
    return sent, left


def _deliver(handler: logging.Handler, items: list[dict[str, Any]]) -> int:
    plain = [{k: v for k, v in i.items() if k != SPOOL_ATTR} for i in items]
    resend_items = getattr(handler, "resend_items", None)
    if resend_items is not None:
        return int(resend_items(plain))
    write_lines = getattr(handler, "write_lines", None)
    if write_lines is not None:
        return int(write_lines([_dumps(i) for i in plain]))
    for item in plain:
        handler.handle(_rebuild(item))
    handler.flush()
    return len(plain)


def _rebuild(item: dict[str, Any]) -> logging.LogRecord:
    from inferlog.reader import timestamp_seconds  # reading is not on the hot path

    fields = dict(item)
    message = str(fields.pop("message", ""))
    level = logging.getLevelName(str(fields.pop("level", "INFO")))
    record = logging.makeLogRecord(
        {
            **{k: v for k, v in fields.items() if k not in ("timestamp", "logger")},
            "name": str(fields.get("logger", "inferlog.spool")),
            "msg": message,
            "levelno": level if isinstance(level, int) else logging.INFO,
            "levelname": logging.getLevelName(level if isinstance(level, int) else logging.INFO),
        }
    )
    created = timestamp_seconds(fields.get("timestamp"))
    if created is not None:
        record.created = created
    return record


def _rewrite(path: str, items: list[dict[str, Any]]) -> None:
    if not items:
        os.unlink(path)
        return
    temporary = f"{path}.tmp-{os.getpid()}"
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, SPILL_FILE_MODE)
    with open(fd, "w", encoding="utf-8") as fh:
        fh.write("\n".join(_dumps(i) for i in items) + "\n")
    os.replace(temporary, path)
