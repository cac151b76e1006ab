"""Shared hypothesis strategies: JSON-ish data, odd objects and ``extra=`` dictionaries.

Any test that must hold "whatever the user logs" draws from here, so the odd values
grow in one place. ``any_values`` mixes plain JSON data with every awkward thing a
user has been seen to pass: ``Decimal``, ``UUID``, datetimes, enums, bytes, sets,
dataclasses, pydantic-like models, numpy arrays and scalars, objects whose
``__str__``/``__repr__`` raise, cycles, lone surrogates, non-str keys, ``Path``,
exceptions and types.
"""

from __future__ import annotations

import dataclasses
import enum
import logging
import pathlib
from typing import Any

from hypothesis import strategies as st

from inferlog._record import STANDARD_RECORD_ATTRS

try:  # numpy is a test dependency, but the strategies must not need it
    import numpy as np
except ImportError:  # pragma: no cover
    np = None  # type: ignore[assignment]


class Colour(enum.Enum):
    """A plain enum."""

    RED = "red"
    BLUE = 2


class Level(enum.IntEnum):
    """An int enum (serialised by orjson as an int)."""

    LOW = 1


@dataclasses.dataclass
class Point:
    """A dataclass holding anything."""

    x: Any
    y: Any = None


class ModelLike:
    """A pydantic-like object: only ``model_dump()`` says what it holds."""

    def __init__(self, data: Any) -> None:
        self._data = data

    def model_dump(self) -> Any:
        return {"data": self._data}


class BrokenModel:
    """A model whose ``model_dump`` raises (and whose ``str`` works)."""

    def model_dump(self) -> Any:
        raise RuntimeError("cannot dump")

    def __str__(self) -> str:
        return "BrokenModel()"


class Unprintable:
    """An object whose ``__str__`` and ``__repr__`` both raise."""

    def __str__(self) -> str:
        raise ValueError("no str")

    def __repr__(self) -> str:
        raise ValueError("no repr")


class HugeRepr:
    """An object whose ``str`` is a megabyte."""

    def __str__(self) -> str:
        return "r" * 1_000_000


class StrSubclass(str):
    """A str subclass whose ``__str__`` raises: its content is still its value."""

    def __str__(self) -> str:
        raise RuntimeError("no")


def _cycle(kind: int) -> Any:
    if kind == 0:
        items: list[Any] = [1]
        items.append(items)
        return items
    if kind == 1:
        mapping: dict[str, Any] = {"a": 1}
        mapping["self"] = mapping
        return mapping
    point = Point(1)
    point.y = [point]
    return point


def _deep(depth: int) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


def _exception(message: str) -> BaseException:
    try:
        raise ValueError(message)
    except ValueError as err:
        return err


def _memoryview(data: bytes) -> memoryview:
    return memoryview(data)


#: Text including lone surrogates and control characters.
texts = st.text(alphabet=st.characters(blacklist_categories=()), max_size=50)

json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=50),
)

odd_scalars = st.one_of(
    texts,
    st.integers(),  # beyond 64 bits too
    st.floats(),  # nan and infinities too
    st.decimals(allow_nan=True),
    st.uuids(),
    st.datetimes(timezones=st.one_of(st.none(), st.timezones())),
    st.dates(),
    st.times(),
    st.sampled_from([Colour.RED, Colour.BLUE, Level.LOW]),
    st.binary(max_size=40),
    st.binary(max_size=40).map(bytearray),
    st.binary(max_size=40).map(_memoryview),
    st.builds(pathlib.PurePosixPath, st.text(max_size=20)),
    st.builds(_exception, st.text(max_size=20)),
    st.sampled_from([int, logging.Logger]),
    # builds(), not sampled_from(instances): hypothesis reprs sampled values.
    st.builds(Unprintable),
    st.builds(BrokenModel),
    st.builds(HugeRepr),
    st.builds(StrSubclass, st.text(max_size=10)),
    st.integers(0, 2).map(_cycle),
    st.sampled_from([300, 1000]).map(_deep),
)

if np is not None:
    numpy_values = st.one_of(
        st.integers(0, 30).map(lambda n: np.arange(n, dtype=np.float64)),
        st.integers(1, 6).map(lambda n: np.arange(n * n).reshape(n, n)[:, 0]),  # strided
        st.just(np.array(["a", "b"])),
        st.just(np.array([1, "x"], dtype=object)),
        st.floats(width=32, allow_nan=True).map(np.float32),
        st.integers(-(2**31), 2**31 - 1).map(np.int32),
        st.just(np.zeros((300, 300))),
    )
    odd_scalars = st.one_of(odd_scalars, numpy_values)

#: Keys a user may put in a dict: not only strings.
dict_keys = st.one_of(
    texts,
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
    st.tuples(st.integers(), st.integers()),
    st.sampled_from([Colour.RED, Level.LOW]),
    st.uuids(),
)

#: Plain JSON data: what the fast path sees most of the time.
json_data = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.text(max_size=10), children, max_size=5),
    ),
    max_leaves=20,
)


def _containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    hashable = st.one_of(st.integers(), st.text(max_size=5), st.uuids())
    return st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=5).map(tuple),
        st.dictionaries(dict_keys, children, max_size=5),
        st.sets(hashable, max_size=5),
        st.frozensets(hashable, max_size=5),
        st.builds(Point, children, children),
        st.builds(ModelLike, children),
    )


#: Anything at all: JSON data, odd objects, and containers of both.
any_values = st.recursive(st.one_of(json_scalars, odd_scalars), _containers, max_leaves=15)

_RESERVED = STANDARD_RECORD_ATTRS | {"message", "asctime"}

#: Names usable in ``extra=`` (logging refuses the record's own attribute names).
extra_names = st.one_of(
    st.text(max_size=20).filter(lambda key: key not in _RESERVED),
    st.sampled_from(
        [
            "request_id",
            "model_id",
            "latency_ms",
            "request_payload",
            "exception",
            "timestamp",
            "level",
            "trace_id",
        ]
    ),
)

#: An ``extra=`` dictionary of anything.
extras = st.dictionaries(extra_names, any_values, max_size=8)

#: Occasionally a big value, to push the caps.
big_values = st.one_of(
    st.integers(1, 300_000).map(lambda n: "x" * n),
    st.integers(1, 100_000).map(lambda n: "é" * n),
    st.integers(1, 50_000).map(lambda n: list(range(n))),
    st.integers(1, 200_000).map(lambda n: b"\xff" * n),
    st.integers(1, 20_000).map(lambda n: {f"k{i}": "v" * 10 for i in range(n)}),
)

#: ``extra=`` dictionaries where some values are large.
big_extras = st.dictionaries(extra_names, st.one_of(any_values, big_values), min_size=1, max_size=6)
