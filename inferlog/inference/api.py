"""Configuring an inference call: :func:`inference` and the :class:`Inference` it returns."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Final, ParamSpec, TypeVar

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

    def __call__(self, fn: Callable[_P, _R]) -> Callable[_P, _R]:
        """Decorate ``fn`` so every invocation is one inference call with its own record.

        Works on functions, coroutine functions, generator functions and async
        generator functions; for the last two the record is emitted when the stream
        ends (exhausted, failed or closed early) and the first yielded item gives
        ``time_to_first_token_ms``.
        """
        # Imported on first use: decorating needs inspect, a ``with`` block does not.
        from inferlog.inference._wrappers import decorate

        return decorate(self, fn)


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
