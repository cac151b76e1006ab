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

from inferlog._deprecation import renamed_names
from inferlog.middleware._access import DEFAULT_ACCESS_LOGGER_NAME, report_exception

# Importable from here as before; the ASGI type aliases live in .asgi.
from inferlog.middleware.asgi import ASGIApp as ASGIApp
from inferlog.middleware.asgi import ASGIMiddleware, ASGIScope
from inferlog.middleware.asgi import Message as Message
from inferlog.middleware.asgi import Receive as Receive
from inferlog.middleware.asgi import Send as Send
from inferlog.middleware.wsgi import WSGIMiddleware

__all__ = [
    "DEFAULT_ACCESS_LOGGER_NAME",
    "ASGIMiddleware",
    "WSGIMiddleware",
    "report_exception",
]

# Old names of this module, still served with a DeprecationWarning.
__getattr__ = renamed_names(__name__, {"Scope": ("ASGIScope", ASGIScope)})
