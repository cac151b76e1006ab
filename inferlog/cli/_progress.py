"""A progress bar for long work, drawn only when the stream is a terminal."""

from __future__ import annotations

import shutil
import sys
import time
from types import TracebackType
from typing import Final, TextIO

__all__ = ["ProgressBar"]

#: Seconds between two redraws: often enough to look alive, rarely enough to cost nothing.
REDRAW_INTERVAL: Final = 0.1


class ProgressBar:
    """``with ProgressBar(total, "replay") as bar: bar.advance()``; silent when piped.

    Draws on ``stream`` (stderr by default) only when it is a terminal, so that
    output redirected to a file or a pipe holds results and nothing else.
    """

    def __init__(self, total: int | None, label: str, *, stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_draw = 0.0

    def advance(self, count: int = 1) -> None:
        """Count ``count`` more units done; redraw at most every :data:`REDRAW_INTERVAL`."""
        self.done += count
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._last_draw >= REDRAW_INTERVAL:
            self._last_draw = now
            self._draw()

    def _draw(self) -> None:
        width = shutil.get_terminal_size((80, 24)).columns
        if self.total:
            share = min(1.0, self.done / self.total)
            text = f"{self.label} {self.done}/{self.total} "
            room = max(10, width - len(text) - 8)
            filled = int(room * share)
            line = f"{text}[{'#' * filled}{'.' * (room - filled)}] {share:4.0%}"
        else:
            line = f"{self.label} {self.done}"
        self.stream.write("\r" + line[: width - 1])
        self.stream.flush()

    def close(self) -> None:
        """Erase the bar, leaving the terminal line clean for what follows."""
        if self.enabled:
            width = shutil.get_terminal_size((80, 24)).columns
            self.stream.write("\r" + " " * (width - 1) + "\r")
            self.stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
