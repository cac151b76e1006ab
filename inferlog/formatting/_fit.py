"""Fitting a record into its byte caps when the one-call fast path cannot.

:func:`fit_record` converts field by field within the budgets, the most important
fields first, and says which fields it had to leave out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final

import orjson

from inferlog import schema as _schema
from inferlog.formatting._bounds import fit_str, json_size, safe_key, to_json_safe
from inferlog.formatting._coerce import MARKER_RESERVE, fast_options, orjson_default

#: Bytes kept free in a record that is being cut for the ``dropped_fields`` note.
DROPPED_NOTE_BYTES: Final = 320

#: Marks "not tried yet"; orjson never encodes a value as zero bytes.
_NOT_ENCODED: Final = b""


def encode_field(value: Any, default: Callable[[Any], Any] = orjson_default) -> bytes | None:
    """One orjson attempt at a single field; None when orjson refuses it."""
    try:
        return orjson.dumps(value, default=default, option=fast_options() | orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return None


def field_value(value: Any, budget: int, encoded: bytes | None = _NOT_ENCODED) -> tuple[Any, int]:
    """Return ``value`` ready for orjson within ``budget`` bytes, and its size.

    Most fields of a record that needed the careful path are fine on their own (one
    lone surrogate, one huge payload): those are encoded once, by orjson, and kept
    as a :class:`orjson.Fragment`; only the others are walked. ``encoded`` is the
    field's encoding when the caller already tried (None: orjson refused it).
    """
    if encoded is _NOT_ENCODED:
        encoded = encode_field(value)
    if encoded is not None and len(encoded) <= budget:
        size = len(encoded)
        return (orjson.loads(encoded) if _Fragment is None else _Fragment(encoded)), size
    return to_json_safe(value, budget)


#: orjson.Fragment (orjson 3.9.x and later) embeds bytes already encoded.
_Fragment: Any = getattr(orjson, "Fragment", None)


def fit_record(
    log_data: dict[str, Any],
    cap: int,
    max_field_bytes: int,
    priority: Sequence[str],
    encodings: list[bytes | None] | None = None,
) -> bytes:
    """Convert field by field within the budgets, most important fields first.

    ``encodings`` are the fields' orjson encodings when they were already tried.
    """
    items = list(log_data.items())
    position = {key: index for index, (key, _value) in enumerate(items)}
    order = [position[key] for key in priority if key in position]
    chosen = set(order)
    order += [index for index in range(len(items)) if index not in chosen]
    left = cap - 2 - DROPPED_NOTE_BYTES  # {} and room to say what was dropped
    kept: dict[int, tuple[str, Any]] = {}
    dropped: list[str] = []
    for index in order:
        key, value = items[index]
        name = safe_key(key)
        key_size = json_size(name) + 2  # the colon, and a comma
        budget = min(max_field_bytes, left - key_size)
        if budget < MARKER_RESERVE:
            dropped.append(name)
            continue
        converted, size = field_value(
            value, budget, _NOT_ENCODED if encodings is None else encodings[index]
        )
        kept[index] = (name, converted)
        left -= key_size + size
    result: dict[str, Any] = {}
    for index in sorted(kept):
        name, converted = kept[index]
        result[name] = converted
    if dropped:
        note = f"{len(dropped)} field(s) left out to fit the {cap}-byte record cap: " + ", ".join(
            dropped
        )
        key_size = json_size(_schema.DROPPED_FIELDS_FIELD) + 2
        result[_schema.DROPPED_FIELDS_FIELD] = fit_str(note, DROPPED_NOTE_BYTES - key_size)[0]
    encoded = orjson.dumps(result)
    if len(encoded) > cap:  # pragma: no cover - the budgets above make this impossible
        raise RuntimeError(f"record of {len(encoded)} bytes exceeds cap {cap}")
    return encoded
