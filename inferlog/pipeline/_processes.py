"""Records from worker processes: the picklable sender, the worker's handler, the wire.

A worker (``multiprocessing`` or ``ProcessPoolExecutor``, spawn or fork) logs through
a :class:`ProcessQueueHandler` into a :class:`ProcessSender`, which puts each record,
formatted and with its exception as data, on a ``multiprocessing`` queue. In the
parent a receiver thread (:func:`receive_records`) reads them and hands them to the
:class:`~inferlog.pipeline.queue.QueueHandler` that made the sender.
"""

from __future__ import annotations

import logging
import pickle
import queue as queue_module
import threading
from collections.abc import Callable
from typing import Any, Final

from inferlog._diagnostics import report_once
from inferlog._exceptions import EXCEPTION_ATTR, describe_exception
from inferlog._feedback import shipping

__all__ = ["ProcessQueueHandler", "ProcessSender", "install_process_sender"]

_RECEIVER_THREAD_NAME: Final = "inferlog-queue-receiver"
_RECEIVER_POLL: Final = 0.1


def open_channel(
    context: str | None,
    level: int | str | None,
    enqueue: Callable[[logging.LogRecord], None],
) -> tuple[ProcessSender, threading.Thread, threading.Event]:
    """Make a sender for workers started by ``context`` and the thread that receives.

    The thread (not started) passes each record to ``enqueue`` until the event is set
    and the wire is empty. ``level`` defaults to this process's root level now.
    """
    import multiprocessing

    ctx = multiprocessing.get_context(context)
    if level is None:
        level = logging.getLogger().getEffectiveLevel()
    wire: Any = ctx.Queue()
    sender = ProcessSender(wire, logging._checkLevel(level))  # type: ignore[attr-defined]
    stop = threading.Event()
    thread = threading.Thread(
        target=receive_records,
        args=(wire, stop, enqueue),
        name=_RECEIVER_THREAD_NAME,
        daemon=True,
    )
    return sender, thread, stop


def receive_records(
    wire: Any, stop: threading.Event, enqueue: Callable[[logging.LogRecord], None]
) -> None:
    """Move records from ``wire`` to ``enqueue`` until ``stop`` is set and ``wire`` is empty."""
    shipping.set(True)
    while True:
        try:
            item = wire.get(timeout=_RECEIVER_POLL)
        except queue_module.Empty:
            if stop.is_set():
                return
            continue
        except (EOFError, OSError, ValueError):
            return
        try:
            record = logging.makeLogRecord(pickle.loads(item))
        except Exception as exc:
            report_once(
                "queue-receive-error",
                logging.ERROR,
                "could not read a record from a worker process: %s: %s",
                type(exc).__name__,
                exc,
            )
            continue
        enqueue(record)


class ProcessSender:
    """The picklable end of a process queue: what a worker process logs into."""

    def __init__(self, wire: Any, level: int = logging.NOTSET) -> None:
        self._wire = wire
        #: Root level for the workers (see :meth:`QueueHandler.process_sender`).
        self.level = level

    def send(self, record: logging.LogRecord) -> None:
        """Serialise ``record`` (message formatted, exception as data) and send it."""
        self._wire.put(_record_to_wire(record))

    def __getstate__(self) -> dict[str, Any]:
        return {"_wire": self._wire, "level": self.level}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self._wire = state["_wire"]
        self.level = state.get("level", logging.NOTSET)


def _record_to_wire(record: logging.LogRecord) -> bytes:
    data = dict(record.__dict__)
    exc_info = data.get("exc_info")
    if exc_info:
        data.setdefault(EXCEPTION_ATTR, describe_exception(exc_info))
    data["exc_info"] = None
    data["exc_text"] = None
    try:
        data["msg"] = record.getMessage()
        data["args"] = None
    except Exception:
        data["msg"] = f"{record.msg!r} % {record.args!r}"
        data["args"] = None
    try:
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        for key, value in list(data.items()):
            try:
                pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
            except Exception:
                data[key] = repr(value)
        return pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL)


class ProcessQueueHandler(logging.Handler):
    """Worker-side handler: sends each record to the parent through a :class:`ProcessSender`.

    The message is formatted and the exception turned into data before sending, so
    nothing unpicklable crosses; extras that cannot be pickled travel as ``repr``.
    """

    def __init__(self, sender: ProcessSender, level: int | str = logging.NOTSET) -> None:
        super().__init__(level)
        self.sender = sender

    def emit(self, record: logging.LogRecord) -> None:
        """Send ``record``; never raises."""
        try:
            self.sender.send(record)
        except Exception:
            self.handleError(record)


def install_process_sender(
    sender: ProcessSender, level: int | str | None = None, *, context: bool = True
) -> ProcessQueueHandler:
    """Make ``sender`` the root logger's only handler in this (worker) process.

    Meant as a ``ProcessPoolExecutor(initializer=install_process_sender,
    initargs=(sender,))`` or ``multiprocessing.Pool`` initializer. Handlers inherited
    through fork are detached, not closed (they belong to the parent). With
    ``context`` the handler stamps request ids with :class:`inferlog.context.ContextFilter`.
    The root level becomes ``level``, by default the one the sender carries.
    """
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
        retire = getattr(old, "retire_inherited", None)
        if retire is not None:
            retire()
    handler = ProcessQueueHandler(sender)
    if context:
        try:
            from inferlog.context import ContextFilter

            handler.addFilter(ContextFilter())
        except Exception:  # pragma: no cover - context support is optional here
            pass
    root.addHandler(handler)
    root.setLevel(sender.level if level is None else level)
    return handler
