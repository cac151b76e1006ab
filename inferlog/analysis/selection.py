"""Which records an analysis looks at: a time window and field filters.

The same selection is written as SQL (for DuckDB and the printed queries) and applied
in Python (for trace and replay), so that every command picks the same records.

- Times (``--since``, ``--until``): RFC 3339 / ISO 8601 (``2027-01-15T08:00:00Z``,
  ``2027-01-15``; no offset means UTC) or a duration back from now (``90s``, ``30m``,
  ``12h``, ``7d``).
- Fields: a top-level key (``model_version``, ``gen_ai.request.model``), or a path into
  a payload (``request_payload.features.country``).
- Filters (``--filter``): ``FIELD=VALUE`` or ``FIELD!=VALUE``, compared as text
  (numbers and booleans as JSON writes them: ``3``, ``0.5``, ``true``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import orjson

from inferlog import schema
from inferlog.analysis.errors import UsageError
from inferlog.reader import timestamp_seconds

__all__ = [
    "PAYLOAD_ROOTS",
    "FieldFilter",
    "FieldRef",
    "TimeWindow",
    "all_match",
    "as_text",
    "parse_filter",
    "parse_time",
]

#: Top-level fields whose dotted names are paths into the JSON object they hold.
PAYLOAD_ROOTS: Final = frozenset({schema.REQUEST_PAYLOAD, schema.RESPONSE_PAYLOAD, "exception"})
_DURATION_RE: Final = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNIT_SECONDS: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_FILTER_RE: Final = re.compile(r"^\s*([^=!\s][^=!]*?)\s*(!=|=)\s*(.*?)\s*$")
_PATH_PART_RE: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def parse_time(text: str, *, now: datetime | None = None) -> datetime:
    """Return ``text`` (an ISO time or a duration back from ``now``) as an aware UTC time."""
    match = _DURATION_RE.match(text)
    if match:
        amount, unit = float(match.group(1)), match.group(2).lower()
        moment = now or datetime.now(timezone.utc)
        return moment - timedelta(seconds=amount * _UNIT_SECONDS[unit])
    candidate = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", candidate):
        candidate += "T00:00:00"
    seconds = timestamp_seconds(candidate)
    if seconds is None:
        raise UsageError(
            f"{text!r} is not a time: use ISO 8601 (2027-01-15T08:00:00Z, 2027-01-15) "
            "or a duration back from now (90s, 30m, 12h, 7d)"
        )
    return datetime.fromtimestamp(seconds, timezone.utc)


def as_text(value: object) -> str | None:
    """Return a field value as the text filters compare: strings as is, the rest as JSON."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return str(value)


@dataclass(frozen=True)
class FieldRef:
    """A record field named on the command line: a top-level key or a payload path."""

    root: str
    path: tuple[str, ...] = ()

    @classmethod
    def parse(cls, name: str) -> FieldRef:
        """Read ``name``; raise :class:`UsageError` for an empty or malformed one."""
        name = name.strip()
        if not name:
            raise UsageError("a field name cannot be empty")
        root, _, rest = name.partition(".")
        if root in PAYLOAD_ROOTS and rest:
            parts = tuple(rest.split("."))
            if not all(_PATH_PART_RE.match(part) for part in parts):
                raise UsageError(f"{name!r}: a payload path is names joined by dots")
            return cls(root, parts)
        return cls(name)

    @property
    def name(self) -> str:
        """The field as written on the command line."""
        return ".".join((self.root, *self.path))

    def get(self, record: Mapping[str, Any]) -> Any:
        """Return this field of ``record``, or None where it is absent."""
        value: Any = record.get(self.root)
        for part in self.path:
            if not isinstance(value, Mapping):
                return None
            value = value.get(part)
        return value

    def column_type(self) -> str:
        """The DuckDB type :func:`~inferlog.analysis.engine.load_records` reads it as."""
        return "JSON" if self.path else "VARCHAR"


@dataclass(frozen=True)
class FieldFilter:
    """``FIELD=VALUE`` or ``FIELD!=VALUE``: keep records whose field matches (as text)."""

    field: FieldRef
    value: str
    negate: bool = False

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` passes this filter (a missing field never equals a value)."""
        equal = as_text(self.field.get(record)) == self.value
        return not equal if self.negate else equal

    def sql(self, text: str) -> str:
        """SQL condition, ``text`` being the SQL expression of the field as text."""
        literal = "'" + self.value.replace("'", "''") + "'"
        if self.negate:
            return f"({text} IS NULL OR {text} <> {literal})"
        return f"{text} = {literal}"


def parse_filter(text: str) -> FieldFilter:
    """Read ``FIELD=VALUE`` / ``FIELD!=VALUE``; raise :class:`UsageError` otherwise."""
    match = _FILTER_RE.match(text)
    if match is None:
        raise UsageError(f"{text!r} is not a filter: write FIELD=VALUE or FIELD!=VALUE")
    name, operator, value = match.groups()
    return FieldFilter(FieldRef.parse(name), value, negate=operator == "!=")


@dataclass(frozen=True)
class TimeWindow:
    """Records with ``since <= timestamp < until``; either end may be open."""

    since: datetime | None = None
    until: datetime | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since >= self.until:
            raise UsageError(
                f"the window is empty: --since {self.since.isoformat()} is not before "
                f"--until {self.until.isoformat()}"
            )

    def contains(self, record: Mapping[str, Any]) -> bool:
        """Whether ``record`` is inside (one without a readable time is outside a bound)."""
        if self.since is None and self.until is None:
            return True
        seconds = timestamp_seconds(record.get(schema.TIMESTAMP))
        if seconds is None:
            return False
        if self.since is not None and seconds < self.since.timestamp():
            return False
        return not (self.until is not None and seconds >= self.until.timestamp())

    def sql_conditions(self, column: str, literal: str = "TIMESTAMPTZ '{}'") -> list[str]:
        """SQL conditions on ``column``; ``literal`` formats an ISO time for the dialect."""
        conditions = []
        if self.since is not None:
            conditions.append(f"{column} >= {literal.format(_iso(self.since))}")
        if self.until is not None:
            conditions.append(f"{column} < {literal.format(_iso(self.until))}")
        return conditions


def _iso(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds").replace("+00:00", "Z")


def all_match(filters: Iterable[FieldFilter], record: Mapping[str, Any]) -> bool:
    """Whether ``record`` passes every filter."""
    return all(f.matches(record) for f in filters)
