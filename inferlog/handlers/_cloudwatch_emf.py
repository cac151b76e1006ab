"""CloudWatch Embedded Metric Format for inference records (pure functions).

With EMF, the log event is its own metric: an ``_aws`` key tells CloudWatch which
top-level keys are metric values and which are dimensions, and CloudWatch extracts
the metrics when the event arrives (no PutMetricData call). An inference record
(one with ``model_id`` and ``latency_ms``) becomes metrics ``latency_ms``,
``input_token_count``, ``output_token_count``, ``Invocations`` (1) and ``Errors``
(1 when ``status`` is ``"error"``), by ``model_id``, ``model_version`` and the
dimensions the user names. EMF's limits are checked here: at most 30 dimensions in a
set, 100 metrics, names of at most 255 characters, string dimension values of at most
1,024 characters.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any, Final

from inferlog import schema

__all__ = [
    "DEFAULT_EMF_NAMESPACE",
    "EMF_BASE_DIMENSIONS",
    "EMF_ERRORS_METRIC",
    "EMF_INVOCATIONS_METRIC",
    "EMF_METRICS",
    "add_metrics",
    "check_emf_options",
]

#: CloudWatch metric namespace of the EMF metrics unless ``emf_namespace`` says otherwise.
DEFAULT_EMF_NAMESPACE: Final = "inferlog"
#: Dimensions every EMF metric has (when the record has them).
EMF_BASE_DIMENSIONS: Final[tuple[str, ...]] = (schema.MODEL_ID, schema.MODEL_VERSION)
#: Record fields that become metrics, with their CloudWatch unit.
EMF_METRICS: Final[tuple[tuple[str, str], ...]] = (
    (schema.LATENCY_MS, "Milliseconds"),
    (schema.INPUT_TOKEN_COUNT, "Count"),
    (schema.OUTPUT_TOKEN_COUNT, "Count"),
)
#: Metric that is 1 for every inference record (the denominator of an error rate).
EMF_INVOCATIONS_METRIC: Final = "Invocations"
#: Metric that is 1 for an inference record whose ``status`` is ``"error"``, else 0.
EMF_ERRORS_METRIC: Final = "Errors"
#: EMF's limits.
MAX_EMF_DIMENSIONS: Final = 30
MAX_EMF_NAME_CHARS: Final = 255
MAX_EMF_DIMENSION_VALUE_CHARS: Final = 1024
MAX_EMF_NAMESPACE_CHARS: Final = 1024
_NAMESPACE_RE: Final = re.compile(r"[A-Za-z0-9.\-_/#:]+")


def check_emf_options(namespace: object, dimensions: object) -> tuple[str, tuple[str, ...]]:
    """Validate ``emf_namespace`` and ``emf_dimensions``; ValueError/TypeError naming them."""
    if not isinstance(namespace, str):
        raise TypeError(f"emf_namespace must be a string, got {namespace!r}")
    if (
        not namespace
        or len(namespace) > MAX_EMF_NAMESPACE_CHARS
        or not _NAMESPACE_RE.fullmatch(namespace)
        or namespace.startswith("AWS/")
    ):
        raise ValueError(
            "emf_namespace must be 1-1024 characters of letters, digits and . - _ / # : "
            f"and must not start with 'AWS/', got {namespace!r}"
        )
    if isinstance(dimensions, str) or not isinstance(dimensions, Iterable):
        raise TypeError(f"emf_dimensions must be a list of field names, got {dimensions!r}")
    names = tuple(dimensions)
    for name in names:
        if not isinstance(name, str) or not name or len(name) > MAX_EMF_NAME_CHARS:
            raise ValueError(
                f"emf_dimensions must hold field names of 1-{MAX_EMF_NAME_CHARS} characters, "
                f"got {name!r}"
            )
    extra = tuple(n for n in dict.fromkeys(names) if n not in EMF_BASE_DIMENSIONS)
    if len(extra) + len(EMF_BASE_DIMENSIONS) > MAX_EMF_DIMENSIONS:
        raise ValueError(
            f"emf_dimensions may name at most {MAX_EMF_DIMENSIONS - len(EMF_BASE_DIMENSIONS)} "
            f"fields besides {', '.join(EMF_BASE_DIMENSIONS)} (EMF's limit is "
            f"{MAX_EMF_DIMENSIONS} dimensions), got {len(extra)}"
        )
    return namespace, extra


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value == value


def add_metrics(
    doc: dict[str, Any], timestamp_ms: int, namespace: str, dimensions: tuple[str, ...]
) -> bool:
    """Make ``doc`` (a record dict the caller owns) an EMF document; False if not inference.

    Dimension values present in ``doc`` are turned into strings (EMF requires it)
    and cut to 1,024 characters; absent dimensions are left out of the set.
    """
    if schema.MODEL_ID not in doc or not _number(doc.get(schema.LATENCY_MS)):
        return False
    dims: list[str] = []
    for name in (*EMF_BASE_DIMENSIONS, *dimensions):
        value = doc.get(name)
        if value is None:
            continue
        doc[name] = str(value)[:MAX_EMF_DIMENSION_VALUE_CHARS]
        dims.append(name)
    metrics = [{"Name": name, "Unit": unit} for name, unit in EMF_METRICS if _number(doc.get(name))]
    doc[EMF_INVOCATIONS_METRIC] = 1
    doc[EMF_ERRORS_METRIC] = 1 if doc.get(schema.STATUS) == "error" else 0
    metrics.append({"Name": EMF_INVOCATIONS_METRIC, "Unit": "Count"})
    metrics.append({"Name": EMF_ERRORS_METRIC, "Unit": "Count"})
    doc["_aws"] = {
        "Timestamp": timestamp_ms,
        "CloudWatchMetrics": [{"Namespace": namespace, "Dimensions": [dims], "Metrics": metrics}],
    }
    return True
