"""Tests for inferlog.propagation: threads, pools, asyncio, processes and HTTP headers."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import multiprocessing
import pickle
import re
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inferlog.context import (
    ContextFilter,
    bind,
    current_context,
    current_request_id,
    request_context,
)
from inferlog.propagation import (
    MAX_REQUEST_ID_LENGTH,
    ContextProcessPoolExecutor,
    ContextSnapshot,
    ContextThread,
    ContextThreadPoolExecutor,
    extract_headers,
    init_process_context,
    inject_headers,
    is_valid_request_id,
    wrap,
    wrap_for_process,
)

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACEPARENT = f"00-{TRACE_ID}-00f067aa0ba902b7-01"
TRACEPARENT_RE = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")

# --------------------------------------------------------------------------- helpers
# Module-level so that worker processes can unpickle them.


def observe(tag: str) -> tuple[str, str | None, dict[str, Any]]:
    """What a worker sees: its tag, the request id and the whole context."""
    return tag, current_request_id(), current_context()


def stamp_in_worker(tag: str) -> dict[str, Any]:
    """Stamp a record in the worker the way a logging call would and return its fields."""
    record = logging.LogRecord("worker", logging.INFO, __file__, 1, tag, None, None)
    ContextFilter().filter(record)
    wanted = ("request_id", "user_id", "job", "trace_id", "span_id")
    return {key: value for key, value in record.__dict__.items() if key in wanted}


def put_observation(out: Any) -> None:
    out.put(observe("process"))


def run_in_thread(fn: Any) -> Any:
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(fn()))
    thread.start()
    thread.join()
    return result[0]


# --------------------------------------------------------------------------- threads


def test_plain_thread_starts_without_the_request_context() -> None:
    with request_context("r1"):
        assert run_in_thread(current_request_id) is None


def test_wrap_carries_the_context_captured_when_wrapped() -> None:
    with request_context("r1", user_id="u1"):
        wrapped = wrap(current_context)
        bind(later=True)
    assert run_in_thread(wrapped) == {"request_id": "r1", "user_id": "u1"}


def test_wrapped_calls_do_not_leak_binds_into_each_other_or_the_caller() -> None:
    def bind_and_read(value: int) -> dict[str, Any]:
        before = current_context()
        bind(value=value)
        return before

    with request_context("r1"):
        wrapped = wrap(bind_and_read)
        assert wrapped(1) == {"request_id": "r1"}
        assert wrapped(2) == {"request_id": "r1"}
        assert current_context() == {"request_id": "r1"}


def test_wrapped_function_can_run_in_many_threads_at_once() -> None:
    def slow() -> str | None:
        time.sleep(0.01)
        return current_request_id()

    with request_context("r1"):
        wrapped = wrap(slow)
    results: list[str | None] = []
    threads = [threading.Thread(target=lambda: results.append(wrapped())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == ["r1"] * 8


def test_context_thread_runs_in_the_context_it_was_created_in() -> None:
    seen: list[dict[str, Any]] = []
    with request_context("r1", user_id="u1"):
        thread = ContextThread(target=lambda: seen.append(current_context()))
    thread.start()
    thread.join()
    assert seen == [{"request_id": "r1", "user_id": "u1"}]


def test_context_thread_subclass_overriding_run_keeps_the_context() -> None:
    class Worker(ContextThread):
        seen: str | None = None

        def run(self) -> None:
            Worker.seen = current_request_id()

    with request_context("r2"):
        worker = Worker()
    worker.start()
    worker.join()
    assert Worker.seen == "r2"


def test_thread_pool_executor_carries_the_submitters_context() -> None:
    with ContextThreadPoolExecutor(max_workers=2) as pool:
        with request_context("r1", user_id="u1"):
            future = pool.submit(observe, "submit")
            mapped = list(pool.map(observe, ["a", "b", "c"]))
        assert future.result() == ("submit", "r1", {"request_id": "r1", "user_id": "u1"})
        assert [request_id for _, request_id, _ in mapped] == ["r1"] * 3
        # A worker thread keeps nothing from the previous task.
        assert pool.submit(current_request_id).result() is None


def test_plain_thread_pool_needs_wrap() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool, request_context("r1"):
        assert pool.submit(current_request_id).result() is None
        assert pool.submit(wrap(current_request_id)).result() == "r1"


@settings(max_examples=10, deadline=None)
@given(delays=st.lists(st.integers(min_value=0, max_value=4), min_size=2, max_size=16))
def test_shared_thread_pool_never_mixes_concurrent_requests(delays: list[int]) -> None:
    def task(delay: int) -> str | None:
        time.sleep(delay / 2000)
        return current_request_id()

    outcomes: dict[str, list[str | None]] = {}
    with ContextThreadPoolExecutor(max_workers=3) as pool:

        def request(i: int, delay: int) -> None:
            with request_context(f"r{i}"):
                futures = [pool.submit(task, delay) for _ in range(3)]
                outcomes[f"r{i}"] = [f.result() for f in futures] + list(pool.map(task, [delay, 0]))

        threads = [ContextThread(target=request, args=(i, delay)) for i, delay in enumerate(delays)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert outcomes == {f"r{i}": [f"r{i}"] * 5 for i in range(len(delays))}


# --------------------------------------------------------------------------- asyncio


def test_asyncio_tasks_copy_the_context_and_do_not_leak_back() -> None:
    async def child(n: int) -> tuple[str | None, int]:
        bind(child=n)
        await asyncio.sleep(0)
        return current_request_id(), current_context()["child"]

    async def main() -> None:
        async with request_context("r1"):
            task = asyncio.create_task(child(1))
            results = await asyncio.gather(task, child(2), child(3))
            assert list(results) == [("r1", 1), ("r1", 2), ("r1", 3)]
            assert current_context() == {"request_id": "r1"}

    asyncio.run(main())


def test_asyncio_to_thread_copies_but_run_in_executor_needs_wrap() -> None:
    async def main() -> tuple[str | None, str | None, str | None]:
        loop = asyncio.get_running_loop()
        with request_context("r1"):
            via_to_thread = await asyncio.to_thread(current_request_id)
            plain = await loop.run_in_executor(None, current_request_id)
            wrapped = await loop.run_in_executor(None, wrap(current_request_id))
        return via_to_thread, plain, wrapped

    assert asyncio.run(main()) == ("r1", None, "r1")


# --------------------------------------------------------------------------- processes


def test_snapshot_keeps_json_able_fields_and_pickles() -> None:
    with request_context("r1", user_id="u1", tags=["a", {"k": 1.5}], client=object()):
        snapshot = ContextSnapshot.capture()
    assert snapshot.request_id == "r1"
    assert dict(snapshot.fields) == {
        "request_id": "r1",
        "user_id": "u1",
        "tags": ["a", {"k": 1.5}],
    }
    assert snapshot.dropped == ("client",)
    assert pickle.loads(pickle.dumps(snapshot)) == snapshot


def test_snapshot_scope_replaces_the_current_scope_and_restores_it() -> None:
    with request_context("r1", user_id="u1"):
        snapshot = ContextSnapshot.capture()
    with request_context("stale", leftover=True):
        with snapshot.scope():
            assert current_context() == {"request_id": "r1", "user_id": "u1"}
        assert current_request_id() == "stale"


def test_snapshot_carries_the_trace_position() -> None:
    with request_context("r1", traceparent=TRACEPARENT):
        expected = current_context()
        snapshot = pickle.loads(pickle.dumps(ContextSnapshot.capture()))
    with snapshot.scope():
        assert current_context() == expected


@pytest.mark.parametrize("method", ["spawn", "fork"])
def test_process_pool_executor_carries_the_scope_for_submit_and_map(method: str) -> None:
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"{method} is not available here")
    mp_context = multiprocessing.get_context(method)
    with ContextProcessPoolExecutor(max_workers=1, mp_context=mp_context) as pool:
        # With fork, the worker is forked inside this first request and inherits
        # its context; the later calls prove the per-call scope replaces it.
        with request_context("r1", user_id="u1", client=object()):
            first = pool.submit(stamp_in_worker, "first").result(timeout=30)
        with request_context("r2", traceparent=TRACEPARENT):
            second = pool.submit(stamp_in_worker, "second").result(timeout=30)
            mapped = list(pool.map(observe, ["a", "b"], timeout=30))
        outside = pool.submit(observe, "outside").result(timeout=30)
    assert first == {"request_id": "r1", "user_id": "u1"}
    assert second["request_id"] == "r2"
    assert second["trace_id"] == TRACE_ID
    assert [request_id for _, request_id, _ in mapped] == ["r2", "r2"]
    assert outside == ("outside", None, {})


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX-only")
def test_process_pool_initializer_opens_a_job_wide_scope_that_tasks_extend() -> None:
    with request_context("job-1", job="nightly"):
        snapshot = ContextSnapshot.capture()
    with ContextProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("fork"),
        initializer=init_process_context,
        initargs=(snapshot,),
    ) as pool:
        untouched = ProcessPoolExecutor.submit(pool, stamp_in_worker, "plain").result(timeout=30)
        with request_context("r7", user_id="u7"):
            extended = pool.submit(stamp_in_worker, "task").result(timeout=30)
    assert untouched == {"request_id": "job-1", "job": "nightly"}
    assert extended == {"request_id": "r7", "job": "nightly", "user_id": "u7"}


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX-only")
def test_initializer_without_a_snapshot_clears_what_fork_inherited() -> None:
    with (
        request_context("parent-request"),
        ProcessPoolExecutor(
            max_workers=1,
            mp_context=multiprocessing.get_context("fork"),
            initializer=init_process_context,
        ) as pool,
    ):
        assert pool.submit(current_request_id).result(timeout=30) is None


def test_multiprocessing_process_with_wrap_for_process() -> None:
    mp_context = multiprocessing.get_context("spawn")
    out = mp_context.Queue()
    with request_context("r5", user_id="u5"):
        process = mp_context.Process(target=wrap_for_process(put_observation), args=(out,))
    process.start()
    try:
        result = out.get(timeout=30)
    finally:
        process.join(timeout=30)
    assert result == ("process", "r5", {"request_id": "r5", "user_id": "u5"})
    assert process.exitcode == 0


# --------------------------------------------------------------------------- HTTP: inject


def test_inject_headers_writes_request_id_and_a_version_00_traceparent() -> None:
    with request_context("r1"):
        headers = inject_headers()
    assert headers["X-Request-ID"] == "r1"
    assert TRACEPARENT_RE.fullmatch(headers["traceparent"])
    assert headers["traceparent"].endswith("-01")


def test_inject_headers_continues_the_incoming_trace_with_the_scope_span() -> None:
    with request_context("r1", traceparent=TRACEPARENT):
        span_id = current_context()["span_id"]
        headers = inject_headers({"Accept": "application/json"})
    assert headers == {
        "Accept": "application/json",
        "X-Request-ID": "r1",
        "traceparent": f"00-{TRACE_ID}-{span_id}-01",
    }


def test_inject_headers_starts_a_trace_the_scope_then_keeps() -> None:
    with request_context("r1"):
        first = inject_headers()["traceparent"]
        second = inject_headers()["traceparent"]
        trace_id = first.split("-")[1]
        assert first == second
        assert current_context()["trace_id"] == trace_id
    assert "trace_id" not in current_context()


def test_inject_headers_outside_a_scope_sends_no_request_id_and_keeps_nothing() -> None:
    first = inject_headers()
    second = inject_headers()
    assert set(first) == {"traceparent"}
    assert first["traceparent"].split("-")[1] != second["traceparent"].split("-")[1]
    assert current_context() == {}


def test_inject_headers_replaces_other_spellings_in_a_plain_dict() -> None:
    headers = {"x-request-id": "old", "TraceParent": "old", "Other": "kept"}
    with request_context("r1"):
        returned = inject_headers(headers)
    assert returned is headers
    assert sorted(headers) == ["Other", "X-Request-ID", "traceparent"]
    assert headers["X-Request-ID"] == "r1"


def test_inject_headers_never_sends_an_unsafe_request_id() -> None:
    with request_context("evil\r\nSet-Cookie: x=1"):
        headers = inject_headers()
    assert "X-Request-ID" not in headers


def test_inject_headers_uses_the_active_opentelemetry_span() -> None:
    trace = pytest.importorskip("opentelemetry.trace")
    span_context = trace.SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=trace.TraceFlags(0),
    )
    with request_context("r1"), trace.use_span(trace.NonRecordingSpan(span_context)):
        headers = inject_headers()
    assert headers["traceparent"] == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"


# --------------------------------------------------------------------------- HTTP: extract


def test_extract_headers_reads_names_case_insensitively() -> None:
    headers = {"x-REQUEST-id": "abc-123", "TRACEPARENT": TRACEPARENT, "Host": "x"}
    assert extract_headers(headers) == {"request_id": "abc-123", "traceparent": TRACEPARENT}


def test_extract_headers_reads_asgi_byte_pairs_and_list_values() -> None:
    asgi = [(b"x-request-id", b"abc"), (b"traceparent", TRACEPARENT.encode())]
    assert extract_headers(asgi) == {"request_id": "abc", "traceparent": TRACEPARENT}
    assert extract_headers({"X-Request-ID": ["abc", "abc"]}) == {"request_id": "abc"}


def test_extract_headers_result_opens_the_callers_request_and_trace() -> None:
    with request_context("upstream-1"):
        outgoing = inject_headers()
        upstream_trace = current_context()
    with request_context(**extract_headers(outgoing)):
        downstream = current_context()
    assert downstream["request_id"] == "upstream-1"
    assert downstream["trace_id"] == upstream_trace["trace_id"]
    assert downstream["span_id"] != upstream_trace["span_id"]


def test_extract_headers_normalises_a_future_traceparent_version() -> None:
    future = f"01-{TRACE_ID}-00f067aa0ba902b7-01-more"
    assert extract_headers({"traceparent": future}) == {"traceparent": TRACEPARENT}


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"X-Request-ID": ""},
        {"X-Request-ID": "has space"},
        {"X-Request-ID": "line\nbreak"},
        {"X-Request-ID": "x" * (MAX_REQUEST_ID_LENGTH + 1)},
        {"X-Request-ID": "ünïcode"},
        {"traceparent": f"ff-{TRACE_ID}-00f067aa0ba902b7-01"},
        {"traceparent": "00-" + "0" * 32 + "-00f067aa0ba902b7-01"},
        {"traceparent": f"00-{TRACE_ID}-" + "0" * 16 + "-01"},
        {"traceparent": TRACEPARENT.upper()},
        {"traceparent": TRACEPARENT + "-extra"},
        {"traceparent": TRACEPARENT[:-1]},
        [("X-Request-ID", "a"), ("x-request-id", "b")],
        [("traceparent", TRACEPARENT), ("traceparent", f"00-{TRACE_ID}-1111111111111111-01")],
    ],
)
def test_extract_headers_rejects_invalid_or_ambiguous_values(headers: Any) -> None:
    assert extract_headers(headers) == {}


def test_extract_headers_never_raises_on_a_hostile_headers_object() -> None:
    class Hostile:
        def items(self) -> Any:
            raise RuntimeError("no headers for you")

    assert extract_headers(Hostile()) == {}
    assert extract_headers(None) == {}
    assert extract_headers(42) == {}
    assert extract_headers({1: 2, None: b"x", "X-Request-ID": 7}) == {}


def test_extract_headers_accepts_a_custom_request_id_header() -> None:
    headers = {"X-Correlation-ID": "c-1", "X-Request-ID": "r-1"}
    assert extract_headers(headers, request_id_header="x-correlation-id") == {"request_id": "c-1"}


HEADER_NAMES = st.sampled_from(
    ["X-Request-ID", "x-request-id", "X-REQUEST-ID", "traceparent", "TraceParent", "Other"]
)
ANY_HEADER_NAME = st.one_of(HEADER_NAMES, st.text(max_size=20), st.binary(max_size=20))
HEADER_VALUES = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=80),
    st.from_regex(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}", fullmatch=True),
    st.from_regex(r"[A-Za-z0-9._:+/=-]{1,140}", fullmatch=True),
    st.none(),
    st.integers(),
    st.lists(st.text(max_size=20), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    pairs=st.lists(
        st.tuples(
            st.one_of(HEADER_NAMES, st.text(max_size=20), st.binary(max_size=20)), HEADER_VALUES
        ),
        max_size=6,
    ),
    as_dict=st.booleans(),
)
def test_extract_headers_never_raises_and_only_returns_valid_values(
    pairs: list[tuple[Any, Any]], as_dict: bool
) -> None:
    headers: Any = dict(pairs) if as_dict else pairs
    result = extract_headers(headers)
    assert set(result) <= {"request_id", "traceparent"}
    if "request_id" in result:
        assert is_valid_request_id(result["request_id"])
        assert len(result["request_id"]) <= MAX_REQUEST_ID_LENGTH
    if "traceparent" in result:
        version, trace_id, parent_id, _flags = result["traceparent"].split("-")
        assert TRACEPARENT_RE.fullmatch(result["traceparent"])
        assert version == "00"
        assert trace_id != "0" * 32
        assert parent_id != "0" * 16
    # Whatever was accepted opens a scope that carries it.
    with request_context(**result):
        ctx = current_context()
    if "request_id" in result:
        assert ctx["request_id"] == result["request_id"]
    if "traceparent" in result:
        assert ctx["trace_id"] == result["traceparent"].split("-")[1]


@settings(max_examples=200, deadline=None)
@given(
    version=st.from_regex(r"[0-9a-e][0-9a-f]|f[0-9a-e]", fullmatch=True),
    trace_id=st.from_regex(r"[0-9a-f]{32}", fullmatch=True).filter(lambda s: set(s) != {"0"}),
    parent_id=st.from_regex(r"[0-9a-f]{16}", fullmatch=True).filter(lambda s: set(s) != {"0"}),
    flags=st.from_regex(r"[0-9a-f]{2}", fullmatch=True),
    request_id=st.from_regex(r"[A-Za-z0-9._:+/=-]{1,128}", fullmatch=True),
)
def test_extract_headers_accepts_every_well_formed_value(
    version: str, trace_id: str, parent_id: str, flags: str, request_id: str
) -> None:
    headers = {
        "X-Request-ID": f" {request_id}\t",
        "traceparent": f"{version}-{trace_id}-{parent_id}-{flags}",
    }
    assert extract_headers(headers) == {
        "request_id": request_id,
        "traceparent": f"00-{trace_id}-{parent_id}-{flags}",
    }


def test_contextvars_are_the_only_storage() -> None:
    # A fresh, empty Context sees no scope at all, whatever the current thread holds.
    with request_context("r1"):
        assert contextvars.Context().run(current_context) == {}
