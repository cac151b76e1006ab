"""The boto3 side: which CloudWatch failures are retried, split, fatal or refused."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from inferlog.handlers._cloudwatch_client import EMF_HEADER, add_emf_header, classify, make_client
from inferlog.pipeline.retry import Verdict


def client_error(code: str, status: int = 400) -> botocore.exceptions.ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": "injected"},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return botocore.exceptions.ClientError(response, "PutLogEvents")


def verdict(exc: BaseException, recreate: bool = True) -> Verdict:
    return classify(exc, recreate=recreate, fallback=lambda e: Verdict.REJECT)


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (client_error("ThrottlingException"), Verdict.RETRY),
        (client_error("ServiceUnavailableException", 503), Verdict.RETRY),
        (client_error("InternalFailure", 500), Verdict.RETRY),
        (client_error("SomethingNew", 502), Verdict.RETRY),
        (client_error("TooManyRequests", 429), Verdict.RETRY),
        (client_error("InvalidParameterException"), Verdict.SPLIT),
        (client_error("UnrecognizedClientException"), Verdict.CREDENTIALS),
        (client_error("ExpiredTokenException"), Verdict.CREDENTIALS),
        (client_error("AccessDeniedException"), Verdict.CREDENTIALS),
        (client_error("Whatever", 403), Verdict.CREDENTIALS),
        (client_error("DataAlreadyAcceptedException"), Verdict.REJECT),
        (client_error("ValidationException"), Verdict.REJECT),
        (botocore.exceptions.ParamValidationError(report="bad event"), Verdict.SPLIT),
        (botocore.exceptions.NoCredentialsError(), Verdict.CREDENTIALS),
        (botocore.exceptions.NoRegionError(), Verdict.CREDENTIALS),
        (botocore.exceptions.EndpointConnectionError(endpoint_url="http://x"), Verdict.RETRY),
        (botocore.exceptions.ConnectionClosedError(endpoint_url="http://x"), Verdict.RETRY),
        (botocore.exceptions.ReadTimeoutError(endpoint_url="http://x"), Verdict.RETRY),
        (botocore.exceptions.ConnectTimeoutError(endpoint_url="http://x"), Verdict.RETRY),
    ],
)
def test_failures_are_classified(exc: BaseException, expected: Verdict) -> None:
    assert expected is verdict(exc)


def test_a_missing_resource_is_retried_only_when_the_handler_creates_it() -> None:
    missing = client_error("ResourceNotFoundException")
    assert Verdict.RETRY is verdict(missing, recreate=True)
    assert Verdict.REJECT is verdict(missing, recreate=False)


def test_other_exceptions_go_to_the_fallback() -> None:
    assert Verdict.SPLIT is classify(ValueError(), recreate=True, fallback=lambda e: Verdict.SPLIT)


def test_the_client_does_not_retry_by_itself_and_asks_for_emf_when_told() -> None:
    client = make_client(
        region_name="us-east-1", profile_name=None, endpoint_url="http://127.0.0.1:9"
    )
    assert 1 == client.meta.config.retries["total_max_attempts"]
    seen: dict[str, str] = {}

    def capture(request: Any, **_: Any) -> None:
        seen.update(request.headers)
        raise RuntimeError("stop before sending")

    add_emf_header(client)
    client.meta.events.register_last("before-sign.cloudwatch-logs.PutLogEvents", capture)
    with pytest.raises(RuntimeError, match="stop before sending"):
        client.put_log_events(
            logGroupName="g", logStreamName="s", logEvents=[{"timestamp": 1, "message": "m"}]
        )
    assert EMF_HEADER[1] == seen[EMF_HEADER[0]]
