"""The careful walk: JSON-safe data within a byte budget, cut with explicit markers.

:func:`to_json_safe` is used when orjson refused the data (a lone surrogate, an integer
beyond 64 bits, a cycle, a non-string key it cannot handle) or the output broke a size
cap. It returns only ``dict[str, ...]``, ``list``, ``str``, ``int``, ``float``,
``bool`` and ``None``, and promises that the value serialises to at most ``budget``
bytes. The ``fit_*`` helpers cut one string or bytes value the same way.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from typing import Any, cast

import orjson

from inferlog._text import safe_str, type_name
from inferlog.formatting._coerce import (
    _INT64_MIN,
    _UINT64_MAX,
    FAST_ITEMS_LIMIT,
    MARKER_RESERVE,
    MAX_DEPTH,
    MAX_KEY_BYTES,
    SORT_LIMIT,
    JsonValue,
    _array_shape,
    _array_size,
    _as_bytes,
    _big_int_text,
    _is_array_like,
    _sorted_if_possible,
    bytes_text,
    clean_text,
    coerce,
    fast_options,
)


def json_size(value: JsonValue) -> int:
    """Bytes that ``value`` (already JSON-safe) takes once serialised by orjson."""
    return len(orjson.dumps(value))


def truncation_marker(amount: int, unit: str) -> str:
    """The text appended to a cut string: ``...[truncated 123 chars]``."""
    return f"...[truncated {amount} {unit}]"


def more_items_marker(amount: int, unit: str = "items") -> str:
    """The last element of a cut list: ``...[truncated 12 more items]``."""
    return f"...[truncated {amount} more {unit}]"


#: Key under which a cut dictionary says how many keys it dropped.
MORE_KEYS_KEY = "..."


def fit_text(
    render: Callable[[int], tuple[str, int]], total: int, unit: str, budget: int
) -> tuple[str, int]:
    """Return the longest prefix (roughly) of a text that fits ``budget`` bytes of JSON.

    ``render(k)`` gives the visible text of at most the first ``k`` units (chars or
    bytes) out of ``total``, and how many units it really used. When not everything
    fits, a :func:`truncation_marker` saying how many units were cut is appended.
    Returns the text and its JSON size.
    """
    # Every unit costs at least one byte of JSON, so more than ``budget`` never fits.
    keep = min(total, budget)
    while True:
        text, used = render(keep)
        if used < total:
            text += truncation_marker(total - used, unit)
        size = json_size(text)
        if size <= budget:
            return text, size
        if keep == 0:
            return "...", 5
        # Dropping ``size - budget`` units frees at least that many bytes.
        keep = max(0, keep - (size - budget))


def fit_str(value: str, budget: int) -> tuple[str, int]:
    """Return ``value`` (lone surrogates escaped) cut to fit ``budget`` bytes of JSON."""
    if len(value) + 2 <= budget:  # else it cannot fit: every char takes a byte or more
        try:
            size = len(orjson.dumps(value))
        except TypeError:
            pass  # lone surrogates: fit_text cleans each candidate prefix
        else:
            if size <= budget:
                return value, size
    return fit_text(lambda k: (clean_text(value[:k]), k), len(value), "chars", budget)


def fit_bytes(value: bytes | bytearray | memoryview, budget: int) -> tuple[str, int]:
    """Return the text of ``value`` (see :func:`bytes_text`) cut to fit ``budget``."""
    total = value.nbytes if isinstance(value, memoryview) else len(value)
    if total <= budget:  # else it cannot fit: every byte takes a byte of JSON or more
        text = bytes_text(value)
        size = json_size(text)
        if size <= budget:
            return text, size
    # A few bytes past the budget let render() see whether the cut splits a character.
    head = _as_bytes(value, budget + 4)

    def render(keep: int) -> tuple[str, int]:
        end = keep
        # Back off over UTF-8 continuation bytes so a cut never splits a character
        # (which would show as invalid UTF-8 that the data never had).
        while 0 < end < len(head) and keep - end < 3 and head[end] & 0xC0 == 0x80:
            end -= 1
        return bytes_text(head[:end]), end

    return fit_text(render, total, "bytes", budget)


def to_json_safe(value: object, budget: int, max_depth: int = MAX_DEPTH) -> tuple[JsonValue, int]:
    """Convert ``value`` to JSON-safe data that serialises to at most ``budget`` bytes.

    Returns the data and its serialised size: exact, except that keys written alike
    (``None`` and ``float("nan")`` are both ``"null"``) are counted once each, which
    over-estimates. A ``budget`` below :data:`MARKER_RESERVE` is raised to it.
    Never raises.
    """
    budget = max(budget, MARKER_RESERVE)
    try:
        return _Walk(max_depth).convert(value, budget, 0)
    except Exception as err:  # a bug or a truly hostile object: still say what it was
        text, size = fit_str(f"<unrepresentable {type_name(value)}: {type(err).__name__}>", budget)
        return text, size


def safe_key(key: object, budget: int = MAX_KEY_BYTES) -> str:
    """Return the JSON object key for ``key``, matching orjson's ``OPT_NON_STR_KEYS``."""
    if type(key) is str:
        text = key
    elif isinstance(key, str):
        text = str.__str__(key)
    else:
        try:
            # Ask orjson itself, so int/float/bool/None/datetime/enum/UUID keys read
            # exactly as on the fast path.
            encoded = orjson.dumps({key: None}, option=orjson.OPT_NON_STR_KEYS)
            loaded = orjson.loads(encoded)
            text = next(iter(loaded))
        except Exception:
            text = safe_str(key)
    return fit_str(text, budget)[0]


_NUMBER_TYPES: frozenset[type] = frozenset({int, float, bool, type(None)})


def _plain_prefix(
    items: Sequence[Any], budget: int, unit: str, total: int | None = None
) -> tuple[JsonValue, int] | None:
    """Cut a list of numbers with a few orjson calls instead of a walk.

    Returns the longest prefix of whole items that fits with its marker, or None when
    orjson refuses the data (odd types, cycles, surrogates): then the walk decides.
    """
    total = len(items) if total is None else total
    # Every item takes a byte or more, so more than ``budget`` items never fit.
    candidates = items if len(items) <= budget else items[:budget]
    # Numbers only: nested data must go through the walk (which bounds its depth), and
    # a long string is better cut than dropped whole.
    if not all(type(item) in _NUMBER_TYPES for item in candidates):
        return None
    try:
        encoded = orjson.dumps(candidates)
    except TypeError:
        return None
    if len(candidates) == total and len(encoded) <= budget:
        return orjson.loads(encoded), len(encoded)
    reserve = json_size(more_items_marker(total, unit)) + 1
    if budget < 2 + reserve:
        return None
    low, high = 0, len(candidates)
    while low < high:  # the largest prefix length whose encoding leaves room for the marker
        middle = (low + high + 1) // 2
        if len(orjson.dumps(candidates[:middle])) + reserve <= budget:
            low = middle
        else:
            high = middle - 1
    kept: list[Any] = orjson.loads(orjson.dumps(candidates[:low]))
    kept.append(more_items_marker(total - low, unit))
    return kept, json_size(kept)


class _Walk:
    """One careful conversion: remembers the containers on the current path."""

    __slots__ = ("active", "max_depth")

    def __init__(self, max_depth: int) -> None:
        self.max_depth = max_depth
        # ids of the containers being converted right now: meeting one again is a cycle.
        self.active: set[int] = set()

    def convert(self, value: object, budget: int, depth: int) -> tuple[JsonValue, int]:
        # Exact-type checks first: they are the common case and the cheapest test.
        kind = type(value)
        if value is None or kind is bool or kind is float:
            scalar = cast(JsonValue, value)
            return scalar, json_size(scalar)
        if kind is str:
            return fit_str(cast(str, value), budget)
        if kind is int:
            return self._int(cast(int, value), budget)
        if isinstance(value, str):
            return fit_str(str.__str__(value), budget)
        if isinstance(value, bool):
            return bool(value), json_size(bool(value))
        if isinstance(value, enum.Enum):
            return self.convert(coerce(value), budget, depth)
        if isinstance(value, int):
            return self._int(int(value), budget)
        if isinstance(value, float):
            return float(value), json_size(float(value))
        if isinstance(value, (bytes, bytearray, memoryview)):
            return fit_bytes(value, budget)
        if isinstance(value, dict | Mapping):
            return self._container(value, budget, depth, self._dict)
        if isinstance(value, list | tuple):
            return self._container(value, budget, depth, self._list)
        if isinstance(value, AbstractSet):
            return self._container(value, budget, depth, self._set)
        if _is_array_like(value):
            return self._container(value, budget, depth, self._array)
        if isinstance(value, Sequence):
            # A range or deque is walked lazily: list(range(10**12)) would never end.
            return self._container(value, budget, depth, self._sequence)
        converted = coerce(value)
        if isinstance(converted, dict | list):
            # A dataclass, model or exception: its fields may hold more odd values.
            # Tracking the original object catches a model that dumps itself.
            return self._container(
                value, budget, depth, lambda _v, b, d: self.convert(converted, b, d)
            )
        return (
            self.convert(converted, budget, depth)
            if not isinstance(converted, str)
            else fit_str(converted, budget)
        )

    def _int(self, value: int, budget: int) -> tuple[JsonValue, int]:
        if _INT64_MIN <= value <= _UINT64_MAX:
            return value, json_size(value)
        # JSON numbers this large lose precision in most readers; a string does not.
        return fit_str(_big_int_text(value), budget)

    def _container(
        self,
        value: Any,
        budget: int,
        depth: int,
        walk: Callable[[Any, int, int], tuple[JsonValue, int]],
    ) -> tuple[JsonValue, int]:
        marker = id(value)
        if marker in self.active:
            return fit_str(f"<circular reference to {type_name(value)}>", budget)
        if depth >= self.max_depth:
            return fit_str(
                f"<nested deeper than {self.max_depth} levels: {type_name(value)}>", budget
            )
        self.active.add(marker)
        try:
            return walk(value, budget, depth + 1)
        finally:
            self.active.discard(marker)

    def _list(self, value: Sequence[Any], budget: int, depth: int) -> tuple[JsonValue, int]:
        fast = _plain_prefix(value, budget, "items")
        if fast is not None:
            return fast
        return self._items(iter(value), len(value), budget, depth, "items")

    def _sequence(self, value: Sequence[Any], budget: int, depth: int) -> tuple[JsonValue, int]:
        try:
            total: int | None = len(value)
        except Exception:  # len(range(10**20)) overflows
            total = None
        return self._items(iter(value), total, budget, depth, "items")

    def _set(self, value: AbstractSet[Any], budget: int, depth: int) -> tuple[JsonValue, int]:
        count = len(value)
        items = _sorted_if_possible(value, count) if count <= SORT_LIMIT else value
        return self._items(iter(items), count, budget, depth, "items")

    def _array(self, value: Any, budget: int, depth: int) -> tuple[JsonValue, int]:
        size = _array_size(value)
        # Every value takes two bytes or more ("0,"): an array that might fit keeps its
        # shape, as on the fast path; one that cannot is never expanded whole.
        if size is not None and (size <= FAST_ITEMS_LIMIT or size * 2 <= budget):
            try:
                # orjson's own numpy support, as on the fast path (a float32 is written
                # as its shortest float32 repr, not as the float64 tolist() gives).
                plain = orjson.loads(orjson.dumps(value, option=fast_options()))
            except TypeError:
                plain = value.tolist()
            return self.convert(plain, budget, depth)
        # Too big to expand: show the first values, flattened, and say what was cut.
        head_count = max(1, budget // 2)
        try:
            head = value.reshape(-1)[:head_count].tolist()
        except Exception:
            return fit_str(f"<{type_name(value)} of shape {_array_shape(value)}>", budget)
        unit = f"values of {type_name(value)} shape {_array_shape(value)}"
        fast = _plain_prefix(head, budget, unit, size)
        if fast is not None:
            return fast
        return self._items(iter(head), size, budget, depth, unit)

    def _items(
        self, items: Iterable[Any], total: int | None, budget: int, depth: int, unit: str
    ) -> tuple[JsonValue, int]:
        # Keep room for the widest marker this container could need.
        reserve = json_size(more_items_marker(total if total is not None else 10**12, unit)) + 1
        if budget < 2 + reserve + MARKER_RESERVE:
            # Too small to hold an item and a marker: first see if it is small anyway.
            return self._tiny(items, total, budget, depth, unit)
        out: list[Any] = []
        size = 2  # []
        taken = 0
        for item in items:
            sep = 1 if out else 0
            avail = budget - size - sep - reserve
            if avail < MARKER_RESERVE:
                break
            converted, item_size = self.convert(item, avail, depth)
            out.append(converted)
            size += sep + item_size
            taken += 1
        else:
            return out, size
        if total is None:
            text = f"...[truncated more {unit}]"
        else:
            text = more_items_marker(total - taken, unit)
        size += (1 if out else 0) + json_size(text)
        out.append(text)
        return out, size

    def _tiny(
        self, items: Iterable[Any], total: int | None, budget: int, depth: int, unit: str
    ) -> tuple[JsonValue, int]:
        out: list[Any] = []
        size = 2
        for item in items:
            converted, item_size = self.convert(item, MARKER_RESERVE, depth)
            size += (1 if out else 0) + item_size
            out.append(converted)
            if size > budget:
                count = "?" if total is None else str(total)
                return fit_str(f"<{count} {unit} cut>", budget)
        return out, size

    def _dict(self, value: Mapping[Any, Any], budget: int, depth: int) -> tuple[JsonValue, int]:
        out: dict[str, Any] = {}
        size = 2  # {}
        taken = 0
        total = len(value)
        for key, item in value.items():
            name = safe_key(key)
            sep = 1 if out else 0
            key_size = json_size(name) + 1  # "key":
            avail = budget - size - sep - key_size - MARKER_RESERVE
            if avail < MARKER_RESERVE:
                break
            converted, item_size = self.convert(item, avail, depth)
            # A key seen twice (1 and "1") keeps the last value; counting both is an
            # over-estimate, which keeps the budget promise.
            out[name] = converted
            size += sep + key_size + item_size
            taken += 1
        else:
            return out, size
        text = f"[truncated {total - taken} more keys]"
        out[MORE_KEYS_KEY] = text
        return out, size + (1 if len(out) > 1 else 0) + json_size(MORE_KEYS_KEY) + 1 + json_size(
            text
        )
