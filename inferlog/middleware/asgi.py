"""ASGI: :class:`ASGIMiddleware` for FastAPI, Starlette, Django ASGI, Quart, ..."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from inferlog.context import request_context
from inferlog.propagation import REQUEST_ID_HEADER, is_valid_request_id
from inferlog.sampling import (
    buffered_request,
    debug_requested,
    force_sampling,
)

if TYPE_CHECKING:
    pass
from inferlog.middleware._access import _Access, _AccessLog, _current_access

__all__ = [
    "ASGIApp",
    "ASGIMiddleware",
    "ASGIScope",
    "Message",
    "Receive",
    "Send",
]

#: An ASGI connection scope (the dict the server passes with each connection).
ASGIScope = MutableMapping[str, Any]
#: An ASGI message, and the callables that pass messages.
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[ASGIScope, Receive, Send], Awaitable[None]]


def _asgi_text(value: object) -> str | None:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return value if isinstance(value, str) else None


def _asgi_header(headers: Iterable[tuple[bytes, bytes]], name: bytes) -> str | None:
    for key, value in headers:
        if key.lower() == name:
            return _asgi_text(value)
    return None


class ASGIMiddleware(_AccessLog):
    """ASGI middleware: a request scope, the ``X-Request-ID`` echo and an access record.

    Wrap the application, ``app = ASGIMiddleware(app)``, or with Starlette/FastAPI
    ``app.add_middleware(ASGIMiddleware)``. Only ``http`` connections are handled;
    ``websocket`` and ``lifespan`` pass through untouched.

    Args:
        app: The ASGI application.
        logger: Logger or logger name of the access records; default ``inferlog.access``.
        level: Level of a request answered below 500 (default INFO).
        error_level: Level of a 5xx or an exception (default ERROR). A request
            cancelled because the client went away logs at WARNING at most.
        request_id_header: Header that carries the request id, both ways.
        trust_incoming_id: Whether to take the client's request id at all (a
            public endpoint may prefer its own); ``traceparent`` is taken regardless.

    The record is logged when the application returns, so ``latency_ms`` covers a
    streamed body to its end. An exception from the application is recorded with
    its stack (``status_code`` 500 when no response had started) and re-raised.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        logger: logging.Logger | str | None = None,
        level: int | str = logging.INFO,
        error_level: int | str = logging.ERROR,
        request_id_header: str = REQUEST_ID_HEADER,
        trust_incoming_id: bool = True,
    ) -> None:
        super().__init__(
            logger=logger,
            level=level,
            error_level=error_level,
            request_id_header=request_id_header,
            trust_incoming_id=trust_incoming_id,
        )
        self.app = app
        self._header_name = self.request_id_header.lower().encode("latin-1")

    async def __call__(self, scope: ASGIScope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = list(scope.get("headers") or ())
        client = scope.get("client")
        access = _Access(
            method=str(scope.get("method", "")),
            path=str(scope.get("path", "")),
            client=str(client[0]) if client else None,
            user_agent=_asgi_header(headers, b"user-agent"),
        )
        header_name = self._header_name
        with (
            request_context(**self._scope_arguments(headers)) as request_id,
            force_sampling(debug_requested(headers)),
            buffered_request(),
        ):
            access.request_id = request_id
            echo = request_id.encode("latin-1") if is_valid_request_id(request_id) else None
            token = _current_access.set(access)

            async def send_with_id(message: Message) -> None:
                kind = message.get("type")
                if kind == "http.response.start":
                    access.status_code = int(message.get("status", 0))
                    if echo is not None:
                        # A new message and header list: the app's stay as they were.
                        message = dict(message)
                        message["headers"] = [
                            (key, value)
                            for key, value in message.get("headers") or ()
                            if bytes(key).lower() != header_name
                        ] + [(header_name, echo)]
                elif kind == "http.response.body":
                    access.response_size += len(message.get("body") or b"")
                await send(message)

            try:
                await self.app(scope, receive, send_with_id)
            except BaseException as exc:
                # What reached us wins over anything report_exception() attached.
                access.exc_info = (type(exc), exc, exc.__traceback__)
                raise
            finally:
                self._emit(access)
                _current_access.reset(token)
