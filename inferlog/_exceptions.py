"""A serialisable, bounded description of an exception.

The stdlib ``QueueHandler.prepare`` throws ``exc_info`` away because traceback objects
cannot cross a queue or a process boundary. inferlog instead turns the exception into
plain data once, on the thread that raised it, and every later stage (redaction, the
JSON formatter, the cloud sinks) reads that data from ``record.exception``.
"""

from __future__ import annotations

import traceback
from types import TracebackType
from typing import TypeAlias, TypedDict

from inferlog import schema
from inferlog._text import safe_str

#: What ``sys.exc_info()`` returns, as ``LogRecord.exc_info`` holds it.
ExcInfo: TypeAlias = (
    tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]
)

#: Attribute name under which a prepared record carries its exception description.
EXCEPTION_ATTR = schema.EXCEPTION_FIELD

#: Longest exception message kept, in characters; the rest is cut with a marker.
MAX_EXCEPTION_MESSAGE_CHARS = 8_192
#: Most stack lines kept; the oldest frames are dropped first, with a marker.
MAX_STACK_LINES = 400


class ExceptionInfo(TypedDict):
    """The ``exception`` object of a record."""

    type: str
    message: str
    stack: list[str]


def _message(exc: BaseException) -> str:
    """The exception's text (see :func:`inferlog._text.safe_str`), cut to the cap."""
    text = safe_str(exc)
    if len(text) > MAX_EXCEPTION_MESSAGE_CHARS:
        cut = len(text) - MAX_EXCEPTION_MESSAGE_CHARS
        text = f"{text[:MAX_EXCEPTION_MESSAGE_CHARS]}...[truncated {cut} chars]"
    return text


def _qualified_name(cls: type[BaseException]) -> str:
    module = getattr(cls, "__module__", "") or ""
    name = getattr(cls, "__qualname__", None) or cls.__name__
    if module in ("builtins", "__main__", ""):
        return str(name)
    return f"{module}.{name}"


def _stack_lines(exc_info: ExcInfo) -> list[str]:
    try:
        text = "".join(traceback.format_exception(*exc_info))
    except Exception as err:  # pragma: no cover - traceback itself failed
        return [f"<traceback unavailable: {type(err).__name__}>"]
    lines = text.rstrip("\n").split("\n")
    if len(lines) > MAX_STACK_LINES:
        dropped = len(lines) - MAX_STACK_LINES
        # Keep the head (the outermost call) and the tail (where it was raised).
        head = MAX_STACK_LINES // 4
        tail = MAX_STACK_LINES - head
        lines = [*lines[:head], f"...[{dropped} stack lines omitted]...", *lines[-tail:]]
    return lines


def describe_exception(exc_info: ExcInfo) -> ExceptionInfo | None:
    """Return the ``exception`` object for ``exc_info``, or None when there is none.

    The stack is the full ``traceback.format_exception`` text, chained causes
    included, one list item per line, bounded by :data:`MAX_STACK_LINES`.
    """
    exc_type, exc, _tb = exc_info
    if exc_type is None or exc is None:
        return None
    return {
        "type": _qualified_name(exc_type),
        "message": _message(exc),
        "stack": _stack_lines(exc_info),
    }


def is_cancellation(exc: BaseException) -> bool:
    """Whether ``exc`` means the caller went away rather than that the work failed.

    ``GeneratorExit`` (a stream closed early) and ``asyncio.CancelledError``,
    recognised by name so that asyncio need not be imported; an ordinary
    ``Exception`` of that name is a failure like any other.
    """
    return isinstance(exc, GeneratorExit) or (
        not isinstance(exc, Exception) and type(exc).__name__ == "CancelledError"
    )
