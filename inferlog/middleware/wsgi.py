"""WSGI: :class:`WSGIMiddleware` for Flask, Django, Falcon and any PEP 3333 application."""

from __future__ import annotations

import contextlib
import contextvars
import logging
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING

from inferlog._diagnostics import report_once
from inferlog.context import request_context
from inferlog.propagation import REQUEST_ID_HEADER, is_valid_request_id
from inferlog.sampling import (
    buffered_request,
    debug_requested,
    force_sampling,
)

if TYPE_CHECKING:
    from _typeshed import OptExcInfo
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment
from inferlog.middleware._access import _Access, _AccessLog, _current_access

__all__ = [
    "WSGIMiddleware",
]


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
