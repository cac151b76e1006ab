"""Aligned, optionally coloured lines for people: :class:`ConsoleFormatter`."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from typing import Final, TextIO

import orjson

from inferlog import schema
from inferlog._text import safe_str
from inferlog.formatting._bounds import (
    fit_str,
    safe_key,
    to_json_safe,
)
from inferlog.formatting._coerce import (
    MARKER_RESERVE,
    clean_text,
)
from inferlog.formatting._fields import _extras, _stack_lines, format_timestamp, record_exception

__all__ = ["DEFAULT_CONSOLE_VALUE_CHARS", "ConsoleFormatter", "colour_wanted"]

_RESET = "\x1b[0m"
_DIM = "\x1b[2m"
_BOLD = "\x1b[1m"
_CYAN = "\x1b[36m"
_BLUE = "\x1b[34m"
_RED = "\x1b[31m"
_LEVEL_COLOURS: Final = {
    "DEBUG": "\x1b[34m",
    "INFO": "\x1b[32m",
    "WARNING": "\x1b[33m",
    "ERROR": "\x1b[31m",
    "CRITICAL": "\x1b[1;31m",
}
#: Widest value shown in a console ``key=value`` pair, in characters.
DEFAULT_CONSOLE_VALUE_CHARS: Final = 200


def colour_wanted(stream: TextIO | None = None) -> bool:
    """Return whether to colour: ``stream`` (stderr) is a TTY and NO_COLOR is unset.

    Follows https://no-color.org: a non-empty ``NO_COLOR`` turns colour off.
    """
    if os.environ.get("NO_COLOR", ""):
        return False
    target = sys.stderr if stream is None else stream
    try:
        return bool(target.isatty())
    except Exception:  # closed or replaced streams
        return False


class ConsoleFormatter(logging.Formatter):
    """Human-readable records for development: aligned columns, then ``key=value``.

    Each line is ``time level logger message``, the columns padded so that messages
    line up, followed by the inference fields (in schema order) and other extras as
    ``key=value``; an exception or stack follows on the next lines.

    Args:
        colour: ``True``/``False`` to force ANSI colour on or off; ``None`` (default)
            colours only when stderr is a terminal and ``NO_COLOR`` is unset.
        logger_width: column width for the logger name (longer names are kept whole).
        show_extras: also show extras that are not inference fields.
        max_value_chars: longest ``value`` shown; longer ones are cut with a marker.
    """

    def __init__(
        self,
        *,
        colour: bool | None = None,
        logger_width: int = 20,
        show_extras: bool = True,
        max_value_chars: int = DEFAULT_CONSOLE_VALUE_CHARS,
    ) -> None:
        super().__init__()
        if colour is not None and not isinstance(colour, bool):
            raise ValueError(f"colour must be True, False or None, got {colour!r}")
        if not isinstance(show_extras, bool):
            raise ValueError(f"show_extras must be True or False, got {show_extras!r}")
        if isinstance(logger_width, bool) or not isinstance(logger_width, int) or logger_width < 0:
            raise ValueError(f"logger_width must be a non-negative int, got {logger_width!r}")
        if (
            isinstance(max_value_chars, bool)
            or not isinstance(max_value_chars, int)
            or max_value_chars < MARKER_RESERVE
        ):
            raise ValueError(
                f"max_value_chars must be an int of at least {MARKER_RESERVE}, "
                f"got {max_value_chars!r}"
            )
        self.colour = colour_wanted() if colour is None else colour
        self.logger_width = logger_width
        self.show_extras = show_extras
        self.max_value_chars = max_value_chars

    def _paint(self, code: str, text: str) -> str:
        return f"{code}{text}{_RESET}" if self.colour and code else text

    def _value(self, value: object) -> str:
        if isinstance(value, str):
            # Cut first: the checks below are Python loops, and the value may be 10 MB.
            text = fit_str(value, self.max_value_chars)[0]
            if text and not any(ch.isspace() or ch in "\"'=" for ch in text):
                return text
            return orjson.dumps(text).decode("utf-8")
        converted, _size = to_json_safe(value, self.max_value_chars)
        return orjson.dumps(converted).decode("utf-8")

    def format(self, record: logging.LogRecord) -> str:
        """Return ``record`` as one aligned line, plus exception lines; never raises."""
        try:
            return self._format(record)
        except Exception as err:
            return f"<inferlog: record could not be formatted: {type(err).__name__}>"

    def _format(self, record: logging.LogRecord) -> str:
        try:
            message = record.getMessage()
        except Exception as err:
            message = f"{safe_str(record.msg)} <%-format failed: {type(err).__name__}>"
        level = record.levelname
        head = " ".join(
            (
                self._paint(_DIM, format_timestamp(record.created)[:23] + "Z"),
                self._paint(_LEVEL_COLOURS.get(level, ""), f"{level:<8}"),
                self._paint(_BLUE, f"{record.name:<{self.logger_width}}"),
                clean_text(message),
            )
        )
        extras = {key: value for key, value in _extras(record) if key != schema.EXCEPTION_FIELD}
        pairs: list[str] = []
        for field in schema.INFERENCE_FIELDS:
            if field in extras:
                pairs.append(f"{self._paint(_CYAN, field)}={self._value(extras.pop(field))}")
        if self.show_extras:
            for key, value in extras.items():
                pairs.append(f"{self._paint(_CYAN, safe_key(key))}={self._value(value)}")
        lines = [head + ("  " + " ".join(pairs) if pairs else "")]
        stack = _stack_lines(record.stack_info)
        if stack:
            lines.extend(clean_text(line) for line in stack)
        exception = record_exception(record)
        if isinstance(exception, Mapping) and isinstance(exception.get("stack"), list):
            lines.extend(
                self._paint(_RED, clean_text(safe_str(line))) for line in exception["stack"]
            )
        elif exception is not None:
            lines.append(self._paint(_RED, f"exception={self._value(exception)}"))
        return "\n".join(lines)
