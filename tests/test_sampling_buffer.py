"""Tests for inferlog.sampling.ErrorBufferHandler: error-triggered buffering."""

from __future__ import annotations

import asyncio
import itertools
import logging
import logging.config
import math
import random
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.sampling import (
    ErrorBufferHandler,
    SamplingFilter,
    buffered_request,
    mark_request_failed,
    request_id_fraction,
)
from tests.helpers import RecordCollector


class ListHandler(RecordCollector):
    """Keeps every record it handles."""

    def messages(self) -> list[str]:
        return [r.getMessage() for r in self.records]


def make_record(
    level: int = logging.INFO, msg: str = "step", *args: object, **extras: Any
) -> logging.LogRecord:
    record = logging.LogRecord("app", level, __file__, 1, msg, args or None, None)
    record.__dict__.update(extras)
    return record


def attr(record: logging.LogRecord, name: str) -> Any:
    return getattr(record, name, None)


@pytest.fixture
def sink() -> ListHandler:
    return ListHandler()


@pytest.fixture
def buffer(sink: ListHandler) -> Iterator[ErrorBufferHandler]:
    handler = ErrorBufferHandler(capacity=50, target=sink, sampling={"rate": 0.0})
    yield handler
    handler.close()


@pytest.fixture
def logger(buffer: ErrorBufferHandler) -> logging.Logger:
    lg = logging.getLogger("test_sampling_buffer")
    lg.setLevel(logging.DEBUG)
    lg.propagate = False
    lg.addHandler(buffer)
    return lg


def test_held_records_are_released_before_the_error_when_a_request_fails(
    logger: logging.Logger, sink: ListHandler
) -> None:
    with buffered_request():
        logger.debug("load %s", "weights", extra={"request_id": "r1"})
        logger.info("tokenised", extra={"request_id": "r1"})
        assert [] == sink.records
        logger.error("model failed", extra={"request_id": "r1"})
        logger.info("cleanup", extra={"request_id": "r1"})
    assert ["load weights", "tokenised", "model failed", "cleanup"] == sink.messages()
    assert [True, True, None, None] == [attr(r, "sample_buffered") for r in sink.records]
    assert [1.0] * 4 == [attr(r, "sample_rate") for r in sink.records]


def test_held_records_are_discarded_when_the_request_succeeds(
    logger: logging.Logger, sink: ListHandler, buffer: ErrorBufferHandler
) -> None:
    with buffered_request():
        for i in range(3):
            logger.info("step %d", i, extra={"request_id": "r1"})
        assert 3 == buffer.held_count()
    assert [] == sink.records
    assert 0 == buffer.held_count()
    assert 3 == buffer.counters.get("records_discarded")


def test_held_records_are_released_when_the_block_raises(
    logger: logging.Logger, sink: ListHandler
) -> None:
    def handle_request() -> None:
        with buffered_request():
            logger.info("before", extra={"request_id": "r1"})
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        handle_request()
    assert ["before"] == sink.messages()
    assert True is attr(sink.records[0], "sample_buffered")


def test_a_failed_inference_record_at_info_releases_the_request(
    logger: logging.Logger, sink: ListHandler
) -> None:
    with buffered_request():
        logger.debug("prompt built", extra={"request_id": "r1"})
        logger.info(
            "inference", extra={"request_id": "r1", "status": "error", "error_code": "TIMEOUT"}
        )
    assert ["prompt built", "inference"] == sink.messages()


def test_records_without_a_block_are_grouped_by_request_id(
    logger: logging.Logger, sink: ListHandler, buffer: ErrorBufferHandler
) -> None:
    logger.info("a1", extra={"request_id": "a"})
    logger.info("b1", extra={"request_id": "b"})
    logger.info("a2", extra={"request_id": "a"})
    logger.error("b failed", extra={"request_id": "b"})
    assert ["b1", "b failed"] == sink.messages()
    buffer.end_request("a", failed=False)
    assert 0 == buffer.held_count()
    assert ["b1", "b failed"] == sink.messages()


def test_end_request_with_failure_releases_the_request(
    logger: logging.Logger, sink: ListHandler, buffer: ErrorBufferHandler
) -> None:
    logger.info("a1", extra={"request_id": "a"})
    buffer.end_request("a", failed=True)
    assert ["a1"] == sink.messages()


def test_records_with_no_request_are_sampled_and_never_held(
    logger: logging.Logger, sink: ListHandler, buffer: ErrorBufferHandler
) -> None:
    logger.info("orphan")
    assert 0 == buffer.held_count()
    assert [] == sink.records


def test_records_the_sampler_keeps_go_straight_to_the_target(sink: ListHandler) -> None:
    handler = ErrorBufferHandler(target=sink, sampling={"rate": 0.5})
    kept_id = next(f"r{i}" for i in range(100) if request_id_fraction(f"r{i}") < 0.5)
    with buffered_request():
        handler.handle(make_record(msg="kept", request_id=kept_id))
        assert ["kept"] == sink.messages()
        assert 0.5 == attr(sink.records[0], "sample_rate")
        assert 0 == handler.held_count()


def test_the_message_is_rendered_when_held_so_later_changes_do_not_show(
    logger: logging.Logger, sink: ListHandler
) -> None:
    payload = ["original"]
    with buffered_request():
        logger.info("payload %s", payload, extra={"request_id": "r1"})
        payload[0] = "changed"
        logger.error("fail", extra={"request_id": "r1"})
    assert "payload ['original']" == sink.messages()[0]


def test_the_callers_record_is_not_changed_when_released(sink: ListHandler) -> None:
    handler = ErrorBufferHandler(target=sink, sampling={"rate": 0.0})
    record = make_record(request_id="r1")
    with buffered_request():
        handler.handle(record)
        handler.handle(make_record(logging.ERROR, request_id="r1"))
    assert sink.records[0] is not record
    assert not hasattr(record, "sample_buffered")


def test_the_buffer_follows_the_request_into_asyncio_tasks(sink: ListHandler) -> None:
    handler = ErrorBufferHandler(target=sink, sampling={"rate": 0.0})

    async def work(name: str, fail: bool) -> None:
        handler.handle(make_record(msg=f"{name} step"))
        await asyncio.sleep(0)
        if fail:
            handler.handle(make_record(logging.ERROR, msg=f"{name} failed"))

    async def request(name: str, fail: bool) -> None:
        with buffered_request():
            await asyncio.create_task(work(name, fail))

    async def main() -> None:
        await asyncio.gather(request("ok", False), request("bad", True), request("ok2", False))

    asyncio.run(main())
    assert ["bad step", "bad failed"] == sink.messages()


def test_the_debug_override_keeps_records_instead_of_holding_them(sink: ListHandler) -> None:
    handler = ErrorBufferHandler(target=sink, sampling=SamplingFilter(rate=0.0, force=True))
    with buffered_request():
        handler.handle(make_record(request_id="r1"))
    assert [1.0] == [attr(r, "sample_rate") for r in sink.records]


# --- bounds ------------------------------------------------------------------------


def test_the_oldest_records_are_evicted_beyond_capacity_and_counted(sink: ListHandler) -> None:
    handler = ErrorBufferHandler(capacity=5, target=sink, sampling={"rate": 0.0})
    with buffered_request():
        for i in range(12):
            handler.handle(make_record(msg=f"m{i}", request_id="r"))
        handler.handle(make_record(logging.ERROR, msg="fail", request_id="r"))
    assert ["m7", "m8", "m9", "m10", "m11", "fail"] == sink.messages()
    assert 7 == handler.counters.get("records_evicted")


def test_bytes_held_per_request_stay_under_max_bytes(sink: ListHandler) -> None:
    handler = ErrorBufferHandler(target=sink, max_bytes=350, sampling={"rate": 0.0})
    with buffered_request():
        for i in range(10):
            handler.handle(make_record(msg=f"{i}" * 100, request_id="r"))
        assert 3 == handler.held_count()
        handler.handle(make_record(logging.ERROR, msg="fail", request_id="r"))
    assert ["7" * 100, "8" * 100, "9" * 100, "fail"] == sink.messages()
    assert 7 == handler.counters.get("records_evicted")


def test_extras_count_towards_max_bytes(sink: ListHandler) -> None:
    handler = ErrorBufferHandler(target=sink, max_bytes=1000, sampling={"rate": 0.0})
    with buffered_request():
        handler.handle(make_record(msg="a", request_id="r", request_payload="x" * 600))
        handler.handle(make_record(msg="b", request_id="r", request_payload={"k": "y" * 600}))
        assert 1 == handler.held_count()


def test_requests_beyond_max_requests_are_discarded_least_recent_first(sink: ListHandler) -> None:
    handler = ErrorBufferHandler(target=sink, max_requests=3, sampling={"rate": 0.0})
    for rid in ["a", "b", "c", "a", "d", "e"]:
        handler.handle(make_record(msg=rid, request_id=rid))
    assert 2 == handler.counters.get("requests_evicted")
    handler.handle(make_record(logging.ERROR, msg="a failed", request_id="a"))
    assert ["a", "a", "a failed"] == sink.messages()


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(min_value=0, max_value=400), max_size=60),
    capacity=st.integers(min_value=1, max_value=20),
    max_bytes=st.integers(min_value=1, max_value=2000),
)
def test_buffer_bounds_hold_for_any_sequence_of_records(
    sizes: list[int], capacity: int, max_bytes: int
) -> None:
    sink = ListHandler()
    handler = ErrorBufferHandler(
        capacity=capacity, target=sink, max_bytes=max_bytes, sampling={"rate": 0.0}
    )
    with buffered_request():
        for size in sizes:
            handler.handle(make_record(msg="x" * size, request_id="r"))
            assert handler.held_count() <= capacity
        handler.handle(make_record(logging.ERROR, msg="fail", request_id="r"))
    released = sink.records[:-1]
    assert len(released) <= capacity
    assert sum(len(r.getMessage()) for r in released) <= max_bytes
    assert len(sizes) == len(released) + handler.counters.get("records_evicted")
    # What survives is the most recent records, in order.
    assert [len(r.getMessage()) for r in released] == sizes[len(sizes) - len(released) :]
    handler.close()


def test_evictions_are_reported_when_the_request_fails(sink: ListHandler) -> None:
    internal = logging.getLogger("inferlog.internal")
    capture = ListHandler()
    internal.addHandler(capture)
    try:
        handler = ErrorBufferHandler(capacity=2, target=sink, sampling={"rate": 0.0})
        with buffered_request():
            for i in range(5):
                handler.handle(make_record(msg=f"m{i}", request_id="req-9"))
            handler.handle(make_record(logging.ERROR, request_id="req-9"))
    finally:
        internal.removeHandler(capture)
    assert any("req-9" in m and "3 oldest" in m for m in capture.messages()), capture.messages()


@pytest.mark.parametrize(
    "kwargs",
    [{"capacity": 0}, {"max_bytes": -1}, {"max_requests": 0}, {"sampling": 0.5}],
)
def test_invalid_buffer_configuration_raises_value_error(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        ErrorBufferHandler(**kwargs)


def test_close_discards_what_is_held_and_is_idempotent(sink: ListHandler) -> None:
    handler = ErrorBufferHandler(target=sink, sampling={"rate": 0.0})
    handler.handle(make_record(request_id="r"))
    handler.close()
    handler.close()
    assert 0 == handler.held_count()
    assert 1 == handler.counters.get("records_discarded")
    assert [] == sink.records


def test_dict_config_builds_the_buffer_in_front_of_a_named_handler() -> None:
    sink = ListHandler()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "sink": {"()": lambda: sink},
                "buffer": {
                    "class": "inferlog.sampling.ErrorBufferHandler",
                    "target": "sink",
                    "capacity": 100,
                    "max_bytes": 65536,
                    "max_requests": 500,
                    "sampling": {"rate": 0.0, "model_rates": {"fraud": 1.0}},
                },
            },
            "loggers": {
                "test_sampling_buffer.dict": {
                    "handlers": ["buffer"],
                    "level": "DEBUG",
                    "propagate": False,
                }
            },
        }
    )
    logger = logging.getLogger("test_sampling_buffer.dict")
    handler = logger.handlers[0]
    assert isinstance(handler, ErrorBufferHandler)
    assert (100, 65536, 500) == (handler.capacity, handler.max_bytes, handler.max_requests)
    with buffered_request():
        logger.info("ok request", extra={"request_id": "a"})
    with buffered_request():
        logger.info("fraud call", extra={"request_id": "b", "model_id": "fraud"})
        logger.info("context", extra={"request_id": "b"})
        logger.error("failed", extra={"request_id": "b"})
    assert ["fraud call", "context", "failed"] == sink.messages()


def test_a_sampling_filter_downstream_keeps_released_records(sink: ListHandler) -> None:
    sink.addFilter(SamplingFilter(rate=0.0))
    handler = ErrorBufferHandler(target=sink, sampling={"rate": 0.0})
    with buffered_request():
        handler.handle(make_record(msg="context", request_id="r1"))
        handler.handle(make_record(logging.ERROR, msg="failed", request_id="r1"))
    assert ["context", "failed"] == sink.messages()


def test_forwarded_records_are_copies_so_other_handlers_see_no_sample_rate(
    sink: ListHandler,
) -> None:
    handler = ErrorBufferHandler(target=sink, sampling={"rate": 1.0})
    record = make_record(request_id="r1")
    handler.handle(record)
    assert sink.records[0] is not record
    assert 1.0 == attr(sink.records[0], "sample_rate")
    assert not hasattr(record, "sample_rate")


def test_requests_from_many_threads_are_buffered_and_released_separately(
    sink: ListHandler,
) -> None:
    handler = ErrorBufferHandler(target=sink, sampling={"rate": 0.0})

    def worker(thread: int) -> None:
        for i in range(50):
            rid = f"t{thread}-{i}"
            with buffered_request():
                for step in ("a", "b", "c"):
                    handler.handle(make_record(msg=step, request_id=rid))
                if i % 7 == 0:
                    handler.handle(make_record(logging.ERROR, msg="fail", request_id=rid))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    by_request: dict[str, list[str]] = {}
    for record in sink.records:
        by_request.setdefault(attr(record, "request_id"), []).append(record.getMessage())
    expected = {f"t{t}-{i}": ["a", "b", "c", "fail"] for t in range(8) for i in range(0, 50, 7)}
    assert expected == by_request
    assert 0 == handler.held_count()


def _exact_variance(groups: list[tuple[int, float]]) -> float:
    """Variance of sum(count / rate * [u < rate]) for u uniform on [0, 1)."""
    cuts = sorted({0.0, 1.0, *(rate for _, rate in groups)})
    mean = sum(count for count, _ in groups)
    second = 0.0
    for low, high in itertools.pairwise(cuts):
        mid = (low + high) / 2
        y = sum(count / rate for count, rate in groups if mid < rate)
        second += (high - low) * y * y
    return second - mean * mean


def test_reweighting_kept_records_estimates_the_true_counts_without_bias() -> None:
    # The page docs/sampling.md promises: sum 1/sample_rate, skipping sample_buffered,
    # is unbiased. Check it against the exact variance of the estimator.
    rng = random.Random(11)
    sink = ListHandler()
    # Rates and a failure share high enough that counting the buffered records too
    # would be off by more than the tolerance: the test can tell the two apart.
    rates = {"small": 0.4, "large": 0.8}
    handler = ErrorBufferHandler(
        target=sink, sampling={"rate": 0.5, "model_rates": rates}, capacity=10
    )
    true_total, variance = 0, 0.0
    for i in range(10_000):
        rid, model = f"sim-{i}", ("small", "large")[i % 2]
        failed = rng.random() < 0.3
        with buffered_request():
            for step in ("received", "tokenised"):
                handler.handle(make_record(msg=step, request_id=rid))
            handler.handle(
                make_record(
                    logging.ERROR if failed else logging.INFO,
                    msg="inference",
                    request_id=rid,
                    model_id=model,
                    status="error" if failed else "ok",
                )
            )
            handler.handle(make_record(msg="responded", request_id=rid))
        true_total += 4
        groups = [(2, 0.5)] if failed else [(3, 0.5), (1, rates[model])]
        variance += _exact_variance(groups)
    estimate = sum(
        1.0 / attr(r, "sample_rate") for r in sink.records if not attr(r, "sample_buffered")
    )
    tolerance = 5 * math.sqrt(variance)
    assert abs(estimate - true_total) <= tolerance, (estimate, true_total, tolerance)
    naive = sum(1.0 / attr(r, "sample_rate") for r in sink.records)
    assert abs(naive - true_total) > tolerance, (naive, true_total, tolerance)
    # And every failed request is complete in the output.
    per_request: dict[str, int] = {}
    for r in sink.records:
        per_request[attr(r, "request_id")] = per_request.get(attr(r, "request_id"), 0) + 1
    failed_ids = {attr(r, "request_id") for r in sink.records if r.levelno >= logging.ERROR}
    assert [4] * len(failed_ids) == [per_request[rid] for rid in sorted(failed_ids)]


def test_a_failure_logged_outside_the_block_releases_the_blocks_records(
    sink: ListHandler,
) -> None:
    handler = ErrorBufferHandler(target=sink, sampling={"rate": 0.0})
    with buffered_request():
        handler.handle(make_record(msg="in block", request_id="r1"))
        # A thread that did not copy the context: no block, same request id.
        worker = threading.Thread(
            target=handler.handle, args=(make_record(logging.ERROR, msg="failed", request_id="r1"),)
        )
        worker.start()
        worker.join()
    assert ["failed", "in block"] == sink.messages()


def test_records_held_outside_the_block_are_released_when_the_block_fails(
    sink: ListHandler,
) -> None:
    handler = ErrorBufferHandler(target=sink, sampling={"rate": 0.0})
    with buffered_request():
        worker = threading.Thread(
            target=handler.handle, args=(make_record(msg="in worker", request_id="r1"),)
        )
        worker.start()
        worker.join()
        handler.handle(make_record(logging.ERROR, msg="failed", request_id="r1"))
    assert ["in worker", "failed"] == sink.messages()


def test_mark_request_failed_releases_the_block_when_it_ends(
    logger: logging.Logger, sink: ListHandler
) -> None:
    mark_request_failed()  # outside a block: nothing to do
    with buffered_request():
        logger.info("handled", extra={"request_id": "r1"})
        mark_request_failed()  # e.g. the handler returned a 500
        assert [] == sink.records
    assert ["handled"] == sink.messages()
