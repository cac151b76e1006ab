"""Tests for inferlog.context: scopes, bind/unbind, UUIDv7 ids and ContextFilter."""

from __future__ import annotations

import asyncio
import contextvars
import logging
import logging.config
import logging.handlers
import multiprocessing
import os
import queue
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferlog._diagnostics import reset_report_once
from inferlog._record import STANDARD_RECORD_ATTRS
from inferlog.context import (
    ContextFilter,
    _trace,
    bind,
    current_context,
    current_request_id,
    new_request_id,
    request_context,
    unbind,
    uuid7,
)
from inferlog.context import ids as context_ids

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class ListHandler(logging.Handler):
    """Keeps every record it handles, and the thread that handled it."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []
        self.handled_on: list[int] = []
        self._lock_records = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock_records:
            self.records.append(record)
            self.handled_on.append(threading.get_ident())


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, ListHandler]]:
    """A private logger with ContextFilter on its capturing handler."""
    logger = logging.getLogger(f"test_context.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = ListHandler()
    handler.addFilter(ContextFilter())
    logger.addHandler(handler)
    yield logger, handler
    logger.removeHandler(handler)


# --------------------------------------------------------------------------- scopes


def test_outside_any_scope_there_is_no_request_id_and_no_context() -> None:
    assert current_request_id() is None
    assert current_context() == {}


def test_request_context_mints_a_uuid7_request_id_when_none_is_given() -> None:
    with request_context() as request_id:
        assert current_request_id() == request_id
        assert uuid.UUID(request_id).version == 7
    assert current_request_id() is None


def test_request_context_uses_the_given_request_id_and_fields() -> None:
    with request_context("req-1", user_id="u1") as request_id:
        assert request_id == "req-1"
        assert current_context() == {"request_id": "req-1", "user_id": "u1"}


def test_nested_scope_inherits_overrides_and_restores_exactly() -> None:
    with request_context("outer", user_id="u1", model_id="m1"):
        before = current_context()
        with request_context(model_id="m2", step="rerank") as inner_id:
            assert inner_id == "outer"
            assert current_context() == {
                "request_id": "outer",
                "user_id": "u1",
                "model_id": "m2",
                "step": "rerank",
            }
        assert current_context() == before


def test_nested_scope_with_its_own_request_id_overrides_and_restores_it() -> None:
    with request_context("outer"), request_context("inner"):
        assert current_request_id() == "inner"
    with request_context("outer"):
        with request_context("inner"):
            pass
        assert current_request_id() == "outer"


def test_scope_is_restored_when_the_block_raises() -> None:
    with request_context("outer", a=1):
        with pytest.raises(RuntimeError):  # noqa: PT012 - the raise must happen in the scope
            with request_context("inner", a=2):
                bind(b=3)
                raise RuntimeError("boom")
        assert current_context() == {"request_id": "outer", "a": 1}
    assert current_context() == {}


def test_bind_adds_to_the_current_scope_and_ends_with_it() -> None:
    with request_context("r"):
        bind(user_id="u1", tokens=3)
        assert current_context() == {"request_id": "r", "user_id": "u1", "tokens": 3}
        with request_context():
            bind(user_id="u2")
            assert current_context()["user_id"] == "u2"
        assert current_context()["user_id"] == "u1"
    assert current_context() == {}


def test_bind_is_copy_on_write_for_snapshots_other_contexts_hold() -> None:
    with request_context("r", a=1):
        held = contextvars.copy_context()
        snapshot = current_context()
        bind(a=2, b=3)
        assert held.run(current_context) == {"request_id": "r", "a": 1}
        assert snapshot == {"request_id": "r", "a": 1}
        assert current_context() == {"request_id": "r", "a": 2, "b": 3}


def test_changing_the_current_context_snapshot_changes_nothing() -> None:
    with request_context("r", a=1):
        snapshot = current_context()
        snapshot["a"] = 99
        assert current_context() == {"request_id": "r", "a": 1}


def test_bind_outside_a_scope_lasts_for_the_current_context_only() -> None:
    def job() -> tuple[dict[str, object], str | None]:
        bind(job_id="j1")
        return current_context(), current_request_id()

    assert contextvars.copy_context().run(job) == ({"job_id": "j1"}, None)
    assert current_context() == {}


def test_bind_request_id_changes_the_request_id() -> None:
    with request_context("r1"):
        bind(request_id="r2")
        assert current_request_id() == "r2"
    assert current_request_id() is None


def test_unbind_removes_fields_and_ignores_absent_names() -> None:
    with request_context("r", a=1, b=2):
        held = contextvars.copy_context()
        unbind("a", "missing")
        assert current_context() == {"request_id": "r", "b": 2}
        assert held.run(current_context) == {"request_id": "r", "a": 1, "b": 2}
        unbind("missing")
        assert current_context() == {"request_id": "r", "b": 2}


def test_same_scope_object_can_be_reentered_and_nested() -> None:
    scope = request_context("r", a=1)
    with scope:
        with scope:
            assert current_request_id() == "r"
        assert current_request_id() == "r"
    assert current_request_id() is None
    with scope:
        assert current_context() == {"request_id": "r", "a": 1}


def test_decorated_sync_function_gets_a_fresh_scope_per_call() -> None:
    @request_context(kind="batch")
    def work() -> dict[str, object]:
        bind(seen=True)
        return current_context()

    first, second = work(), work()
    assert first["kind"] == second["kind"] == "batch"
    assert first["request_id"] != second["request_id"]
    assert current_context() == {}
    assert work.__name__ == "work"


def test_decorated_async_function_gets_a_fresh_scope_per_call() -> None:
    @request_context(kind="chat")
    async def work(delay: float) -> str | None:
        await asyncio.sleep(delay)
        return current_request_id()

    async def main() -> list[str | None]:
        return await asyncio.gather(*(work(0.001 * (i % 3)) for i in range(20)))

    ids = asyncio.run(main())
    assert len(set(ids)) == 20
    assert all(i is not None for i in ids)
    assert current_request_id() is None


def test_decorating_a_generator_function_is_refused() -> None:
    def numbers() -> Iterator[int]:
        yield 1

    async def async_numbers() -> AsyncIterator[int]:
        yield 1

    with pytest.raises(TypeError, match="generator"):
        request_context()(numbers)
    with pytest.raises(TypeError, match="generator"):
        request_context()(async_numbers)


def test_async_with_opens_and_restores_a_scope() -> None:
    async def main() -> tuple[str | None, str | None]:
        async with request_context("a1") as request_id:
            await asyncio.sleep(0)
            inside = current_request_id()
            assert request_id == inside
        return inside, current_request_id()

    assert asyncio.run(main()) == ("a1", None)


def test_valid_traceparent_gives_its_trace_id_and_a_new_span_id() -> None:
    with request_context(traceparent=TRACEPARENT):
        ctx = current_context()
        assert ctx["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
        assert len(ctx["span_id"]) == 16
        assert ctx["span_id"] != "00f067aa0ba902b7"
        with request_context(step="inner"):
            assert current_context()["span_id"] == ctx["span_id"]


@pytest.mark.parametrize(
    "value",
    [
        "",
        "garbage",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01x",
    ],
)
def test_invalid_traceparent_is_ignored(value: str) -> None:
    with request_context("r", traceparent=value):
        assert current_context() == {"request_id": "r"}


def test_future_traceparent_version_is_read_as_version_00() -> None:
    value = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds"
    with request_context(traceparent=value):
        assert current_context()["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"


# --------------------------------------------------------------------------- UUIDv7


def test_uuid7_has_version_7_variant_rfc_and_the_current_time() -> None:
    before_ms = time.time_ns() // 1_000_000
    value = uuid7()
    after_ms = time.time_ns() // 1_000_000
    assert value.version == 7
    assert value.variant == uuid.RFC_4122
    assert before_ms <= value.int >> 80 <= after_ms + 1


def test_uuid7_is_strictly_increasing_within_the_process() -> None:
    ids = [uuid7() for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    strings = [new_request_id() for _ in range(1_000)]
    assert strings == sorted(strings)


def test_uuid7_stays_increasing_when_the_clock_stands_still_or_goes_back(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generator = context_ids._UUIDv7Generator()
    clock = iter([5_000_000_000, 5_000_000_000, 4_000_000_000, 5_000_000_000] * 10)
    monkeypatch.setattr(time, "time_ns", lambda: next(clock))
    ids = [generator() for _ in range(40)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 40


def test_uuid7_moves_to_the_next_millisecond_when_the_counter_overflows(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    generator = context_ids._UUIDv7Generator()
    monkeypatch.setattr(time, "time_ns", lambda: 7_000_000_000)
    first = generator()
    generator._counter = generator._COUNTER_MAX
    second = generator()
    assert second > first
    assert second.int >> 80 == (first.int >> 80) + 1


def _mint_ids_into(out: Any) -> None:
    out.put([new_request_id() for _ in range(200)])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX-only")
def test_forked_children_mint_their_own_ids() -> None:
    mp_context = multiprocessing.get_context("fork")
    out = mp_context.Queue()
    new_request_id()  # the parent's generator has state the children must not reuse
    children = [mp_context.Process(target=_mint_ids_into, args=(out,)) for _ in range(2)]
    for child in children:
        child.start()
    batches = [out.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
    every = [rid for batch in batches for rid in batch] + [new_request_id() for _ in range(200)]
    assert len(set(every)) == len(every) == 600
    assert all(batch == sorted(batch) for batch in batches)


def test_uuid7_is_unique_across_threads() -> None:
    results: list[list[uuid.UUID]] = [[] for _ in range(8)]

    def mint(slot: list[uuid.UUID]) -> None:
        slot.extend(uuid7() for _ in range(2_000))

    threads = [threading.Thread(target=mint, args=(slot,)) for slot in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = [u for slot in results for u in slot]
    assert len(set(every)) == len(every)
    assert all(slot == sorted(slot) for slot in results)


# --------------------------------------------------------------------------- ContextFilter


def test_filter_stamps_request_id_and_bound_fields(
    captured: tuple[logging.Logger, ListHandler],
) -> None:
    logger, handler = captured
    with request_context("r1", user_id="u1"):
        bind(model_id="m1")
        logger.info("hello")
    logger.info("outside")
    inside, outside = handler.records
    assert (inside.request_id, inside.user_id, inside.model_id) == ("r1", "u1", "m1")  # type: ignore[attr-defined]
    assert not hasattr(outside, "request_id")


def test_explicit_extra_wins_over_bound_fields(
    captured: tuple[logging.Logger, ListHandler],
) -> None:
    logger, handler = captured
    with request_context("r1", user_id="bound"):
        logger.info("hello", extra={"user_id": "explicit", "request_id": "given"})
    (record,) = handler.records
    assert (record.user_id, record.request_id) == ("explicit", "given")  # type: ignore[attr-defined]


def test_bound_fields_named_like_record_attributes_are_not_stamped(
    captured: tuple[logging.Logger, ListHandler],
) -> None:
    logger, handler = captured
    with request_context("r1", name="bound", msg="bound", message="bound", levelname="X"):
        logger.info("real")
    (record,) = handler.records
    assert record.name == logger.name
    assert record.getMessage() == "real"
    assert record.levelname == "INFO"
    # Formatter.format (pytest's capture included) may set ``message``; never the bound value.
    assert record.__dict__.get("message", "real") == "real"


def test_filter_options_select_fields_and_rename_request_id() -> None:
    flt = ContextFilter(fields=["user_id"], request_id_field="correlation_id", trace=False)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with request_context("r1", user_id="u1", secret="s", traceparent=TRACEPARENT):
        assert flt.filter(record) is True
    assert record.correlation_id == "r1"  # type: ignore[attr-defined]
    assert record.user_id == "u1"  # type: ignore[attr-defined]
    assert not hasattr(record, "secret")
    assert not hasattr(record, "request_id")
    assert not hasattr(record, "trace_id")


def test_filter_stamps_trace_ids_from_the_scope_traceparent() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with request_context(traceparent=TRACEPARENT):
        ContextFilter(opentelemetry=False).filter(record)
        expected = current_context()
    assert record.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"  # type: ignore[attr-defined]
    assert record.span_id == expected["span_id"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "kwargs",
    [{"request_id_field": ""}, {"request_id_field": "msg"}, {"fields": "user_id"}],
)
def test_filter_rejects_bad_options_at_construction(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        ContextFilter(**kwargs)  # type: ignore[arg-type]


def test_filter_never_raises_and_always_keeps_the_record(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken() -> None:
        raise RuntimeError("tracer exploded")

    monkeypatch.setattr(_trace._opentelemetry, "active_span", broken)
    reset_report_once("context-filter-error")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with request_context("r1"):
        assert ContextFilter().filter(record) is True
    assert record.request_id == "r1"  # type: ignore[attr-defined]


def test_filter_with_a_name_only_stamps_that_logger_subtree_but_keeps_all() -> None:
    flt = ContextFilter("app")
    mine = logging.LogRecord("app.model", logging.INFO, __file__, 1, "m", None, None)
    other = logging.LogRecord("lib", logging.INFO, __file__, 1, "m", None, None)
    with request_context("r1"):
        assert flt.filter(mine) is True
        assert flt.filter(other) is True
    assert mine.request_id == "r1"  # type: ignore[attr-defined]
    assert not hasattr(other, "request_id")


def test_filter_stamps_on_the_calling_thread_before_a_listener_handles_it() -> None:
    records: queue.Queue[logging.LogRecord] = queue.Queue()
    queue_handler = logging.handlers.QueueHandler(records)
    queue_handler.addFilter(ContextFilter())
    sink = ListHandler()
    listener = logging.handlers.QueueListener(records, sink)
    logger = logging.getLogger(f"test_context.queue.{uuid.uuid4().hex}")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    logger.addHandler(queue_handler)

    def request(i: int) -> None:
        with request_context(f"req-{i}", worker=i):
            time.sleep(0.001 * (i % 3))
            logger.info("handling %d", i)

    listener.start()
    listener_ident = listener._thread.ident  # type: ignore[union-attr]
    try:
        threads = [threading.Thread(target=request, args=(i,)) for i in range(10)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        with request_context("main"):
            logger.info("from main")
    finally:
        listener.stop()
        logger.removeHandler(queue_handler)

    assert len(sink.records) == 11
    assert set(sink.handled_on) == {listener_ident}
    assert listener_ident != threading.get_ident()
    for record in sink.records:
        if record.getMessage() == "from main":
            assert record.request_id == "main"  # type: ignore[attr-defined]
        else:
            i = int(record.getMessage().split()[-1])
            assert (record.request_id, record.worker) == (f"req-{i}", i)  # type: ignore[attr-defined]


def test_filter_builds_from_dictconfig() -> None:
    name = f"test_context.dictconfig.{uuid.uuid4().hex}"
    logging.config.dictConfig(
        {
            "version": 1,
            "incremental": False,
            "disable_existing_loggers": False,
            "filters": {
                "context": {
                    "()": "inferlog.context.ContextFilter",
                    "fields": ["user_id"],
                    "request_id_field": "rid",
                }
            },
            "handlers": {"capture": {"()": f"{__name__}.ListHandler", "filters": ["context"]}},
            "loggers": {name: {"handlers": ["capture"], "level": "INFO", "propagate": False}},
        }
    )
    logger = logging.getLogger(name)
    (handler,) = logger.handlers
    assert isinstance(handler, ListHandler)
    with request_context("r9", user_id="u9", other="o"):
        logger.info("hi")
    (record,) = handler.records
    assert (record.rid, record.user_id) == ("r9", "u9")  # type: ignore[attr-defined]
    assert not hasattr(record, "other")


FIELD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),
    st.text(),
    st.binary(),
    st.lists(st.integers(), max_size=3),
    st.builds(object),
)


@settings(max_examples=200, deadline=None)
@given(
    fields=st.dictionaries(
        st.one_of(st.text(max_size=12), st.sampled_from(sorted(STANDARD_RECORD_ATTRS))),
        FIELD_VALUES,
        max_size=8,
    ),
    extra=st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), st.integers(), max_size=3),
)
def test_filter_stamps_any_bound_fields_without_raising_and_extras_win(
    fields: dict[str, Any], extra: dict[str, int]
) -> None:
    fields.pop("request_id", None)
    fields.pop("traceparent", None)
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    standard = dict(record.__dict__)
    record.__dict__.update({k: v for k, v in extra.items() if k not in standard})
    with request_context("r", **fields):
        assert ContextFilter().filter(record) is True
    for key, value in fields.items():
        if key in standard or key in STANDARD_RECORD_ATTRS:
            assert record.__dict__.get(key, standard.get(key)) == standard.get(key, None)
        elif key in extra:
            assert record.__dict__[key] == extra[key]
        else:
            assert record.__dict__[key] is value
    assert record.__dict__.get("request_id") == extra.get("request_id", "r")


# --------------------------------------------------------------------------- OpenTelemetry


def test_importing_and_using_inferlog_context_never_imports_opentelemetry() -> None:
    code = (
        "import logging, sys\n"
        "from inferlog.context import ContextFilter, request_context\n"
        "logger = logging.getLogger('x'); h = logging.NullHandler()\n"
        "h.addFilter(ContextFilter()); logger.addHandler(h)\n"
        "with request_context('r'): logger.warning('hi')\n"
        "assert not [m for m in sys.modules if m.startswith('opentelemetry')], sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=30)


def test_active_opentelemetry_span_supplies_trace_and_span_ids() -> None:
    trace = pytest.importorskip("opentelemetry.trace")
    span_context = trace.SpanContext(
        trace_id=0x0AF7651916CD43DD8448EB211C80319C,
        span_id=0xB7AD6B7169203331,
        is_remote=False,
        trace_flags=trace.TraceFlags(trace.TraceFlags.SAMPLED),
    )
    flt = ContextFilter()
    inside = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    after = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with request_context("r1", traceparent=TRACEPARENT):
        with trace.use_span(trace.NonRecordingSpan(span_context)):
            flt.filter(inside)
        flt.filter(after)
    assert (inside.trace_id, inside.span_id) == (  # type: ignore[attr-defined]
        "0af7651916cd43dd8448eb211c80319c",
        "b7ad6b7169203331",
    )
    # With no span active, the scope's incoming traceparent is used again.
    assert after.trace_id == "4bf92f3577b34da6a3ce929d0e0e4736"  # type: ignore[attr-defined]


def test_opentelemetry_can_be_turned_off() -> None:
    trace = pytest.importorskip("opentelemetry.trace")
    span_context = trace.SpanContext(
        trace_id=1, span_id=2, is_remote=False, trace_flags=trace.TraceFlags(1)
    )
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", None, None)
    with trace.use_span(trace.NonRecordingSpan(span_context)), request_context("r"):
        ContextFilter(opentelemetry=False).filter(record)
    assert not hasattr(record, "trace_id")


# --------------------------------------------------------------------------- no leaks


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    delays=st.lists(st.integers(min_value=0, max_value=3), min_size=2, max_size=12),
    binds=st.integers(min_value=1, max_value=4),
)
def test_context_never_leaks_between_concurrent_threads(
    captured: tuple[logging.Logger, ListHandler], delays: list[int], binds: int
) -> None:
    logger, handler = captured
    handler.records.clear()
    barrier = threading.Barrier(len(delays))
    observed: list[tuple[str, dict[str, object]]] = []
    lock = threading.Lock()

    def request(i: int, delay: int) -> None:
        rid = f"t{i}"
        with request_context(rid, owner=rid):
            barrier.wait()
            for step in range(binds):
                bind(step=step, owner=rid)
                time.sleep(delay / 2000)
                logger.info(rid)
                with lock:
                    observed.append((rid, current_context()))

    threads = [threading.Thread(target=request, args=(i, delay)) for i, delay in enumerate(delays)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(handler.records) == len(delays) * binds
    for record in handler.records:
        assert record.request_id == record.owner == record.getMessage()  # type: ignore[attr-defined]
    for rid, ctx in observed:
        assert ctx["request_id"] == ctx["owner"] == rid


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    delays=st.lists(st.integers(min_value=0, max_value=3), min_size=2, max_size=40),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_context_never_leaks_between_concurrent_asyncio_tasks(
    captured: tuple[logging.Logger, ListHandler], delays: list[int], seed: int
) -> None:
    logger, handler = captured
    handler.records.clear()
    rng = random.Random(seed)

    async def request(i: int, delay: int) -> list[str | None]:
        seen: list[str | None] = []
        async with request_context(f"a{i}", owner=f"a{i}"):
            for step in range(3):
                bind(step=step)
                if rng.random() < 0.5:
                    await asyncio.sleep(delay / 2000)
                else:
                    await asyncio.sleep(0)
                logger.info(f"a{i}")
                seen.append(current_request_id())
        seen.append(current_request_id())
        return seen

    async def main() -> list[list[str | None]]:
        return await asyncio.gather(*(request(i, d) for i, d in enumerate(delays)))

    results = asyncio.run(main())
    for i, seen in enumerate(results):
        assert seen == [f"a{i}"] * 3 + [None]
    assert len(handler.records) == len(delays) * 3
    for record in handler.records:
        assert record.request_id == record.owner == record.getMessage()  # type: ignore[attr-defined]


def test_request_scope_is_the_deprecated_name_of_request_context() -> None:
    import inferlog.context
    import inferlog.context.request

    for module in (inferlog.context, inferlog.context.request):
        with pytest.warns(DeprecationWarning, match="RequestContext"):
            old = module.RequestScope
        assert old is inferlog.context.RequestContext
    assert isinstance(request_context(), inferlog.context.RequestContext)
