"""Labels and insert ids of Cloud Logging entries: the service's limits, applied in our code.

Cloud Logging takes only string labels, at most 64 per entry, and truncates long keys
and values; one non-string label makes the service refuse the request. Both Google
sinks therefore build every entry's labels with :func:`string_labels`. An entry's
``insertId`` (:class:`InsertIds`) is fixed once, so that copies of an entry sent
again are stored once.
"""

from __future__ import annotations

import itertools
import os
import secrets
from collections.abc import Iterator, Mapping
from typing import Any, Final

from inferlog._safe import clean_text, fit_str, safe_key, safe_str

__all__ = [
    "MAX_LABELS",
    "MAX_LABEL_KEY_BYTES",
    "MAX_LABEL_VALUE_BYTES",
    "InsertIds",
    "string_labels",
]

#: Labels per entry that Cloud Logging accepts.
MAX_LABELS: Final = 64
#: Longer label keys and values are truncated by the service; we cut them ourselves.
MAX_LABEL_KEY_BYTES: Final = 512
MAX_LABEL_VALUE_BYTES: Final = 64 * 1024


def _label_text(value: object) -> str:
    if isinstance(value, str):
        return value
    # true, false, null as JSON writes them; numbers as Python does (3, 0.5, inf)
    if value is None or isinstance(value, bool):
        return "null" if value is None else ("true" if value else "false")
    return safe_str(value)


def _fit_label(text: str, limit: int) -> str:
    if len(text) <= limit and text.isascii():  # the common case: short ASCII
        return text
    text = clean_text(text)
    if len(text) * 4 <= limit or len(text.encode("utf-8")) <= limit:
        return text
    # fit_str counts JSON bytes (quotes and escapes included): never more than UTF-8.
    return fit_str(text, limit)[0]


def string_labels(*sources: Mapping[Any, Any] | None) -> tuple[dict[str, str], int]:
    """Merge label mappings (later ones win) into ``str -> str`` within the limits.

    Short ASCII labels are merged as they are; non-str keys and values become text
    (numbers and booleans as JSON writes them), keys and values are cut to the
    service's sizes, and labels beyond :data:`MAX_LABELS` are left out. Returns the
    labels and how many were left out.
    """
    merged: dict[str, str] = {}
    present = [source for source in sources if source]
    count = 0
    for source in present:
        count += len(source)
        if count > MAX_LABELS or not _plain_labels(source):
            break
    else:
        for source in present:  # the common case: nothing to convert or cut
            merged.update(source)
        return merged, 0
    for source in present:
        for key, value in source.items():
            name = _fit_label(key if isinstance(key, str) else safe_key(key), MAX_LABEL_KEY_BYTES)
            merged.pop(name, None)  # re-insert: a later source's label counts as newest
            merged[name] = _fit_label(_label_text(value), MAX_LABEL_VALUE_BYTES)
    if len(merged) <= MAX_LABELS:
        return merged, 0
    return dict(itertools.islice(merged.items(), MAX_LABELS)), len(merged) - MAX_LABELS


def _plain_labels(labels: Mapping[Any, Any]) -> bool:
    for key, value in labels.items():
        if not (
            type(key) is str
            and type(value) is str
            and len(key) <= 128
            and len(value) <= 1024
            and key.isascii()
            and value.isascii()
        ):
            return False
    return True


class InsertIds:
    """Client-side ``insertId`` values: unique per record, fixed once assigned.

    An id is assigned when a record is prepared and travels with the entry through
    every retry and the spool, so the service drops a copy it already has. Ids are a
    random per-process prefix and a counter; a forked child draws a new prefix.
    """

    def __init__(self) -> None:
        # (pid, prefix, counter), replaced as one: threads racing after a fork each
        # make a state of their own, with different prefixes, never a shared one.
        self._state: tuple[int, str, Iterator[int]] = (-1, "", itertools.count())

    def next(self) -> str:
        """Return a new id (thread-safe: ``next`` on a count is atomic in CPython)."""
        state = self._state
        pid = os.getpid()
        if state[0] != pid:
            state = (pid, secrets.token_hex(6), itertools.count())
            self._state = state
        return f"{state[1]}-{next(state[2]):x}"
