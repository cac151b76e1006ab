"""Configuring an inference call: :func:`inference` and the :class:`Inference` it returns."""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import AsyncGenerator, Callable, Generator, Iterable
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar, cast

from inferlog import schema
from inferlog._validation import check_level
from inferlog.inference._activation import _Activation, _current_call
from inferlog.inference.call import InferenceCall

__all__ = [
    "DEFAULT_LOGGER_NAME",
    "DEFAULT_MAX_PAYLOAD_CHARS",
    "DEFAULT_MESSAGE",
    "Inference",
    "inference",
]

_P = ParamSpec("_P")
_R = TypeVar("_R")

#: Logger the records go to unless ``logger=`` says otherwise.
DEFAULT_LOGGER_NAME: Final = "inferlog.inference"
#: Message of the inference record unless ``message=`` says otherwise.
DEFAULT_MESSAGE: Final = "inference"
#: Longest captured payload, in characters of its JSON text, before it is cut.
DEFAULT_MAX_PAYLOAD_CHARS: Final = 4096


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
