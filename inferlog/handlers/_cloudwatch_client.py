"""The boto3 side of the CloudWatch sink: building the client, reading its errors.

Imported only by :mod:`inferlog.handlers.cloudwatch`, and only that module's users
pay for importing boto3. The client is built on the sender thread, never in the
handler's constructor, with botocore's own retries turned off: the sink's
:class:`~inferlog.pipeline.retry.RetryPolicy` is the only one, so a throttled call
is retried once per backoff step, not four times per step, and botocore's parameter
validation off: the handler has already applied every rule it would check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from inferlog.pipeline.retry import Verdict

try:
    import boto3
    import botocore.config
    import botocore.exceptions
except ImportError as exc:  # pragma: no cover - exercised without the extra installed
    raise ImportError("CloudWatchHandler needs boto3: pip install 'inferlog[aws]'") from exc

__all__ = ["EMF_HEADER", "classify", "error_code", "make_client"]

#: Seconds to wait for a connection to CloudWatch Logs before it counts as failed.
DEFAULT_CONNECT_TIMEOUT: Final = 5.0
#: Seconds to wait for an answer before the call counts as failed (and is retried).
DEFAULT_READ_TIMEOUT: Final = 15.0
#: The header that makes PutLogEvents extract Embedded Metric Format metrics.
EMF_HEADER: Final = ("x-amzn-logs-format", "json/emf")

#: Error codes that mean the credentials are missing, wrong, expired or not allowed.
CREDENTIAL_ERROR_CODES: Final = frozenset(
    {
        "UnrecognizedClientException",
        "InvalidClientTokenId",
        "InvalidSignatureException",
        "SignatureDoesNotMatch",
        "ExpiredTokenException",
        "ExpiredToken",
        "AccessDeniedException",
        "AccessDenied",
        "MissingAuthenticationToken",
        "IncompleteSignature",
    }
)
#: Error codes worth retrying (whatever their HTTP status).
RETRY_ERROR_CODES: Final = frozenset(
    {
        "ThrottlingException",
        "Throttling",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "ServiceUnavailableException",
        "ServiceUnavailable",
        "InternalFailure",
        "InternalServerError",
        "RequestTimeout",
        "RequestTimeoutException",
        "OperationAbortedException",
    }
)
_CREDENTIAL_ERRORS: Final = (
    botocore.exceptions.NoCredentialsError,
    botocore.exceptions.PartialCredentialsError,
    botocore.exceptions.CredentialRetrievalError,
    botocore.exceptions.NoRegionError,
)
_TRANSPORT_ERRORS: Final = (
    botocore.exceptions.HTTPClientError,
    botocore.exceptions.ConnectionError,
)


def make_client(
    *,
    region_name: str | None,
    profile_name: str | None,
    endpoint_url: str | None,
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    read_timeout: float = DEFAULT_READ_TIMEOUT,
) -> Any:
    """Return a new CloudWatch Logs client in a session of its own."""
    session = boto3.session.Session(profile_name=profile_name, region_name=region_name)
    config = botocore.config.Config(
        retries={"total_max_attempts": 1, "mode": "standard"},
        # Every PutLogEvents rule is enforced before the call (_cloudwatch_limits);
        # botocore's own pass over 10,000 events is a third of the sender's time.
        parameter_validation=False,
        connect_timeout=connect_timeout,
        read_timeout=read_timeout,
    )
    return session.client("logs", endpoint_url=endpoint_url, config=config)


def add_emf_header(client: Any) -> None:
    """Make ``client``'s PutLogEvents requests ask for EMF metric extraction."""

    def _add(request: Any, **_: Any) -> None:
        request.headers[EMF_HEADER[0]] = EMF_HEADER[1]

    client.meta.events.register("before-sign.cloudwatch-logs.PutLogEvents", _add)


def error_code(exc: BaseException) -> str | None:
    """Return the AWS error code of a ``ClientError``, else None."""
    if isinstance(exc, botocore.exceptions.ClientError):
        code = exc.response.get("Error", {}).get("Code")
        return str(code) if code is not None else None
    return None


def _status(exc: botocore.exceptions.ClientError) -> int:
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
    return status if isinstance(status, int) else 0


def classify(
    exc: BaseException, *, recreate: bool, fallback: Callable[[BaseException], Verdict]
) -> Verdict:
    """Say what a failed CloudWatch call means (see :class:`Verdict`).

    ``recreate``: whether the handler creates groups and streams, which makes a
    ``ResourceNotFoundException`` worth retrying. ``fallback`` decides for
    exceptions that are not botocore's.
    """
    if isinstance(exc, _CREDENTIAL_ERRORS):
        return Verdict.CREDENTIALS
    if isinstance(exc, _TRANSPORT_ERRORS):
        return Verdict.RETRY
    if isinstance(exc, botocore.exceptions.ParamValidationError):
        return Verdict.SPLIT  # one bad event must not sink its neighbours
    if isinstance(exc, botocore.exceptions.ClientError):
        code = error_code(exc) or ""
        status = _status(exc)
        if code in CREDENTIAL_ERROR_CODES or status in (401, 403):
            return Verdict.CREDENTIALS
        if code in RETRY_ERROR_CODES or status >= 500 or status == 429:
            return Verdict.RETRY
        if code == "InvalidParameterException":
            return Verdict.SPLIT
        if code == "ResourceNotFoundException":
            return Verdict.RETRY if recreate else Verdict.REJECT
        return Verdict.REJECT
    return fallback(exc)
