"""Other libraries' key-value fields as ``extra=`` that ``logging`` accepts."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from inferlog import schema
from inferlog._record import STANDARD_RECORD_ATTRS


def as_extra(fields: Mapping[Any, Any]) -> dict[str, Any]:
    """Return ``fields`` usable as ``extra=``: names a ``LogRecord`` owns get a prefix.

    ``Logger.makeRecord`` refuses an extra called ``message``, ``name``, ``args``...;
    such a key is kept as ``extra.<name>`` (:data:`inferlog.schema.COLLISION_PREFIX`)
    rather than failing the whole record. Other keys become str.
    """
    extra: dict[str, Any] = {}
    for key, value in fields.items():
        name = key if isinstance(key, str) else str(key)
        if name in STANDARD_RECORD_ATTRS:
            name = f"{schema.COLLISION_PREFIX}{name}"
        extra[name] = value
    return extra
