"""The debug override: keep every record of one request, one filter or one process.

:func:`force_sampling` turns sampling off for one request (the middleware calls it for
requests that carry :data:`DEBUG_HEADER`, which :func:`debug_requested` recognises);
:data:`DEBUG_ENV_VAR` and ``SamplingFilter(force=True)`` turn it off for a whole
process or filter.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from inferlog.sampling.request_block import _in_use

__all__ = [
    "DEBUG_ENV_VAR",
    "DEBUG_HEADER",
    "debug_requested",
    "force_sampling",
    "sampling_forced",
]

#: Environment variable that, when set to 1/true/yes/on, keeps every record.
DEBUG_ENV_VAR = "INFERLOG_SAMPLING_DEBUG"
#: Request header that asks for full logging of one request (see :func:`debug_requested`).
DEBUG_HEADER = "X-Inferlog-Debug"

_TRUTHY = frozenset({"1", "true", "yes", "on"})
# How a WSGI environ spells DEBUG_HEADER.
_WSGI_DEBUG_KEY = "HTTP_X_INFERLOG_DEBUG"

_forced: ContextVar[bool] = ContextVar("inferlog_sampling_forced", default=False)


@contextmanager
def force_sampling(enabled: bool = True) -> Iterator[None]:
    """Keep every record logged inside the block (the per-request debug override).

    ``enabled=False`` changes nothing, so a caller can write
    ``with force_sampling(debug_requested(headers)):`` unconditionally. The override
    lives in a context variable: it follows the request into asyncio tasks and into
    threads that run in a copy of the context, and ends with the block.
    """
    token = None
    if enabled:
        _in_use.forced = True
        token = _forced.set(True)
    try:
        yield
    finally:
        if token is not None:
            _forced.reset(token)


def sampling_forced() -> bool:
    """Return whether the current context is inside :func:`force_sampling`."""
    return _forced.get()


def debug_requested(
    headers: Mapping[str, str] | Mapping[bytes, bytes] | Iterable[tuple[Any, Any]],
) -> bool:
    """Return whether request headers ask for full logging via :data:`DEBUG_HEADER`.

    Accepts a mapping of headers (Starlette, Django, ``requests``), a WSGI environ
    (``HTTP_X_INFERLOG_DEBUG``), or pairs: ASGI's ``(bytes, bytes)`` list, Werkzeug's
    ``Headers``. The name is matched case-insensitively; ``1``, ``true``, ``yes`` and
    ``on`` count as a request.
    """
    items: Iterable[tuple[Any, Any]] = headers.items() if isinstance(headers, Mapping) else headers
    wanted = DEBUG_HEADER.lower()
    for name, value in items:
        name_s = name.decode("latin-1") if isinstance(name, bytes | bytearray) else str(name)
        if name_s != _WSGI_DEBUG_KEY and name_s.lower() != wanted:
            continue
        value_s = value.decode("latin-1") if isinstance(value, bytes | bytearray) else str(value)
        return value_s.strip().lower() in _TRUTHY
    return False


def _env_forced() -> bool:
    return os.environ.get(DEBUG_ENV_VAR, "").strip().lower() in _TRUTHY
