"""``inferlog.configure()`` and ``inferlog.shutdown()``: the whole pipeline in one call.

Everything :func:`configure` builds is an ordinary ``logging`` object that could equally
come from ``logging.config.dictConfig`` (the README shows that form): caller-side
filters on an :class:`~inferlog.pipeline.queue.QueueHandler`, and sinks behind it that
redact, format and write on the listener thread.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from inferlog._validation import check_level
from inferlog.context import ContextFilter
from inferlog.formatting import ConsoleFormatter, JsonFormatter
from inferlog.handlers.file import DEFAULT_LOG_PATH, RotatingJsonFileHandler
from inferlog.pipeline.queue import (
    DEFAULT_OVERFLOW,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_SHUTDOWN_TIMEOUT,
    OverflowPolicy,
    QueueHandler,
    ShutdownReport,
    shutdown_all,
)
from inferlog.redaction import RedactionFilter
from inferlog.sampling import SamplingFilter

__all__ = ["DEFAULT_LOG_PATH", "Pipeline", "configure", "shutdown"]

ConsoleMode = Literal["auto", "pretty", "json"]
_CONSOLE_MODES: tuple[str, ...] = ("auto", "pretty", "json")

_lock = threading.Lock()
_current: Pipeline | None = None


@dataclass
class Pipeline:
    """What :func:`configure` installed, so it can be inspected and taken down.

    Attributes:
        queue_handler: the handler attached to the configured loggers.
        sinks: the handlers behind the queue (file, console, and the user's own).
        loggers: the names of the loggers the queue handler was attached to
            (``""`` is the root logger).
    """

    queue_handler: QueueHandler
    sinks: list[logging.Handler] = field(default_factory=list)
    loggers: list[str] = field(default_factory=list)

    def detach(self) -> None:
        """Remove the queue handler from the loggers it was attached to."""
        for name in self.loggers:
            logging.getLogger(name or None).removeHandler(self.queue_handler)


def _console_handler(
    mode: ConsoleMode | bool, json_formatter: JsonFormatter
) -> logging.Handler | None:
    if mode is False:
        return None
    if mode is True:
        mode = "auto"
    if mode not in _CONSOLE_MODES:
        raise ValueError(f"console must be one of {_CONSOLE_MODES}, True or False; got {mode!r}")
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("inferlog.console")
    pretty = mode == "pretty" or (mode == "auto" and sys.stderr.isatty())
    handler.setFormatter(ConsoleFormatter() if pretty else json_formatter)
    return handler


def configure(
    *,
    filename: str | os.PathLike[str] | None = DEFAULT_LOG_PATH,
    console: ConsoleMode | bool = "auto",
    level: int | str = logging.INFO,
    loggers: Sequence[str] = ("",),
    schema: str = "inferlog",
    static_fields: Mapping[str, Any] | None = None,
    redaction: bool | Mapping[str, Any] = True,
    sampling: Mapping[str, Any] | None = None,
    file_options: Mapping[str, Any] | None = None,
    handlers: Sequence[logging.Handler] = (),
    queue_size: int = DEFAULT_QUEUE_SIZE,
    overflow: OverflowPolicy = DEFAULT_OVERFLOW,
    spill_path: str | os.PathLike[str] | None = None,
    handle_sigterm: bool = False,
) -> Pipeline:
    """Install the whole inferlog pipeline and return what was installed.

    With no arguments: every record at INFO and above from every logger becomes one
    JSON line in ``./logs/inferlog.jsonl`` (rotating at 100 MiB, rotated files
    gzipped) and on stderr (a readable layout when stderr is a terminal, JSON lines
    otherwise), with request ids stamped on the calling thread, redaction of PII and
    secrets, and all I/O on a listener thread behind a bounded queue.

    Calling it again replaces the pipeline it installed before (which is drained and
    closed first); handlers that something else attached are left alone.

    Args:
        filename: the JSON lines file; None for no file sink.
        console: ``"auto"``, ``"pretty"`` (:class:`~inferlog.formatting.ConsoleFormatter`),
            ``"json"``, True (= ``"auto"``) or False (no console sink).
        level: the level set on each logger in ``loggers``.
        loggers: logger names to attach the queue to; ``""`` is the root logger.
        schema: ``"inferlog"`` or ``"otel"`` field names, see :doc:`/schema`.
        static_fields: fields added to every record (service, env, region...).
        redaction: True for the default :class:`~inferlog.redaction.Redactor`, False
            for none, or a mapping of :class:`~inferlog.redaction.RedactionFilter`
            keyword arguments.
        sampling: None to keep every record, or a mapping of
            :class:`~inferlog.sampling.SamplingFilter` keyword arguments
            (``{"rate": 0.1}`` keeps every error and 10% of successful requests).
        file_options: keyword arguments for
            :class:`~inferlog.handlers.RotatingJsonFileHandler` (``max_bytes``,
            ``when``, ``backup_count``, ``fsync``...).
        handlers: further sinks to put behind the queue; they keep their own
            formatters, and get the redaction filter too.
        queue_size: records that may wait for the listener before ``overflow`` applies.
        overflow: ``"drop_oldest"``, ``"drop_newest"`` or ``"block"``.
        spill_path: where records undelivered at shutdown go.
        handle_sigterm: drain the queue when the process gets SIGTERM (main thread only).

    Raises:
        ValueError: for an option that cannot work (unknown level, console mode,
            schema, a redaction or sampling option the filters reject). Nothing is
            changed when it raises.
    """
    global _current
    numeric_level = check_level("level", level)
    json_formatter = JsonFormatter(schema=schema, static_fields=static_fields)
    sinks: list[logging.Handler] = []
    if filename is not None:
        file_handler = RotatingJsonFileHandler(filename, **dict(file_options or {}))
        file_handler.set_name("inferlog.file")
        file_handler.setFormatter(json_formatter)
        sinks.append(file_handler)
    console_handler = _console_handler(console, json_formatter)
    if console_handler is not None:
        sinks.append(console_handler)
    sinks.extend(handlers)
    if not sinks:
        raise ValueError("no sink: pass a filename, console=True or handlers=[...]")

    if redaction is not False:
        options = {} if redaction is True else dict(redaction)
        # One filter object shared by every sink: it marks the records it has
        # redacted, so a record that reaches two sinks is scanned once.
        redaction_filter = RedactionFilter(**options)
        for sink in sinks:
            sink.addFilter(redaction_filter)

    queue_handler = QueueHandler(
        handlers=sinks,
        queue_size=queue_size,
        overflow=overflow,
        spill_path=spill_path,
        handle_sigterm=handle_sigterm,
    )
    queue_handler.set_name("inferlog.queue")
    # Order matters: the request id must be on the record before sampling reads it.
    queue_handler.addFilter(ContextFilter())
    if sampling is not None:
        queue_handler.addFilter(SamplingFilter(**dict(sampling)))

    with _lock:
        previous, _current = _current, None
    if previous is not None:
        previous.detach()
        previous.queue_handler.shutdown(DEFAULT_SHUTDOWN_TIMEOUT)
        _close_sinks(previous.sinks)

    pipeline = Pipeline(queue_handler=queue_handler, sinks=sinks, loggers=list(loggers))
    for name in pipeline.loggers:
        logger = logging.getLogger(name or None)
        logger.addHandler(queue_handler)
        logger.setLevel(numeric_level)
    with _lock:
        _current = pipeline
    return pipeline


def _close_sinks(sinks: Sequence[logging.Handler]) -> None:
    for sink in sinks:
        try:
            sink.close()
        except Exception:  # a sink that fails to close must not stop the rest
            pass


def shutdown(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> ShutdownReport:
    """Drain every inferlog queue in the process and flush and close the sinks.

    Waits at most ``timeout`` seconds in all; what could not be delivered by then is
    spilled to a local file and counted on stderr, never silently lost. Idempotent,
    and also run at interpreter exit. Returns what was delivered, spilled and dropped.
    """
    global _current
    with _lock:
        pipeline, _current = _current, None
    result = shutdown_all(timeout)
    if pipeline is not None:
        pipeline.detach()
        _close_sinks(pipeline.sinks)
    return result
