"""One entries.write through either kind of client (inferlog/handlers/_gcp_writers.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from inferlog.handlers._gcp_errors import decide
from inferlog.handlers._gcp_writers import writer_for
from tests._fake_cloud_logging import FakeCloudLogging, Fault, serving

LOG = "projects/fake-project/logs/w"
RESOURCE = {"type": "global", "labels": {"project_id": "fake-project"}}
ENTRIES = [
    {"insertId": "a", "severity": "INFO", "jsonPayload": {"n": 1}},
    {"insertId": "b", "severity": "ERROR", "jsonPayload": {"n": 2}, "labels": {"k": "v"}},
]


@pytest.fixture
def fake() -> Iterator[FakeCloudLogging]:
    """A fake serving REST and gRPC."""
    with serving(with_grpc=True) as server:
        yield server


@pytest.mark.parametrize("kind", ["rest client", "grpc client", "generated client"])
def test_every_kind_of_client_sends_the_same_request(fake: FakeCloudLogging, kind: str) -> None:
    client = {
        "rest client": fake.rest_client,
        "grpc client": fake.grpc_client,
        "generated client": fake.gapic_client,
    }[kind]()
    writer_for(client, 5.0)(ENTRIES, LOG, RESOURCE)
    assert fake.wait_for(2)
    assert [(e["insertId"], e["logName"], e["resource"]["type"]) for e in fake.entries] == [
        ("a", LOG, "global"),
        ("b", LOG, "global"),
    ]
    assert fake.entries[1]["labels"] == {"k": "v"}


def test_the_generated_client_does_not_retry_by_itself(fake: FakeCloudLogging) -> None:
    fake.schedule([Fault("UNAVAILABLE")])
    with pytest.raises(Exception) as caught:
        writer_for(fake.gapic_client(), 5.0)(ENTRIES, LOG, RESOURCE)
    assert decide(caught.value) == "retry"
    assert fake.requests == 1  # the sink's policy decides when to try again


def test_an_entry_protobuf_cannot_read_is_found_by_splitting(fake: FakeCloudLogging) -> None:
    bad = [{"insertId": "x", "severity": "NOT-A-SEVERITY"}]
    with pytest.raises(Exception) as caught:
        writer_for(fake.gapic_client(), 5.0)(bad, LOG, RESOURCE)
    assert decide(caught.value) == "split"
    assert fake.requests == 0
