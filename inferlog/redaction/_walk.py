"""Redaction of nested values: dicts, lists, tuples, sets and the objects inside them.

Containers are rebuilt, never changed in place: the caller, or another sink's copy of
the record, may still hold them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from inferlog import _diagnostics
from inferlog._safe import safe_str
from inferlog.formatting._bounds import circular_marker, depth_marker

#: What a field becomes when redacting it failed: never the original text.
FAILED_TOKEN = "[REDACTED:ERROR]"
#: Nesting depth of dicts/lists beyond which a value is masked rather than walked.
MAX_DEPTH = 64
#: Ints at least this large (in magnitude) are scanned as text: a 16-digit int can be a
#: card number, a small one cannot hold anything to redact.
BIG_INT = 10**8

#: Types whose values cannot carry text worth redacting (ints are handled apart).
ATOMIC_SAFE: tuple[type, ...] = (
    float,
    bool,
    type(None),
    datetime,
    date,
    time,
    timedelta,
    UUID,
    Decimal,
    Enum,
)


def report_failure(where: str, err: BaseException) -> None:
    """Report once per place and exception type that redacting a part failed."""
    # Only the exception type: its message could quote the text being redacted.
    _diagnostics.report_once(
        f"redaction-failure:{where}:{type(err).__name__}",
        logging.WARNING,
        "redaction of a %s failed (%s); the %s was replaced by %s",
        where,
        type(err).__name__,
        where,
        FAILED_TOKEN,
    )


class Walker:
    """Redacts nested data with a text redactor and the secret-field rule.

    Args:
        redact_text: redacts one string, returning it and whether a ``drop``-mode
            detector hit it.
        is_secret_field: whether a value under this key may be replaced whole.
        hides_value: whether this value under this key is replaced whole.
        field_token: what a secret field's value becomes.
        drop_secret_fields: remove secret fields instead of replacing their value.
    """

    def __init__(
        self,
        redact_text: Callable[[str], tuple[str, bool]],
        is_secret_field: Callable[[str], bool],
        hides_value: Callable[[str, Any], bool],
        field_token: Callable[[object], str],
        drop_secret_fields: bool,
        redact_from: Callable[[str, int], tuple[str, bool]] | None = None,
    ) -> None:
        self._redact_text = redact_text
        self._redact_from = redact_from or (lambda text, _start: redact_text(text))
        self._is_secret_field = is_secret_field
        self._hides_value = hides_value
        self._field_token = field_token
        self._drop_secret_fields = drop_secret_fields

    def secret_field(self, value: Any) -> tuple[Any, bool, bool]:
        """What the value of a secret field becomes: ``(new, changed, dropped)``."""
        if self._drop_secret_fields:
            return None, True, True
        if value is None or value == "":
            return value, False, False
        return self._field_token(value), True, False

    def walk(
        self, value: Any, depth: int, copy: bool, active: set[int] | None = None
    ) -> tuple[Any, bool, bool]:
        """Return ``(new_value, changed, drop)``; containers are rebuilt if ``copy``.

        ``active`` holds the ids of the containers being walked: one met again inside
        itself becomes the formatter's circular-reference marker, not 64 copies of
        itself ending in a depth marker.
        """
        try:
            kind = type(value)
            if kind is str:
                text, dropped = self._redact_text(value)
                return text, text is not value, dropped
            if isinstance(value, ATOMIC_SAFE):
                return value, False, False
            if isinstance(value, int):
                if -BIG_INT < value < BIG_INT:
                    return value, False, False
                text, dropped = self._redact_text(str(value))
                if text == str(value):
                    return value, False, False
                return text, True, dropped
            is_mapping = isinstance(value, Mapping)
            if is_mapping or isinstance(value, (list, tuple, set, frozenset)):
                if active is None:
                    active = set()
                if id(value) in active:
                    return circular_marker(value), True, False
                if depth >= MAX_DEPTH:
                    # Not walked, so not shown: the formatter's marker for such nesting.
                    return depth_marker(value, MAX_DEPTH), True, False
                active.add(id(value))
                try:
                    if is_mapping:
                        return self._walk_mapping(value, depth, copy, active)
                    return self._walk_sequence(value, depth, copy, active)
                finally:
                    active.discard(id(value))
            if isinstance(value, (bytes, bytearray)):
                decoded = bytes(value).decode("utf-8", "replace")
                text, dropped = self._redact_text(decoded)
                return (text, True, dropped) if text != decoded else (value, False, False)
            shown = safe_str(value)
            text, dropped = self._redact_text(shown)
            return (text, True, dropped) if text != shown else (value, False, False)
        except Exception as err:
            report_failure("value", err)
            return FAILED_TOKEN, True, False

    def _walk_mapping(
        self, value: Mapping[Any, Any], depth: int, copy: bool, active: set[int]
    ) -> tuple[Any, bool, bool]:
        out: dict[Any, Any] = {}
        changed = False
        for key, item in value.items():
            if isinstance(key, str) and self._hides_value(key, item):
                new, item_changed, dropped = self.secret_field(item)
            else:
                new, item_changed, dropped = self.walk(item, depth + 1, copy, active)
            if dropped:
                changed = True
                continue
            out[key] = new
            changed = changed or item_changed
        if not changed and not copy:
            return value, False, False
        if type(value) is not dict:
            try:
                rebuilt: Any = type(value)
                return rebuilt(out), changed, False
            except Exception:
                pass
        return out, changed, False

    def _walk_sequence(
        self, value: Any, depth: int, copy: bool, active: set[int]
    ) -> tuple[Any, bool, bool]:
        items: list[Any] = []
        changed = False
        for item in value:
            new, item_changed, dropped = self.walk(item, depth + 1, copy, active)
            if dropped:
                changed = True
                continue
            items.append(new)
            changed = changed or item_changed
        if not changed and not copy:
            return value, False, False
        if isinstance(value, list):
            return items, changed, False
        if isinstance(value, tuple):
            if hasattr(value, "_fields"):  # a namedtuple: keep its type if it still fits
                try:
                    return type(value)(*items), changed, False
                except Exception:
                    return tuple(items), changed, False
            return tuple(items), changed, False
        try:
            return type(value)(items), changed, False
        except TypeError:  # unhashable redacted items
            return items, changed, False

    def walk_found(self, value: Any, starts: Sequence[int | None]) -> tuple[Any, bool, bool]:
        """Redact a value whose strings :meth:`collect` listed (and found no reason for
        a full walk), knowing where each may first match: ``(new_value, changed, drop)``.

        ``starts[i]`` is the byte offset before which the i-th string holds no match,
        or None when it holds none: such strings are not scanned again. Containers are
        rebuilt only where something changed, as :meth:`walk` does without ``copy``.
        """
        return self._found(value, iter(starts))

    def _found(self, value: Any, starts: Iterator[int | None]) -> tuple[Any, bool, bool]:
        # Mirrors collect(): the same types, visited in the same order. Not walk() with
        # another leaf: that asks hides_value() of every key, which collect() has
        # already ruled out, and measured 1.2 us more per payload on the hot path.
        kind = type(value)
        if kind is str:
            start = next(starts)
            if start is None:
                return value, False, False
            text, dropped = self._redact_from(value, start)
            return text, text is not value, dropped
        if kind is int and not -BIG_INT < value < BIG_INT:
            start = next(starts)
            if start is None:
                return value, False, False
            shown = str(value)
            text, dropped = self._redact_from(shown, start)
            return (value, False, False) if text == shown else (text, True, dropped)
        if kind is dict:
            out: dict[Any, Any] = {}
            changed = False
            for key, item in value.items():
                new, item_changed, dropped = self._found(item, starts)
                if dropped:
                    changed = True
                    continue
                out[key] = new
                changed = changed or item_changed
            return (out, True, False) if changed else (value, False, False)
        if kind is list or kind is tuple:
            items: list[Any] = []
            changed = False
            for item in value:
                new, item_changed, dropped = self._found(item, starts)
                if dropped:
                    changed = True
                    continue
                items.append(new)
                changed = changed or item_changed
            if not changed:
                return value, False, False
            return (items if kind is list else tuple(items)), True, False
        return value, False, False  # None, float, bool, small ints: nothing to scan

    def collect(self, value: Any, texts: list[str], depth: int = 0) -> bool:
        """Append the strings inside ``value`` to ``texts``; True if it needs a full walk.

        A full walk is needed regardless of the text when a key names a secret, or
        when the value is too deep to inspect here.
        """
        kind = type(value)
        if kind is str:
            texts.append(value)
            return False
        if value is None or kind is float or kind is bool:
            return False
        if kind is int:
            if -BIG_INT < value < BIG_INT:
                return False
            texts.append(str(value))
            return False
        if depth >= MAX_DEPTH:
            return True
        if kind is dict:
            for key, item in value.items():
                if type(key) is str and self._is_secret_field(key):
                    return True
                if self.collect(item, texts, depth + 1):
                    return True
            return False
        if kind is list or kind is tuple:
            return any(self.collect(item, texts, depth + 1) for item in value)
        return True
