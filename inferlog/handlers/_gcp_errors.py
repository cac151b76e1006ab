"""What a failed ``entries.write`` means: retry, split, stop, or give up; and which entries.

Works on the exceptions google-cloud-logging raises over REST and gRPC
(``google.api_core.exceptions.GoogleAPICallError`` and its subclasses, whose
``code`` is the HTTP status on both transports) by their attributes, so nothing
here imports a Google library until a gRPC partial failure has to be unpacked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final, Literal

__all__ = [
    "PARTIAL_ERRORS_TYPE",
    "RETRYABLE_ENTRY_CODES",
    "RETRYABLE_HTTP_STATUSES",
    "Decision",
    "decide",
    "partial_errors",
]

#: What to do with a request that failed as a whole.
Decision = Literal["retry", "split", "credentials", "reject"]

#: HTTP statuses worth retrying: timeout, throttling (RESOURCE_EXHAUSTED), INTERNAL,
#: bad gateway, UNAVAILABLE, DEADLINE_EXCEEDED.
RETRYABLE_HTTP_STATUSES: Final = frozenset({408, 429, 500, 502, 503, 504})
#: gRPC codes of a single entry worth sending again: DEADLINE_EXCEEDED (4),
#: RESOURCE_EXHAUSTED (8), INTERNAL (13), UNAVAILABLE (14).
RETRYABLE_ENTRY_CODES: Final = frozenset({4, 8, 13, 14})
#: Statuses that no retry can fix until someone grants access or fixes credentials.
_CREDENTIALS_STATUSES: Final = frozenset({401, 403})
#: Statuses that say the request (not each entry) is wrong: smaller requests may pass.
_SPLIT_STATUSES: Final = frozenset({400, 413})
#: The detail type of ``entries.write``'s per-entry errors.
PARTIAL_ERRORS_TYPE: Final = "google.logging.v2.WriteLogEntriesPartialErrors"

_CREDENTIAL_ERROR_NAMES: Final = frozenset(
    {"RefreshError", "DefaultCredentialsError", "UserAccessTokenError"}
)


def decide(exc: BaseException) -> Decision:
    """Return what to do after ``exc`` failed a whole ``entries.write`` request.

    Retries throttling, 5xx/UNAVAILABLE/INTERNAL/DEADLINE_EXCEEDED and transport
    failures; never INVALID_ARGUMENT (``"split"``: halving finds the bad entry) or
    PERMISSION_DENIED/UNAUTHENTICATED (``"credentials"``: sending stops).
    """
    name = type(exc).__name__
    if name in _CREDENTIAL_ERROR_NAMES:
        return "credentials"
    if name == "TransportError":  # google.auth could not reach the token endpoint
        return "retry"
    if name == "ParseError":  # protobuf refused an entry's JSON: find it by halving
        return "split"
    code = getattr(exc, "code", None)
    if isinstance(code, int) and not isinstance(code, bool) and code >= 100:
        if code in RETRYABLE_HTTP_STATUSES:
            return "retry"
        if code in _CREDENTIALS_STATUSES:
            return "credentials"
        if code in _SPLIT_STATUSES:
            return "split"
        return "reject"
    if isinstance(exc, (OSError, TimeoutError)):
        # requests' ConnectionError and Timeout are OSErrors; so are socket errors.
        return "retry"
    return "reject"


def partial_errors(exc: BaseException) -> dict[int, tuple[int, str]] | None:
    """Return ``{index: (grpc_code, message)}`` of the entries a write refused, or None.

    ``entries.write`` with ``partialSuccess`` writes the valid entries and names the
    others in a ``WriteLogEntriesPartialErrors`` detail, on REST as JSON and on
    gRPC as a packed ``Any``. None when ``exc`` carries no such detail.
    """
    details = getattr(exc, "details", None)
    if not isinstance(details, (list, tuple)):
        return None
    for detail in details:
        if isinstance(detail, Mapping):
            if str(detail.get("@type", "")).endswith(PARTIAL_ERRORS_TYPE):
                return _from_json(detail.get("logEntryErrors"))
        elif str(getattr(detail, "type_url", "")).endswith(PARTIAL_ERRORS_TYPE):
            return _from_any(detail)
    return None


def _from_json(errors: Any) -> dict[int, tuple[int, str]]:
    found: dict[int, tuple[int, str]] = {}
    if not isinstance(errors, Mapping):
        return found
    for index, status in errors.items():
        try:
            position = int(index)
        except (TypeError, ValueError):
            continue
        status = status if isinstance(status, Mapping) else {}
        code = status.get("code", 2)
        found[position] = (
            code if isinstance(code, int) else 2,
            str(status.get("message", "")),
        )
    return found


def _from_any(detail: Any) -> dict[int, tuple[int, str]]:
    from google.cloud.logging_v2.types import WriteLogEntriesPartialErrors

    message = WriteLogEntriesPartialErrors.pb()()
    if not detail.Unpack(message):
        return {}
    return {
        int(index): (int(status.code), str(status.message))
        for index, status in message.log_entry_errors.items()
    }
