"""What a failed entries.write means, read from the real client's real exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from inferlog.handlers._gcp_errors import decide, partial_errors
from tests._fake_cloud_logging import FakeCloudLogging, Fault, serving

ENTRIES = [{"jsonPayload": {"n": 0}}, {"jsonPayload": {"n": 1}}, {"jsonPayload": {"n": 2}}]


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeCloudLogging]:
    """One fake serving both REST and gRPC for the module."""
    with serving(with_grpc=True) as server:
        yield server


def _failure(fake: FakeCloudLogging, transport: str, fault: Fault) -> BaseException:
    fake.schedule([fault])
    client = fake.rest_client() if transport == "rest" else fake.grpc_client()
    try:
        client.logging_api.write_entries(
            ENTRIES, logger_name="projects/fake-project/logs/t", partial_success=True
        )
    except Exception as exc:
        return exc
    pytest.fail("the write did not fail")


# The gRPC client retries UNAVAILABLE, INTERNAL and DEADLINE_EXCEEDED itself for up to
# a minute before raising, so those three are read from REST only.
@pytest.mark.parametrize(
    ("transport", "code", "decision"),
    [
        ("rest", "UNAVAILABLE", "retry"),
        ("rest", "INTERNAL", "retry"),
        ("rest", "DEADLINE_EXCEEDED", "retry"),
        ("rest", "RESOURCE_EXHAUSTED", "retry"),
        ("rest", "INVALID_ARGUMENT", "split"),
        ("rest", "PERMISSION_DENIED", "credentials"),
        ("grpc", "RESOURCE_EXHAUSTED", "retry"),
        ("grpc", "INVALID_ARGUMENT", "split"),
        ("grpc", "PERMISSION_DENIED", "credentials"),
    ],
)
def test_whole_request_failures_are_classified(
    fake: FakeCloudLogging, transport: str, code: str, decision: str
) -> None:
    exc = _failure(fake, transport, Fault(code))
    assert decide(exc) == decision
    assert partial_errors(exc) is None


@pytest.mark.parametrize("transport", ["rest", "grpc"])
def test_partial_failures_name_the_refused_entries(fake: FakeCloudLogging, transport: str) -> None:
    exc = _failure(fake, transport, Fault("INVALID_ARGUMENT", (0, 2)))
    failed = partial_errors(exc)
    assert failed is not None
    assert sorted(failed) == [0, 2]
    assert {code for code, _message in failed.values()} == {3}


@pytest.mark.parametrize(
    ("exc", "decision"),
    [
        (ConnectionResetError("reset"), "retry"),
        (TimeoutError("slow"), "retry"),
        (OSError("requests' ConnectionError is an OSError"), "retry"),
        (ValueError("Invalid log entry"), "reject"),
        (type("RefreshError", (Exception,), {})("token"), "credentials"),
        (type("TransportError", (Exception,), {})("dns"), "retry"),
    ],
)
def test_errors_outside_the_api_are_classified(exc: BaseException, decision: str) -> None:
    assert decide(exc) == decision


def test_http_statuses_without_a_grpc_code_are_classified() -> None:
    from google.api_core import exceptions

    cases: dict[int, Any] = {502: "retry", 408: "retry", 401: "credentials", 404: "reject"}
    for status, decision in cases.items():
        assert decide(exceptions.from_http_status(status, "x")) == decision


def test_malformed_partial_details_are_ignored() -> None:
    class Odd(Exception):
        details = [{"@type": "x.WriteLogEntriesPartialErrors"}, "junk"]

    class Garbled(Exception):
        details = [
            {
                "@type": "type.googleapis.com/google.logging.v2.WriteLogEntriesPartialErrors",
                "logEntryErrors": {"a": {}, "1": "bad", "2": {"code": "x", "message": 5}},
            }
        ]

    assert partial_errors(Odd()) is None
    assert partial_errors(Garbled()) == {1: (2, ""), 2: (2, "5")}
