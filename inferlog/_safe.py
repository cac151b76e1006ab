"""Former home of the bounded JSON conversion; kept so that old imports keep working.

The code lives in :mod:`inferlog.formatting._coerce` (one representation for every
value type, and the orjson ``default=`` hook) and :mod:`inferlog.formatting._bounds`
(the careful walk within a byte budget).
"""

from __future__ import annotations

from inferlog._text import safe_str, type_name
from inferlog.formatting._bounds import (
    MORE_KEYS_KEY,
    fit_bytes,
    fit_str,
    fit_text,
    json_size,
    more_items_marker,
    safe_key,
    to_json_safe,
    truncation_marker,
)
from inferlog.formatting._coerce import (
    FAST_ITEMS_LIMIT,
    MARKER_RESERVE,
    MAX_DEPTH,
    MAX_KEY_BYTES,
    NUMPY_OPTION,
    SORT_LIMIT,
    JsonValue,
    bytes_text,
    clean_text,
    coerce,
    fast_options,
    orjson_default,
)

__all__ = [
    "FAST_ITEMS_LIMIT",
    "MARKER_RESERVE",
    "MAX_DEPTH",
    "MAX_KEY_BYTES",
    "MORE_KEYS_KEY",
    "NUMPY_OPTION",
    "SORT_LIMIT",
    "JsonValue",
    "bytes_text",
    "clean_text",
    "coerce",
    "fast_options",
    "fit_bytes",
    "fit_str",
    "fit_text",
    "json_size",
    "more_items_marker",
    "orjson_default",
    "safe_key",
    "safe_str",
    "to_json_safe",
    "truncation_marker",
    "type_name",
]
