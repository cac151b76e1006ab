"""The access record both middlewares log, and :func:`report_exception`."""

from __future__ import annotations

import contextvars
import logging
import sys
import time
from typing import TYPE_CHECKING, Any, Final

from inferlog import schema
from inferlog._diagnostics import report_once
from inferlog._exceptions import ExcInfo, is_cancellation
from inferlog._validation import check_level
from inferlog.propagation import extract_headers
from inferlog.sampling import (
    mark_request_failed,
)
from inferlog.schema import CANCELLED_ERROR_CODE, STATUS_ERROR, STATUS_OK

if TYPE_CHECKING:
    pass

__all__ = [
    "DEFAULT_ACCESS_LOGGER_NAME",
    "report_exception",
]

#: Logger of the access records unless ``logger=`` says otherwise.
DEFAULT_ACCESS_LOGGER_NAME: Final = "inferlog.access"
# Longest user agent kept: the header is client-controlled and unbounded.
_MAX_USER_AGENT_CHARS: Final = 512
_SERVER_ERROR: Final = 500


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
            incoming.pop(schema.REQUEST_ID, None)
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
