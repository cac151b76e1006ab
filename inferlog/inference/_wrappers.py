"""The decorator form of :func:`~inferlog.inference.inference`: one call per invocation.

Functions, coroutine functions, generator functions and async generator functions
each get their own wrapper; a generator's call is made current around each step
only, never across a ``yield``.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncGenerator, Callable, Generator
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

from inferlog.inference._activation import _Activation
from inferlog.inference.call import InferenceCall

if TYPE_CHECKING:
    from inferlog.inference.api import Inference

__all__ = ["decorate", "start_call"]

_P = ParamSpec("_P")
_R = TypeVar("_R")


def _request_from_args(
    spec: Inference,
    signature: inspect.Signature | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
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
    selected = spec.capture_args
    if isinstance(selected, tuple):
        if len(selected) == 1:
            return True, arguments.get(selected[0])
        return True, {k: v for k, v in arguments.items() if k in selected}
    if selected:
        return True, arguments
    # Only counted or classified, not logged: a lone argument is the request.
    value: object = next(iter(arguments.values())) if len(arguments) == 1 else arguments
    return False, value


def start_call(
    spec: Inference,
    signature: inspect.Signature | None,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> InferenceCall:
    """Start the call of one invocation of a function decorated with ``spec``."""
    call = InferenceCall(spec)
    wants_request = (
        spec.capture_args is not False
        or spec.token_counter is not None
        or spec.intent_classifier is not None
    )
    if wants_request:
        log_it, value = _request_from_args(spec, signature, args, kwargs)
        if log_it:
            call.request(value)
        else:
            call._guarded(call._observe_request, value)
    return call


def _end_result(spec: Inference, call: InferenceCall, result: object) -> None:
    if spec.capture_result:
        call.response(result)
    else:
        call._guarded(call._observe_response, result)


def decorate(spec: Inference, fn: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate ``fn`` with ``spec``: every invocation is one inference call with its own record.

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
        return cast(Callable[_P, _R], _wrap_async_generator(spec, fn, signature))
    if inspect.isgeneratorfunction(fn):
        return cast(Callable[_P, _R], _wrap_generator(spec, fn, signature))
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def async_wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Any:
            call = start_call(spec, signature, args, kwargs)
            # Entered inside the coroutine, i.e. in the task that awaits it.
            with _Activation(call):
                try:
                    result = await fn(*args, **kwargs)
                except BaseException as exc:
                    call._finish(type(exc), exc, exc.__traceback__)
                    raise
                _end_result(spec, call, result)
                call._finish(None, None, None)
                return result

        return cast(Callable[_P, _R], async_wrapper)

    @functools.wraps(fn)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        call = start_call(spec, signature, args, kwargs)
        with _Activation(call):
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                call._finish(type(exc), exc, exc.__traceback__)
                raise
            _end_result(spec, call, result)
            call._finish(None, None, None)
            return result

    return wrapper


def _wrap_generator(
    spec: Inference,
    fn: Callable[..., Generator[Any, Any, Any]],
    signature: inspect.Signature | None,
) -> Callable[..., Generator[Any, Any, Any]]:
    @functools.wraps(fn)
    def generator_wrapper(*args: Any, **kwargs: Any) -> Generator[Any, Any, Any]:
        call = start_call(spec, signature, args, kwargs)
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
    spec: Inference,
    fn: Callable[..., AsyncGenerator[Any, Any]],
    signature: inspect.Signature | None,
) -> Callable[..., AsyncGenerator[Any, Any]]:
    @functools.wraps(fn)
    async def async_generator_wrapper(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, Any]:
        call = start_call(spec, signature, args, kwargs)
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
