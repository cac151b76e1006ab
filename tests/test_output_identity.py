"""Output identity: the full pipeline writes the same lines, before and after optimisation.

A fixed, varied input of a few hundred records goes through the pipeline that
``benchmarks/bench_pipeline.py`` measures as "inferlog full" (its ``inferlog_config``:
``ContextFilter``, ``SamplingFilter`` keeping every record, ``RedactionFilter`` with
the default detectors, ``JsonFormatter``, ``QueueHandler`` in front of
``RotatingJsonFileHandler``, all from ``logging.config.dictConfig``). The lines
written are compared with ``tests/data/output_identity_golden.jsonl``, which the code
wrote before the performance work (issue 18).

Only values that differ from run to run or machine to machine are normalised, on the
parsed line, each after checking its shape: ``timestamp``, a ``request_id`` minted by
``request_context()``, the ``span_id`` of a scope opened with a ``traceparent``, and
the file paths and line numbers (and, from Python 3.11, the caret lines) of
``exception.stack``. Every other key and value, their order included, must be equal;
and each raw line must be exactly what ``orjson`` writes for its parse, so that the
comparison of parsed lines is a comparison of bytes.

The input: the issue-18 inference record; lines of the labelled redaction corpus for
every built-in detector (frozen in ``tests/data/output_identity_payloads.json``, so
that the corpus may grow without moving this test) placed in the message, ``%``
arguments, string extras and nested dicts and lists; big ints (a Luhn-valid 16-digit
one among them); secret-named fields and look-alike metadata; exceptions with PII in
their message; non-ASCII text, JSON-escaped CJK, and a ``\\uXXXX`` escape right before
a card number.

Regenerate the golden file only when a change of output is meant (and say so in the
changelog)::

    .venv/bin/python -m tests.test_output_identity --regenerate

``--pick-payloads`` re-picks the corpus lines (fixed seed) into the payloads file;
the test itself never writes either file.
"""

from __future__ import annotations

import argparse
import json
import logging
import logging.config
import random
import re
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from benchmarks.bench_pipeline import inferlog_config
from inferlog import bind, request_context
from inferlog.redaction.detectors import BUILTIN_NAMES

DATA = Path(__file__).parent / "data"
GOLDEN_PATH = DATA / "output_identity_golden.jsonl"
PAYLOADS_PATH = DATA / "output_identity_payloads.json"
CORPUS_PATH = DATA / "redaction_corpus.jsonl"
LOGGER = "identity"
SEED = 18
PER_DETECTOR = 10
NEGATIVES = 24
#: Request ids given explicitly; any other id must be one ``request_context()`` minted.
FIXED_IDS = ("0192f3c4-5d6e-7f80-9a1b-2c3d4e5f6a7b", "req-identity-0001")
TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

_TIMESTAMP_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")
_UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")
_SPAN_RE = re.compile(r"[0-9a-f]{16}")
_FRAME_RE = re.compile(r'^(\s*File )"([^"]+)", line \d+(.*)$')
_CARETS_RE = re.compile(r"^\s*[\^~]+\s*$")

# --- the input -----------------------------------------------------------------------


def pick_payloads(corpus: Path = CORPUS_PATH, seed: int = SEED) -> dict[str, list[str]]:
    """Pick ``PER_DETECTOR`` corpus lines per built-in detector and some without labels."""
    samples = [json.loads(line) for line in corpus.read_text("utf-8").splitlines() if line]
    rng = random.Random(seed)
    picked: dict[str, list[str]] = {}
    for name in BUILTIN_NAMES:
        texts = [s["text"] for s in samples if name in {x["detector"] for x in s["labels"]}]
        if texts:
            picked[name] = rng.sample(texts, min(PER_DETECTOR, len(texts)))
    negatives = [s["text"] for s in samples if not s["labels"]]
    picked["none"] = rng.sample(negatives, NEGATIVES)
    return picked


_SENTENCES = (
    "Summarise the customer's last three messages and propose a reply. ",
    "The retrieved context lists the warranty terms for the blender model. ",
    "Answer in plain English and cite the policy section you rely on. ",
    "Tokens beyond the context window are dropped from the oldest turn. ",
    "El cliente pide una factura corregida para el pedido de marzo. ",
)


def issue_record(seed: int = SEED) -> tuple[str, dict[str, Any]]:
    """Issue 18's record: 11 fields, a 2 KB prompt with an e-mail and a card, 1 KB response."""
    rng = random.Random(seed)
    text = "".join(rng.choice(_SENTENCES) for _ in range(60))
    prompt = text[:1960] + "mail ada.lovelace@example.com card 4111 1111 1111 1111."
    fields: dict[str, Any] = {
        "request_id": FIXED_IDS[0],
        "user_id": f"u-{seed % 1000}",
        "model_id": "support-llm",
        "model_version": "2026-10-01",
        "latency_ms": 97.25,
        "input_token_count": 640,
        "output_token_count": 96,
        "temperature": 0.2,
        "top_p": 1.0,
        "seed": 1234567890123,
        "status": "ok",
    }
    fields["request_payload"] = {"prompt": prompt}
    fields["response_payload"] = {"text": text[-1024:]}
    return "inference", fields


def _place(log: logging.Logger, kind: str, index: int, text: str) -> None:
    """Log ``text`` in one of six places, chosen by ``index``."""
    where = index % 6
    if where == 0:
        log.info(text)
    elif where == 1:
        log.info("corpus %s %d", kind, index, extra={"note": text, "status": "ok"})
    elif where == 2:
        payload = {"messages": [{"role": "user", "content": text}], "max_tokens": 256}
        log.info("corpus request", extra={"request_payload": payload, "intent": kind})
    elif where == 3:
        log.warning("user said: %s (%s)", text, kind)
    elif where == 4:
        log.info("corpus response", extra={"response_payload": {"choices": [text, index]}})
    else:
        args = {"query": text, "limit": 10, "scores": [0.5, 1e-3, None, True]}
        log.error("tool call %(tool)s failed", {"tool": kind}, extra={"tool_args": args})


def _raise(message: str, cause: str | None = None) -> None:
    if cause is None:
        raise ValueError(message)
    try:
        raise KeyError(cause)
    except KeyError as exc:
        raise RuntimeError(message) from exc


def _exceptions(log: logging.Logger) -> None:
    # Each call that raises stays on one line: Python 3.13 prints every line of a
    # call spread over several in a traceback, earlier versions only the first.
    charge = "could not charge 4111 1111 1111 1111 for grace.hopper@example.com"
    try:
        _raise(charge)
    except ValueError:
        log.exception("inference failed for %s", "grace.hopper@example.com")
    refused = "upstream refused token sk-ant-api03-" + "A" * 90 + "AA"
    try:
        _raise(refused, "password=Hunter2!x")
    except RuntimeError:
        log.error("upstream error", exc_info=True, extra={"status": "error", "error_code": "E42"})


def _special(log: logging.Logger) -> None:
    """Records that exercise one edge each."""
    message, extra = issue_record()
    log.info(message, extra=extra)
    # Big ints: ids, epoch milliseconds, a seed, and a Luhn-valid 16-digit int.
    log.info(
        "big ints",
        extra={
            "seed": 1234567890123,
            "epoch_ms": 1_765_000_000_000,
            "order_id": 100_000_000,
            "card_number_int": 4111111111111111,
            "not_a_card_int": 4111111111111112,
            "huge": 2**70,
            "negative": -4012888888881881,
            "ids": [123_456_789, 4012888888881881, {"account": 5555555555554444}],
        },
    )
    # Secret-named fields, and metadata whose name only mentions a secret.
    log.info(
        "credentials",
        extra={
            "password": "Hunter2!correct-horse",
            "api_key": "k-8f3b2a91c4",
            "api_key_count": 1,
            "password_updated_at": "2026-01-01T00:00:00Z",
            "token_count": 512,
            "db": {"user": "app", "password": "s3cr3t-Pa55", "port": 5432},
            "headers": {"Authorization": "Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", "Accept": "*/*"},
        },
    )
    # %-format with PII in the arguments, positional and by name.
    log.info(
        "payment by %s with card %s from %s",
        "ada.lovelace@example.com",
        "5555 5555 5555 4444",
        "203.0.113.42",
    )
    log.warning("call %(phone)s about IBAN %(iban)s", {"phone": "(415) 555-0132", "iban": "x"})
    log.info("ratio %.3f of %d, %r", 0.123456, 7, {"email": "bob@example.org"})
    # Non-ASCII, CJK as it is and JSON-escaped, and an escape right before a card number.
    log.info("Grüße von José: jose.garcia@example.es, Tel. +49 30 1234567 — naïve café ☕")
    log.info("我的邮箱是 wang.wei@example.cn\uff0c电话 +86 10 6552 9988", extra={"lang": "zh"})
    escaped = json.dumps({"content": "我的卡号是4111111111111111\uff0c邮箱 li.na@example.cn"})
    log.info("escaped CJK", extra={"request_payload": escaped})
    log.info("escape then card: " + "\\u53f7" + "4012888888881881 end")
    log.info("escaped SSN", extra={"note": json.dumps("社会安全号 123-45-6789")})
    log.info("emoji 🎉 and \u202ebidi\u202c text", extra={"tags": ["ü", "é", "中文", "🚀"]})
    # Non-string message, empty message, and types the formatter has to coerce.
    log.info({"event": "dict message", "email": "eve@example.net"})
    log.info("")
    log.info("floats", extra={"values": [0.1, 1e16, -0.0, 1.5e-7], "flag": False, "none": None})
    log.debug("below the level: never written %s", "debug@example.com")
    log.critical("critical with ipv4 198.51.100.7 and ipv6 2001:db8:85a3::8a2e:370:7334")


def _scoped(log: logging.Logger) -> None:
    """Records inside request scopes: a fixed id, a minted id, a traceparent, bound fields."""
    with request_context(FIXED_IDS[1], user_id="u-7"):
        bind(tenant="acme", contact="ops@acme.example")
        log.info("scoped with a fixed id")
    with request_context():
        log.info("scoped with a minted id", extra={"note": "call 212-555-0187"})
    with request_context(FIXED_IDS[1], traceparent=TRACEPARENT):
        log.info("scoped with a traceparent")


def log_input(log: logging.Logger, payloads: dict[str, list[str]]) -> None:
    """Log the whole fixed input through ``log``."""
    _special(log)
    _exceptions(log)
    _scoped(log)
    index = 0
    for kind, texts in payloads.items():
        for text in texts:
            _place(log, kind, index, text)
            index += 1
    message, extra = issue_record(SEED + 1)
    log.info(message, extra=extra)


def run_pipeline(directory: Path, payloads: dict[str, list[str]]) -> list[str]:
    """Configure the full pipeline to write in ``directory``, log the input, drain; the lines."""
    path = directory / "identity.jsonl"
    logging.config.dictConfig(inferlog_config(path, queue_size=100_000, logger=LOGGER))
    log = logging.getLogger(LOGGER)
    (queue,) = log.handlers
    try:
        log_input(log, payloads)
    finally:
        sinks = queue.listener.handlers  # type: ignore[attr-defined]
        queue.shutdown(30)  # type: ignore[attr-defined]  # drains into the file
        for handler in (queue, *sinks):
            handler.close()
        log.handlers = []
    return path.read_text("utf-8").splitlines()


# --- normalising what varies ----------------------------------------------------------


def _check(pattern: re.Pattern[str], value: object, key: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise AssertionError(f"{key} {value!r} does not match {pattern.pattern}")


def _stack(lines: list[str]) -> list[str]:
    out = []
    for line in lines:
        if _CARETS_RE.match(line):
            continue  # Python 3.11+ only, and only for some expressions
        frame = _FRAME_RE.match(line)
        if frame is not None:
            line = f'{frame.group(1)}"{Path(frame.group(2)).name}", line <n>{frame.group(3)}'
        out.append(line)
    return out


def normalise(line: str) -> str:
    """``line`` with each volatile value checked and replaced by a placeholder.

    Also checks that ``line`` is byte for byte what orjson writes for its parse, so
    that comparing normalised lines compares everything else exactly.
    """
    record = json.loads(line)
    if orjson.dumps(record).decode() != line:
        raise AssertionError(f"line is not orjson's form of its own parse: {line[:200]}")
    _check(_TIMESTAMP_RE, record.get("timestamp"), "timestamp")
    record["timestamp"] = "<timestamp>"
    request_id = record.get("request_id")
    if request_id is not None and request_id not in FIXED_IDS:
        _check(_UUID_RE, request_id, "request_id")
        record["request_id"] = "<minted uuid7>"
    if "span_id" in record:
        _check(_SPAN_RE, record["span_id"], "span_id")
        record["span_id"] = "<span_id>"
    exception = record.get("exception")
    if isinstance(exception, dict) and isinstance(exception.get("stack"), list):
        exception["stack"] = _stack(exception["stack"])
    return orjson.dumps(record).decode()


def load_payloads() -> dict[str, list[str]]:
    """The frozen corpus lines (see :func:`pick_payloads`)."""
    loaded: dict[str, list[str]] = json.loads(PAYLOADS_PATH.read_text("utf-8"))
    return loaded


def produce(directory: Path) -> list[str]:
    """The normalised lines the pipeline writes today for the fixed input."""
    return [normalise(line) for line in run_pipeline(directory, load_payloads())]


# --- tests ---------------------------------------------------------------------------


def test_pipeline_writes_the_golden_lines(tmp_path: Path) -> None:
    expected = GOLDEN_PATH.read_text("utf-8").splitlines()
    actual = produce(tmp_path)
    assert len(expected) == len(actual)
    for number, (want, got) in enumerate(zip(expected, actual), start=1):
        assert want == got, f"line {number} of {GOLDEN_PATH.name} differs"


def test_the_input_covers_every_builtin_detector() -> None:
    payloads = load_payloads()
    detectors = [name for name in BUILTIN_NAMES if name != "secret_field"]
    assert [name for name in detectors if len(payloads.get(name, ())) < 2] == []
    assert len(payloads["none"]) == NEGATIVES


def test_the_golden_file_holds_the_hard_cases() -> None:
    golden = [json.loads(line) for line in GOLDEN_PATH.read_text("utf-8").splitlines()]
    assert len(golden) >= 200
    text = GOLDEN_PATH.read_text("utf-8")
    for token in ("[REDACTED:EMAIL]", "[REDACTED:CARD]", "[REDACTED:SECRET]", "<minted uuid7>"):
        assert token in text
    big = next(r for r in golden if r["message"] == "big ints")
    assert big["seed"] == 1234567890123
    assert big["card_number_int"] != 4111111111111111
    credentials = next(r for r in golden if r["message"] == "credentials")
    assert credentials["api_key_count"] == 1
    assert credentials["password"] != "Hunter2!correct-horse"
    assert sum(1 for r in golden if "exception" in r) == 2


@pytest.mark.parametrize(
    ("key", "value"),
    [("message", "inference!"), ("latency_ms", 412.6), ("seed", "1234567890123")],
)
def test_normalise_keeps_every_other_value(key: str, value: object) -> None:
    _message, extra = issue_record()
    line = orjson.dumps(
        {"timestamp": "2026-01-01T00:00:00.000Z", "message": "inference", **extra}
    ).decode()
    changed = json.loads(line)
    changed[key] = value
    assert normalise(line) != normalise(orjson.dumps(changed).decode())


def test_normalise_replaces_only_volatile_values() -> None:
    first = {
        "timestamp": "2026-01-01T00:00:00.000Z",
        "request_id": "01938a2b-3c4d-7e5f-8a6b-7c8d9e0f1a2b",
        "span_id": "00f067aa0ba902b7",
        "exception": {"stack": ['  File "/a/x.py", line 3, in f', "    ^^^^", "E: m"]},
    }
    second = {
        "timestamp": "2027-05-05T11:11:11.111111Z",
        "request_id": "01938a2b-ffff-7e5f-8a6b-7c8d9e0f1a2b",
        "span_id": "1111111111111111",
        "exception": {"stack": ['  File "/b/x.py", line 9, in f', "E: m"]},
    }
    assert normalise(orjson.dumps(first).decode()) == normalise(orjson.dumps(second).decode())
    with pytest.raises(AssertionError):
        normalise(orjson.dumps({**first, "request_id": "not-a-uuid"}).decode())


# --- regenerating ----------------------------------------------------------------------


def _write(path: Path, make: Callable[[], str]) -> None:
    path.write_text(make(), encoding="utf-8")
    print(f"wrote {path}")


def main(argv: list[str] | None = None) -> int:
    """Rewrite the golden file (``--regenerate``) or the payloads (``--pick-payloads``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--regenerate", action="store_true", help="rewrite the golden file")
    parser.add_argument("--pick-payloads", action="store_true", help="re-pick corpus lines")
    args = parser.parse_args(argv)
    if args.pick_payloads:
        _write(PAYLOADS_PATH, lambda: json.dumps(pick_payloads(), indent=1, ensure_ascii=False))
    if args.regenerate:
        with tempfile.TemporaryDirectory() as directory:
            lines = produce(Path(directory))
        _write(GOLDEN_PATH, lambda: "".join(f"{line}\n" for line in lines))
    if not (args.regenerate or args.pick_payloads):
        parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
