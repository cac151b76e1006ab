"""``inferlog.configure()`` and ``inferlog.shutdown()``: the whole pipeline in one call.

Everything :func:`configure` builds is an ordinary ``logging`` object that could equally
come from ``logging.config.dictConfig`` (the README shows that form): caller-side
filters on an :class:`~inferlog.pipeline.queue.QueueHandler`, and sinks behind it that
redact, format and write on the listener thread.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from inferlog._diagnostics import report_once
from inferlog._record import copy_record
from inferlog._validation import check_level, check_seconds
from inferlog.context import ContextFilter
from inferlog.formatting import ConsoleFormatter, JsonFormatter
from inferlog.handlers.file import DEFAULT_LOG_PATH, RotatingJsonFileHandler
from inferlog.integrations import check_options as check_integrations
from inferlog.integrations import install as install_integrations
from inferlog.integrations import uninstall as uninstall_integrations
from inferlog.pipeline.queue import (
    DEFAULT_OVERFLOW,
    DEFAULT_QUEUE_SIZE,
    DEFAULT_SHUTDOWN_TIMEOUT,
    OverflowPolicy,
    QueueHandler,
    ShutdownReport,
    install_signal_handlers,
    shutdown_all,
)
from inferlog.redaction import RedactionFilter
from inferlog.sampling import SamplingFilter

__all__ = ["DEFAULT_LOG_PATH", "Pipeline", "configure", "shutdown"]

ConsoleMode = Literal["auto", "pretty", "json"]
_CONSOLE_MODES: tuple[str, ...] = ("auto", "pretty", "json")
ExistingHandlers = Literal["redact", "keep", "remove"]
_EXISTING_HANDLERS: tuple[str, ...] = ("redact", "keep", "remove")
_SCHEMAS: tuple[str, ...] = ("inferlog", "otel")

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
        sampling: the sampling filter on the queue handler, or None without
            sampling; give it to :class:`~inferlog.SampledLogger` to skip building
            the records it would drop.
    """

    queue_handler: QueueHandler
    sinks: list[logging.Handler] = field(default_factory=list)
    loggers: list[str] = field(default_factory=list)
    sampling: SamplingFilter | None = None

    #: Root handlers that were there before and now format through redaction, with
    #: the formatter each had.
    redacted_foreign: list[tuple[logging.Handler, logging.Formatter | None]] = field(
        default_factory=list
    )

    def detach(self) -> None:
        """Remove the queue handler from its loggers, and what it added to other handlers."""
        for name in self.loggers:
            logging.getLogger(name or None).removeHandler(self.queue_handler)
        uninstall_integrations(self.queue_handler)
        for handler, formatter in self.redacted_foreign:
            if isinstance(handler.formatter, _RedactingFormatter):
                handler.setFormatter(formatter)  # type: ignore[arg-type]
        self.redacted_foreign = []


class _RedactingFormatter(logging.Formatter):
    """Formats a redacted copy of each record with a handler's own formatter.

    For handlers that were on the root logger before :func:`configure`: a filter
    would redact the record itself, which the other handlers (an audit trail that
    keeps raw payloads) then see too; a formatter works on its own copy.
    """

    def __init__(self, inner: logging.Formatter | None, redaction: RedactionFilter) -> None:
        super().__init__()
        self.inner = inner or logging.Formatter()
        self.redaction = redaction

    def format(self, record: logging.LogRecord) -> str:
        """Redact a copy of ``record``, then format it as the handler did before."""
        copy = copy_record(record)
        copy.__dict__.pop("message", None)
        self.redaction.filter(copy)
        return self.inner.format(copy)


def _console_handler(
    mode: ConsoleMode | bool, json_formatter: JsonFormatter
) -> logging.Handler | None:
    if mode is False:
        return None
    if mode is True:
        mode = "auto"
    if mode not in _CONSOLE_MODES:
        raise ValueError(f"console must be one of {_CONSOLE_MODES}, True or False; got {mode!r}")
    if mode == "auto":
        from inferlog.handlers._gcp_options import detect_google_runtime

        if detect_google_runtime(os.environ) is not None:
            # Cloud Run, GKE, Cloud Functions: the platform's agent reads JSON lines
            # from stdout, with its own fields for severity, trace and labels.
            from inferlog.handlers.stdout import StructuredStdoutHandler

            agent = StructuredStdoutHandler()
            agent.set_name("inferlog.console")
            agent.setFormatter(json_formatter)
            return agent
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name("inferlog.console")
    pretty = mode == "pretty" or (mode == "auto" and sys.stderr.isatty())
    handler.setFormatter(ConsoleFormatter() if pretty else json_formatter)
    return handler


def _check_options(
    *,
    filename: object,
    loggers: object,
    schema: object,
    static_fields: object,
    redaction: object,
    sampling: object,
    file_options: object,
    handlers: object,
    spill_path: object,
    handle_sigterm: object,
    existing_handlers: object,
) -> tuple[list[str], dict[str, Any] | None, dict[str, Any] | None, list[logging.Handler]]:
    """Check every option of :func:`configure` before anything is built.

    Returns the normalised ``loggers``, redaction options, sampling options and
    handlers. Raises ``TypeError``/``ValueError`` naming the option.
    """
    if filename is not None and not isinstance(filename, (str, os.PathLike)):
        raise TypeError(f"filename must be a path (str or os.PathLike) or None, got {filename!r}")
    if isinstance(filename, (str, os.PathLike)) and not os.fspath(filename):
        raise ValueError("filename must not be empty; pass None for no file sink")
    if isinstance(loggers, str):
        names = [loggers]  # one logger name, not a list of its letters
    elif isinstance(loggers, (list, tuple)) and all(isinstance(n, str) for n in loggers):
        names = list(loggers)
    else:
        raise TypeError(f"loggers must be a logger name or a list of names, got {loggers!r}")
    if schema not in _SCHEMAS:
        raise ValueError(f"schema must be one of {_SCHEMAS}, got {schema!r}")
    if static_fields is not None and not isinstance(static_fields, Mapping):
        raise TypeError(f"static_fields must be a mapping or None, got {static_fields!r}")
    if redaction is True:
        redaction_options: dict[str, Any] | None = {}
    elif redaction is False:
        redaction_options = None
    elif isinstance(redaction, Mapping):
        redaction_options = dict(redaction)
    else:
        raise TypeError(
            f"redaction must be True, False or a mapping of RedactionFilter options, "
            f"got {redaction!r}"
        )
    if sampling is None:
        sampling_options: dict[str, Any] | None = None
    elif isinstance(sampling, (int, float)) and not isinstance(sampling, bool):
        sampling_options = {"rate": sampling}  # configure(sampling=0.1): a rate
    elif isinstance(sampling, Mapping):
        sampling_options = dict(sampling)
    else:
        raise TypeError(
            f"sampling must be None, a rate such as 0.1, or a mapping of SamplingFilter "
            f"options, got {sampling!r}"
        )
    if file_options is not None and not isinstance(file_options, Mapping):
        raise TypeError(f"file_options must be a mapping or None, got {file_options!r}")
    if isinstance(handlers, (str, bytes)) or not isinstance(handlers, (list, tuple)):
        raise TypeError(f"handlers must be a list of logging.Handler, got {handlers!r}")
    for handler in handlers:
        if not isinstance(handler, logging.Handler):
            raise TypeError(f"handlers must hold logging.Handler objects, got {handler!r}")
    if spill_path is not None and not isinstance(spill_path, (str, os.PathLike)):
        raise TypeError(
            f"spill_path must be a path (str or os.PathLike) or None, got {spill_path!r}"
        )
    if handle_sigterm not in (True, False, None):
        raise TypeError(f"handle_sigterm must be True, False or None, got {handle_sigterm!r}")
    if existing_handlers not in _EXISTING_HANDLERS:
        raise ValueError(
            f"existing_handlers must be one of {_EXISTING_HANDLERS}, got {existing_handlers!r}"
        )
    return names, redaction_options, sampling_options, list(handlers)


_T = TypeVar("_T")


def _named(option: str, factory: Callable[..., _T], *args: Any, **kwargs: Any) -> _T:
    """Build with ``factory``; an error it raises says which configure option it came from."""
    try:
        return factory(*args, **kwargs)
    except (ValueError, TypeError) as err:
        if option in str(err):
            raise
        raise type(err)(f"{option}: {err}") from err


def _sigterm_wanted(handle_sigterm: bool | None) -> bool:
    """None (the default): drain on SIGTERM when nobody else handles it, from the main thread."""
    if handle_sigterm is not None:
        return handle_sigterm
    if threading.current_thread() is not threading.main_thread():
        return False
    try:
        return signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None)
    except (ValueError, OSError):  # pragma: no cover - no signals here
        return False


def configure(
    *,
    filename: str | os.PathLike[str] | None = DEFAULT_LOG_PATH,
    console: ConsoleMode | bool = "auto",
    level: int | str = logging.INFO,
    loggers: str | Sequence[str] = ("",),
    schema: str = "inferlog",
    static_fields: Mapping[str, Any] | None = None,
    redaction: bool | Mapping[str, Any] = True,
    sampling: float | Mapping[str, Any] | None = None,
    file_options: Mapping[str, Any] | None = None,
    handlers: Sequence[logging.Handler] = (),
    queue_size: int = DEFAULT_QUEUE_SIZE,
    overflow: OverflowPolicy = DEFAULT_OVERFLOW,
    spill_path: str | os.PathLike[str] | None = None,
    handle_sigterm: bool | None = None,
    existing_handlers: ExistingHandlers = "redact",
    shutdown_timeout: float = DEFAULT_SHUTDOWN_TIMEOUT,
    capture_servers: bool | None = None,
    capture_warnings: bool = False,
) -> Pipeline:
    """Install the whole inferlog pipeline and return what was installed.

    With no arguments: every record at INFO and above from every logger becomes one
    JSON line in ``./logs/inferlog.jsonl`` (rotating at 100 MiB, rotated files
    gzipped) and on stderr (a readable layout when stderr is a terminal, JSON lines
    otherwise), with request ids stamped on the calling thread, redaction of PII and
    secrets, all I/O on a listener thread behind a bounded queue, and a drain on
    SIGTERM.

    Calling it again replaces the pipeline it installed before (which is drained and
    closed first); handlers that something else attached are left alone.

    Args:
        filename: the JSON lines file; None for no file sink.
        console: ``"auto"``, ``"pretty"`` (:class:`~inferlog.formatting.ConsoleFormatter`),
            ``"json"``, True (= ``"auto"``) or False (no console sink). ``"auto"`` is
            JSON lines on stdout with the logging agent's fields
            (:class:`~inferlog.handlers.StructuredStdoutHandler`) on Cloud Run, GKE
            and Cloud Functions (told by their documented environment variables),
            the readable layout on a terminal, and JSON lines on stderr otherwise.
        level: the level set on each logger in ``loggers``.
        loggers: a logger name or a list of names to attach the queue to; ``""`` is
            the root logger.
        schema: ``"inferlog"`` or ``"otel"`` field names, see :doc:`/schema`.
        static_fields: fields added to every record (service, env, region...).
        redaction: True for the default :class:`~inferlog.redaction.Redactor`, False
            for none, or a mapping of :class:`~inferlog.redaction.RedactionFilter`
            keyword arguments.
        sampling: None to keep every record, a rate (``0.1`` keeps every error and
            10% of successful requests), or a mapping of
            :class:`~inferlog.sampling.SamplingFilter` keyword arguments.
        file_options: keyword arguments for
            :class:`~inferlog.handlers.RotatingJsonFileHandler` (``max_bytes``,
            ``when``, ``backup_count``, ``fsync``...).
        handlers: further sinks to put behind the queue; they keep their own
            formatters, and get the redaction filter too.
        queue_size: records that may wait for the listener before ``overflow`` applies.
        overflow: ``"drop_oldest"``, ``"drop_newest"`` or ``"block"``.
        spill_path: where records undelivered at shutdown go (a file or a directory).
        handle_sigterm: None (default) drains the queue on SIGTERM when SIGTERM has
            its default action and this runs on the main thread (the signal then
            acts as before, so the process still ends by SIGTERM); True installs
            the drain whatever was there (chaining the previous handler); False
            never touches signals.
        existing_handlers: what to do with handlers already on the root logger (a
            ``logging.basicConfig()`` handler, say), which would otherwise print raw
            records: ``"redact"`` (default) adds the redaction filter to them,
            ``"keep"`` leaves them as they are, ``"remove"`` detaches them. Each
            one is named once on stderr.
        shutdown_timeout: the deadline for draining at exit and on SIGTERM.
        capture_servers: forward uvicorn's and gunicorn's access and error loggers
            (which do not propagate) into the pipeline: True, False, or None (default)
            for those of the two already imported. See :doc:`/migrating`.
        capture_warnings: route ``warnings.warn`` through the pipeline
            (:func:`logging.captureWarnings`); undone when the pipeline is replaced.

    Raises:
        ValueError, TypeError: for an option that cannot work, naming it. Nothing is
            changed when it raises.
    """
    global _current
    names, redaction_options, sampling_options, extra_sinks = _check_options(
        filename=filename,
        loggers=loggers,
        schema=schema,
        static_fields=static_fields,
        redaction=redaction,
        sampling=sampling,
        file_options=file_options,
        handlers=handlers,
        spill_path=spill_path,
        handle_sigterm=handle_sigterm,
        existing_handlers=existing_handlers,
    )
    numeric_level = check_level("level", level)
    check_seconds("shutdown_timeout", shutdown_timeout)
    check_integrations(servers=capture_servers, warnings=capture_warnings)
    json_formatter = _named(
        "static_fields", JsonFormatter, schema=schema, static_fields=static_fields
    )
    redaction_filter = (
        _named("redaction", RedactionFilter, **redaction_options)
        if redaction_options is not None
        else None
    )
    sampling_filter = (
        _named("sampling", SamplingFilter, **sampling_options)
        if sampling_options is not None
        else None
    )
    console_handler = _console_handler(console, json_formatter)
    sinks: list[logging.Handler] = []
    built: list[logging.Handler] = []
    try:
        if filename is not None:
            file_handler = _named(
                "file_options", RotatingJsonFileHandler, filename, **dict(file_options or {})
            )
            built.append(file_handler)
            file_handler.set_name("inferlog.file")
            file_handler.setFormatter(json_formatter)
            sinks.append(file_handler)
        if console_handler is not None:
            sinks.append(console_handler)
        sinks.extend(extra_sinks)
        if not sinks:
            raise ValueError("no sink: pass a filename, console=True or handlers=[...]")
        queue_handler = QueueHandler(
            handlers=sinks,
            queue_size=queue_size,
            overflow=overflow,
            spill_path=spill_path,
            shutdown_timeout=shutdown_timeout,
        )
    except BaseException:
        _close_sinks(built)
        raise
    if redaction_filter is not None:
        # One filter object shared by every sink: the copies of a record that the
        # sinks get share a memo, so a record that reaches two sinks is scanned once.
        for sink in sinks:
            sink.addFilter(redaction_filter)
    queue_handler.set_name("inferlog.queue")
    # Order matters: the request id must be on the record before sampling reads it.
    queue_handler.addFilter(ContextFilter())
    if sampling_filter is not None:
        queue_handler.addFilter(sampling_filter)

    with _lock:
        previous, _current = _current, None
    if previous is not None:
        previous.detach()
        previous.queue_handler.shutdown(DEFAULT_SHUTDOWN_TIMEOUT)
        _close_sinks(previous.sinks)

    pipeline = Pipeline(
        queue_handler=queue_handler, sinks=sinks, loggers=names, sampling=sampling_filter
    )
    if "" in names:
        _handle_existing(pipeline, existing_handlers, redaction_filter)
    for name in pipeline.loggers:
        logger = logging.getLogger(name or None)
        logger.addHandler(queue_handler)
        logger.setLevel(numeric_level)
    install_integrations(queue_handler, servers=capture_servers, warnings=capture_warnings)
    if _sigterm_wanted(handle_sigterm):
        install_signal_handlers(timeout=shutdown_timeout)
    with _lock:
        _current = pipeline
    return pipeline


def _handle_existing(
    pipeline: Pipeline, policy: str, redaction_filter: RedactionFilter | None
) -> None:
    """Deal with handlers already on the root logger (see ``existing_handlers``)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if type(handler).__module__.startswith("inferlog."):
            continue  # inferlog's own (a queue, an audit trail): configured on purpose
        if policy == "remove":
            root.removeHandler(handler)
            what = "detached"
        elif policy == "redact" and redaction_filter is not None:
            if not isinstance(handler.formatter, _RedactingFormatter):
                pipeline.redacted_foreign.append((handler, handler.formatter))
                handler.setFormatter(_RedactingFormatter(handler.formatter, redaction_filter))
            what = "its output is now redacted"
        else:
            what = "left as it is: it writes records unredacted"
        report_once(
            f"configure-existing-{id(handler)}-{policy}",
            logging.WARNING,
            "configure(): the root logger already had %r; %s (existing_handlers=%r)",
            handler,
            what,
            policy,
        )


def _close_sinks(sinks: Sequence[logging.Handler]) -> None:
    for sink in sinks:
        try:
            sink.close()
        except Exception:  # a sink that fails to close must not stop the rest
            pass


def shutdown(timeout: float = DEFAULT_SHUTDOWN_TIMEOUT) -> ShutdownReport:
    """Drain every inferlog queue and sink in the process, flush and close the sinks.

    Waits at most ``timeout`` seconds in all; what could not be delivered by then is
    spooled to a local file and counted on stderr, never silently lost. Idempotent,
    and also run at interpreter exit. Returns what was delivered, spooled and dropped.

    The pipeline stays attached: a record logged afterwards is still redacted and
    written, on the caller's thread (the file is opened again), as a ``dictConfig``
    ``QueueHandler`` does; :func:`configure` replaces it.
    """
    check_seconds("timeout", timeout)
    with _lock:
        pipeline = _current
    result = shutdown_all(timeout)
    if pipeline is not None:
        _close_sinks(pipeline.sinks)
    return result
