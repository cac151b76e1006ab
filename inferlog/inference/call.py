"""The handle of one inference call, and the record built from it when the call ends."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Generator, Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any, Final, TypeVar

from inferlog import schema
from inferlog._diagnostics import report_once
from inferlog._exceptions import is_cancellation
from inferlog._record import STANDARD_RECORD_ATTRS
from inferlog.context import current_request_id
from inferlog.inference._derived import count_tokens, derive_request_fields, derive_response_fields
from inferlog.inference.payload import capture_payload
from inferlog.sampling.request_block import mark_request_failed
from inferlog.schema import CANCELLED_ERROR_CODE, STATUS_ERROR, STATUS_OK

if TYPE_CHECKING:
    from inferlog.inference.api import Inference

__all__ = [
    "InferenceCall",
]

_T = TypeVar("_T")

# Highest level of an abandoned call's record: worth seeing, not worth paging for.
_CANCEL_LEVEL: Final = logging.WARNING


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

    def _observe_request(self, payload: object) -> None:
        self._request_value = payload
        self._has_request = True
        derive_request_fields(self._spec, self._fields, payload)

    def _observe_response(self, payload: object) -> None:
        derive_response_fields(self._spec, self._fields, payload)

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
            count = count_tokens(self._spec.token_counter, joined)
            if count is not None:
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
            extra[schema.COLLISION_PREFIX + name] = extra.pop(name)
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
