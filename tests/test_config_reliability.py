"""configure()/shutdown() lose nothing, leak no PII and refuse bad options by name."""

from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import inferlog

EMAIL = "grace.hopper@example.com"
CARD = "4111 1111 1111 1111"


def _messages(path: Path) -> list[str]:
    return [r["message"] for r in inferlog.read_records(path)] if path.exists() else []


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="POSIX signals")
def test_sigterm_with_the_zero_argument_configure_loses_nothing(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import logging, os, signal, sys
        import inferlog
        inferlog.configure(console=False)
        log = logging.getLogger("batch")
        for i in range(20_000):
            log.info("record %d", i)
        print("logged", flush=True)
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert -signal.SIGTERM == done.returncode  # the process still ends by SIGTERM
    records = list(inferlog.read_records(tmp_path / "logs" / "inferlog.jsonl"))
    written = [r["message"] for r in records if r["logger"] == "batch"]
    dropped = sum(r.get("dropped_total", 0) for r in records if r["logger"] == "inferlog.dropped")
    # Every record is in the file, in order, or counted in a drop summary (the default
    # queue holds 10,000 and gives up the oldest under pressure).
    assert 20_000 == len(written) + dropped
    assert written == sorted(written, key=lambda m: int(m.split()[1]))
    assert len(written) >= 10_000


def test_handle_sigterm_false_leaves_signals_alone(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import signal, inferlog
        inferlog.configure(console=False, handle_sigterm=False)
        print(signal.getsignal(signal.SIGTERM) is signal.SIG_DFL)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert "True" == done.stdout.strip()


def test_after_shutdown_records_are_still_redacted_and_written(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "app.jsonl"
    inferlog.configure(filename=path, console="json")
    inferlog.shutdown(5)
    logging.getLogger("late").warning("contact %s card %s", EMAIL, CARD)
    logging.getLogger("late").info("info after shutdown")
    inferlog.shutdown(5)
    written = path.read_text()
    assert ["info after shutdown"] == _messages(path)[-1:]
    err = capfd.readouterr().err
    for secret in (EMAIL, CARD):
        assert secret not in written
        assert secret not in err


def test_a_basicconfig_handler_gets_redaction_and_is_named(
    tmp_path: Path, diagnostics: Any
) -> None:
    stream_path = tmp_path / "basic.log"
    stream = stream_path.open("w")
    plain = logging.StreamHandler(stream)
    logging.getLogger().addHandler(plain)
    try:
        pipeline = inferlog.configure(filename=tmp_path / "app.jsonl", console=False)
        logging.getLogger("svc").info("mail %s", EMAIL)
        inferlog.shutdown(5)
        stream.flush()
        assert EMAIL not in stream_path.read_text()
        assert any("already had" in m and "basic.log" in m for m in diagnostics.messages)
        pipeline.detach()
        assert plain.formatter is None  # put back as it was
    finally:
        logging.getLogger().removeHandler(plain)
        stream.close()


def test_loggers_given_as_one_name_is_that_logger(tmp_path: Path) -> None:
    pipeline = inferlog.configure(filename=tmp_path / "a.jsonl", console=False, loggers="app")
    assert ["app"] == pipeline.loggers
    inferlog.shutdown(5)
    pipeline.detach()


def test_a_sampling_rate_alone_is_accepted(tmp_path: Path) -> None:
    pipeline = inferlog.configure(filename=tmp_path / "a.jsonl", console=False, sampling=0.5)
    assert any(type(f).__name__ == "SamplingFilter" for f in pipeline.queue_handler.filters)
    inferlog.shutdown(5)
    pipeline.detach()


BAD_OPTIONS: list[tuple[str, Any]] = [
    ("filename", ""),
    ("filename", 42),
    ("console", "loud"),
    ("level", "LOUD"),
    ("loggers", 5),
    ("loggers", [1, 2]),
    ("schema", "xml"),
    ("static_fields", ["service"]),
    ("redaction", "yes"),
    ("sampling", "10%"),
    ("file_options", "big"),
    ("handlers", [object()]),
    ("handlers", "file"),
    ("queue_size", 0),
    ("overflow", "explode"),
    ("spill_path", 42),
    ("handle_sigterm", "yes"),
    ("existing_handlers", "burn"),
    ("shutdown_timeout", math.nan),
]


@pytest.mark.parametrize(("option", "value"), BAD_OPTIONS)
def test_a_bad_option_is_refused_naming_it_and_nothing_changes(
    tmp_path: Path, option: str, value: Any
) -> None:
    before = list(logging.getLogger().handlers)
    with pytest.raises((ValueError, TypeError), match=option):
        inferlog.configure(**{"filename": tmp_path / "x.jsonl", "console": False, option: value})
    assert before == logging.getLogger().handlers
    assert not (tmp_path / "x.jsonl").exists()


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=4), st.integers(), max_size=2),
)
_options = st.sampled_from(
    [
        "console",
        "level",
        "loggers",
        "schema",
        "static_fields",
        "redaction",
        "sampling",
        "file_options",
        "handlers",
        "queue_size",
        "overflow",
        "handle_sigterm",
        "existing_handlers",
        "shutdown_timeout",
    ]
)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(option=_options, value=_values)
def test_any_option_value_gives_a_working_pipeline_or_an_error_naming_it(
    tmp_path: Path, option: str, value: Any
) -> None:
    # A file of its own per example: an earlier example's listener may still be
    # writing the last of its lines when this one reads (with shutdown_timeout tiny).
    path = tmp_path / f"p{os.getpid()}-{uuid.uuid4().hex}.jsonl"
    kwargs: dict[str, Any] = {"filename": path, "console": False, "handle_sigterm": False}
    kwargs[option] = value
    try:
        pipeline = inferlog.configure(**kwargs)
    except (ValueError, TypeError) as err:
        message = str(err)
        assert option in message
        return
    try:
        logger = logging.getLogger(pipeline.loggers[0] or None) if pipeline.loggers else None
        if logger is not None:
            logger.error("probe")
        report = inferlog.shutdown(5)
        assert 0 == report.spilled
    finally:
        pipeline.detach()
        logging.getLogger().setLevel(logging.WARNING)
    if logger is not None and pipeline.loggers:
        lines = (
            [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
        )
        assert "probe" in [line.get("message") for line in lines] or not lines


def test_on_cloud_run_the_console_is_the_agents_json_on_stdout(tmp_path: Path) -> None:
    script = textwrap.dedent(
        """
        import json, logging, sys, inferlog
        pipeline = inferlog.configure(filename=None)
        logging.getLogger("svc").warning("hello from cloud run")
        inferlog.shutdown(5)
        print(type(pipeline.sinks[0]).__name__, file=sys.stderr)
        """
    )
    env = {**os.environ, "K_SERVICE": "api", "K_REVISION": "api-00001", "GOOGLE_CLOUD_PROJECT": "p"}
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "StructuredStdoutHandler" in done.stderr
    line = json.loads(done.stdout.splitlines()[0])
    assert ("WARNING", "hello from cloud run") == (line["severity"], line["message"])
