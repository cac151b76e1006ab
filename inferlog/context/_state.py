"""The storage of the request context: one immutable snapshot in one ``ContextVar``.

Opening a request context, binding and unbinding never change a snapshot in place:
they build a new one and set the variable, so a thread, task or outer context still
holding the old snapshot keeps seeing exactly what it saw.
"""

from __future__ import annotations

import contextvars
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, Final, NamedTuple

from inferlog import schema
from inferlog.context._trace import _Trace

__all__ = [
    "REQUEST_ID_FIELD",
]

#: Name of the bound field (and, by default, of the record attribute) for the request id.
REQUEST_ID_FIELD: Final = schema.REQUEST_ID


class _ContextState(NamedTuple):
    """One immutable snapshot of the request context.

    ``fields`` is a read-only view of a dict that nobody mutates after creation;
    ``own`` is that dict, for readers on the hot path (a view's ``get`` costs more).
    """

    fields: Mapping[str, Any]
    trace: _Trace | None
    own: dict[str, Any]


def _new_state(fields: dict[str, Any], trace: _Trace | None) -> _ContextState:
    """A snapshot holding ``fields`` (which nobody may change afterwards) and ``trace``."""
    return _ContextState(MappingProxyType(fields), trace, fields)


_EMPTY_STATE: Final = _new_state({}, None)
_state_var: contextvars.ContextVar[_ContextState] = contextvars.ContextVar(
    "inferlog_scope", default=_EMPTY_STATE
)


def _set_state(fields: Mapping[str, Any], trace: _Trace | None) -> contextvars.Token[_ContextState]:
    return _state_var.set(_new_state(dict(fields), trace))
