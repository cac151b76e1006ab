"""One record per model-inference call: timing, outcome, parameters and payloads.

:func:`inference` builds an :class:`Inference`, which is a context manager (sync and
async) and a decorator (functions, coroutine functions, generator and async generator
functions). Each call it covers gets an :class:`InferenceCall` handle to report what
happened (payloads, token counts, vector lengths, first token, extra fields), and ends
with exactly one ``LogRecord`` whose ``extra=`` fields follow the inferlog schema:
``request_id``, ``model_id``, ``model_version``, ``latency_ms``, token counts,
sampling parameters, ``status``, ``error_code``, ``intent``, payloads, and for
streams ``time_to_first_token_ms``.

A call outside any request scope opens one for its duration, so the record and every
record logged inside the call share a request id; inside a scope it uses the scope's.
Exceptions are recorded with their stack and re-raised unchanged.
"""

from __future__ import annotations

import contextvars
import datetime
import decimal
import functools
import inspect
import json
import logging
import pathlib
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Generator, Iterable
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar, cast

from inferlog import schema
from inferlog._diagnostics import report_once
from inferlog._exceptions import is_cancellation
from inferlog._record import STANDARD_RECORD_ATTRS
from inferlog._validation import check_level
from inferlog.context import RequestScope, current_request_id, request_context
from inferlog.sampling import mark_request_failed

__all__ = [
    "CANCELLED_ERROR_CODE",
    "DEFAULT_LOGGER_NAME",
    "DEFAULT_MAX_PAYLOAD_CHARS",
    "DEFAULT_MESSAGE",
    "STATUS_ERROR",
    "STATUS_OK",
    "Inference",
    "InferenceCall",
    "capture_payload",
    "current_inference",
    "inference",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")
_T = TypeVar("_T")

#: Logger the records go to unless ``logger=`` says otherwise.
DEFAULT_LOGGER_NAME: Final = "inferlog.inference"
#: Message of the inference record unless ``message=`` says otherwise.
DEFAULT_MESSAGE: Final = "inference"
#: Longest captured payload, in characters of its JSON text, before it is cut.
DEFAULT_MAX_PAYLOAD_CHARS: Final = 4096
#: ``status`` of a call that completed.
STATUS_OK: Final = "ok"
#: ``status`` of a call that raised, or that the code marked as failed.
STATUS_ERROR: Final = "error"
#: ``error_code`` of a call its consumer abandoned: a stream closed before its end,
#: or a cancelled task.
CANCELLED_ERROR_CODE: Final = "cancelled"

# Prefix for user fields whose name is a standard LogRecord attribute: ``extra=``
# refuses those with a KeyError, which must never reach the application.
_COLLISION_PREFIX: Final = "extra."
_TRUNCATION_MARKER: Final = "...[truncated {} chars]"
# Highest level of an abandoned call's record: worth seeing, not worth paging for.
_CANCEL_LEVEL: Final = logging.WARNING

_current_call: contextvars.ContextVar[InferenceCall | None] = contextvars.ContextVar(
    "inferlog_inference_call", default=None
)


def current_inference() -> InferenceCall | None:
    """Return the call of the innermost :func:`inference` block or decorated function.

    How a decorated function reports what only it knows:
    ``current_inference().tokens(input=..., output=...)``. None outside any call.
    """
    return _current_call.get()


def _vector_length(value: object) -> int | None:
    """Length of an array-like payload: last axis of an array, or a flat list of numbers."""
    if isinstance(value, (str, bytes, bytearray, dict)):
        return None
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        if shape and isinstance(shape[-1], int):
            return int(shape[-1])
        return None
    if (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in value)
    ):
        return len(value)
    return None


def _json_default(value: object) -> object:
    shape = getattr(value, "shape", None)
    if isinstance(shape, tuple):
        item = getattr(value, "item", None)
        if not shape and callable(item):
            return item()  # a numpy scalar: its value
        # An array is described, never dumped: its values are rarely worth a log line.
        return {
            "type": type(value).__name__,
            "shape": list(shape),
            "dtype": str(getattr(value, "dtype", "")),
        }
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{memoryview(value).nbytes} bytes>"
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID, pathlib.PurePath)):
        return str(value)
    return repr(value)


def _repr(value: object) -> str:
    try:
        return repr(value)
    except Exception:  # a __repr__ that raises
        return f"<unrepresentable {type(value).__name__}>"


def capture_payload(value: object, max_chars: int) -> object:
    """Return an independent, JSON-able copy of ``value``, cut to ``max_chars``.

    A string longer than the cap is cut with a marker; anything else whose JSON text
    is longer than the cap becomes that text, cut. Arrays are described by type,
    shape and dtype; what JSON cannot hold becomes its ``repr``. The copy means later
    changes to ``value`` do not change the record. Never raises.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, str):
        # str.__str__ gives a plain str even for a subclass with its own __str__.
        return _cut(str.__str__(value), max_chars)
    try:
        text = json.dumps(value, default=_json_default, ensure_ascii=False, allow_nan=True)
    except Exception:  # circular, non-str keys, too deep, or a default that raised
        return _cut(_repr(value), max_chars)
    if len(text) > max_chars:
        return _cut(text, max_chars)
    return json.loads(text)


def _cut(text: str, max_chars: int) -> str:
    if len(text) <= max_chars:
        return text
    return text[:max_chars] + _TRUNCATION_MARKER.format(len(text) - max_chars)


class InferenceCall:
    """The handle of one inference call: report what happened, the record is built from it.

    Given by ``with inference(...) as call:`` and by :func:`current_inference` inside a
    decorated function. Every method is cheap, never raises and may be called any
    number of times (the last value wins); nothing is logged until the call ends.
    """

    def __init__(self, spec: Inference) -> None:
        self._spec = spec
        self._start_ns = time.perf_counter_ns()
        self._first_token_ns: int | None = None
        self._end_ns: int | None = None
        self._request_id: str | None = None
        self._fields: dict[str, Any] = {}
        self._request_value: object = None
        self._has_request = False
        self._chunks = 0
        self._stream_parts: list[object] = []
        self._streaming = False
        self._failed_code: str | None = None
        self._done = False

    # ------------------------------------------------------------------ reporting

    @property
    def request_id(self) -> str | None:
        """The request id the record will carry (set once the call has started)."""
        return self._request_id

    @property
    def elapsed_ms(self) -> float:
        """Milliseconds since the call started (until it ended), on a monotonic clock."""
        end = self._end_ns if self._end_ns is not None else time.perf_counter_ns()
        return (end - self._start_ns) / 1_000_000

    def request(self, payload: object) -> None:
        """Record the request payload (capped copy); derives intent, tokens and vector length.

        The classifier and token counter given to :func:`inference` receive
        ``payload`` itself; an array-like payload gives ``input_vector_length``.
        """
        self._fields[schema.REQUEST_PAYLOAD] = self._capture(payload)
        self._guarded(self._observe_request, payload)

    def response(self, payload: object) -> None:
        """Record the response payload (capped copy); derives output tokens and vector length."""
        self._fields[schema.RESPONSE_PAYLOAD] = self._capture(payload)
        self._guarded(self._observe_response, payload)

    def tokens(self, input: int | None = None, output: int | None = None) -> None:
        """Record input and/or output token counts (None leaves a count unchanged)."""
        if input is not None:
            self._fields[schema.INPUT_TOKEN_COUNT] = input
        if output is not None:
            self._fields[schema.OUTPUT_TOKEN_COUNT] = output

    def vectors(self, input: int | None = None, output: int | None = None) -> None:
        """Record input and/or output vector lengths, for embedding and tabular models."""
        if input is not None:
            self._fields[schema.INPUT_VECTOR_LENGTH] = input
        if output is not None:
            self._fields[schema.OUTPUT_VECTOR_LENGTH] = output

    def first_token(self) -> None:
        """Mark the first token (or chunk) as produced now; later marks are ignored.

        Gives ``time_to_first_token_ms``. :meth:`stream`, :meth:`astream` and
        decorated generators mark it by themselves.
        """
        if self._first_token_ns is None:
            self._first_token_ns = time.perf_counter_ns()

    def set(self, **fields: Any) -> None:
        """Add fields to the record, e.g. ``call.set(intent="refund", max_tokens=256)``.

        Fields named like the record's own (``intent``, ``user_id``, ``error_code``,
        ``status``, ...) override the computed value. A name that is a standard
        ``LogRecord`` attribute (``msg``, ``name``, ...) is written as ``extra.<name>``.
        """
        self._fields.update(fields)

    def fail(self, error_code: str) -> None:
        """Mark the call as failed without an exception (e.g. the model returned an error).

        The record gets ``status="error"``, this ``error_code`` and the error level.
        Also overrides the code derived from an exception.
        """
        self._failed_code = str(error_code)

    def stream(self, chunks: Iterable[_T]) -> Generator[_T, None, None]:
        """Yield from ``chunks``, marking the first token and counting chunks.

        For a ``with`` block that consumes a model's streaming output::

            for chunk in call.stream(client.generate(prompt, stream=True)):
                send(chunk)
        """
        self._streaming = True
        for chunk in chunks:
            self._on_chunk(chunk)
            yield chunk

    async def astream(self, chunks: AsyncIterable[_T]) -> AsyncGenerator[_T, None]:
        """Async form of :meth:`stream`, for ``async for chunk in call.astream(...)``."""
        self._streaming = True
        async for chunk in chunks:
            self._on_chunk(chunk)
            yield chunk

    # ------------------------------------------------------------------ internals

    def _capture(self, payload: object) -> object:
        try:
            return capture_payload(payload, self._spec.max_payload_chars)
        except Exception as exc:  # a hostile __repr__ must not fail the call
            report_once(
                "inference-capture-error",
                logging.WARNING,
                "inference could not capture a payload (%s); further errors are silent",
                type(exc).__name__,
            )
            return f"<uncapturable {type(payload).__name__}>"

    def _guarded(self, observe: Callable[[object], None], payload: object) -> None:
        try:
            observe(payload)
        except Exception as exc:  # e.g. a payload whose attribute access raises
            report_once(
                "inference-observe-error",
                logging.WARNING,
                "inference could not inspect a payload (%s); further errors are silent",
                type(exc).__name__,
            )

    def _user_callable(self, what: str, fn: Callable[[Any], Any], value: object) -> Any:
        try:
            return fn(value)
        except Exception as exc:
            report_once(
                f"inference-{what}-error",
                logging.WARNING,
                "inference %s %r raised %s: %s; further errors are silent",
                what,
                fn,
                type(exc).__name__,
                exc,
            )
            return None

    def _observe_request(self, payload: object) -> None:
        self._request_value = payload
        self._has_request = True
        spec = self._spec
        if spec.intent_classifier is not None and schema.INTENT not in self._fields:
            intent = self._user_callable("intent_classifier", spec.intent_classifier, payload)
            if intent is not None:
                self._fields[schema.INTENT] = _cut(str(intent), spec.max_payload_chars)
        if spec.token_counter is not None and schema.INPUT_TOKEN_COUNT not in self._fields:
            count = self._user_callable("token_counter", spec.token_counter, payload)
            if isinstance(count, int) and not isinstance(count, bool):
                self._fields[schema.INPUT_TOKEN_COUNT] = count
        if schema.INPUT_VECTOR_LENGTH not in self._fields:
            length = _vector_length(payload)
            if length is not None:
                self._fields[schema.INPUT_VECTOR_LENGTH] = length

    def _observe_response(self, payload: object) -> None:
        spec = self._spec
        if spec.token_counter is not None and schema.OUTPUT_TOKEN_COUNT not in self._fields:
            count = self._user_callable("token_counter", spec.token_counter, payload)
            if isinstance(count, int) and not isinstance(count, bool):
                self._fields[schema.OUTPUT_TOKEN_COUNT] = count
        if schema.OUTPUT_VECTOR_LENGTH not in self._fields:
            length = _vector_length(payload)
            if length is not None:
                self._fields[schema.OUTPUT_VECTOR_LENGTH] = length

    def _on_chunk(self, chunk: object) -> None:
        self.first_token()
        self._chunks += 1
        if self._spec.capture_result or self._spec.token_counter is not None:
            self._stream_parts.append(chunk)

    def _stream_ended(self) -> None:
        """Turn what a decorated generator yielded into the response."""
        parts = self._stream_parts
        self._stream_parts = []
        if not parts:
            return
        texts = [p for p in parts if isinstance(p, str)]
        joined: object = "".join(texts) if len(texts) == len(parts) else parts
        if self._spec.capture_result and schema.RESPONSE_PAYLOAD not in self._fields:
            self._fields[schema.RESPONSE_PAYLOAD] = self._capture(joined)
        if self._spec.token_counter is not None and schema.OUTPUT_TOKEN_COUNT not in self._fields:
            count = self._user_callable("token_counter", self._spec.token_counter, joined)
            if isinstance(count, int) and not isinstance(count, bool):
                self._fields[schema.OUTPUT_TOKEN_COUNT] = count

    def _build(self, exc: BaseException | None) -> tuple[int, dict[str, Any]]:
        spec = self._spec
        end = self._end_ns if self._end_ns is not None else time.perf_counter_ns()
        extra: dict[str, Any] = {}
        request_id = self._request_id or current_request_id()
        if request_id is not None:
            extra[schema.REQUEST_ID] = request_id
        if spec.user_id is not None:
            extra[schema.USER_ID] = spec.user_id
        extra[schema.MODEL_ID] = spec.model_id
        if spec.model_version is not None:
            extra[schema.MODEL_VERSION] = spec.model_version
        extra[schema.LATENCY_MS] = round((end - self._start_ns) / 1_000_000, 3)
        for name in (schema.TEMPERATURE, schema.TOP_P, schema.SEED):
            value = spec.params.get(name)
            if value is not None:
                extra[name] = value
        if exc is not None and is_cancellation(exc):
            extra[schema.STATUS] = STATUS_ERROR
            extra[schema.ERROR_CODE] = CANCELLED_ERROR_CODE
        elif exc is not None:
            extra[schema.STATUS] = STATUS_ERROR
            extra[schema.ERROR_CODE] = self._failed_code or type(exc).__name__
        elif self._failed_code is not None:
            extra[schema.STATUS] = STATUS_ERROR
            extra[schema.ERROR_CODE] = self._failed_code
        else:
            extra[schema.STATUS] = STATUS_OK
        if spec.intent is not None:
            extra[schema.INTENT] = spec.intent
        if self._first_token_ns is not None:
            extra[schema.TIME_TO_FIRST_TOKEN_MS] = round(
                (self._first_token_ns - self._start_ns) / 1_000_000, 3
            )
        if self._streaming or self._chunks:
            extra[schema.STREAM_CHUNKS] = self._chunks
        for name, value in spec.params.items():
            if name not in (schema.TEMPERATURE, schema.TOP_P, schema.SEED) and value is not None:
                extra[name] = value
        extra.update(self._fields)
        for name in [k for k in extra if k in STANDARD_RECORD_ATTRS]:
            extra[_COLLISION_PREFIX + name] = extra.pop(name)
        level = spec.error_level if extra.get(schema.STATUS) == STATUS_ERROR else spec.level
        if exc is not None and is_cancellation(exc):
            level = min(level, _CANCEL_LEVEL)
        return level, extra

    def _finish(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Emit the record once; never raises."""
        if self._done:
            return
        self._done = True
        self._end_ns = time.perf_counter_ns()
        try:
            if self._stream_parts:
                self._stream_ended()
            level, extra = self._build(exc)
            if extra.get(schema.STATUS) == STATUS_ERROR:
                mark_request_failed()
            logger = self._spec.logger
            if not logger.isEnabledFor(level):
                return
            exc_info: Any = None
            if exc is not None and exc_type is not None and not is_cancellation(exc):
                exc_info = (exc_type, exc, tb)
            logger.log(level, self._spec.message, exc_info=exc_info, extra=extra)
        except Exception as err:  # logging never raises into the application
            report_once(
                "inference-emit-error",
                logging.WARNING,
                "inference could not log a record (%s: %s); further errors are silent",
                type(err).__name__,
                err,
            )


class _Activation:
    """Makes a call current (and its own request scope, if it opened one) for a while."""

    __slots__ = ("_call", "_scope", "_token")

    def __init__(self, call: InferenceCall) -> None:
        self._call = call
        self._scope: RequestScope | None = None
        self._token: contextvars.Token[InferenceCall | None] | None = None

    def __enter__(self) -> None:
        call = self._call
        if call._request_id is None:
            outer = current_request_id()
            if outer is None:
                # Outside any request: open one so the record and everything logged
                # inside the call share an id.
                self._scope = request_context()
                call._request_id = self._scope.__enter__()
            else:
                call._request_id = outer
        elif current_request_id() != call._request_id:
            # A generator step resumed outside the scope the call started in.
            self._scope = request_context(request_id=call._request_id)
            self._scope.__enter__()
        self._token = _current_call.set(call)

    def __exit__(self, *exc: object) -> None:
        if self._token is not None:
            try:
                _current_call.reset(self._token)
            except (ValueError, RuntimeError):
                _current_call.set(None)
            self._token = None
        if self._scope is not None:
            self._scope.__exit__(None, None, None)
            self._scope = None


class Inference:
    """A configured inference call: ``with``/``async with`` block or decorator.

    Built by :func:`inference`. Entering starts a new :class:`InferenceCall` and
    returns it; leaving emits its record. As a decorator it starts a new call for
    every invocation, so one decorated function may run concurrently. One instance
    may also be shared by ``with`` blocks in concurrent threads or tasks: each
    leaves the call it entered.
    """

    def __init__(
        self,
        model_id: str,
        model_version: str | None,
        *,
        params: dict[str, Any],
        user_id: str | None,
        intent: str | None,
        logger: logging.Logger | str | None,
        level: int | str,
        error_level: int | str,
        message: str,
        capture_args: bool | str | Iterable[str],
        capture_result: bool,
        max_payload_chars: int,
        token_counter: Callable[[Any], int | None] | None,
        intent_classifier: Callable[[Any], str | None] | None,
    ) -> None:
        if not isinstance(model_id, str) or not model_id:
            raise ValueError(f"model_id must be a non-empty string, got {model_id!r}")
        if isinstance(max_payload_chars, bool) or not isinstance(max_payload_chars, int):
            raise ValueError(f"max_payload_chars must be an int, got {max_payload_chars!r}")
        if max_payload_chars < 1:
            raise ValueError(f"max_payload_chars must be at least 1, got {max_payload_chars}")
        if token_counter is not None and not callable(token_counter):
            raise ValueError(f"token_counter must be callable, got {token_counter!r}")
        if intent_classifier is not None and not callable(intent_classifier):
            raise ValueError(f"intent_classifier must be callable, got {intent_classifier!r}")
        self.model_id = model_id
        self.model_version = None if model_version is None else str(model_version)
        self.params = params
        self.user_id = user_id
        self.intent = intent
        if logger is None:
            logger = DEFAULT_LOGGER_NAME
        self.logger = logging.getLogger(logger) if isinstance(logger, str) else logger
        self.level = check_level("level", level)
        self.error_level = check_level("error_level", error_level)
        self.message = message
        if isinstance(capture_args, str):
            self.capture_args: bool | tuple[str, ...] = (capture_args,)
        elif isinstance(capture_args, bool):
            self.capture_args = capture_args
        else:
            self.capture_args = tuple(capture_args)
        self.capture_result = bool(capture_result)
        self.max_payload_chars = max_payload_chars
        self.token_counter = token_counter
        self.intent_classifier = intent_classifier
        self._active: list[tuple[InferenceCall, _Activation]] = []

    # ------------------------------------------------------------------ context manager

    def __enter__(self) -> InferenceCall:
        call = InferenceCall(self)
        activation = _Activation(call)
        activation.__enter__()
        self._active.append((call, activation))
        return call

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # The call this thread or task entered is the current one in its context, so
        # concurrent tasks sharing one instance each close their own call.
        current = _current_call.get()
        index = len(self._active) - 1
        for i, (call, _) in enumerate(self._active):
            if call is current:
                index = i
        call, activation = self._active.pop(index)
        try:
            call._finish(exc_type, exc, tb)
        finally:
            activation.__exit__()
        # Returning None: the exception, if any, propagates unchanged.

    async def __aenter__(self) -> InferenceCall:
        return self.__enter__()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.__exit__(exc_type, exc, tb)

    # ------------------------------------------------------------------ decorator

    def _request_from_args(
        self, signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[bool, object]:
        """``(log_it, value)``: what the decorated call's request is, and whether to log it."""
        arguments: dict[str, Any]
        if signature is None:
            arguments = {f"arg{i}": a for i, a in enumerate(args)} | kwargs
        else:
            try:
                bound = signature.bind(*args, **kwargs)
            except TypeError:
                arguments = {f"arg{i}": a for i, a in enumerate(args)} | kwargs
            else:
                arguments = dict(bound.arguments)
        for skip in ("self", "cls"):
            arguments.pop(skip, None)
        selected = self.capture_args
        if isinstance(selected, tuple):
            if len(selected) == 1:
                return True, arguments.get(selected[0])
            return True, {k: v for k, v in arguments.items() if k in selected}
        if selected:
            return True, arguments
        # Only counted or classified, not logged: a lone argument is the request.
        value: object = next(iter(arguments.values())) if len(arguments) == 1 else arguments
        return False, value

    def _start_call(
        self, signature: inspect.Signature | None, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> InferenceCall:
        call = InferenceCall(self)
        wants_request = (
            self.capture_args is not False
            or self.token_counter is not None
            or self.intent_classifier is not None
        )
        if wants_request:
            log_it, value = self._request_from_args(signature, args, kwargs)
            if log_it:
                call.request(value)
            else:
                call._guarded(call._observe_request, value)
        return call

    def _end_result(self, call: InferenceCall, result: object) -> None:
        if self.capture_result:
            call.response(result)
        else:
            call._guarded(call._observe_response, result)

    def __call__(self, fn: Callable[_P, _R]) -> Callable[_P, _R]:
        """Decorate ``fn`` so every invocation is one inference call with its own record.

        Works on functions, coroutine functions, generator functions and async
        generator functions; for the last two the record is emitted when the stream
        ends (exhausted, failed or closed early) and the first yielded item gives
        ``time_to_first_token_ms``.
        """
        try:
            signature: inspect.Signature | None = inspect.signature(fn)
        except (TypeError, ValueError):
            signature = None
        if inspect.isasyncgenfunction(fn):
            return cast(Callable[_P, _R], self._wrap_async_generator(fn, signature))
        if inspect.isgeneratorfunction(fn):
            return cast(Callable[_P, _R], self._wrap_generator(fn, signature))
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def async_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
                call = self._start_call(signature, args, kwargs)
                # Entered inside the coroutine, i.e. in the task that awaits it.
                with _Activation(call):
                    try:
                        result = await fn(*args, **kwargs)
                    except BaseException as exc:
                        call._finish(type(exc), exc, exc.__traceback__)
                        raise
                    self._end_result(call, result)
                    call._finish(None, None, None)
                    return result

            return cast(Callable[_P, _R], async_wrapper)

        @functools.wraps(fn)
        def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
            call = self._start_call(signature, args, kwargs)
            with _Activation(call):
                try:
                    result = fn(*args, **kwargs)
                except BaseException as exc:
                    call._finish(type(exc), exc, exc.__traceback__)
                    raise
                self._end_result(call, result)
                call._finish(None, None, None)
                return result

        return wrapper

    def _wrap_generator(
        self, fn: Callable[..., Generator[Any, Any, Any]], signature: inspect.Signature | None
    ) -> Callable[..., Generator[Any, Any, Any]]:
        @functools.wraps(fn)
        def generator_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
            call = self._start_call(signature, args, kwargs)
            call._streaming = True
            # The call is made current around each step only, never across a
            # ``yield``: the consumer's code between steps must not see it.
            with _Activation(call):
                inner = fn(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                with _Activation(call):
                    try:
                        if thrown is not None:
                            pending, thrown = thrown, None
                            item = inner.throw(pending)
                        else:
                            item = inner.send(sent)
                    except StopIteration as stop:
                        call._finish(None, None, None)
                        return stop.value
                    except BaseException as exc:
                        call._finish(type(exc), exc, exc.__traceback__)
                        raise
                call._on_chunk(item)
                try:
                    sent = yield item
                except GeneratorExit as exc:
                    with _Activation(call):
                        try:
                            inner.close()
                        finally:
                            call._finish(type(exc), exc, None)
                    raise
                except BaseException as exc:
                    thrown = exc

        return generator_wrapper

    def _wrap_async_generator(
        self, fn: Callable[..., AsyncGenerator[Any, Any]], signature: inspect.Signature | None
    ) -> Callable[..., AsyncGenerator[Any, Any]]:
        @functools.wraps(fn)
        async def async_generator_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
            call = self._start_call(signature, args, kwargs)
            call._streaming = True
            with _Activation(call):
                inner = fn(*args, **kwargs)
            sent: Any = None
            thrown: BaseException | None = None
            while True:
                with _Activation(call):
                    try:
                        if thrown is not None:
                            pending, thrown = thrown, None
                            item = await inner.athrow(pending)
                        else:
                            item = await inner.asend(sent)
                    except StopAsyncIteration:
                        call._finish(None, None, None)
                        return
                    except BaseException as exc:
                        call._finish(type(exc), exc, exc.__traceback__)
                        raise
                call._on_chunk(item)
                try:
                    sent = yield item
                except GeneratorExit as exc:
                    with _Activation(call):
                        try:
                            await inner.aclose()
                        finally:
                            call._finish(type(exc), exc, None)
                    raise
                except BaseException as exc:
                    thrown = exc

        return async_generator_wrapper


def inference(
    model_id: str,
    model_version: str | None = None,
    *,
    temperature: float | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    user_id: str | None = None,
    intent: str | None = None,
    logger: logging.Logger | str | None = None,
    level: int | str = logging.INFO,
    error_level: int | str = logging.ERROR,
    message: str = DEFAULT_MESSAGE,
    capture_args: bool | str | Iterable[str] = False,
    capture_result: bool = False,
    max_payload_chars: int = DEFAULT_MAX_PAYLOAD_CHARS,
    token_counter: Callable[[Any], int | None] | None = None,
    intent_classifier: Callable[[Any], str | None] | None = None,
    **params: Any,
) -> Inference:
    """Time one model-inference call and log one record when it ends.

    Use as ``with inference("fraud-gbm", "3.2.0") as call:``, ``async with``, or as a
    decorator on a function, coroutine function, generator or async generator.

    Args:
        model_id: The model's name; becomes ``model_id``.
        model_version: Its version; becomes ``model_version``.
        temperature, top_p, seed: Sampling parameters, logged under their names.
        user_id: Logged as ``user_id`` (otherwise :class:`~inferlog.ContextFilter`
            stamps the one bound to the request scope, if any).
        intent: A fixed ``intent``; ``call.set(intent=...)`` and
            ``intent_classifier`` give per-call ones.
        logger: Logger or logger name; default ``inferlog.inference``.
        level: Level of a successful call's record (default INFO).
        error_level: Level of a failed call's record (default ERROR). A call its
            consumer abandoned (stream closed early, task cancelled) logs at WARNING
            at most, without a stack.
        message: The record's message (default ``"inference"``).
        capture_args: Decorator only: log the arguments as ``request_payload``.
            ``True`` logs them all as a dict by parameter name (``self``/``cls``
            left out), a name logs that argument's value, a list of names a dict of
            those.
        capture_result: Decorator only: log the return value (for generators, the
            joined string chunks or the list of chunks) as ``response_payload``.
        max_payload_chars: Longest captured payload, in characters of its JSON text;
            longer ones are cut with a marker.
        token_counter: Called with the request payload and with the response
            payload; its ``int`` result becomes ``input_token_count`` /
            ``output_token_count`` unless :meth:`InferenceCall.tokens` set them. In
            the decorator without ``capture_args``, it receives the only argument,
            or a dict of all of them.
        intent_classifier: Called with the request payload; a non-None result
            becomes ``intent`` unless one was set explicitly.
        **params: Other fields for the record, e.g. ``max_tokens=256``.

    Raises:
        ValueError: For an empty ``model_id``, an unknown level, a
            ``max_payload_chars`` below 1 or a non-callable counter or classifier.

    The record carries ``request_id``, ``model_id``, ``model_version``,
    ``latency_ms`` (monotonic clock, milliseconds), ``status`` (``ok`` or
    ``error``), ``error_code`` (the exception's class name, or the code given to
    :meth:`InferenceCall.fail`), the parameters, token counts, ``intent``,
    payloads, ``time_to_first_token_ms`` and ``stream_chunks`` for streams,
    ``input_vector_length``/``output_vector_length`` for array-like payloads, and
    whatever :meth:`InferenceCall.set` added. A failed call's record has
    ``exc_info``, so the stack trace is in its ``exception``; the exception is
    re-raised unchanged.
    """
    all_params: dict[str, Any] = {
        schema.TEMPERATURE: temperature,
        schema.TOP_P: top_p,
        schema.SEED: seed,
    }
    all_params.update(params)
    return Inference(
        model_id,
        model_version,
        params=all_params,
        user_id=user_id,
        intent=intent,
        logger=logger,
        level=level,
        error_level=error_level,
        message=message,
        capture_args=capture_args,
        capture_result=capture_result,
        max_payload_chars=max_payload_chars,
        token_counter=token_counter,
        intent_classifier=intent_classifier,
    )
