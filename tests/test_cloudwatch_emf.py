"""Embedded Metric Format: inference records as CloudWatch metrics, within EMF's limits."""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import inferlog
from inferlog.handlers._cloudwatch_emf import (
    EMF_ERRORS_METRIC,
    EMF_INVOCATIONS_METRIC,
    MAX_EMF_DIMENSION_VALUE_CHARS,
    MAX_EMF_DIMENSIONS,
    add_metrics,
    check_emf_options,
)
from inferlog.handlers.cloudwatch import CloudWatchHandler
from tests._fault_proxy import FaultProxy
from tests._moto_server import logs_client, unique_group

NOW_MS = 1_700_000_000_000


def inference_doc(**fields: Any) -> dict[str, Any]:
    doc = {
        "timestamp": "2023-11-14T22:13:20.000Z",
        "level": "INFO",
        "message": "inference",
        "model_id": "fraud",
        "model_version": "v3",
        "latency_ms": 12.5,
        "input_token_count": 30,
        "output_token_count": 7,
        "status": "ok",
    }
    doc.update(fields)
    return doc


def test_an_inference_record_becomes_an_emf_document() -> None:
    doc = inference_doc()
    assert add_metrics(doc, NOW_MS, "inferlog", ())
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert NOW_MS == doc["_aws"]["Timestamp"]
    assert "inferlog" == directive["Namespace"]
    assert [["model_id", "model_version"]] == directive["Dimensions"]
    assert [
        ("latency_ms", "Milliseconds"),
        ("input_token_count", "Count"),
        ("output_token_count", "Count"),
        (EMF_INVOCATIONS_METRIC, "Count"),
        (EMF_ERRORS_METRIC, "Count"),
    ] == [(m["Name"], m["Unit"]) for m in directive["Metrics"]]
    assert (1, 0) == (doc[EMF_INVOCATIONS_METRIC], doc[EMF_ERRORS_METRIC])


def test_a_failed_call_counts_as_an_error() -> None:
    doc = inference_doc(status="error", error_code="TimeoutError")
    add_metrics(doc, NOW_MS, "inferlog", ())
    assert 1 == doc[EMF_ERRORS_METRIC]


def test_records_that_are_not_inference_records_are_left_alone() -> None:
    for doc in ({"message": "hello"}, {"model_id": "m"}, inference_doc(latency_ms="fast")):
        before = dict(doc)
        assert not add_metrics(doc, NOW_MS, "inferlog", ())
        assert before == doc


def test_user_dimensions_are_added_and_values_made_strings_within_the_limit() -> None:
    doc = inference_doc(model_version=3, region="eu", tenant="t" * 2000)
    add_metrics(doc, NOW_MS, "inferlog", ("region", "tenant", "absent"))
    assert [["model_id", "model_version", "region", "tenant"]] == doc["_aws"]["CloudWatchMetrics"][
        0
    ]["Dimensions"]
    assert "3" == doc["model_version"]
    assert MAX_EMF_DIMENSION_VALUE_CHARS == len(doc["tenant"])


@given(
    st.dictionaries(
        st.text(min_size=1, max_size=20),
        st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=30), st.booleans()),
        max_size=8,
    )
)
def test_any_record_gives_valid_emf_or_is_untouched(extra: dict[str, Any]) -> None:
    doc = {**extra, "model_id": "m", "latency_ms": 1.0}
    assert add_metrics(doc, NOW_MS, "ns", tuple(k for k in extra if k != "_aws")[:5])
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    for name in directive["Dimensions"][0]:
        assert isinstance(doc[name], str)
    for metric in directive["Metrics"]:
        value = doc[metric["Name"]]
        assert isinstance(value, (int, float))
        assert not isinstance(value, bool)
    assert len(directive["Dimensions"][0]) <= MAX_EMF_DIMENSIONS


@pytest.mark.parametrize(
    ("namespace", "dimensions", "named"),
    [
        ("", (), "emf_namespace"),
        ("AWS/Lambda", (), "emf_namespace"),
        ("has space", (), "emf_namespace"),
        ("ok", [f"d{i}" for i in range(MAX_EMF_DIMENSIONS - 1)], "emf_dimensions"),
        ("ok", ["x" * 256], "emf_dimensions"),
        ("ok", [""], "emf_dimensions"),
    ],
)
def test_emf_options_outside_the_limits_are_refused(
    namespace: str, dimensions: Any, named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        check_emf_options(namespace, dimensions)


def test_emf_options_within_the_limits_are_kept_without_duplicates() -> None:
    names = ["model_id", "region", "region"] + [f"d{i}" for i in range(26)]
    assert ("ns", ("region", *[f"d{i}" for i in range(26)])) == check_emf_options("ns", names)


@pytest.mark.parametrize("given_client", [False, True])
def test_the_handler_ships_emf_with_the_header_that_extracts_metrics(
    moto_url: str, tmp_path: Path, given_client: bool
) -> None:
    with FaultProxy(moto_url) as proxy:
        client = {"boto3_client": logs_client(proxy.url)} if given_client else {}
        handler = CloudWatchHandler(
            log_group=unique_group(),
            endpoint_url=proxy.url,
            region_name="us-east-1",
            **client,
            emf=True,
            emf_dimensions=["region"],
            batch_interval=60,  # one request, sent by the flush
            health_interval=0,
            spool=f"{tmp_path}{os.sep}",
        )
        logger = logging.getLogger("cw.emf")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        logger.addHandler(handler)
        try:
            with inferlog.inference(model_id="fraud", model_version="v3", logger=logger) as call:
                call.tokens(input=12, output=3)
                call.set(region="eu-west-1")
            logger.info("plain record")
            assert handler.force_flush(10)
        finally:
            handler.close()
    [headers] = proxy.forwarded_headers
    assert "json/emf" == headers.get("x-amzn-logs-format")
    first, second = (json.loads(e["message"]) for e in proxy.forwarded[0]["logEvents"])
    dims = first["_aws"]["CloudWatchMetrics"][0]["Dimensions"]
    assert [["model_id", "model_version", "region"]] == dims
    assert (12, 3, 1, 0) == (
        first["input_token_count"],
        first["output_token_count"],
        first[EMF_INVOCATIONS_METRIC],
        first[EMF_ERRORS_METRIC],
    )
    assert "_aws" not in second
