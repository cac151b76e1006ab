"""Options and environment shared by the Google sinks: project, labels, runtime detection.

Pure functions over plain values and an ``environ`` mapping; nothing here imports a
Google library or touches the network (the metadata server is never asked).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from inferlog.handlers._gcp_labels import (
    MAX_LABEL_KEY_BYTES,
    MAX_LABEL_VALUE_BYTES,
    MAX_LABELS,
)

__all__ = [
    "GOOGLE_RUNTIMES",
    "PROJECT_ENV_VARS",
    "check_labels",
    "check_project",
    "default_resource",
    "detect_google_runtime",
    "project_from_environ",
]

#: Environment variables that name the project, in the order they are read. Cloud
#: Run and Cloud Functions do not set them by themselves (only the metadata server
#: knows); set ``GOOGLE_CLOUD_PROJECT`` in the service or pass ``project=``.
PROJECT_ENV_VARS: Final = ("GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "GCP_PROJECT")

#: What :func:`detect_google_runtime` may return.
GOOGLE_RUNTIMES: Final = ("cloud_functions", "cloud_run", "cloud_run_job", "gke")


def detect_google_runtime(environ: Mapping[str, str]) -> str | None:
    """Return which Google runtime ``environ`` belongs to, or None outside one.

    Reads only the environment variables each runtime documents as set for every
    container, so it never waits on the metadata server:

    * ``"cloud_functions"``: ``FUNCTION_TARGET`` with ``K_SERVICE`` (2nd gen and
      functions on Cloud Run), or the 1st-gen ``FUNCTION_NAME`` + ``FUNCTION_REGION``;
    * ``"cloud_run"``: ``K_SERVICE`` and ``K_REVISION`` (a Cloud Run service);
    * ``"cloud_run_job"``: ``CLOUD_RUN_JOB`` and ``CLOUD_RUN_EXECUTION``;
    * ``"gke"``: ``KUBERNETES_SERVICE_HOST``, which every Kubernetes pod has (on
      another Kubernetes the JSON lines are still correct, just not parsed by an
      agent).

    In each of these the platform's agent reads JSON lines from stdout, which is
    why ``configure()`` picks :class:`~inferlog.handlers.StructuredStdoutHandler`.
    """
    if "FUNCTION_TARGET" in environ and "K_SERVICE" in environ:
        return "cloud_functions"
    if "FUNCTION_NAME" in environ and "FUNCTION_REGION" in environ:
        return "cloud_functions"
    if "K_SERVICE" in environ and "K_REVISION" in environ:
        return "cloud_run"
    if "CLOUD_RUN_JOB" in environ and "CLOUD_RUN_EXECUTION" in environ:
        return "cloud_run_job"
    if "KUBERNETES_SERVICE_HOST" in environ:
        return "gke"
    return None


def project_from_environ(environ: Mapping[str, str]) -> str | None:
    """Return the project id named by the first set variable of :data:`PROJECT_ENV_VARS`."""
    for name in PROJECT_ENV_VARS:
        value = environ.get(name, "").strip()
        if value:
            return value
    return None


def check_project(value: object, option: str = "project") -> str | None:
    """Return ``value`` as a project id (None when not given); ValueError when malformed."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{option} must be a project id such as 'my-project', got {value!r}")
    if "/" in value or any(ch.isspace() for ch in value):
        raise ValueError(
            f"{option} must be a bare project id such as 'my-project' "
            f"(not 'projects/...', no spaces), got {value!r}"
        )
    return value


def check_labels(value: object, option: str = "labels") -> dict[str, str]:
    """Return ``value`` as labels (a copy); ValueError unless a mapping of str to str.

    The limits are the service's: at most 64 labels, keys up to 512 bytes, values
    up to 64 KiB.
    """
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"{option} must be a mapping of str to str, got {type(value).__name__}")
    labels: dict[str, str] = {}
    for key, text in value.items():
        if not isinstance(key, str) or not key or not isinstance(text, str):
            raise ValueError(
                f"{option} must map non-empty str keys to str values, got {key!r}: {text!r}"
            )
        if len(key.encode("utf-8", "replace")) > MAX_LABEL_KEY_BYTES:
            raise ValueError(f"{option} key {key[:40]!r}... is over {MAX_LABEL_KEY_BYTES} bytes")
        if len(text.encode("utf-8", "replace")) > MAX_LABEL_VALUE_BYTES:
            raise ValueError(f"{option} value of {key!r} is over {MAX_LABEL_VALUE_BYTES} bytes")
        labels[key] = text
    if len(labels) > MAX_LABELS:
        raise ValueError(f"{option} may hold at most {MAX_LABELS} labels, got {len(labels)}")
    return labels


def default_resource(environ: Mapping[str, str], project: str) -> dict[str, object]:
    """Return the monitored resource of this process, from environment variables only.

    Cloud Run services, jobs and functions get their resource type and the labels
    their variables give (the region is only known to the metadata server, so it is
    left out); anything else, GKE included, gets ``global``. Pass ``resource=`` to
    the handler for a precise one (``k8s_container`` with cluster and namespace).
    """
    runtime = detect_google_runtime(environ)
    labels: dict[str, str] = {"project_id": project}
    if runtime == "cloud_run":
        labels["service_name"] = environ.get("K_SERVICE", "")
        labels["revision_name"] = environ.get("K_REVISION", "")
        labels["configuration_name"] = environ.get("K_CONFIGURATION", "")
        return {"type": "cloud_run_revision", "labels": labels}
    if runtime == "cloud_run_job":
        labels["job_name"] = environ.get("CLOUD_RUN_JOB", "")
        return {"type": "cloud_run_job", "labels": labels}
    if runtime == "cloud_functions":
        labels["function_name"] = environ.get("K_SERVICE") or environ.get("FUNCTION_NAME", "")
        return {"type": "cloud_function", "labels": labels}
    return {"type": "global", "labels": labels}
