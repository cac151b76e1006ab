"""Request scope and one access record per HTTP request, for any ASGI or WSGI framework.

:class:`ASGIMiddleware` (FastAPI, Starlette, Django ASGI, Quart, ...) and
:class:`WSGIMiddleware` (Flask, Django, Falcon, ...) do the same four things for every
HTTP request:

1. open a request scope (:func:`inferlog.request_context`) with the id the client sent
   in ``X-Request-ID`` (or a new UUIDv7 when it sent none, or one that fails
   validation) and the W3C ``traceparent`` it sent, if valid;
2. honour the sampling debug header (:data:`inferlog.sampling.DEBUG_HEADER`) and mark
   the request's extent for error-triggered buffering;
3. echo the request id in the response's ``X-Request-ID``;
4. log one access record when the response ends: ``method``, ``path``,
   ``status_code``, ``status`` (``ok``/``error``), ``latency_ms``, ``client_address``,
   ``user_agent``, ``response_size``, and for a 5xx or an exception ``error_code``
   and the stack trace. An exception is re-raised to the server or framework.

Neither class imports a web framework.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, MutableMapping
from typing import TYPE_CHECKING, Any, Final

from inferlog import schema
from inferlog._diagnostics import report_once
from inferlog._exceptions import ExcInfo, is_cancellation
from inferlog._validation import check_level
from inferlog.context import request_context
from inferlog.inference import CANCELLED_ERROR_CODE, STATUS_ERROR, STATUS_OK
from inferlog.propagation import REQUEST_ID_HEADER, extract_headers, is_valid_request_id
from inferlog.sampling import (
    buffered_request,
    debug_requested,
    force_sampling,
    mark_request_failed,
)

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "DEFAULT_ACCESS_LOGGER_NAME",
    "ASGIMiddleware",
    "WSGIMiddleware",
    "report_exception",
]

#: Logger of the access records unless ``logger=`` says otherwise.
DEFAULT_ACCESS_LOGGER_NAME: Final = "inferlog.access"
# Longest user agent kept: the header is client-controlled and unbounded.
_MAX_USER_AGENT_CHARS: Final = 512
_SERVER_ERROR: Final = 500

#: An ASGI connection scope, message, and the callables that pass messages.
Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class _Access:
    """What one request's access record is built from."""

    __slots__ = (
        "client_address",
        "exc_info",
        "method",
        "path",
        "request_id",
        "response_size",
        "start_ns",
        "status_code",
        "user_agent",
    )

    def __init__(self, method: str, path: str, client: str | None, user_agent: str | None) -> None:
        self.start_ns = time.perf_counter_ns()
        self.method = method
        self.path = path
        self.client_address = client
        self.user_agent = None if user_agent is None else user_agent[:_MAX_USER_AGENT_CHARS]
        self.status_code: int | None = None
        self.response_size = 0
        self.exc_info: ExcInfo | None = None
        self.request_id: str | None = None


_current_access: contextvars.ContextVar[_Access | None] = contextvars.ContextVar(
    "inferlog_access", default=None
)


def report_exception(exc: BaseException | None = None) -> bool:
    """Attach an exception the framework handled itself to the current access record.

    Frameworks that turn an unhandled exception into a 500 response without
    re-raising it (Flask by default, Django) hide it from the middleware; call this
    from their hook so the record carries the stack. With Flask::

        from flask import got_request_exception
        got_request_exception.connect(
            lambda sender, exception, **extra: report_exception(exception), app
        )

    Args:
        exc: The exception; None takes the one being handled (``sys.exc_info()``).

    Returns True when there was a request to attach it to.
    """
    access = _current_access.get()
    if access is None:
        return False
    if exc is None:
        exc_type, exc_value, tb = sys.exc_info()
        if exc_type is None or exc_value is None:
            return False
        access.exc_info = (exc_type, exc_value, tb)
    else:
        access.exc_info = (type(exc), exc, exc.__traceback__)
    return True


class _AccessLog:
    """Settings and record building shared by both middlewares."""

    def __init__(
        self,
        *,
        logger: logging.Logger | str | None,
        level: int | str,
        error_level: int | str,
        request_id_header: str,
        trust_incoming_id: bool,
    ) -> None:
        if not isinstance(request_id_header, str) or not request_id_header.strip():
            raise ValueError(f"request_id_header must be a header name, got {request_id_header!r}")
        if logger is None:
            logger = DEFAULT_ACCESS_LOGGER_NAME
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = check_level("level", level)
        self.error_level = check_level("error_level", error_level)
        self.request_id_header = request_id_header.strip()
        self.trust_incoming_id = bool(trust_incoming_id)

    def _scope_arguments(self, headers: object) -> dict[str, str]:
        incoming = extract_headers(headers, request_id_header=self.request_id_header)
        if not self.trust_incoming_id:
            incoming.pop("request_id", None)
        return incoming

    def _emit(self, access: _Access) -> None:
        """Log the access record; never raises."""
        try:
            end = time.perf_counter_ns()
            exc_info = access.exc_info
            exc = exc_info[1] if exc_info is not None else None
            status_code = access.status_code
            if status_code is None:
                # Nothing was sent: the server answers 500 (or drops the connection).
                status_code = _SERVER_ERROR
            extra: dict[str, Any] = {}
            if access.request_id is not None:
                extra[schema.REQUEST_ID] = access.request_id
            extra[schema.METHOD] = access.method
            extra[schema.PATH] = access.path
            extra[schema.STATUS_CODE] = status_code
            extra[schema.LATENCY_MS] = round((end - access.start_ns) / 1_000_000, 3)
            level = self.level
            if exc is not None and is_cancellation(exc):
                extra[schema.STATUS] = STATUS_ERROR
                extra[schema.ERROR_CODE] = CANCELLED_ERROR_CODE
                level = min(self.error_level, logging.WARNING)
                exc_info = None
            elif exc is not None or status_code >= _SERVER_ERROR:
                extra[schema.STATUS] = STATUS_ERROR
                extra[schema.ERROR_CODE] = (
                    type(exc).__name__ if exc is not None else f"http_{status_code}"
                )
                level = self.error_level
            else:
                extra[schema.STATUS] = STATUS_OK
            if access.client_address is not None:
                extra[schema.CLIENT_ADDRESS] = access.client_address
            if access.user_agent is not None:
                extra[schema.USER_AGENT] = access.user_agent
            extra[schema.RESPONSE_SIZE] = access.response_size
            if extra[schema.STATUS] == STATUS_ERROR:
                # Release what error-triggered buffering held, even for a 5xx that
                # no exception explains.
                mark_request_failed()
            self.logger.log(
                level,
                "%s %s %s",
                access.method,
                access.path,
                status_code,
                exc_info=exc_info,
                extra=extra,
            )
        except Exception as err:  # logging never raises into the application
            report_once(
                "middleware-emit-error",
                logging.WARNING,
                "middleware could not log an access record (%s: %s); further errors are silent",
                type(err).__name__,
                err,
            )


# --------------------------------------------------------------------------- ASGI


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

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
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


# --------------------------------------------------------------------------- WSGI


def _wsgi_path(environ: WSGIEnvironment) -> str:
    raw = str(environ.get("SCRIPT_NAME", "")) + str(environ.get("PATH_INFO", ""))
    try:
        # PEP 3333: the bytes of the path, decoded as latin-1.
        return raw.encode("latin-1").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return raw


def _wsgi_headers(environ: WSGIEnvironment) -> list[tuple[str, str]]:
    headers = [
        (key[5:].replace("_", "-").lower(), value)
        for key, value in environ.items()
        if key.startswith("HTTP_") and isinstance(value, str)
    ]
    return headers


def _status_code(status: str) -> int | None:
    try:
        return int(status.split(" ", 1)[0])
    except (ValueError, AttributeError):
        return None


class _WSGIResponse:
    """The application's response iterable, run in the request's context.

    Every step (``next`` and ``close``) runs in the private context the request scope
    lives in, so a streamed body's records carry the request id and the server's own
    context never holds the scope. The access record is logged when the body is
    exhausted or closed, whichever comes first.
    """

    def __init__(
        self,
        result: Iterable[bytes],
        ctx: contextvars.Context,
        access: _Access,
        finish: Callable[[], None],
        close_scope: Callable[[], None],
    ) -> None:
        self._result = result
        self._ctx = ctx
        self._access = access
        self._finish = finish
        self._close_scope = close_scope
        self._iterator: Iterator[bytes] | None = None

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        try:
            if self._iterator is None:
                self._iterator = self._ctx.run(iter, self._result)
            chunk = self._ctx.run(next, self._iterator)
        except StopIteration:
            self._ctx.run(self._finish)
            raise
        except BaseException:
            self._record(sys.exc_info())
            self._ctx.run(self._finish)
            raise
        self._access.response_size += len(chunk)
        return chunk

    def _record(self, exc_info: OptExcInfo) -> None:
        exc_type, exc, tb = exc_info
        if exc_type is not None and exc is not None and self._access.exc_info is None:
            self._access.exc_info = (exc_type, exc, tb)

    def close(self) -> None:
        """Close the application's iterable, then log and leave the request scope."""
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                self._ctx.run(close)
        except BaseException:
            self._record(sys.exc_info())
            raise
        finally:
            self._ctx.run(self._finish)
            self._ctx.run(self._close_scope)


class WSGIMiddleware(_AccessLog):
    """WSGI middleware: a request scope, the ``X-Request-ID`` echo and an access record.

    ``app.wsgi_app = WSGIMiddleware(app.wsgi_app)`` for Flask, or wrap any PEP 3333
    application. Arguments as for :class:`ASGIMiddleware`.

    The application, and every step of its response iterable, runs in a private copy
    of the caller's context holding the request scope, so nothing is left behind in
    the server's thread. The record is logged when the body is exhausted or closed;
    a ``start_response`` call with ``exc_info`` (how a WSGI application reports an
    error page) puts that exception on the record; an exception is recorded and
    re-raised to the server. Wrapping the response iterable means a server's
    ``wsgi.file_wrapper`` fast path is not taken.
    """

    def __init__(
        self,
        app: WSGIApplication,
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

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        """Handle one WSGI request."""
        ctx = contextvars.copy_context()
        return ctx.run(self._call, ctx, environ, start_response)

    def _call(
        self, ctx: contextvars.Context, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        headers = _wsgi_headers(environ)
        access = _Access(
            method=str(environ.get("REQUEST_METHOD", "")),
            path=_wsgi_path(environ),
            client=environ.get("REMOTE_ADDR") or None,
            user_agent=environ.get("HTTP_USER_AGENT"),
        )
        stack = contextlib.ExitStack()
        request_id = stack.enter_context(request_context(**self._scope_arguments(headers)))
        stack.enter_context(force_sampling(debug_requested(headers)))
        stack.enter_context(buffered_request())
        access.request_id = request_id
        token = _current_access.set(access)
        stack.callback(_current_access.reset, token)
        echo = request_id if is_valid_request_id(request_id) else None
        header_name = self.request_id_header
        lowered = header_name.lower()
        finished = False

        def finish() -> None:
            nonlocal finished
            if not finished:
                finished = True
                self._emit(access)

        def close_scope() -> None:
            exc_info = access.exc_info
            try:
                if exc_info is not None:
                    # The scope ends "with" the exception, so buffering releases.
                    stack.__exit__(*exc_info)
                else:
                    stack.close()
            except Exception as err:
                report_once(
                    "middleware-scope-error",
                    logging.WARNING,
                    "middleware could not close a request scope (%s)",
                    type(err).__name__,
                )

        def start_with_id(
            status: str,
            response_headers: list[tuple[str, str]],
            exc_info: OptExcInfo | None = None,
        ) -> Callable[[bytes], object]:
            access.status_code = _status_code(status)
            if exc_info is not None and exc_info[0] is not None and exc_info[1] is not None:
                access.exc_info = (exc_info[0], exc_info[1], exc_info[2])
            if echo is not None:
                response_headers = [
                    (key, value) for key, value in response_headers if key.lower() != lowered
                ] + [(header_name, echo)]
            write = (
                start_response(status, response_headers, exc_info)
                if exc_info is not None
                else start_response(status, response_headers)
            )

            def counting_write(data: bytes) -> object:
                access.response_size += len(data)
                return write(data)

            return counting_write

        try:
            result = self.app(environ, start_with_id)
        except BaseException:
            exc_type, exc, tb = sys.exc_info()
            if exc_type is not None and exc is not None:
                access.exc_info = (exc_type, exc, tb)
            finish()
            close_scope()
            raise
        return _WSGIResponse(result, ctx, access, finish, close_scope)
