"""The hash chain: how one row's hash is computed from its content and the previous hash.

``row_hash = SHA-256(prev_hash + "\\n" + content)`` in hex, where ``content`` is the
JSON array of the row's :data:`~inferlog.audit.schema.CONTENT_COLUMNS` values as
stored (compact separators, non-ASCII kept). With a key, HMAC-SHA256 with that key
replaces SHA-256, so that nobody without the key can recompute a consistent chain
after editing it. The first row's ``prev_hash`` is :data:`GENESIS_HASH`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from typing import Final

__all__ = [
    "ALGORITHM_HMAC",
    "ALGORITHM_SHA256",
    "DEFAULT_KEY_ENV",
    "GENESIS_HASH",
    "algorithm_for",
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


def row_digest(prev_hash: str, content: Sequence[object], key: bytes | None = None) -> str:
    """The hex hash of a row whose content columns are ``content``."""
    text = json.dumps(list(content), ensure_ascii=False, separators=(",", ":"))
    data = prev_hash.encode("ascii", "replace") + b"\n" + text.encode("utf-8", "surrogatepass")
    if key:
        return hmac.new(key, data, hashlib.sha256).hexdigest()
    return hashlib.sha256(data).hexdigest()
