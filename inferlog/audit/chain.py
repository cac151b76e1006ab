"""The hash chain: how one row's hash is computed from its content and the previous hash.

``row_hash = SHA-256(prev_hash + "\\n" + content)`` in hex, where ``content`` is
:func:`encode_content` of the row's :data:`~inferlog.audit.schema.CONTENT_COLUMNS`
values as stored. With a key, HMAC-SHA256 with that key
replaces SHA-256, so that nobody without the key can recompute a consistent chain
after editing it. The first row's ``prev_hash`` is :data:`GENESIS_HASH`.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Sequence
from typing import Final

__all__ = [
    "ALGORITHM_HMAC",
    "ALGORITHM_SHA256",
    "DEFAULT_KEY_ENV",
    "GENESIS_HASH",
    "algorithm_for",
    "encode_content",
    "resolve_key",
    "row_digest",
]

#: ``prev_hash`` of the first row ever written.
GENESIS_HASH: Final = "0" * 64
#: ``audit_meta.hash`` of a chain of plain SHA-256 digests.
ALGORITHM_SHA256: Final = "sha256"
#: ``audit_meta.hash`` of a chain of HMAC-SHA256 digests.
ALGORITHM_HMAC: Final = "hmac-sha256"
#: Environment variable read for the HMAC key when none is configured.
DEFAULT_KEY_ENV: Final = "INFERLOG_AUDIT_KEY"


def resolve_key(key: str | bytes | None, key_env: str | None = DEFAULT_KEY_ENV) -> bytes | None:
    """Return the HMAC key: ``key`` itself, else the variable ``key_env``, else None."""
    if isinstance(key, bytes):
        return key or None
    if isinstance(key, str):
        return key.encode("utf-8") or None
    if key_env:
        value = os.environ.get(key_env)
        if value:
            return value.encode("utf-8")
    return None


def algorithm_for(key: bytes | None) -> str:
    """The ``audit_meta.hash`` value of a chain written with ``key``."""
    return ALGORITHM_HMAC if key else ALGORITHM_SHA256


def _encode(value: object) -> bytes:
    if value is None:
        return b"n;"
    if isinstance(value, str):
        data = value.encode("utf-8", "surrogatepass")
        return b"s%d:%s" % (len(data), data)
    if isinstance(value, bool):  # never stored, but never confused with 0/1 either
        return b"b%d;" % value
    if isinstance(value, int):
        return b"i%d;" % value
    if isinstance(value, float):
        return b"f" + value.hex().encode("ascii") + b";"
    data = repr(value).encode("utf-8", "surrogatepass")
    return b"r%d:%s" % (len(data), data)


def encode_content(content: Sequence[object]) -> bytes:
    """The canonical bytes of a row's content: each value tagged, sized and exact.

    ``n;`` for NULL, ``i<digits>;`` for an integer, ``f<float.hex()>;`` for a real,
    ``s<length>:<UTF-8 bytes>`` for text. Unambiguous (no value can end early) and
    stable across Python and library versions, which a JSON encoder's number format
    would not promise.
    """
    return b"".join(map(_encode, content))


def row_digest(prev_hash: str, content: Sequence[object], key: bytes | None = None) -> str:
    """The hex hash of a row whose content columns are ``content``."""
    data = prev_hash.encode("ascii", "replace") + b"\n" + encode_content(content)
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()
