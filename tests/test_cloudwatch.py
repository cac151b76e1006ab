"""CloudWatchHandler against moto's server, through a fault-injecting proxy where it matters.

The real boto3 client talks HTTP to moto on 127.0.0.1; what arrives is read back
with GetLogEvents. The proxy checks every PutLogEvents request against CloudWatch's
rules (moto does not), so ``proxy.violations`` would show any request that broke one.
"""

from __future__ import annotations

import json
import logging
import logging.config
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import inferlog
from inferlog.handlers.cloudwatch import CloudWatchHandler, flush_per_invocation
from inferlog.pipeline import Spool, resend
from tests._fault_proxy import FaultProxy
from tests._moto_server import DUMMY_CREDENTIALS, logs_client, read_events, streams, unique_group
from tests.contract_batch_sink import BatchSinkContract, SinkHarness
from tests.helpers import RecordCollector, isolated_logger, wait_for_child

MakeHandler = Callable[..., CloudWatchHandler]
ROOT = Path(__file__).resolve().parent.parent
FAST = {
    "retry_initial": 0.001,
    "retry_maximum": 0.01,
    "batch_interval": 0.01,
    "health_interval": 0,
    "region_name": "us-east-1",
}


@pytest.fixture
def make_handler(moto_url: str, tmp_path: Path) -> Iterator[MakeHandler]:
    """Build handlers on a fresh log group, spooling under ``tmp_path``; closed after."""
    made: list[CloudWatchHandler] = []

    def make(**options: Any) -> CloudWatchHandler:
        for key, value in FAST.items():
            options.setdefault(key, value)
        options.setdefault("endpoint_url", moto_url)
        options.setdefault("log_group", unique_group())
        options.setdefault("log_stream", "test-{pid}")
        options.setdefault("spool", f"{tmp_path}{os.sep}")
        name = options.pop("name", "cw")
        handler = CloudWatchHandler(**options)
        handler.set_name(name)
        made.append(handler)
        return handler

    yield make
    for handler in made:
        handler.close()


def attach(handler: logging.Handler) -> logging.Logger:
    return isolated_logger(handler, "cw.test")


def arrived(moto_url: str, group: str) -> dict[str, list[dict[str, Any]]]:
    """The JSON records of every stream of ``group``, in stream order."""
    client = logs_client(moto_url)
    return {
        stream: [json.loads(e["message"]) for e in read_events(client, group, stream)]
        for stream in streams(client, group)
    }


def messages(moto_url: str, group: str) -> list[str]:
    return [r["message"] for records in arrived(moto_url, group).values() for r in records]


def spooled(tmp_path: Path) -> list[dict[str, Any]]:
    return list(Spool(f"{tmp_path}{os.sep}").records())


# ------------------------------------------------------------------ construction


def test_construction_makes_no_call_and_starts_no_thread(
    make_handler: MakeHandler, moto_url: str
) -> None:
    with FaultProxy(moto_url) as proxy:
        handler = make_handler(endpoint_url=proxy.url)
        assert [] == proxy.log
        assert not handler.started
        attach(handler).info("first")
        assert handler.force_flush(10)
        operations = [op for op, _ in proxy.log]
        assert ["CreateLogGroup", "CreateLogStream", "PutLogEvents"] == operations


def test_importing_the_handlers_package_does_not_import_boto3() -> None:
    code = "import sys, inferlog.handlers; print('boto3' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "False" == out.stdout.strip()


def test_dict_config_builds_the_handler(moto_url: str, tmp_path: Path) -> None:
    group = unique_group()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "handlers": {
                "cloudwatch": {
                    "class": "inferlog.handlers.CloudWatchHandler",
                    "level": "INFO",
                    "log_group": group,
                    "log_stream": "app/{logger}",
                    "endpoint_url": moto_url,
                    "region_name": "us-east-1",
                    "retention_days": 7,
                    "batch_interval": 0.01,
                    "spool": str(tmp_path),
                }
            },
            "loggers": {
                "cw.dictconfig": {"handlers": ["cloudwatch"], "level": "INFO", "propagate": False}
            },
        }
    )
    logger = logging.getLogger("cw.dictconfig")
    logger.info("configured")
    handler = logger.handlers[0]
    assert isinstance(handler, CloudWatchHandler)
    assert handler.force_flush(10)
    handler.close()
    assert {"app/cw.dictconfig": ["configured"]} == {
        s: [r["message"] for r in rs] for s, rs in arrived(moto_url, group).items()
    }
    described = logs_client(moto_url).describe_log_groups(logGroupNamePrefix=group)
    assert 7 == described["logGroups"][0]["retentionInDays"]


def test_configure_takes_the_handler(moto_url: str, tmp_path: Path) -> None:
    group = unique_group()
    handler = CloudWatchHandler(
        log_group=group, endpoint_url=moto_url, log_stream="configured", **FAST
    )
    # No console or file sink: only the CloudWatch one, nothing left on pytest's stderr.
    inferlog.configure(filename=None, console=False, handlers=[handler])
    try:
        logging.getLogger("cw.configure").warning("through configure")
        inferlog.shutdown(timeout=10)
    finally:
        handler.close()
    assert "through configure" in messages(moto_url, group)


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ({"log_group": "bad name!"}, "log_group"),
        ({"log_group": ""}, "log_group"),
        ({"log_stream": "{a.b}"}, "log_stream"),
        ({"retention_days": 2}, "retention_days"),
        ({"retention_days": True}, "retention_days"),
        ({"oversize": "drop"}, "oversize"),
        ({"max_batch_count": 10_001}, "max_batch_count"),
        ({"max_batch_bytes": 1_048_577}, "max_batch_bytes"),
        ({"emf_dimensions": [f"d{i}" for i in range(29)]}, "emf_dimensions"),
        ({"emf_namespace": "AWS/Lambda"}, "emf_namespace"),
        ({"boto3_client": object(), "client_factory": object}, "boto3_client"),
        ({"read_timeout": 0}, "read_timeout"),
    ],
)
def test_bad_options_raise_a_value_error_naming_the_option(
    options: dict[str, Any], named: str
) -> None:
    options.setdefault("log_group", "/ok")
    with pytest.raises(ValueError, match=named):
        CloudWatchHandler(**options)


def test_a_refused_construction_leaves_nothing_for_logging_shutdown() -> None:
    code = textwrap.dedent(
        """
        from inferlog.handlers import CloudWatchHandler
        for bad in ({"retention_days": 2}, {"buffer_size": 0}, {"retry_initial": -1}):
            try:
                CloudWatchHandler(log_group="/ok", **bad)
            except ValueError:
                pass
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (0, "") == (done.returncode, done.stderr)


# ------------------------------------------------------------------ groups and streams


def test_one_sender_thread_serves_every_stream(make_handler: MakeHandler, moto_url: str) -> None:
    handler = make_handler(log_stream="{model_id}/{level}", name="one-sender")
    logger = attach(handler)
    for model in ("fraud", "chat", "vision"):
        logger.info("call", extra={"model_id": model})
    logger.error("no model")
    assert handler.force_flush(10)
    senders = [t for t in threading.enumerate() if t.name == "inferlog-sender-one-sender"]
    assert 1 == len(senders)
    assert ["-/ERROR", "chat/INFO", "fraud/INFO", "vision/INFO"] == sorted(
        arrived(moto_url, handler.log_group)
    )


def test_a_deleted_stream_and_group_are_created_again(
    make_handler: MakeHandler, moto_url: str
) -> None:
    handler = make_handler(log_stream="again")
    logger = attach(handler)
    client = logs_client(moto_url)
    logger.info("one")
    assert handler.force_flush(10)
    client.delete_log_stream(logGroupName=handler.log_group, logStreamName="again")
    logger.info("two")
    assert handler.force_flush(10)
    client.delete_log_group(logGroupName=handler.log_group)
    logger.info("three")
    assert handler.force_flush(10)
    assert ["three"] == messages(moto_url, handler.log_group)
    assert 3 == handler.health()["sent"]


def test_a_missing_group_without_create_group_is_spooled_with_the_reason(
    make_handler: MakeHandler, tmp_path: Path
) -> None:
    handler = make_handler(create_group=False, create_stream=False)
    attach(handler).info("nowhere")
    assert handler.force_flush(10)
    [item] = spooled(tmp_path)
    assert "nowhere" == item["message"]
    assert "ResourceNotFoundException" in item["spool"]["reason"]
    assert 1 == handler.health()["rejected"]


# ------------------------------------------------------------------ limits, end to end


def test_an_oversized_message_is_split_and_delivery_goes_on(
    make_handler: MakeHandler, moto_url: str
) -> None:
    with FaultProxy(moto_url) as proxy:
        handler = make_handler(endpoint_url=proxy.url)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = attach(handler)
        logger.info("é" * 700_000)  # 1.4 MB of UTF-8
        logger.info("after")
        assert handler.force_flush(30)
    events = read_events(logs_client(moto_url), handler.log_group, f"test-{os.getpid()}")
    texts = [e["message"] for e in events]
    assert 3 == len(texts)
    assert texts[0].endswith(handler.oversize_marker)
    assert "é" * 700_000 == texts[0].removesuffix(handler.oversize_marker) + texts[1]
    assert "after" == texts[2]
    assert [] == proxy.violations


def test_truncate_keeps_one_event_with_the_marker(make_handler: MakeHandler, moto_url: str) -> None:
    handler = make_handler(oversize="truncate", oversize_marker="<cut>")
    handler.setFormatter(logging.Formatter("%(message)s"))
    attach(handler).info("😀" * 300_000)  # 1.2 MB
    assert handler.force_flush(30)
    [event] = read_events(logs_client(moto_url), handler.log_group, f"test-{os.getpid()}")
    assert event["message"].endswith("<cut>")
    assert len(event["message"].encode()) <= 1_048_550


def test_count_and_byte_limits_hold_for_every_request(
    make_handler: MakeHandler, moto_url: str
) -> None:
    with FaultProxy(moto_url) as proxy:
        handler = make_handler(endpoint_url=proxy.url, batch_interval=60, buffer_size=20_000)
        handler.setFormatter(logging.Formatter("%(message)s"))
        logger = attach(handler)
        for i in range(10_001):
            logger.info("%d", i)
        for _ in range(300):
            logger.info("😀" * 1_250)  # 5,000 bytes each: 1.5 MB in all
        assert handler.force_flush(60)
    sizes = [len(body["logEvents"]) for body in proxy.forwarded]
    assert 10_301 == sum(sizes)
    assert max(sizes) <= 10_000
    assert [] == proxy.violations


def test_a_batch_never_spans_24_hours(make_handler: MakeHandler, moto_url: str) -> None:
    with FaultProxy(moto_url) as proxy:
        handler = make_handler(endpoint_url=proxy.url, batch_interval=60)
        logger = attach(handler)
        now = time.time()
        for hours_ago in (30, 20, 5, 0):
            record = logger.makeRecord(
                logger.name, logging.INFO, __file__, 1, f"{hours_ago}h", (), None
            )
            record.created = now - hours_ago * 3600
            handler.handle(record)
        assert handler.force_flush(30)
    assert 2 <= len(proxy.forwarded)
    assert [] == proxy.violations
    assert ["30h", "20h", "5h", "0h"] == messages(moto_url, handler.log_group)


def test_too_old_and_too_new_events_go_to_the_spool_never_to_cloudwatch(
    make_handler: MakeHandler, moto_url: str, tmp_path: Path
) -> None:
    with FaultProxy(moto_url) as proxy:
        handler = make_handler(endpoint_url=proxy.url)
        logger = attach(handler)
        now = time.time()
        for label, offset in (("old", -15 * 86400), ("new", 3 * 3600), ("fine", 0)):
            record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, label, (), None)
            record.created = now + offset
            handler.handle(record)
        assert handler.force_flush(10)
    assert ["fine"] == messages(moto_url, handler.log_group)
    reasons = {i["message"]: i["spool"]["reason"] for i in spooled(tmp_path)}
    assert {"old", "new"} == set(reasons)
    assert "older than 14 days" in reasons["old"]
    assert "future" in reasons["new"]
    sent = [json.loads(e["message"])["message"] for b in proxy.forwarded for e in b["logEvents"]]
    assert ["fine"] == sent
    assert 2 == handler.health()["rejected"]


def test_events_cloudwatch_refuses_are_read_from_rejected_info(
    make_handler: MakeHandler, moto_url: str, tmp_path: Path
) -> None:
    class AheadClock(CloudWatchHandler):
        def _now(self) -> float:
            return time.time() + 3 * 3600  # our clock runs 3 h ahead of CloudWatch's

    handler = AheadClock(
        log_group=unique_group(), endpoint_url=moto_url, spool=f"{tmp_path}{os.sep}", **FAST
    )
    handler.set_name("ahead")
    logger = attach(handler)
    try:
        record = logger.makeRecord(logger.name, logging.INFO, __file__, 1, "ahead", (), None)
        record.created = time.time() + 4 * 3600  # fine for us, too new for the server
        handler.handle(record)
        logger.info("now")
        assert handler.force_flush(10)
    finally:
        handler.close()
    assert ["now"] == messages(moto_url, handler.log_group)
    [item] = spooled(tmp_path)
    assert "ahead" == item["message"]
    assert "refused by CloudWatch Logs" in item["spool"]["reason"]
    assert (1, 1) == (handler.health()["sent"], handler.health()["rejected"])


def test_an_empty_message_is_sent_as_a_marker(make_handler: MakeHandler, moto_url: str) -> None:
    handler = make_handler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = attach(handler)
    logger.info("")
    logger.info("next")
    assert handler.force_flush(10)
    events = read_events(logs_client(moto_url), handler.log_group, f"test-{os.getpid()}")
    assert ["(empty message)", "next"] == [e["message"] for e in events]


# ------------------------------------------------------------------ failures


@pytest.mark.parametrize("fault", ["throttle", "error500", "unavailable", "reset"])
def test_transient_failures_are_retried_until_delivered(
    make_handler: MakeHandler, moto_url: str, fault: str
) -> None:
    with FaultProxy(moto_url, [fault, fault, "pass"]) as proxy:
        handler = make_handler(endpoint_url=proxy.url)
        attach(handler).info("persistent")
        assert handler.force_flush(10)
    assert ["persistent"] == messages(moto_url, handler.log_group)
    assert 2 == proxy.faults(fault)
    assert 2 == handler.health()["retried"]


@pytest.mark.slow
def test_a_request_that_gets_no_answer_times_out_and_is_retried(
    make_handler: MakeHandler, moto_url: str
) -> None:
    # The stall outlasts the read timeout, which is generous enough that a busy
    # machine's moto answers well within it (a late answer would duplicate events).
    with FaultProxy(moto_url, ["stall", "stall", "pass"], delay=3.0) as proxy:
        handler = make_handler(endpoint_url=proxy.url, read_timeout=2.0)
        attach(handler).info("persistent")
        assert handler.force_flush(20)
    assert ["persistent"] == messages(moto_url, handler.log_group)
    assert 2 == proxy.faults("stall")
    assert 2 <= handler.health()["retried"]


def test_the_sender_survives_a_connection_error(make_handler: MakeHandler, moto_url: str) -> None:
    with FaultProxy(moto_url, ["reset", "pass"]) as proxy:
        handler = make_handler(endpoint_url=proxy.url)
        logger = attach(handler)
        logger.info("first")
        assert handler.force_flush(10)
        logger.info("second")
        assert handler.force_flush(10)
    assert ["first", "second"] == messages(moto_url, handler.log_group)


def test_bad_credentials_stop_the_sender_with_one_error_and_spool(
    make_handler: MakeHandler, moto_url: str, tmp_path: Path, diagnostics: RecordCollector
) -> None:
    with FaultProxy(moto_url, ["denied"]) as proxy:
        handler = make_handler(endpoint_url=proxy.url)
        logger = attach(handler)
        logger.info("one")
        assert handler.force_flush(10)
        logger.info("two")
        assert handler.force_flush(10)
        assert 1 == proxy.faults("denied")  # never tried again
    assert ["one", "two"] == [i["message"] for i in spooled(tmp_path)]
    [error] = diagnostics.at(logging.ERROR)
    assert "UnrecognizedClientException" in error
    assert "inferlog spool resend" in error


def test_no_credentials_at_all_stop_the_sender_too(
    make_handler: MakeHandler, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    handler = make_handler()
    attach(handler).info("no keys")
    assert handler.force_flush(10)
    [item] = spooled(tmp_path)
    assert "NoCredentialsError" in item["spool"]["reason"]


def test_an_outage_is_spooled_and_resent_in_order_when_cloudwatch_is_back(
    make_handler: MakeHandler, moto_url: str, tmp_path: Path
) -> None:
    with FaultProxy(moto_url, ["unavailable"]) as proxy:
        handler = make_handler(endpoint_url=proxy.url, retry_deadline=0.02)
        logger = attach(handler)
        for i in range(5):
            logger.info("down%d", i)
        assert handler.force_flush(10)
        assert 5 == len(spooled(tmp_path))
        proxy.set_schedule(["pass"])
        logger.info("back")
        assert handler.force_flush(10)  # a flush probes at once; the spool goes first
    assert [f"down{i}" for i in range(5)] + ["back"] == messages(moto_url, handler.log_group)
    assert [] == spooled(tmp_path)


def test_a_throttled_create_log_stream_neither_blocks_nor_breaks_the_app(
    make_handler: MakeHandler, moto_url: str
) -> None:
    with FaultProxy(
        moto_url, ["hold", "throttle", "pass"], operations=["CreateLogStream"]
    ) as proxy:
        handler = make_handler(endpoint_url=proxy.url)
        logger = attach(handler)
        logger.info("while held")
        assert proxy.holding.wait(10)
        logger.info("still logging")  # returns although the sender is stuck
        proxy.release.set()
        assert handler.force_flush(10)
    assert ["while held", "still logging"] == messages(moto_url, handler.log_group)


def test_botocore_debug_records_never_loop_back(make_handler: MakeHandler, moto_url: str) -> None:
    # moto's server runs in this process and loads botocore's models on the first
    # request it serves, logging from its own threads: those are not the sink's
    # records, so let it do that before DEBUG is on.
    logs_client(moto_url).describe_log_groups()
    handler = make_handler(log_stream="loop")
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    logging.getLogger("botocore").setLevel(logging.DEBUG)
    try:
        for i in range(3):
            logging.getLogger("app").info("app %d", i)
            assert handler.force_flush(10)
    finally:
        root.removeHandler(handler)
    records = arrived(moto_url, handler.log_group)["loop"]
    assert ["app 0", "app 1", "app 2"] == [r["message"] for r in records]
    assert 3 == handler.health()["sent"]


def test_close_twice_returns_even_when_cloudwatch_is_unreachable(
    make_handler: MakeHandler, moto_url: str, tmp_path: Path
) -> None:
    with FaultProxy(moto_url, ["reset"]) as proxy:
        handler = make_handler(endpoint_url=proxy.url, shutdown_timeout=0.2, retry_deadline=60)
        attach(handler).info("stranded")
        handler.close()
        handler.close()
    assert ["stranded"] == [i["message"] for i in spooled(tmp_path)]


# ------------------------------------------------------------------ exit and signals

_CHILD = textwrap.dedent(
    """
    import logging, os, signal, sys
    import inferlog
    from inferlog.handlers import CloudWatchHandler

    url, group, mode = sys.argv[1:4]
    handler = CloudWatchHandler(
        log_group=group, log_stream="exit", endpoint_url=url, region_name="us-east-1",
        batch_interval=60, health_interval=0, spool=sys.argv[4],
    )
    if mode == "sigterm":
        inferlog.pipeline.install_signal_handlers()
    logger = logging.getLogger("child")
    logger.propagate = False
    logger.addHandler(handler)
    for i in range(500):
        logger.warning("r%d", i)
    if mode == "sigterm":
        os.kill(os.getpid(), signal.SIGTERM)
        signal.pause()
    """
)


@pytest.mark.parametrize("mode", ["exit", "sigterm"])
def test_records_are_not_lost_at_exit_or_sigterm(moto_url: str, tmp_path: Path, mode: str) -> None:
    group = unique_group()
    env = {**os.environ, **DUMMY_CREDENTIALS}
    result = subprocess.run(
        [sys.executable, "-c", _CHILD, moto_url, group, mode, str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    expected_code = -signal.SIGTERM if mode == "sigterm" else 0
    assert expected_code == result.returncode, result.stderr
    assert [f"r{i}" for i in range(500)] == messages(moto_url, group)


def test_a_forked_child_ships_with_a_client_of_its_own(
    make_handler: MakeHandler, moto_url: str
) -> None:
    handler = make_handler()
    logger = attach(handler)
    logger.info("parent")
    assert handler.force_flush(10)
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            logger.info("child")
            code = 0 if handler.force_flush(10) else 2
        finally:
            os._exit(code)
    assert 0 == wait_for_child(pid, 30)
    shipped = arrived(moto_url, handler.log_group)
    assert ["parent"] == [r["message"] for r in shipped[f"test-{os.getpid()}"]]
    assert ["child"] == [r["message"] for r in shipped[f"test-{pid}"]]


_UNREACHABLE_CHILD = textwrap.dedent(
    """
    import logging, sys
    from inferlog.handlers import CloudWatchHandler

    group, spool = sys.argv[1:3]
    handler = CloudWatchHandler(
        log_group=group, log_stream="again", endpoint_url="http://127.0.0.1:9",
        region_name="us-east-1", retry_deadline=0.05, retry_initial=0.01, retry_maximum=0.01,
        batch_interval=0.01, health_interval=0, spool=spool,
    )
    handler.set_name("cw")
    logger = logging.getLogger("child")
    logger.propagate = False
    logger.addHandler(handler)
    for i in range(3):
        logger.warning("left%d", i)
    handler.flush()
    """
)


def test_a_spool_left_by_an_ended_process_is_sent_first_at_the_next_start(
    make_handler: MakeHandler, moto_url: str, tmp_path: Path
) -> None:
    group = unique_group()
    env = {**os.environ, **DUMMY_CREDENTIALS}
    subprocess.run(
        [sys.executable, "-c", _UNREACHABLE_CHILD, group, f"{tmp_path}{os.sep}"],
        env=env,
        check=True,
        timeout=60,
    )
    assert ["left0", "left1", "left2"] == [i["message"] for i in spooled(tmp_path)]
    handler = make_handler(log_group=group, log_stream="again")
    attach(handler).warning("new")
    assert handler.force_flush(10)
    assert ["left0", "left1", "left2", "new"] == messages(moto_url, group)
    assert [] == spooled(tmp_path)


# ------------------------------------------------------------------ short-lived processes


def test_flush_per_invocation_delivers_before_the_function_returns(
    make_handler: MakeHandler, moto_url: str
) -> None:
    handler = make_handler(batch_interval=60)
    logger = attach(handler)

    @flush_per_invocation(timeout=10)
    def lambda_handler(event: dict[str, str], context: object) -> str:
        logger.info("invoked with %s", event["id"])
        return "ok"

    assert "ok" == lambda_handler({"id": "42"}, None)
    assert ["invoked with 42"] == messages(moto_url, handler.log_group)


# ------------------------------------------------------------------ the batch-sink contract


class TestCloudWatchContract(BatchSinkContract):
    """The contract every batch sink passes, with CloudWatch (moto) as the destination."""

    @pytest.fixture
    def harness(self, make_handler: MakeHandler, moto_url: str) -> SinkHarness:
        handler = make_handler(log_stream="contract")
        return SinkHarness(handler, lambda: messages(moto_url, handler.log_group))


def test_the_spool_resend_command_delivers_what_was_spooled(
    make_handler: MakeHandler, moto_url: str, tmp_path: Path
) -> None:
    with FaultProxy(moto_url, ["denied"]) as proxy:
        broken = make_handler(endpoint_url=proxy.url, name="by-hand", log_stream="cli")
        logger = attach(broken)
        logger.info("first")
        logger.info("second")
        assert broken.force_flush(10)
    factory = tmp_path / "cw_factory.py"
    factory.write_text(
        "from inferlog.handlers import CloudWatchHandler\n"
        "def make():\n"
        f"    return CloudWatchHandler(log_group={broken.log_group!r}, log_stream='cli',\n"
        f"        endpoint_url={moto_url!r}, region_name='us-east-1', spool={str(tmp_path)!r})\n"
    )
    env = {**os.environ, **DUMMY_CREDENTIALS, "PYTHONPATH": f"{tmp_path}{os.pathsep}{ROOT}"}
    command = [
        "spool",
        "resend",
        str(tmp_path),
        "--handler",
        "cw_factory:make",
        "--sink",
        "by-hand",
    ]
    done = subprocess.run(
        [sys.executable, "-m", "inferlog", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert 0 == done.returncode, done.stderr
    assert "resent 2 record(s); 0 left" in done.stdout
    assert ["first", "second"] == messages(moto_url, broken.log_group)


def test_spool_resend_delivers_what_was_spooled(
    make_handler: MakeHandler, moto_url: str, tmp_path: Path
) -> None:
    with FaultProxy(moto_url, ["denied"]) as proxy:
        broken = make_handler(endpoint_url=proxy.url, name="resend-me")
        attach(broken).info("later")
        assert broken.force_flush(10)
    fixed = make_handler(name="resend-me", log_group=broken.log_group, resend_on_start=False)
    assert (1, 0) == resend(tmp_path, fixed)
    assert ["later"] == messages(moto_url, broken.log_group)


# ------------------------------------------------------------------ volume under faults


@pytest.mark.slow
def test_twenty_thousand_records_through_faults_arrive_once_in_order_per_stream(
    make_handler: MakeHandler, moto_url: str
) -> None:
    schedule = ["throttle", "pass", "error500", "reset", "pass", "delay", "unavailable", "pass"]
    with FaultProxy(moto_url, schedule, delay=0.05) as proxy:
        handler = make_handler(
            endpoint_url=proxy.url,
            log_stream="bulk-{shard}",
            buffer_size=20_000,
            max_batch_count=2_500,
        )
        handler.setFormatter(logging.Formatter("%(shard)s %(seq)d"))
        logger = attach(handler)
        for seq in range(20_000):
            logger.info("", extra={"shard": seq % 2, "seq": seq})
        assert handler.force_flush(60)
        assert proxy.faults("throttle")
        assert proxy.faults("reset")
        assert proxy.faults("error500")
        assert [] == proxy.violations
    client = logs_client(moto_url)
    for shard in (0, 1):
        events = read_events(client, handler.log_group, f"bulk-{shard}")
        assert [f"{shard} {seq}" for seq in range(shard, 20_000, 2)] == [
            e["message"] for e in events
        ]
    health = handler.health()
    assert (20_000, 0, 0, 0) == (
        health["sent"],
        health["rejected"],
        health["spooled"],
        health["dropped"],
    )
