"""moto's CloudWatch Logs server on 127.0.0.1, once per test session, and helpers to read it.

The real boto3 client talks to it over HTTP with dummy credentials; nothing leaves
the machine. Each test uses a log group of its own (:func:`unique_group`), so tests
never see each other's events.
"""

from __future__ import annotations

import itertools
import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest

REGION = "us-east-1"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    # Never read a developer's real configuration.
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}
_counter = itertools.count()


def logs_client(endpoint_url: str) -> Any:
    """A plain boto3 ``logs`` client for ``endpoint_url`` (used to read back)."""
    return boto3.client(
        "logs",
        region_name=REGION,
        endpoint_url=endpoint_url,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def unique_group(prefix: str = "/inferlog/test") -> str:
    """A log group name no other test uses."""
    return f"{prefix}/{os.getpid()}-{next(_counter)}-{uuid.uuid4().hex[:8]}"


def read_events(client: Any, group: str, stream: str) -> list[dict[str, Any]]:
    """Every event of one stream, oldest first (GetLogEvents, followed to the end)."""
    events: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "logGroupName": group,
            "logStreamName": stream,
            "startFromHead": True,
        }
        if token is not None:
            kwargs["nextToken"] = token
        page = client.get_log_events(**kwargs)
        events.extend(page["events"])
        if page.get("nextForwardToken") in (None, token) or not page["events"]:
            return events
        token = page["nextForwardToken"]


def streams(client: Any, group: str) -> list[str]:
    """Names of the streams of ``group`` (empty if the group does not exist)."""
    try:
        found = client.describe_log_streams(logGroupName=group)["logStreams"]
    except client.exceptions.ResourceNotFoundException:
        return []
    return sorted(s["logStreamName"] for s in found)


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    """URL of a moto server started for this session, with dummy AWS credentials set."""
    from moto.server import ThreadedMotoServer

    patch = pytest.MonkeyPatch()
    for key, value in DUMMY_CREDENTIALS.items():
        patch.setenv(key, value)
    # The server answers on threads of this process: its request log must not reach
    # a handler under test attached to the root logger.
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        patch.undo()
