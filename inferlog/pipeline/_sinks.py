"""The sinks behind a queue: the batch protocol, and resolving sinks given by name.

A :class:`~inferlog.pipeline.queue.QueueHandler` may be given its sinks as handler objects
or as the names of handlers in the same ``dictConfig``; names are resolved when the
first record arrives, since ``dictConfig`` may configure the sinks after the queue.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Sequence, Sized
from typing import Any, Protocol, runtime_checkable

from inferlog._diagnostics import report_once

__all__ = ["BatchHandler"]


@runtime_checkable
class BatchHandler(Protocol):
    """A sink that takes records in batches from the listener (cloud sinks do).

    The listener calls ``handle_batch`` with up to ``batch_size`` records at or
    above the handler's level, in order; the handler applies its own filters. A
    handler without ``handle_batch`` gets ``handle(record)`` once per record.
    """

    level: int

    def handle_batch(self, records: Sequence[logging.LogRecord]) -> None:
        """Ship ``records``; must not raise (report through ``handleError``)."""


def _handler_by_name(name: str) -> logging.Handler | None:
    getter = getattr(logging, "getHandlerByName", None)  # Python 3.12+
    if getter is not None:
        found = getter(name)
        return found if isinstance(found, logging.Handler) else None
    # Python 3.10/3.11 keep the same name -> handler map without a public accessor.
    return logging._handlers.get(name)  # type: ignore[attr-defined,no-any-return]


def _spec_name(spec: str) -> str:
    prefix = "cfg://handlers."
    return spec[len(prefix) :] if spec.startswith(prefix) else spec


def _non_empty(handlers: Iterable[logging.Handler | str]) -> Iterable[logging.Handler | str]:
    # Indexing a ConvertingList would configure the handler; len() does not.
    size = len(handlers) if isinstance(handlers, Sized) else len(list(handlers))
    if size == 0:
        raise ValueError(
            "handlers must name at least one sink; an empty list would drop every record"
        )
    return handlers


class SinkTargets:
    """The sinks of one queue handler, as given, and the handlers they resolve to."""

    def __init__(self, handlers: Iterable[logging.Handler | str] | None) -> None:
        # A list from dictConfig is a ConvertingList: iterating it (unlike indexing)
        # yields the raw names, and its configurator holds the configured handlers,
        # which would otherwise be garbage-collected once dictConfig returns.
        if isinstance(handlers, str):
            # A lone name would otherwise be read as a list of one-letter names.
            raise ValueError(f"handlers must be a list of handlers or names, not {handlers!r}")
        self._config_handlers: Any = None
        if handlers is None:
            # Python 3.12's dictConfig shape hands the sinks over afterwards (through
            # a stdlib QueueListener); until then there are none.
            handlers = ()
        elif not isinstance(handlers, Iterable):
            raise TypeError(f"handlers must be a list of handlers or names, not {handlers!r}")
        else:
            handlers = _non_empty(handlers)
        configurator = getattr(handlers, "configurator", None)
        if configurator is not None:
            self._config_handlers = configurator.config.get("handlers")
        specs = list(handlers)
        for spec in specs:
            if not isinstance(spec, (logging.Handler, str)):
                raise ValueError(f"handlers must hold handlers or handler names, got {spec!r}")
            if isinstance(spec, str) and not self._known_name(_spec_name(spec)):
                raise ValueError(
                    f"handlers: no handler named {spec!r} is configured (in this dictConfig "
                    "or before); records would have nowhere to go"
                )
        self._specs: list[logging.Handler | str] = specs
        self._targets: list[logging.Handler] = []
        self._unresolved = bool(self._specs)

    def _known_name(self, name: str) -> bool:
        if self._config_handlers is not None:
            with contextlib.suppress(Exception):
                if name in self._config_handlers:
                    return True
        return _handler_by_name(name) is not None

    def resolve(self, owner: logging.Handler) -> list[logging.Handler]:
        """Return the sink handlers of ``owner``; report names not (yet) configured."""
        if not self._unresolved:
            return self._targets
        targets: list[logging.Handler] = []
        missing: list[str] = []
        for spec in self._specs:
            if isinstance(spec, logging.Handler):
                targets.append(spec)
                continue
            name = _spec_name(str(spec))
            found: object = None
            if self._config_handlers is not None:
                with contextlib.suppress(Exception):
                    found = self._config_handlers[name]
            if not isinstance(found, logging.Handler):
                found = _handler_by_name(name)
            if isinstance(found, logging.Handler) and found is not owner:
                targets.append(found)
            else:
                missing.append(name)
        self._targets = targets
        if missing:
            report_once(
                f"queue-missing-handlers-{id(owner)}-{missing}",
                logging.ERROR,
                "QueueHandler %r: no configured handler named %s; records go to the others",
                owner.name,
                ", ".join(repr(m) for m in missing),
            )
        else:
            self._unresolved = False
            self._config_handlers = None
        return targets
