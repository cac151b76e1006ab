"""Request context: the correlation id and bound fields that follow one request.

The request context is an immutable snapshot (``request_id``, bound fields, incoming
trace position) held in a single :class:`contextvars.ContextVar`
(:mod:`inferlog.context._state`). Opening a request scope
(:func:`request_context`, :mod:`inferlog.context.request`), binding and unbinding
never change a snapshot in place: they build a new one and set the variable, so a
thread, task or outer scope still holding the old snapshot keeps seeing exactly what
it saw. Because the storage is a ``ContextVar`` (never a global or a thread-local),
asyncio tasks get their own copy for free and threads get one through
:mod:`inferlog.propagation`.

:class:`ContextFilter` (:mod:`inferlog.context.filter`) copies the context onto each
``LogRecord`` on the thread that created it, which is what lets a queue listener
thread format the record later. Request ids are UUIDv7 (:mod:`inferlog.context.ids`).

This package is public; its main names are also re-exported from ``inferlog``.
"""

from __future__ import annotations

from inferlog._deprecation import renamed_names
from inferlog.context._state import REQUEST_ID_FIELD
from inferlog.context.filter import ContextFilter
from inferlog.context.ids import new_request_id, uuid7
from inferlog.context.request import (
    RequestContext,
    bind,
    current_context,
    current_request_id,
    request_context,
    unbind,
)

__all__ = [
    "REQUEST_ID_FIELD",
    "ContextFilter",
    "RequestContext",
    "bind",
    "current_context",
    "current_request_id",
    "new_request_id",
    "request_context",
    "unbind",
    "uuid7",
]


# Old names of this module, still served with a DeprecationWarning.
__getattr__ = renamed_names(__name__, {"RequestScope": ("RequestContext", RequestContext)})
