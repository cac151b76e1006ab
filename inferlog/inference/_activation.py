"""Which call is current: the context variable and the scope a call opens for itself."""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

from inferlog.context import RequestContext, current_request_id, request_context

if TYPE_CHECKING:
    from inferlog.inference.call import InferenceCall

__all__ = [
    "current_inference",
]

_current_call: contextvars.ContextVar[InferenceCall | None] = contextvars.ContextVar(
    "inferlog_inference_call", default=None
)


def current_inference() -> InferenceCall | None:
    """Return the call of the innermost :func:`inference` block or decorated function.

    How a decorated function reports what only it knows:
    ``current_inference().tokens(input=..., output=...)``. None outside any call.
    """
    return _current_call.get()


class _Activation:
    """Makes a call current (and its own request scope, if it opened one) for a while."""

    __slots__ = ("_call", "_request_context", "_token")

    def __init__(self, call: InferenceCall) -> None:
        self._call = call
        self._request_context: RequestContext | None = None
        self._token: contextvars.Token[InferenceCall | None] | None = None

    def __enter__(self) -> None:
        call = self._call
        if call._request_id is None:
            outer = current_request_id()
            if outer is None:
                # Outside any request: open one so the record and everything logged
                # inside the call share an id.
                self._request_context = request_context()
                call._request_id = self._request_context.__enter__()
            else:
                call._request_id = outer
        elif current_request_id() != call._request_id:
            # A generator step resumed outside the scope the call started in.
            self._request_context = request_context(request_id=call._request_id)
            self._request_context.__enter__()
        self._token = _current_call.set(call)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            try:
                _current_call.reset(self._token)
            except (ValueError, RuntimeError):
                _current_call.set(None)
            self._token = None
        if self._request_context is not None:
            self._request_context.__exit__(None, None, None)
            self._request_context = None
