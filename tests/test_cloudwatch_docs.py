"""Every code block of docs/cloudwatch.md runs as printed, against moto's server."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests._moto_server import DUMMY_CREDENTIALS, logs_client, read_events, streams

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "cloudwatch.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def messages(url: str, group: str) -> list[str]:
    client = logs_client(url)
    found = []
    for stream in streams(client, group):
        found += [json.loads(e["message"])["message"] for e in read_events(client, group, stream)]
    return found


def test_every_block_is_python_json_or_a_marked_shell_command() -> None:
    fences = re.findall(r"^```(\S*)$", DOC.read_text(encoding="utf-8"), re.M)
    languages = [f for f in fences if f]  # opening fences carry the language
    assert {"python", "json", "console"} >= set(languages)
    assert 4 == len(blocks("python"))


@pytest.mark.parametrize("index", range(4))
def test_the_python_examples_run_as_printed(moto_url: str, tmp_path: Path, index: int) -> None:
    env = {
        **os.environ,
        **DUMMY_CREDENTIALS,
        "AWS_ENDPOINT_URL": moto_url,
        "PYTHONPATH": str(ROOT),
        "TMPDIR": str(tmp_path),
    }
    done = subprocess.run(
        [sys.executable, "-c", blocks("python")[index]],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert 0 == done.returncode, done.stderr
    if index == 0:
        assert "scored one transaction" in messages(moto_url, "/myapp/inference")
        assert "inference" in messages(moto_url, "/myapp/inference")
    elif index == 1:
        assert "GPU memory at 91%" in messages(moto_url, "/myapp/inference")
    elif index == 2:
        import boto3

        alarms = boto3.client(
            "cloudwatch", region_name="us-east-1", endpoint_url=moto_url
        ).describe_alarms(AlarmNames=["fraud-scorer-v3-error-rate"])["MetricAlarms"]
        assert 2.0 == alarms[0]["Threshold"]
    else:
        assert "{'score': 0.12}" == done.stdout.strip()
        assert ["scoring tx-1"] == messages(moto_url, "/myapp/lambda")


def test_the_iam_policy_is_valid_json_naming_every_call_the_handler_makes() -> None:
    [policy] = blocks("json")
    actions = json.loads(policy)["Statement"][0]["Action"]
    assert {
        "logs:CreateLogGroup",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "logs:PutRetentionPolicy",
    } == set(actions)
