"""Options and environment of the Google sinks (inferlog/handlers/_gcp_options.py)."""

from __future__ import annotations

from typing import Any

import pytest

from inferlog.handlers import detect_google_runtime
from inferlog.handlers._gcp_options import (
    check_labels,
    check_project,
    default_resource,
    project_from_environ,
)


@pytest.mark.parametrize(
    ("environ", "runtime"),
    [
        ({"K_SERVICE": "s", "K_REVISION": "s-1", "K_CONFIGURATION": "s"}, "cloud_run"),
        ({"K_SERVICE": "f", "K_REVISION": "f-1", "FUNCTION_TARGET": "main"}, "cloud_functions"),
        ({"FUNCTION_NAME": "f", "FUNCTION_REGION": "eu"}, "cloud_functions"),
        ({"CLOUD_RUN_JOB": "j", "CLOUD_RUN_EXECUTION": "j-1"}, "cloud_run_job"),
        ({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, "gke"),
        ({"K_SERVICE": "s"}, None),
        ({"HOME": "/root"}, None),
        ({}, None),
    ],
)
def test_detect_google_runtime_reads_the_documented_variables(
    environ: dict[str, str], runtime: str | None
) -> None:
    assert detect_google_runtime(environ) == runtime


@pytest.mark.parametrize(
    ("environ", "resource"),
    [
        (
            {"K_SERVICE": "s", "K_REVISION": "s-1", "K_CONFIGURATION": "s"},
            {
                "type": "cloud_run_revision",
                "labels": {
                    "project_id": "p",
                    "service_name": "s",
                    "revision_name": "s-1",
                    "configuration_name": "s",
                },
            },
        ),
        (
            {"CLOUD_RUN_JOB": "j", "CLOUD_RUN_EXECUTION": "j-1"},
            {"type": "cloud_run_job", "labels": {"project_id": "p", "job_name": "j"}},
        ),
        (
            {"K_SERVICE": "f", "K_REVISION": "f-1", "FUNCTION_TARGET": "main"},
            {"type": "cloud_function", "labels": {"project_id": "p", "function_name": "f"}},
        ),
        ({"KUBERNETES_SERVICE_HOST": "h"}, {"type": "global", "labels": {"project_id": "p"}}),
        ({}, {"type": "global", "labels": {"project_id": "p"}}),
    ],
)
def test_the_default_resource_comes_from_the_environment(
    environ: dict[str, str], resource: dict[str, Any]
) -> None:
    assert default_resource(environ, "p") == resource


def test_the_project_is_read_from_the_documented_variables_in_order() -> None:
    assert project_from_environ({"GCP_PROJECT": "c", "GCLOUD_PROJECT": "b"}) == "b"
    assert project_from_environ({"GOOGLE_CLOUD_PROJECT": "a", "GCP_PROJECT": "c"}) == "a"
    assert project_from_environ({"GOOGLE_CLOUD_PROJECT": "  "}) is None
    assert project_from_environ({}) is None


@pytest.mark.parametrize("value", [3, "", "projects/p", "my project"])
def test_malformed_projects_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="project"):
        check_project(value)


def test_labels_are_copied_and_checked() -> None:
    given = {"a": "b"}
    checked = check_labels(given)
    assert checked == given
    assert checked is not given
    assert check_labels(None) == {}
    for bad in ({"": "x"}, {"a": 1}, {1: "a"}, "a=b", {"k": "v" * 70_000}, {"k" * 600: "v"}):
        with pytest.raises(ValueError, match="labels"):
            check_labels(bad)
