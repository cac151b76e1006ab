"""Turn any Python value into something orjson can write, without ever raising.

:func:`orjson_default` is the ``default=`` hook of the formatter's fast path: orjson
calls it only for types it does not know (``Decimal``, ``set``, ``bytes``, ``Path``, a
pydantic model, ...) and keeps going in C for everything else. :func:`coerce` is the
one set of representations that the careful walk (:mod:`inferlog.formatting._bounds`)
uses too, so a value looks the same whichever path the formatter took.

Nothing here imports numpy, torch or pydantic: array-likes and models are recognised
by their type's module name and their methods.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from pathlib import PurePath
from typing import Any, Final, Union

import orjson

from inferlog._exceptions import describe_exception
from inferlog._text import safe_str, type_name

#: A value built only from types every JSON encoder accepts.
JsonValue = Union[None, bool, int, float, str, list[Any], dict[str, Any]]  # noqa: UP007

#: Lets orjson write contiguous numpy arrays and numpy scalars in C.
NUMPY_OPTION: Final = orjson.OPT_SERIALIZE_NUMPY


def fast_options() -> int:
    """orjson options of the fast path: numpy support only once numpy is loaded.

    With ``OPT_SERIALIZE_NUMPY`` set, orjson imports numpy (when installed) the first
    time it meets a type it does not know, a cost of 100 ms or more that a process
    which never used numpy must not pay. Without numpy in ``sys.modules`` no numpy
    value can reach a record, so the option would be useless anyway.
    """
    return NUMPY_OPTION if "numpy" in sys.modules else 0


#: Deepest nesting the careful walk keeps; deeper containers become a placeholder.
#: orjson itself stops at 254 levels, which is what sends such data here.
MAX_DEPTH = 64
#: Longest dictionary key kept, in bytes of JSON; longer keys are cut with a marker.
MAX_KEY_BYTES = 256
#: Sets up to this size are sorted so the output is stable; larger ones keep their
#: iteration order rather than pay for a sort of data that will be truncated anyway.
SORT_LIMIT = 1_000
#: Containers larger than this are not expanded by :func:`orjson_default`; it refuses
#: them so the careful walk, which stops at the byte budget, handles them lazily.
FAST_ITEMS_LIMIT = 10_000
#: Room kept free in every container for a "more items" marker, and the smallest
#: budget any value is ever given (every marker fits in it).
MARKER_RESERVE = 64

#: Module roots whose objects expose ``tolist()`` like a numpy array.
_ARRAY_MODULES = frozenset({"numpy", "torch", "jax", "jaxlib", "tensorflow", "cupy"})
_INT64_MIN = -(2**63)
_UINT64_MAX = 2**64 - 1


class _TooLargeForFastPath(TypeError):
    """Raised by :func:`orjson_default` to hand a value over to the careful walk."""


def clean_text(text: str) -> str:
    """Return ``text`` with lone surrogates written as visible ``\\udcxx`` escapes.

    A lone surrogate cannot be encoded as UTF-8, so JSON encoders refuse it; the
    escape keeps the information visible instead of dropping it.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def bytes_text(data: bytes | bytearray | memoryview) -> str:
    """Decode ``data`` as UTF-8; bytes that are not valid UTF-8 become ``\\xNN`` escapes."""
    raw = _as_bytes(data)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("utf-8", "backslashreplace")


def _as_bytes(data: bytes | bytearray | memoryview, limit: int | None = None) -> bytes:
    if isinstance(data, memoryview):
        try:
            flat = data.cast("B") if data.format != "B" or data.ndim != 1 else data
            return bytes(flat if limit is None else flat[:limit])
        except (TypeError, ValueError):
            # Non-contiguous views cannot be cast; tobytes() copies them in order.
            raw = data.tobytes()
            return raw if limit is None else raw[:limit]
    raw = bytes(data) if limit is None else bytes(data[:limit])
    return raw


def _big_int_text(value: int) -> str:
    try:
        return str(int(value))
    except ValueError:
        # Python refuses to print integers beyond sys.get_int_max_str_digits().
        return f"<int of {value.bit_length()} bits>"


def _is_array_like(obj: object) -> bool:
    module = getattr(type(obj), "__module__", "") or ""
    return module.partition(".")[0] in _ARRAY_MODULES and callable(getattr(obj, "tolist", None))


def _array_size(obj: object) -> int | None:
    size = getattr(obj, "size", None)
    if callable(size):  # torch: size() is the shape, numel() the count
        numel = getattr(obj, "numel", None)
        size = numel() if callable(numel) else None
    return size if isinstance(size, int) else None


def _array_shape(obj: object) -> str:
    try:
        return str(tuple(getattr(obj, "shape", ())))
    except Exception:
        return "?"


def _sorted_if_possible(items: Iterable[Any], count: int) -> list[Any]:
    listed = list(items)
    if count <= SORT_LIMIT:
        try:
            return sorted(listed)
        except Exception:  # mixed types do not compare
            pass
    return listed


def _model_dump(obj: object) -> Any:
    """Return ``obj.model_dump()`` for pydantic-like models, else a sentinel."""
    dump = getattr(type(obj), "model_dump", None)
    if not callable(dump):
        return _NOTHING
    try:
        return obj.model_dump()  # type: ignore[attr-defined]
    except Exception:
        return _NOTHING


_NOTHING: Any = object()


def coerce(obj: object) -> Any:
    """Turn one value of a type JSON does not know into something closer to JSON.

    The result is a JSON scalar, a string, or a ``dict``/``list`` whose members may
    still need converting. Never raises: what cannot be converted becomes a string
    describing it.
    """
    try:
        return _coerce(obj)
    except Exception as err:
        return f"<unrepresentable {type_name(obj)}: {type(err).__name__}>"


def _coerce(obj: object) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes_text(obj)
    if isinstance(obj, decimal.Decimal):
        # A string keeps every digit; a float would silently round.
        return str(obj)
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, datetime.datetime | datetime.date | datetime.time):
        try:
            # orjson's RFC 3339 form, as on the fast path (it drops the seconds of a
            # UTC offset, which RFC 3339 cannot express; isoformat() keeps them).
            return orjson.loads(orjson.dumps(obj))
        except TypeError:
            return obj.isoformat()
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, PurePath):
        return str(obj)
    if isinstance(obj, BaseException):
        return describe_exception((type(obj), obj, obj.__traceback__))
    if isinstance(obj, type):
        module = getattr(obj, "__module__", "") or ""
        name = getattr(obj, "__qualname__", obj.__name__)
        return name if module == "builtins" else f"{module}.{name}"
    if isinstance(obj, AbstractSet):
        return _sorted_if_possible(obj, len(obj))
    if dataclasses.is_dataclass(obj):
        return {f.name: getattr(obj, f.name, None) for f in dataclasses.fields(obj)}
    if _is_array_like(obj):
        return obj.tolist()  # type: ignore[attr-defined]
    dumped = _model_dump(obj)
    if dumped is not _NOTHING:
        return dumped
    if isinstance(obj, Mapping):
        return dict(obj.items())
    if isinstance(obj, Sequence) and not isinstance(obj, str):
        return list(obj)
    return safe_str(obj)


def orjson_default(obj: Any) -> Any:
    """``default=`` hook for ``orjson.dumps``: :func:`coerce`, refusing huge containers.

    Refusing (by raising ``TypeError``) makes orjson fail, and the formatter then takes
    the careful walk, which stops at the byte budget instead of expanding a million
    items first.
    """
    if _is_array_like(obj):
        size = _array_size(obj)
        if size is None or size > FAST_ITEMS_LIMIT:
            raise _TooLargeForFastPath(type_name(obj))
    elif isinstance(obj, AbstractSet | Mapping | Sequence) and not isinstance(
        obj, str | bytes | bytearray
    ):
        try:
            size = len(obj)
        except Exception:  # len(range(10**20)) overflows: certainly too large
            size = None
        if size is None or size > FAST_ITEMS_LIMIT:
            raise _TooLargeForFastPath(type_name(obj))
    return coerce(obj)
