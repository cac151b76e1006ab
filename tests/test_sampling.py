"""Tests for inferlog.sampling.SamplingFilter, its decision function and overrides."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import math
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.sampling import (
    DEBUG_ENV_VAR,
    DEBUG_HEADER,
    SamplingFilter,
    TokenBucket,
    debug_requested,
    force_sampling,
    request_id_fraction,
    sampling_forced,
    trace_id_fraction,
)
from tests.helpers import RecordCollector

# No per-example deadline: these run on shared CI machines where timing is noisy.
rates = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)
request_ids = st.text(min_size=1, max_size=40)


def make_record(
    level: int = logging.INFO, name: str = "app", msg: str = "hello", **extras: Any
) -> logging.LogRecord:
    record = logging.LogRecord(name, level, __file__, 1, msg, None, None)
    record.__dict__.update(extras)
    return record


def kept(filt: SamplingFilter, record: logging.LogRecord) -> bool:
    return bool(filt.filter(record))


class ListHandler(RecordCollector):
    """Keeps every record it handles."""


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


# --- errors and failures ---------------------------------------------------------


@settings(deadline=None)
@given(
    rate=rates,
    level=st.sampled_from([logging.WARNING, logging.ERROR, logging.CRITICAL]),
    request_id=st.none() | request_ids,
)
def test_records_at_warning_and_above_are_kept_at_any_rate(
    rate: float, level: int, request_id: str | None
) -> None:
    filt = SamplingFilter(rate=rate)
    record = make_record(level, request_id=request_id)
    result = filt.filter(record)
    assert result
    assert getattr(result, "sample_rate", getattr(record, "sample_rate", None)) == 1.0


@settings(deadline=None)
@given(rate=rates, request_id=request_ids)
def test_a_failed_inference_record_is_kept_at_any_rate(rate: float, request_id: str) -> None:
    filt = SamplingFilter(rate=rate)
    record = make_record(logging.INFO, request_id=request_id, status="error", error_code="E1")
    assert 1.0 == filt.decide(record)


def test_records_after_a_failure_in_the_same_request_are_kept_whole() -> None:
    filt = SamplingFilter(rate=0.0)
    assert filt.decide(make_record(request_id="r1")) is None
    assert 1.0 == filt.decide(make_record(logging.ERROR, request_id="r1"))
    assert 1.0 == filt.decide(make_record(logging.DEBUG, request_id="r1"))
    assert filt.decide(make_record(request_id="r2")) is None


# --- the deterministic decision ----------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    rate=rates,
    request_id=request_ids,
    loggers=st.lists(st.sampled_from(["app", "app.model", "worker", "x.y.z"]), min_size=2),
)
def test_records_of_one_request_are_kept_or_dropped_together(
    rate: float, request_id: str, loggers: list[str]
) -> None:
    filt = SamplingFilter(rate=rate)
    decisions = {
        kept(filt, make_record(logging.DEBUG, name=name, request_id=request_id, n=i))
        for i, name in enumerate(loggers)
    }
    assert 1 == len(decisions)


@settings(max_examples=200, deadline=None)
@given(rate=rates, request_id=request_ids)
def test_the_decision_is_the_same_in_a_fresh_filter(rate: float, request_id: str) -> None:
    first = SamplingFilter(rate=rate).decide(make_record(request_id=request_id))
    second = SamplingFilter(rate=rate).decide(make_record(request_id=request_id))
    assert first == second


@settings(max_examples=100, deadline=None)
@given(ids=st.lists(request_ids, min_size=1, max_size=50, unique=True), a=rates, b=rates)
def test_a_higher_rate_keeps_a_superset_of_a_lower_rate(ids: list[str], a: float, b: float) -> None:
    low, high = sorted((a, b))
    low_filter, high_filter = SamplingFilter(rate=low), SamplingFilter(rate=high)
    kept_low = {rid for rid in ids if kept(low_filter, make_record(request_id=rid))}
    kept_high = {rid for rid in ids if kept(high_filter, make_record(request_id=rid))}
    assert kept_low <= kept_high


@settings(max_examples=50, deadline=None)
@given(trace_ids=st.lists(st.integers(0, 2**128 - 1), min_size=1, max_size=30), a=rates, b=rates)
def test_a_higher_rate_keeps_a_superset_for_trace_ids(
    trace_ids: list[int], a: float, b: float
) -> None:
    low, high = sorted((a, b))
    ids = [f"{t:032x}" for t in trace_ids]
    kept_low = {t for t in ids if kept(SamplingFilter(rate=low), make_record(trace_id=t))}
    kept_high = {t for t in ids if kept(SamplingFilter(rate=high), make_record(trace_id=t))}
    assert kept_low <= kept_high


def _within_five_sigma(kept_count: int, n: int, rate: float) -> bool:
    sigma = math.sqrt(n * rate * (1.0 - rate))
    return abs(kept_count - n * rate) <= 5 * sigma


@pytest.fixture(scope="module")
def random_uuid_ids() -> list[str]:
    rng = random.Random(20261129)
    return [str(uuid.UUID(int=rng.getrandbits(128), version=4)) for _ in range(100_000)]


@pytest.mark.parametrize("rate", [0.01, 0.1, 0.5, 0.9])
def test_keep_fraction_over_100k_request_ids_is_within_5_sigma_of_the_rate(
    rate: float, random_uuid_ids: list[str]
) -> None:
    filt = SamplingFilter(rate=rate)
    record = make_record()
    count = 0
    for request_id in random_uuid_ids:
        record.request_id = request_id
        if filt.decide(record) is not None:
            count += 1
    assert _within_five_sigma(count, len(random_uuid_ids), rate), (count, rate)


def test_keep_fraction_over_100k_sequential_ids_is_within_5_sigma_of_the_rate() -> None:
    # Sequential ids differ in few bits; a weak hash would show it here.
    rate, n = 0.1, 100_000
    count = sum(1 for i in range(n) if request_id_fraction(f"req-{i}") < rate)
    assert _within_five_sigma(count, n, rate), count


def test_keep_fraction_over_100k_trace_ids_is_within_5_sigma_of_the_rate() -> None:
    rng = random.Random(7)
    rate, n = 0.25, 100_000
    count = sum(1 for _ in range(n) if trace_id_fraction(f"{rng.getrandbits(128):032x}") < rate)
    assert _within_five_sigma(count, n, rate), count


def test_request_id_fraction_is_a_fixed_function_of_the_id() -> None:
    # Golden values: other services and languages reproduce the decision from these.
    assert 0.846604635986145 == request_id_fraction("abc")
    assert 0.2569490356527324 == request_id_fraction("0192f3a1-7c2b-7d3e-9f10-123456789abc")


def test_request_id_fraction_does_not_depend_on_the_process_hash_seed() -> None:
    code = "from inferlog.sampling import request_id_fraction as f; print(repr(f('req-42')))"
    outputs = set()
    for seed in ("1", "2"):
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": path}
        out = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(out.stdout.strip())
    assert {repr(request_id_fraction("req-42"))} == outputs


@settings(max_examples=300, deadline=None)
@given(trace=st.integers(0, 2**128 - 1), rate=st.sampled_from([0.001, 0.1, 0.25, 0.5, 0.75]))
def test_trace_id_decision_matches_opentelemetry_trace_id_ratio_based(
    trace: int, rate: float
) -> None:
    # TraceIdRatioBased keeps a trace when its lower 64 bits are below round(rate * 2**64).
    otel_keeps = (trace & (2**64 - 1)) < round(rate * 2**64)
    assert otel_keeps == (trace_id_fraction(f"{trace:032x}") < rate)


@pytest.mark.parametrize(
    "value", ["not-a-trace", "z" * 32, "0" * 16 + "-" + "0" * 15 + "1", "0" * 16 + " " * 15 + "1"]
)
def test_trace_id_fraction_hashes_values_that_are_not_w3c_trace_ids(value: str) -> None:
    assert request_id_fraction(value) == trace_id_fraction(value)


def test_request_id_wins_over_trace_id() -> None:
    filt = SamplingFilter(rate=0.5)
    decisions = {
        filt.decide(make_record(request_id="r-1", trace_id=f"{t:032x}")) for t in range(50)
    }
    assert 1 == len(decisions)


def test_records_without_any_id_are_decided_one_by_one() -> None:
    random.seed(3)
    filt = SamplingFilter(rate=0.5)
    n = 4000
    count = sum(1 for _ in range(n) if filt.decide(make_record()))
    assert _within_five_sigma(count, n, 0.5)


# --- rates -------------------------------------------------------------------------


def test_kept_records_carry_the_rate_they_were_kept_at() -> None:
    filt = SamplingFilter(rate=0.5)
    rid = next(f"r{i}" for i in range(100) if request_id_fraction(f"r{i}") < 0.5)
    record = make_record(request_id=rid)
    result = filt.filter(record)
    assert isinstance(result, logging.LogRecord)
    assert 0.5 == getattr(result, "sample_rate", None)


def test_rate_zero_drops_every_success_and_rate_one_keeps_every_record() -> None:
    none, every = SamplingFilter(rate=0.0), SamplingFilter(rate=1.0)
    records = [make_record(request_id=f"r{i}") for i in range(200)]
    assert [] == [r for r in records if none.decide(r) is not None]
    assert [1.0] * 200 == [every.decide(r) for r in records]


def test_logger_rates_apply_to_the_longest_matching_prefix() -> None:
    filt = SamplingFilter(rate=0.0, logger_rates={"app": 1.0, "app.chat": 0.25})
    assert 1.0 == filt.rate_for(make_record(name="app"))
    assert 1.0 == filt.rate_for(make_record(name="app.vision.x"))
    assert 0.25 == filt.rate_for(make_record(name="app.chat"))
    assert 0.25 == filt.rate_for(make_record(name="app.chat.stream"))
    assert 0.0 == filt.rate_for(make_record(name="application"))
    assert 0.0 == filt.rate_for(make_record(name="other"))


def test_model_rates_by_version_then_model_then_logger() -> None:
    filt = SamplingFilter(
        rate=0.1, logger_rates={"app": 0.2}, model_rates={"fraud": 1.0, "fraud@2.0": 0.5}
    )
    assert 0.5 == filt.rate_for(make_record(name="app", model_id="fraud", model_version="2.0"))
    assert 1.0 == filt.rate_for(make_record(name="app", model_id="fraud", model_version="1.0"))
    assert 1.0 == filt.rate_for(make_record(name="app", model_id="fraud"))
    assert 0.2 == filt.rate_for(make_record(name="app", model_id="chat"))
    assert 0.1 == filt.rate_for(make_record(name="batch", model_id="chat"))


def test_a_model_rate_of_zero_drops_that_models_successes() -> None:
    filt = SamplingFilter(rate=1.0, model_rates={"llm-chat": 0.0})
    assert filt.decide(make_record(request_id="a", model_id="llm-chat", status="ok")) is None
    assert 1.0 == filt.decide(make_record(request_id="a", model_id="fraud", status="ok"))
    assert 1.0 == filt.decide(make_record(request_id="a", model_id="llm-chat", status="error"))


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"rate": 1.5}, "rate"),
        ({"rate": -0.1}, "rate"),
        ({"rate": float("nan")}, "rate"),
        ({"rate": "0.5"}, "rate"),
        ({"rate": True}, "rate"),
        ({"logger_rates": {"app": 2}}, "logger_rates"),
        ({"model_rates": {"m": -1}}, "model_rates"),
        ({"keep_level": "LOUD"}, "keep_level"),
        ({"max_per_second": 0}, "max_per_second"),
        ({"max_per_second": "fast"}, "max_per_second"),
        ({"max_per_second": 10, "burst": 0}, "burst"),
    ],
)
def test_invalid_configuration_raises_a_clear_value_error(
    kwargs: dict[str, Any], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        SamplingFilter(**kwargs)


def test_keep_level_accepts_a_level_name() -> None:
    filt = SamplingFilter(rate=0.0, keep_level="INFO")
    assert 1.0 == filt.decide(make_record(logging.INFO, request_id="r"))
    assert filt.decide(make_record(logging.DEBUG, request_id="r")) is None


# --- debug override ----------------------------------------------------------------


def test_the_environment_variable_keeps_every_record(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(DEBUG_ENV_VAR, "1")
    assert 1.0 == SamplingFilter(rate=0.0).decide(make_record(logging.DEBUG, request_id="r"))
    monkeypatch.setenv(DEBUG_ENV_VAR, "0")
    assert SamplingFilter(rate=0.0).decide(make_record(logging.DEBUG, request_id="r")) is None


def test_the_force_flag_keeps_every_record() -> None:
    assert 1.0 == SamplingFilter(rate=0.0, force=True).decide(make_record(request_id="r"))


def test_force_sampling_keeps_every_record_inside_the_block_only() -> None:
    filt = SamplingFilter(rate=0.0)
    assert not sampling_forced()
    with force_sampling():
        assert sampling_forced()
        assert 1.0 == filt.decide(make_record(logging.DEBUG, request_id="r"))
    assert not sampling_forced()
    assert filt.decide(make_record(logging.DEBUG, request_id="r")) is None


def test_force_sampling_false_changes_nothing() -> None:
    with force_sampling(False):
        assert not sampling_forced()
    with force_sampling(), force_sampling(False):
        assert sampling_forced()


def test_force_sampling_follows_the_request_into_asyncio_tasks_but_not_other_requests() -> None:
    async def child() -> bool:
        await asyncio.sleep(0)
        return sampling_forced()

    async def request(debug: bool) -> bool:
        with force_sampling(debug):
            return await asyncio.create_task(child())

    async def main() -> list[bool]:
        return list(await asyncio.gather(request(True), request(False), request(True)))

    assert [True, False, True] == asyncio.run(main())


def test_force_sampling_does_not_leak_into_other_threads() -> None:
    seen: list[bool] = []
    with force_sampling():
        thread = threading.Thread(target=lambda: seen.append(sampling_forced()))
        thread.start()
        thread.join()
    assert [False] == seen


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({DEBUG_HEADER: "1"}, True),
        ({"x-inferlog-debug": "true"}, True),
        ({"X-INFERLOG-DEBUG": " On "}, True),
        ({DEBUG_HEADER: "0"}, False),
        ({DEBUG_HEADER: ""}, False),
        ({"X-Other": "1"}, False),
        ({}, False),
        ([(b"x-inferlog-debug", b"1")], True),
        ({"REQUEST_METHOD": "GET", "HTTP_X_INFERLOG_DEBUG": "1"}, True),
        ([("X-Inferlog-Debug", "yes")], True),
        ([(b"x-inferlog-debug", b"no"), (b"accept", b"*/*")], False),
    ],
)
def test_debug_requested_reads_the_debug_header(headers: Any, expected: bool) -> None:
    assert expected == debug_requested(headers)


# --- rate-limit mode -------------------------------------------------------------


def test_token_bucket_allows_a_burst_then_refills_at_its_rate() -> None:
    clock = FakeClock()
    bucket = TokenBucket(rate=2.0, capacity=3, clock=clock)
    assert [True, True, True, False] == [bucket.try_take() for _ in range(4)]
    clock.now += 0.5
    assert [True, False] == [bucket.try_take() for _ in range(2)]
    clock.now += 100.0
    assert [True, True, True, False] == [bucket.try_take() for _ in range(4)]


def test_token_bucket_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="rate"):
        TokenBucket(rate=0)
    with pytest.raises(ValueError, match="capacity"):
        TokenBucket(rate=1, capacity=0.5)


def test_rate_limit_caps_a_burst_at_the_bucket_size_and_counts_the_rest() -> None:
    clock = FakeClock()
    filt = SamplingFilter(rate=1.0, max_per_second=10, clock=clock)
    decisions = [filt.decide(make_record(request_id=f"r{i}")) for i in range(100)]
    assert 10 == sum(1 for d in decisions if d is not None)
    assert 90 == filt.counters.get("rate_limited")


def test_rate_limit_scales_the_rate_so_decisions_stay_per_request_and_reweightable() -> None:
    clock = FakeClock()
    filt = SamplingFilter(rate=1.0, max_per_second=100, burst=10_000, clock=clock)
    for i in range(1000):  # one second of 1000 records/s
        filt.decide(make_record(request_id=f"warm{i}"))
    clock.now += 1.0
    ids = [f"req{i}" for i in range(1000)]
    decisions = [filt.decide(make_record(request_id=rid)) for rid in ids]
    kept_rates = [d for d in decisions if d is not None]
    assert [pytest.approx(0.1)] * len(kept_rates) == kept_rates
    assert 0 == filt.counters.get("rate_limited")
    expected = [rid for rid in ids if request_id_fraction(rid) < 0.1]
    assert expected == [rid for rid, d in zip(ids, decisions) if d is not None]


def test_rate_limit_never_drops_errors() -> None:
    clock = FakeClock()
    filt = SamplingFilter(rate=1.0, max_per_second=1, clock=clock)
    assert [1.0] * 50 == [
        filt.decide(make_record(logging.ERROR, request_id=f"r{i}")) for i in range(50)
    ]


def test_rate_limit_drops_are_reported_on_the_internal_logger() -> None:
    internal = logging.getLogger("inferlog.internal")
    capture = ListHandler()
    internal.addHandler(capture)
    try:
        clock = FakeClock()
        filt = SamplingFilter(rate=1.0, max_per_second=5, clock=clock)
        for i in range(20):
            filt.decide(make_record(request_id=f"r{i}"))
        clock.now += 1.0
        filt.decide(make_record(request_id="next"))
    finally:
        internal.removeHandler(capture)
    messages = [r.getMessage() for r in capture.records]
    assert any("dropped 15 records" in m for m in messages), messages


# --- integration with logging ------------------------------------------------------


def test_records_on_a_real_logger_are_sampled_per_request() -> None:
    logger = logging.getLogger("test_sampling.integration")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    sink = ListHandler()
    sink.addFilter(SamplingFilter(rate=0.3))
    logger.addHandler(sink)
    ids = [f"req-{i}" for i in range(300)]
    for rid in ids:
        logger.debug("start", extra={"request_id": rid})
        logger.info("done", extra={"request_id": rid, "status": "ok"})
    logger.error("boom", extra={"request_id": "req-x"})
    expected = [rid for rid in ids if request_id_fraction(rid) < 0.3 for _ in range(2)]
    assert [*expected, "req-x"] == [getattr(r, "request_id", None) for r in sink.records]
    assert {0.3, 1.0} == {getattr(r, "sample_rate", None) for r in sink.records}


def test_dict_config_builds_the_filter() -> None:
    sink = ListHandler()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "sampling": {
                    "()": "inferlog.sampling.SamplingFilter",
                    "rate": 0.0,
                    "logger_rates": {"test_sampling.dict.kept": 1.0},
                    "model_rates": {"fraud@2": 1.0},
                    "keep_level": "WARNING",
                }
            },
            "handlers": {"sink": {"()": lambda: sink, "filters": ["sampling"]}},
            "loggers": {
                "test_sampling.dict": {"handlers": ["sink"], "level": "DEBUG", "propagate": False}
            },
        }
    )
    logging.getLogger("test_sampling.dict").info("dropped", extra={"request_id": "a"})
    logging.getLogger("test_sampling.dict.kept").info("kept", extra={"request_id": "a"})
    logging.getLogger("test_sampling.dict").info(
        "model", extra={"request_id": "a", "model_id": "fraud", "model_version": "2"}
    )
    logging.getLogger("test_sampling.dict").warning("warned", extra={"request_id": "a"})
    assert ["kept", "model", "warned"] == [r.getMessage() for r in sink.records]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="filters replace records from 3.12")
def test_the_filter_does_not_change_the_callers_record_on_python_312_and_later() -> None:
    record = make_record(logging.ERROR, request_id="r")
    result = SamplingFilter().filter(record)
    assert isinstance(result, logging.LogRecord)
    assert result is not record
    assert not hasattr(record, "sample_rate")
    assert 1.0 == getattr(result, "sample_rate", None)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="before 3.12 the record is annotated")
def test_the_filter_annotates_the_record_in_place_before_python_312() -> None:
    record = make_record(logging.ERROR, request_id="r")
    assert record is SamplingFilter().filter(record)
    assert 1.0 == getattr(record, "sample_rate", None)


def test_request_id_field_matches_a_renamed_context_field() -> None:
    filt = SamplingFilter(rate=0.5, request_id_field="rid")
    decisions = {filt.decide(make_record(rid="r-7", request_id=f"other-{i}")) for i in range(50)}
    assert 1 == len(decisions)
    with pytest.raises(ValueError, match="request_id_field"):
        SamplingFilter(request_id_field="not an identifier")


def test_with_the_real_context_filter_every_record_of_a_request_shares_the_decision() -> None:
    from inferlog.context import ContextFilter, request_context

    logger = logging.getLogger("test_sampling.context")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    sink = ListHandler()
    sink.addFilter(ContextFilter())
    sink.addFilter(SamplingFilter(rate=0.5))
    logger.addHandler(sink)
    kept_per_request: dict[str, int] = {}
    for _ in range(200):
        with request_context() as request_id:
            for step in range(3):
                logger.info("step %d", step)
            kept_per_request[request_id] = sum(
                1 for r in sink.records if getattr(r, "request_id", None) == request_id
            )
    assert {0, 3} == set(kept_per_request.values())
    expected = {rid for rid in kept_per_request if request_id_fraction(rid) < 0.5}
    assert expected == {rid for rid, n in kept_per_request.items() if n == 3}


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_deadlock_on_a_lock_held_at_fork_time() -> None:
    clock = FakeClock()
    filt = SamplingFilter(rate=1.0, max_per_second=100, clock=clock)
    limiter = filt._limiter
    assert limiter is not None
    locks = [filt._failed_lock, limiter._lock, limiter.bucket._lock]
    for lock in locks:
        lock.acquire()
    try:
        pid = os.fork()
        if pid == 0:  # pragma: no cover - runs in the child
            try:
                ok = 1.0 == filt.decide(make_record(logging.ERROR, request_id="r"))
                ok = ok and 1.0 == filt.decide(make_record(request_id="other"))
                os._exit(0 if ok else 1)
            except BaseException:
                os._exit(2)
    finally:
        for lock in locks:
            lock.release()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            assert 0 == os.waitstatus_to_exitcode(status)
            return
        time.sleep(0.01)
    os.kill(pid, 9)
    os.waitpid(pid, 0)
    pytest.fail("the forked child deadlocked")


def test_a_record_the_filter_cannot_decide_on_is_kept_without_raising() -> None:
    record = make_record(request_id=["not", "hashable"])
    result = SamplingFilter(rate=0.0).filter(record)
    assert result
    assert 1.0 == getattr(result, "sample_rate", None)
