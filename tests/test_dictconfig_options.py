"""Every option of every dictConfig class: a working object, or an error naming the option.

For each class, hypothesis sets one option (then several) to arbitrary values, the
kind a YAML or JSON configuration file produces by mistake (``"100MB"``, ``"0640"``,
``nan``, a list for a string, ``null``). Building the object must either succeed and
give an object that does its job on a record without error, or raise ``ValueError``
or ``TypeError`` whose message names the option. Anything else (an ``AttributeError``
from deep inside, a bare comparison ``TypeError``, an object that fails on its first
record) is a bug.
"""

from __future__ import annotations

import asyncio
import io
import logging
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferlog.alerting import ErrorRateAlertHandler
from inferlog.audit import AuditHandler
from inferlog.context import ContextFilter
from inferlog.formatting.console import ConsoleFormatter
from inferlog.handlers.stdout import StructuredStdoutHandler
from inferlog.inference import inference
from inferlog.middleware import ASGIMiddleware, WSGIMiddleware
from inferlog.redaction import RedactionFilter, Redactor
from inferlog.sampling import ErrorBufferHandler, SamplingFilter
from tests.helpers import RecordCollector

#: Values a configuration file gives by mistake, and a few a program does.
HOSTILE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.sampled_from([0, -1, 1, 2**70]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", " ", "DEBUG", "LOUD", "0.5", "100MB", "0640", "nan", "-1", "yes"]),
    st.text(alphabet="abcxyz_-. 019", max_size=8),
    st.lists(st.one_of(st.text(alphabet="abc", max_size=3), st.integers(-2, 2)), max_size=3),
    st.dictionaries(
        st.text(alphabet="abc", max_size=3),
        st.one_of(st.integers(-2, 2), st.text(alphabet="abc", max_size=3), st.floats()),
        max_size=3,
    ),
    st.just(object()),
)
# Strings only where a string cannot reach the network or a random place on disk.
NO_URL = HOSTILE.filter(lambda value: not (isinstance(value, str) and ":" in value))


def _record(level: int = logging.INFO, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("app", level, __file__, 1, "hello %s", ("you",), None)
    record.__dict__.update(extra)
    return record


@dataclass
class Spec:
    """How to build one class from options and prove the result works."""

    build: Callable[..., Any]
    options: tuple[str, ...]
    use: Callable[[Any], None]
    values: dict[str, st.SearchStrategy[Any]] = field(default_factory=dict)
    fixed: dict[str, Any] = field(default_factory=dict)


def _use_filter(obj: logging.Filter) -> None:
    for level in (logging.INFO, logging.ERROR):
        obj.filter(_record(level, model_id="m", status="ok", email="a@b.example"))


def _use_formatter(obj: logging.Formatter) -> None:
    assert isinstance(obj.format(_record(extra_field={"a": 1})), str)


def _use_handler(obj: logging.Handler) -> None:
    failures: list[BaseException | None] = []
    obj.handleError = lambda record: failures.append(sys.exc_info()[1])  # type: ignore[method-assign]
    try:
        for level in (logging.INFO, logging.ERROR):
            obj.handle(_record(level, model_id="m", model_version="1", status="ok"))
        obj.flush()
    finally:
        obj.close()
    assert [] == failures


def _use_wsgi(obj: WSGIMiddleware) -> None:
    assert isinstance(obj.logger, logging.Logger)
    result = obj({"REQUEST_METHOD": "GET", "PATH_INFO": "/"}, lambda *args: lambda data: None)
    assert [b"ok"] == list(result)
    result.close()  # type: ignore[attr-defined]


def _wsgi_app(environ: Any, start_response: Any) -> list[bytes]:
    start_response("200 OK", [])
    return [b"ok"]


async def _asgi_app(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


def _use_asgi(obj: ASGIMiddleware) -> None:
    assert isinstance(obj.logger, logging.Logger)
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(obj({"type": "http", "method": "GET", "path": "/", "headers": []}, receive, send))
    assert 2 == len(sent)


_LEVELS = ("level", "error_level")
_MIDDLEWARE_OPTIONS = ("logger", "level", "error_level", "request_id_header", "trust_incoming_id")

SPECS: dict[str, Spec] = {
    "ContextFilter": Spec(
        ContextFilter, ("name", "fields", "request_id_field", "trace", "opentelemetry"), _use_filter
    ),
    "SamplingFilter": Spec(
        SamplingFilter,
        (
            "rate",
            "logger_rates",
            "model_rates",
            "max_per_second",
            "burst",
            "force",
            "keep_level",
            "clock",
            "request_id_field",
        ),
        _use_filter,
    ),
    "RedactionFilter": Spec(
        RedactionFilter,
        (
            "name",
            "detectors",
            "modes",
            "default_mode",
            "patterns",
            "secret_keys",
            "safe_keys",
            "hash_key",
            "hash_key_env",
            "redactor",
        ),
        _use_filter,
    ),
    "Redactor": Spec(
        Redactor,
        (
            "detectors",
            "modes",
            "default_mode",
            "patterns",
            "custom_detectors",
            "secret_keys",
            "safe_keys",
            "hash_key",
            "hash_key_env",
        ),
        lambda obj: obj.redact_value({"a": "mail a@b.example", "b": ["x"]}),
    ),
    "ErrorBufferHandler": Spec(
        ErrorBufferHandler,
        ("capacity", "target", "max_bytes", "max_requests", "sampling"),
        _use_handler,
        fixed={"target": RecordCollector()},
    ),
    "ASGIMiddleware": Spec(
        lambda **options: ASGIMiddleware(_asgi_app, **options), _MIDDLEWARE_OPTIONS, _use_asgi
    ),
    "WSGIMiddleware": Spec(
        lambda **options: WSGIMiddleware(_wsgi_app, **options), _MIDDLEWARE_OPTIONS, _use_wsgi
    ),
    "ConsoleFormatter": Spec(
        ConsoleFormatter,
        ("colour", "logger_width", "show_extras", "max_value_chars"),
        _use_formatter,
    ),
    "StructuredStdoutHandler": Spec(
        StructuredStdoutHandler,
        ("level", "stream", "project", "labels", "source_location"),
        _use_handler,
        fixed={"stream": io.StringIO()},
    ),
    "ErrorRateAlertHandler": Spec(
        ErrorRateAlertHandler,
        (
            "rules",
            "keys",
            "max_keys",
            "callbacks",
            "alert_logger",
            "alert_level",
            "resolved_level",
            "webhook_url",
            "webhook_timeout",
            "webhook_retries",
            "webhook_backoff",
            "webhook_headers",
            "notifiers",
            "evaluate_interval",
            "tick_interval",
            "clock",
            "level",
        ),
        _use_handler,
        values={"webhook_url": NO_URL},
    ),
    "AuditHandler": Spec(
        AuditHandler,
        (
            "path",
            "store_raw_payloads",
            "redaction",
            "hmac_key",
            "hmac_key_env",
            "synchronous",
            "busy_timeout",
            "retention_max_age",
            "retention_max_rows",
            "retention_interval",
            "spool_path",
            "level",
        ),
        _use_handler,
        values={"path": NO_URL, "spool_path": NO_URL},
    ),
}


@contextmanager
def _inside(directory: Path) -> Iterator[None]:
    """Run in ``directory``, so relative paths an option names land there."""
    before = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(before)


def _names_an_option(err: BaseException, options: dict[str, Any]) -> bool:
    text = str(err)
    return any(name in text for name in options)


def _check(spec: Spec, options: dict[str, Any], directory: Path) -> None:
    kwargs = {**spec.fixed, **options}
    # A directory of its own: a database or spill file one example left must not
    # decide the next one.
    with _inside(Path(tempfile.mkdtemp(dir=directory))):
        try:
            obj = spec.build(**kwargs)
        except (ValueError, TypeError) as err:
            refused: BaseException | None = err
        else:
            refused = None
            spec.use(obj)
    if refused is not None:
        assert _names_an_option(refused, options), f"{type(refused).__name__}: {refused}"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("options")


@pytest.fixture(autouse=True)
def _quiet_internal_logger() -> Iterator[None]:
    internal = logging.getLogger("inferlog.internal")
    old = internal.disabled
    internal.disabled = True
    yield
    internal.disabled = old


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_one_option_at_a_time(name: str, data: st.DataObject, workdir: Path) -> None:
    spec = SPECS[name]
    option = data.draw(st.sampled_from(spec.options), label="option")
    value = data.draw(spec.values.get(option, HOSTILE), label="value")
    _check(spec, {option: value}, workdir)


@pytest.mark.parametrize("name", sorted(SPECS))
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.data())
def test_several_options_at_once(name: str, data: st.DataObject, workdir: Path) -> None:
    spec = SPECS[name]
    chosen = data.draw(st.sets(st.sampled_from(spec.options), min_size=2, max_size=4))
    options = {option: data.draw(spec.values.get(option, HOSTILE)) for option in sorted(chosen)}
    _check(spec, options, workdir)


def test_a_nan_rate_names_the_option() -> None:
    with pytest.raises(ValueError, match="rate"):
        SamplingFilter(rate=math.nan)


_INFERENCE_OPTIONS = (
    "logger",
    "level",
    "error_level",
    "message",
    "capture_args",
    "capture_result",
    "max_payload_chars",
    "token_counter",
    "intent_classifier",
)


@settings(max_examples=150, deadline=None)
@given(data=st.data())
def test_inference_options_are_refused_by_name_and_values_never_raise(
    data: st.DataObject,
) -> None:
    option = data.draw(st.sampled_from(_INFERENCE_OPTIONS), label="option")
    value = data.draw(HOSTILE, label="value")
    try:
        block = inference("m", **{option: value})
    except (ValueError, TypeError) as err:
        refused: BaseException | None = err
    else:
        refused = None
        assert isinstance(block.logger, logging.Logger)
        with block as call:
            call.tokens(input=1)
    if refused is not None:
        assert option in str(refused), f"{type(refused).__name__}: {refused}"
