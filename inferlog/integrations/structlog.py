"""structlog's standard-library integration, ending in inferlog's pipeline.

structlog's processors run on the caller; the last one, :func:`render_to_log_kwargs`,
hands the event to a ``logging`` logger with the event dict's keys as ``extra=``
fields, where inferlog's filters add the request id and its sinks redact and write::

    import structlog
    from inferlog.integrations.structlog import configure_structlog

    configure_structlog()
    structlog.get_logger("scoring").info("scored", model_id="fraud-v3", latency_ms=4.2)

Requires structlog (``pip install structlog``).
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import Any

try:
    import structlog
except ImportError as err:  # pragma: no cover - structlog is a test dependency
    raise ImportError(
        "inferlog.integrations.structlog needs structlog: pip install structlog"
    ) from err

from inferlog.integrations._extra import as_extra

__all__ = ["configure_structlog", "render_to_log_kwargs"]

#: Keys of the event dict that are arguments of the ``logging`` call, not fields.
_CALL_KEYS = ("exc_info", "stack_info", "stacklevel")


def render_to_log_kwargs(
    logger: Any, method_name: str, event_dict: MutableMapping[str, Any]
) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """structlog processor (the last one): the event as a ``logging`` call.

    ``event`` becomes the message (with ``positional_args``, if any, as its
    arguments); ``exc_info``, ``stack_info`` and ``stacklevel`` are passed to the
    call; every other key becomes a record field, a name the record owns
    (``name``, ``message``...) prefixed with ``extra.``.
    """
    fields = dict(event_dict)
    event = fields.pop("event", "")
    positional = tuple(fields.pop("positional_args", ()))
    kwargs: dict[str, Any] = {key: fields.pop(key) for key in _CALL_KEYS if key in fields}
    kwargs["extra"] = as_extra(fields)
    return (event, *positional), kwargs


def configure_structlog(*processors: Callable[..., Any]) -> None:
    """Configure structlog to log through ``logging`` into inferlog's pipeline.

    ``processors`` run after structlog's context variables are merged and before
    :func:`render_to_log_kwargs`. Timestamps, levels and logger names are the
    record's own, so no processor is needed for them.
    """
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.contextvars.merge_contextvars,
            *processors,
            render_to_log_kwargs,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
