"""Tests for inferlog.sampling.SampledLogger: sampling decided before the record exists."""

from __future__ import annotations

import logging
import logging.config
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import inferlog
from inferlog import ContextFilter, SampledLogger, SamplingFilter, request_context
from inferlog.sampling import ErrorBufferHandler, buffered_request, force_sampling
from inferlog.sampling.request_block import _in_use
from tests.helpers import RecordCollector

_LEVELS = st.sampled_from([logging.DEBUG, logging.INFO, logging.WARNING, logging.ERROR])
# Records without a request id are decided at random (by the filter, both ways).
_IDS = st.sampled_from(["req-a", "req-b", "req-c", "req-d", "req-e", "req-f"])
# One call: level, request id in extra or in the context, status, model.
_CALLS = st.lists(
    st.tuples(
        _LEVELS,
        _IDS,
        st.booleans(),
        st.sampled_from([None, "ok", "error"]),
        st.sampled_from([None, "fraud", "chat"]),
    ),
    max_size=25,
)


@pytest.fixture(autouse=True)
def _fresh_process_flags() -> Iterator[None]:
    # What the process has used (an ErrorBufferHandler, force_sampling) is sticky and
    # process-wide; other tests in this worker may have set it. Each test here starts
    # as a fresh process would (the subprocess test checks the sticky behaviour).
    saved = (_in_use.error_buffers, _in_use.forced)
    _in_use.error_buffers = _in_use.forced = False
    yield
    _in_use.error_buffers, _in_use.forced = saved


def _pipeline(name: str, **options: Any) -> tuple[logging.Logger, RecordCollector, SamplingFilter]:
    logger = logging.getLogger(name)
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    sampling = SamplingFilter(**options)
    collector = RecordCollector()
    collector.addFilter(ContextFilter())
    collector.addFilter(sampling)
    logger.addHandler(collector)
    return logger, collector, sampling


def _play(log: logging.Logger | SampledLogger, calls: list[tuple[Any, ...]]) -> None:
    for number, (level, request_id, in_context, status, model) in enumerate(calls):
        extra: dict[str, Any] = {"n": number}
        if status is not None:
            extra["status"] = status
        if model is not None:
            extra["model_id"] = model
        if in_context and request_id is not None:
            with request_context(request_id=request_id):
                log.log(level, "call %d", number, extra=extra)
        else:
            if request_id is not None:
                extra["request_id"] = request_id
            log.log(level, "call %d", number, extra=extra)


def _kept(collector: RecordCollector) -> list[tuple[int, float]]:
    return [(r.n, r.sample_rate) for r in collector.records]  # type: ignore[attr-defined]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    calls=_CALLS,
    rate=st.sampled_from([0.0, 0.3, 0.5, 1.0]),
    model_rate=st.sampled_from([None, 0.0, 0.7]),
    logger_level=st.sampled_from([logging.DEBUG, logging.INFO]),
)
def test_the_adapter_keeps_exactly_what_the_filter_keeps(
    calls: list[tuple[Any, ...]], rate: float, model_rate: float | None, logger_level: int
) -> None:
    # The same calls through the plain logger and through the adapter, each with a
    # fresh filter: the records that reach the handler are the same, with the same
    # sample_rate; the adapter only skips building the ones the filter drops.
    options: dict[str, Any] = {"rate": rate}
    if model_rate is not None:
        options["model_rates"] = {"fraud": model_rate}
    plain_logger, plain, _ = _pipeline("early.plain", **options)
    early_logger, early, sampling = _pipeline("early.adapter", **options)
    plain_logger.setLevel(logger_level)
    early_logger.setLevel(logger_level)
    _play(plain_logger, calls)
    _play(SampledLogger(early_logger, sampling), calls)
    assert _kept(plain) == _kept(early)


def test_a_dropped_call_builds_no_record_and_a_kept_one_names_its_caller() -> None:
    logger, collector, sampling = _pipeline("early.caller", rate=0.0)
    built: list[logging.LogRecord] = []
    factory = logging.getLogRecordFactory()

    def counting(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        built.append(record)
        return record

    log = SampledLogger(logger, sampling)
    logging.setLogRecordFactory(counting)
    try:
        with request_context(request_id="req-1"):
            log.info("dropped")
            log.debug("dropped too")
            assert [] == built
            log.warning("kept")
            line = sys._getframe().f_lineno - 1
    finally:
        logging.setLogRecordFactory(factory)
    assert ["kept"] == [r.getMessage() for r in collector.records]
    record = collector.records[0]
    assert (__file__, line) == (record.pathname, record.lineno)
    assert "test_a_dropped_call_builds_no_record_and_a_kept_one_names_its_caller" == (
        record.funcName
    )


_METHODS = ["info", "debug", "log", "warning", "warn", "error", "exception", "critical"]


@pytest.mark.parametrize("method", _METHODS)
@pytest.mark.parametrize("logger_class", ["stdlib", "structlog"])
def test_every_method_reports_the_callers_line(method: str, logger_class: str) -> None:
    # structlog's LoggerFactory installs a logger class whose findCaller counts frames
    # its own way: the caller must come out right with either.
    name = f"early.lines.{logger_class}.{method}"
    if logger_class == "structlog":
        structlog = pytest.importorskip("structlog")
        structlog.stdlib.LoggerFactory()  # sets the logger class for new loggers
        try:
            logging.getLogger(name)
        finally:
            logging.setLoggerClass(logging.Logger)
        assert type(logging.getLogger(name)) is not logging.Logger
    logger, collector, sampling = _pipeline(name, rate=1.0)
    log = SampledLogger(logger, sampling)
    arguments = (logging.INFO, "m") if method == "log" else ("m",)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # warn() is deprecated
        getattr(log, method)(*arguments)
        line = sys._getframe().f_lineno - 1
    assert [(__file__, line)] == [(r.pathname, r.lineno) for r in collector.records]


def test_what_it_cannot_decide_exactly_it_leaves_to_the_filter() -> None:
    logger, collector, sampling = _pipeline("early.defer", rate=0.0)
    log = SampledLogger(logger, sampling)
    with force_sampling(), request_context(request_id="req-1"):
        assert not log.skips(logging.INFO)
    assert not log.skips(logging.INFO)  # no request id: decided at random, by the filter
    assert not log.skips(logging.INFO, {"request_id": "r", "status": "error"})
    limited_logger, _, limited = _pipeline("early.limited", rate=0.0, max_per_second=10)
    assert not SampledLogger(limited_logger, limited).skips(logging.INFO, {"request_id": "r"})
    assert log.skips(logging.INFO, {"request_id": "r"})
    # An ErrorBufferHandler may hold any record sampling drops, in a block or by
    # request id: from then on nothing is skipped early.
    ErrorBufferHandler().close()
    assert not log.skips(logging.INFO, {"request_id": "r"})
    with buffered_request(), request_context(request_id="req-1"):
        assert not log.skips(logging.INFO)
    logger.setLevel(logging.WARNING)
    assert log.skips(logging.INFO)  # the logger's own level still applies
    assert [] == collector.records


def _plain_and_adapter(
    name: str,
    make: Callable[[], tuple[logging.Handler, SamplingFilter, RecordCollector]],
    play: Callable[[Any], None],
) -> tuple[list[str], list[str]]:
    """The messages that reach ``make``'s collector when ``play`` logs through the plain
    logger, and through the adapter, each with a handler of its own."""
    kept = []
    for adapter in (False, True):
        handler, sampling, collector = make()
        logger = logging.getLogger(f"{name}.{'adapter' if adapter else 'plain'}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.handlers = [handler]
        play(SampledLogger(logger, sampling) if adapter else logger)
        handler.close()
        kept.append([r.getMessage() for r in collector.records])
    return kept[0], kept[1]


def _stamping(fields: list[str], **options: Any) -> Callable[[], Any]:
    """A collector behind ContextFilter(fields=fields) and SamplingFilter(**options)."""

    def make() -> tuple[logging.Handler, SamplingFilter, RecordCollector]:
        collector = RecordCollector()
        collector.addFilter(ContextFilter(fields=fields))
        sampling = SamplingFilter(**options)
        collector.addFilter(sampling)
        return collector, sampling, collector

    return make


def test_records_an_error_buffer_holds_by_request_id_are_not_skipped() -> None:
    # Without a buffered_request block the handler groups dropped records by request
    # id and releases them when the request fails: the adapter must not skip them.
    def make() -> tuple[logging.Handler, SamplingFilter, RecordCollector]:
        collector = RecordCollector()
        buffer = ErrorBufferHandler(target=collector, sampling={"rate": 0.0})
        buffer.addFilter(ContextFilter())
        return buffer, buffer.sampler, collector

    def play(log: Any) -> None:
        with request_context(request_id="req-1"):
            log.info("step 1")
            log.error("boom")

    expected = ["step 1", "boom"]
    assert (expected, expected) == _plain_and_adapter("early.buffer", make, play)


def _score(log: Any) -> None:
    with request_context(request_id="req-1", model_id="fraud", model_version="v2"):
        log.info("scored")


def test_model_rates_follow_what_the_context_filter_stamps() -> None:
    # A ContextFilter with fields= leaves the context's model_id off the record, so
    # the filter applies the default rate; the adapter must not apply the model's.
    make = _stamping(["user_id"], rate=1.0, model_rates={"fraud": 0.0})
    assert (["scored"], ["scored"]) == _plain_and_adapter("early.fields", make, _score)


def test_a_model_id_stamped_without_its_version_takes_the_models_rate() -> None:
    # fields=["model_id"] stamps the model but not its version, so the filter applies
    # model_rates["fraud"], not model_rates["fraud@v2"]: the adapter must not skip.
    make = _stamping(["model_id"], rate=0.0, model_rates={"fraud": 1.0, "fraud@v2": 0.0})
    assert (["scored"], ["scored"]) == _plain_and_adapter("early.model-only", make, _score)


def test_filter_rules_replaced_by_a_subclass_or_on_the_instance_are_left_to_it() -> None:
    class KeepAllByFilter(SamplingFilter):
        def filter(self, record: logging.LogRecord) -> bool | logging.LogRecord:  # type: ignore[override]
            return True

    logger, _, _ = _pipeline("early.own-filter")
    call = {"request_id": "r"}
    assert not SampledLogger(logger, KeepAllByFilter(rate=0.0)).skips(logging.INFO, call)
    patched = SamplingFilter(rate=0.0)
    assert SampledLogger(logger, patched).skips(logging.INFO, call)
    patched.decide = lambda record: 1.0  # type: ignore[method-assign]
    assert not SampledLogger(logger, patched).skips(logging.INFO, call)


def test_a_filter_with_its_own_rate_for_is_left_to_decide_and_nothing_raises() -> None:
    class ByLevel(SamplingFilter):
        def rate_for(self, record: logging.LogRecord) -> float:
            return 0.0 if record.levelno <= logging.DEBUG else super().rate_for(record)

    logger, collector, _ = _pipeline("early.rate-for")
    sampling = ByLevel(rate=1.0, logger_rates={"other": 1.0})
    collector.filters = [sampling]
    log = SampledLogger(logger, sampling)
    log.info("kept", extra={"request_id": "q"})
    log.debug("dropped by the filter", extra={"request_id": "q"})
    assert ["kept"] == [r.getMessage() for r in collector.records]


def test_options_changed_after_the_adapter_exists_are_followed() -> None:
    # The adapter reads one precomputed threshold; setting force, keep_level or a rate
    # limiter on the filter afterwards must move it, or the adapter would drop what the
    # filter now keeps.
    logger, collector, sampling = _pipeline("early.changed", rate=0.0)
    log = SampledLogger(logger, sampling)
    call = {"request_id": "r"}
    assert log.skips(logging.INFO, call)
    sampling.force = True
    assert not log.skips(logging.INFO, call)
    sampling.force = False
    assert log.skips(logging.INFO, call)
    sampling.keep_level = logging.INFO
    assert not log.skips(logging.INFO, call)
    assert log.skips(logging.DEBUG, call)
    sampling.keep_level = logging.CRITICAL
    assert log.skips(logging.WARNING, call)
    assert not log.skips(logging.ERROR, call)  # failures are always kept
    # Assigned at run time, a level is checked as the constructor checks it.
    sampling.keep_level = "WARNING"
    assert (logging.WARNING, False) == (sampling.keep_level, log.skips(logging.WARNING, call))
    with pytest.raises(ValueError, match="keep_level"):
        sampling.keep_level = "LOUD"
    with pytest.raises(TypeError, match="force"):
        sampling.force = "yes please"
    with pytest.raises(ValueError, match="rate"):
        sampling.rate = 2
    assert (logging.WARNING, False, 0.0) == (sampling.keep_level, sampling.force, sampling.rate)
    log.info("kept after all", extra={"request_id": "r", "status": "error"})
    assert ["kept after all"] == [r.getMessage() for r in collector.records]


def test_a_filter_with_its_own_decide_is_never_second_guessed() -> None:
    class KeepAll(SamplingFilter):
        def decide(self, record: logging.LogRecord) -> float | None:
            return 1.0

    logger = logging.getLogger("early.own-decide")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    collector = RecordCollector()
    sampling = KeepAll(rate=0.0)
    collector.addFilter(sampling)
    logger.addHandler(collector)
    log = SampledLogger(logger, sampling)
    assert not log.skips(logging.INFO, {"request_id": "r"})
    log.info("kept", extra={"request_id": "r"})
    assert ["kept"] == [r.getMessage() for r in collector.records]


def test_without_an_error_buffer_the_blocks_the_middleware_opens_change_nothing() -> None:
    # A fresh process: before any ErrorBufferHandler exists a buffered_request block
    # (the web middleware opens one per request) holds nothing, so the adapter skips
    # inside it; once one exists, every call is left to the filter.
    code = textwrap.dedent(
        """
        import logging
        from inferlog import SampledLogger, SamplingFilter
        from inferlog.sampling import ErrorBufferHandler, buffered_request

        logger = logging.getLogger("fresh")
        logger.setLevel(logging.DEBUG)
        log = SampledLogger(logger, SamplingFilter(rate=0.0))
        plain, marked = {"request_id": "r"}, {"request_id": "r", "sample_buffered": True}
        with buffered_request():
            before = (log.skips(logging.INFO, plain), log.skips(logging.INFO, marked))
        ErrorBufferHandler().close()
        with buffered_request():
            inside = log.skips(logging.INFO, plain)
        print(before, inside, log.skips(logging.INFO, marked), log.skips(logging.INFO, plain))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert 0 == done.returncode, done.stderr
    assert "(True, True) False False False" == done.stdout.strip()


def test_the_adapters_extra_goes_under_each_calls_own() -> None:
    _logger, collector, sampling = _pipeline("early.extra", rate=1.0)
    log = SampledLogger("early.extra", sampling, extra={"model_id": "fraud", "team": "risk"})
    log.info("m", extra={"model_id": "chat", "request_id": "r"})
    record = collector.records[0]
    assert ("chat", "risk") == (record.model_id, record.team)  # type: ignore[attr-defined]


def test_bad_arguments_are_named() -> None:
    sampling = SamplingFilter()
    with pytest.raises(TypeError, match="sampling must be a SamplingFilter"):
        SampledLogger("x", sampling=object())  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="logger must be"):
        SampledLogger(42, sampling)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="extra must be a mapping"):
        SampledLogger("x", sampling, extra=[1])  # type: ignore[arg-type]


def test_configure_hands_out_its_sampling_filter(tmp_path: Any) -> None:
    pipeline = inferlog.configure(filename=str(tmp_path / "app.jsonl"), sampling=0.0, console=False)
    try:
        assert pipeline.sampling is not None
        log = SampledLogger("early.configured", pipeline.sampling)
        with request_context(request_id="req-1"):
            assert log.skips(logging.INFO)
            assert not log.skips(logging.ERROR)
    finally:
        inferlog.shutdown()


def test_from_logger_finds_the_queues_filter_in_a_dictconfig_pipeline(tmp_path: Any) -> None:
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "context": {"()": "inferlog.ContextFilter"},
                "sampling": {"()": "inferlog.SamplingFilter", "rate": 0.0},
            },
            "handlers": {
                "file": {
                    "()": "inferlog.handlers.RotatingJsonFileHandler",
                    "filename": str(tmp_path / "app.jsonl"),
                },
                "queue": {
                    "()": "inferlog.QueueHandler",
                    "handlers": ["file"],
                    "filters": ["context", "sampling"],
                },
                "alerts": {"class": "logging.NullHandler", "level": "WARNING"},
            },
            "loggers": {
                "early.dict": {"level": "INFO", "handlers": ["queue", "alerts"], "propagate": False}
            },
        }
    )
    queue = logging.getLogger("early.dict").handlers[0]
    try:
        log = SampledLogger.from_logger("early.dict")
        assert queue.filters[1] is log.sampling
        with request_context(request_id="req-1"):
            assert log.skips(logging.INFO)
            assert not log.skips(logging.WARNING)
    finally:
        queue.close()


def test_from_logger_refuses_a_handler_that_would_lose_skipped_records() -> None:
    logger, _, sampling = _pipeline("early.refuse", rate=0.5)
    bare = logging.NullHandler()
    logger.addHandler(bare)
    with pytest.raises(ValueError, match=r"NullHandler.*would lose the records"):
        SampledLogger.from_logger(logger)
    bare.setLevel(logging.WARNING)  # it never sees what the adapter skips
    assert SampledLogger.from_logger(logger).sampling is sampling
    other = logging.NullHandler()
    other.addFilter(SamplingFilter(rate=0.5))
    logger.addHandler(other)
    with pytest.raises(ValueError, match="carry 2 SamplingFilters"):
        SampledLogger.from_logger(logger)


def test_from_logger_takes_the_loggers_own_filter_and_refuses_none() -> None:
    logger = logging.getLogger("early.own")
    logger.addHandler(logging.NullHandler())
    with pytest.raises(ValueError, match="carry 0 SamplingFilters"):
        SampledLogger.from_logger(logger)
    own = SamplingFilter(rate=0.5)
    logger.addFilter(own)
    assert SampledLogger.from_logger("early.own").sampling is own
