"""One ``entries.write`` call through whichever google-cloud-logging client the sink has.

Two kinds of client are accepted:

* ``google.cloud.logging.Client`` (REST or gRPC): its ``logging_api.write_entries``
  takes the entries as JSON dicts. Over gRPC that path also retries UNAVAILABLE,
  INTERNAL and DEADLINE_EXCEEDED inside the call for up to a minute, on top of the
  sink's own retries;
* the generated ``LoggingServiceV2Client`` of the same package, which
  ``transport="grpc"`` builds: the request is parsed once from the same JSON and
  sent with ``retry=None`` and the sink's timeout, so the sink's retry policy is the
  only one and its deadlines hold.

Both raise ``google.api_core`` exceptions that :mod:`inferlog.handlers._gcp_errors`
reads.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import orjson

__all__ = ["Write", "writer_for"]

#: ``write(entries, log_name, resource)``: one request; raises on failure.
Write = Callable[[list[dict[str, Any]], str, Mapping[str, Any]], None]


def writer_for(client: Any, timeout: float) -> Write:
    """Return the function that sends one request through ``client``."""
    if callable(getattr(client, "write_log_entries", None)):
        return _GapicWrite(client, timeout)
    api = client.logging_api

    def write(entries: list[dict[str, Any]], log_name: str, resource: Mapping[str, Any]) -> None:
        api.write_entries(entries, logger_name=log_name, resource=resource, partial_success=True)

    return write


class _GapicWrite:
    """Send through a generated ``LoggingServiceV2Client``, without its own retries."""

    def __init__(self, gapic: Any, timeout: float) -> None:
        from google.cloud.logging_v2.types import WriteLogEntriesRequest

        self._gapic = gapic
        self._timeout = timeout
        self._request_type = WriteLogEntriesRequest

    def __call__(
        self, entries: list[dict[str, Any]], log_name: str, resource: Mapping[str, Any]
    ) -> None:
        request = {
            "logName": log_name,
            "resource": dict(resource),
            "entries": entries,
            "partialSuccess": True,
        }
        # The API's JSON form, parsed by protobuf in one call (LogEntry field names,
        # jsonPayload as a Struct), as the REST service would read it.
        message = self._request_type.from_json(orjson.dumps(request).decode("utf-8"))
        self._gapic.write_log_entries(request=message, retry=None, timeout=self._timeout)
