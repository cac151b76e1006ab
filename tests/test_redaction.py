"""Tests of inferlog.redaction: detectors, modes, data, the logging filter, safety."""

from __future__ import annotations

import copy
import io
import logging
import logging.config
import sys
import time
from typing import Any

import pytest
import re2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from strategies import extras as any_extras

from inferlog import _diagnostics
from inferlog._detectors import builtin_detectors
from inferlog._record import iter_extras
from inferlog.redaction import (
    BUILTIN_NAMES,
    FAILED_TOKEN,
    REDACTED_MARK_ATTR,
    Candidate,
    Detector,
    RedactionFilter,
    Redactor,
    iban_valid,
    luhn_valid,
    ssn_valid,
)

KEY = "test-key-not-secret"

# (detector, text, the sensitive part that must disappear)
POSITIVES: list[tuple[str, str, str]] = [
    ("email", "write to alice.smith+ml@example.co.uk today", "alice.smith+ml@example.co.uk"),
    ("phone", "call (415) 555-0132 after 5", "(415) 555-0132"),
    ("phone", "call 415-555-0132", "415-555-0132"),
    ("phone", "call 415.555.0132", "415.555.0132"),
    ("phone", "cell: +1 415 555 0132", "+1 415 555 0132"),
    ("phone", "ring +44 20 7946 0958 now", "+44 20 7946 0958"),
    ("phone", "WhatsApp +491701234567.", "+491701234567"),
    ("phone", "tel +33 1-42-68-53-00", "+33 1-42-68-53-00"),
    ("card", "card 4111 1111 1111 1111 exp 12/29", "4111 1111 1111 1111"),
    ("card", "cc=5500-0000-0000-0004", "5500-0000-0000-0004"),
    ("card", "amex 3782 822463 10005", "3782 822463 10005"),
    ("card", "paid with 6011111111111117.", "6011111111111117"),
    ("card", "order 12 4111111111111111 shipped", "4111111111111111"),
    ("ssn", "SSN 123-45-6789 on file", "123-45-6789"),
    ("ssn", "ssn: 123456789", "123456789"),
    ("iban", "IBAN GB82 WEST 1234 5698 7654 32 EUR", "GB82 WEST 1234 5698 7654 32"),
    ("iban", "to DE89370400440532013000.", "DE89370400440532013000"),
    ("ipv4", "client 203.0.113.42 connected", "203.0.113.42"),
    ("ipv6", "from [2001:db8::8a2e:370:7334]:443", "2001:db8::8a2e:370:7334"),
    ("ipv6", "addr fe80:0:0:0:202:b3ff:fe1e:8329 up", "fe80:0:0:0:202:b3ff:fe1e:8329"),
    ("aws_access_key", "key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE"),
    (
        "aws_secret_key",
        "secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY end",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    ),
    (
        "openai_key",
        "OPENAI sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
        "sk-proj-Ab3dEf6hIj9kLm2nOp5qRs8tUv1wXy4z",
    ),
    (
        "anthropic_key",
        "use sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0F-abc",
        "sk-ant-api03-Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2Ji1Hg0F-abc",
    ),
    (
        "github_token",
        "GH ghp_16C7e42F292c6912E7710c838347Ae178B4a ok",
        "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    ),
    ("slack_token", "bot xoxb-2048-4096-a1B2c3D4e5F6g7H8", "xoxb-2048-4096-a1B2c3D4e5F6g7H8"),
    ("stripe_key", "stripe sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sk_live_4eC39HqLyjWDarjtT1zdp7dc"),
    (
        "google_api_key",
        "maps AIzaSyB-1a2b3c4d5e6f7g8h9i0jKLMNOPQRSTU ok",
        "AIzaSyB-1a2b3c4d5e6f7g8h9i0jKLMNOPQRSTU",
    ),
    (
        "jwt",
        "t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r",
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dBjftJeZ4CVPmB92K27uhbUJU1p1r",
    ),
    ("bearer_token", "Authorization: Bearer a1b2c3d4e5f6.g7h8", "a1b2c3d4e5f6.g7h8"),
    ("basic_auth", "Authorization: Basic dXNlcjpodW50ZXIy", "dXNlcjpodW50ZXIy"),
    ("url_password", "db postgres://svc:hunter2@db.internal:5432/x", "hunter2"),
    ("secret", "login password=Tr0ub4dor&3 ok", "Tr0ub4dor"),
    ("secret", '{"client_secret": "s3cr3t value"}', "s3cr3t value"),
    ("secret", "api_key: 'abc 123'", "abc 123"),
    ("secret", "refresh_token=zzz999", "zzz999"),
    ("secret", "Cookie: sid=abc123; theme=dark", "sid=abc123; theme=dark"),
    (
        "private_key",
        "-----BEGIN RSA PRIVATE KEY-----\nMIIEow/IBAAK+CAQEA\n-----END RSA PRIVATE KEY-----",
        "MIIEow/IBAAK+CAQEA",
    ),
]

NEGATIVES = [
    "request 550e8400-e29b-41d4-a716-446655440000 done",
    "req_01HZX3J4K5M6N7P8Q9R0S1T2V3 finished",
    "at 2024-01-15T12:30:45.123Z and 2024-01-15 12:30:45,123",
    "version 1.2.3, v2.10.0-rc1, Python 3.11.4, torch==2.3.1+cu121",
    "model gpt-4o-mini-2024-07-18 and claude-3-5-sonnet-20240620, llama-3.1-70b",
    "temperature=0.7 top_p=0.95 latency_ms=123.456 3.141592653589793",
    "input_token_count=512 output_token_count=128 max_tokens: 4096",
    "order #100234, order number 4111111111111112 (fails Luhn)",
    "commit 9fceb02d0ae598e95dc970b74767f19372d61af8",
    "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "price $1,299.99 or EUR 1.299,00; listening on :8080 and localhost:5432",
    "loopback 127.0.0.1 and ::1, bind 0.0.0.0",
    "The bearer of this message has basic knowledge of session handling.",
    "std::vector<int> and Self::add and a[::2]",
    "icon@2x.png and @pytest.fixture",
    "epoch 1700000000000 and 1700000000",
]


def _redactor(**options: Any) -> Redactor:
    return Redactor(**options)


DEFAULT = Redactor()


# --- detectors -------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "text", "secret"), POSITIVES)
def test_detector_replaces_its_value(name: str, text: str, secret: str) -> None:
    label = f"[REDACTED:{name.upper()}]"
    out = DEFAULT.redact(text)
    assert secret not in out
    assert label in out


@pytest.mark.parametrize("text", NEGATIVES)
def test_hard_negatives_survive(text: str) -> None:
    assert text == DEFAULT.redact(text)


def test_every_builtin_detector_compiles_on_re2() -> None:
    for det in builtin_detectors(("x_sig",)):
        assert re2.compile(det.pattern) is not None, det.name
    assert set(DEFAULT.detector_names) | {"secret_field"} == set(BUILTIN_NAMES)


def test_pattern_outside_re2_syntax_is_rejected_at_construction() -> None:
    with pytest.raises(ValueError, match="RE2"):
        Redactor(patterns={"lookahead": r"foo(?=bar)"})


def test_keys_stay_visible_around_a_masked_value() -> None:
    assert "password=[REDACTED:SECRET] user=bob" == DEFAULT.redact("password=hunter2 user=bob")
    assert "Authorization: Bearer [REDACTED:BEARER_TOKEN]" == DEFAULT.redact(
        "Authorization: Bearer abc123def456"
    )


def test_validators_reject_near_misses() -> None:
    assert "ssn 666-12-3456 000-12-3456 123-00-4567" == DEFAULT.redact(
        "ssn 666-12-3456 000-12-3456 123-00-4567"
    )
    assert "GB82 WEST 1234 5698 7654 33" == DEFAULT.redact("GB82 WEST 1234 5698 7654 33")
    assert luhn_valid("4111111111111111")
    assert not luhn_valid("4111111111111112")
    assert iban_valid("GB82WEST12345698765432")
    assert not iban_valid("GB82WEST12345698765433")
    assert ssn_valid("123456789")
    assert not ssn_valid("900123456")


def test_detector_can_be_switched_off() -> None:
    redactor = Redactor(detectors={"ipv4": False, "email": False})
    text = "bob@example.com from 203.0.113.9 card 4111111111111111"
    assert "bob@example.com from 203.0.113.9 card [REDACTED:CARD]" == redactor.redact(text)
    assert "ipv4" not in redactor.detector_names


def test_unknown_detector_or_mode_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown detector 'emial'"):
        Redactor(detectors={"emial": False})
    with pytest.raises(ValueError, match="not one of"):
        Redactor(modes={"email": "scramble"})


def test_user_patterns_are_applied_with_their_name_as_label() -> None:
    redactor = Redactor(patterns={"employee_id": r"\bEMP-[0-9]{6}\b"})
    assert "by [REDACTED:EMPLOYEE_ID]" == redactor.redact("by EMP-123456")


def test_user_pattern_replaces_only_its_first_group() -> None:
    redactor = Redactor(patterns={"ticket": r"ticket #([0-9]{4,})"})
    assert "ticket #[REDACTED:TICKET] ok" == redactor.redact("ticket #12345 ok")


def test_user_pattern_longer_than_the_detector_window_is_still_found() -> None:
    redactor = Redactor(patterns={"blob": r"BLOB\[[a-z]+\]"})
    text = "x BLOB[" + "q" * 3000 + "] y"
    assert "x [REDACTED:BLOB] y" == redactor.redact(text)


def test_filter_is_idempotent_on_a_record() -> None:
    record = _record("to %s", ("bob@example.com",), card="4111111111111111", n=3)
    flt = RedactionFilter()
    flt.filter(record)
    first = (record.msg, dict(vars(record)))
    flt.filter(record)
    assert first == (record.msg, dict(vars(record)))
    assert "[REDACTED:CARD]" == vars(record)["card"]


def test_custom_detector_with_validator() -> None:
    def even(candidate: Candidate) -> bool:
        return int(candidate.value[-1]) % 2 == 0

    redactor = Redactor(custom_detectors=[Detector("badge", r"\bB-[0-9]{4}\b", validator=even)])
    assert "[REDACTED:BADGE] B-1235" == redactor.redact("B-1234 B-1235")


def test_user_secret_key_names_apply_to_text_and_data() -> None:
    redactor = Redactor(secret_keys=["x-internal-sig"])
    assert "x_internal_sig=[REDACTED:SECRET]" == redactor.redact("x_internal_sig=abc")
    assert {"X-Internal-Sig": "[REDACTED:SECRET]"} == redactor.redact_value(
        {"X-Internal-Sig": "abc"}
    )


def test_safe_keys_are_never_secret() -> None:
    redactor = Redactor(safe_keys=["token"])
    logprobs = {"token": " the", "logprob": -0.1}
    assert logprobs == redactor.redact_value(logprobs)
    assert '"token": " the"' == redactor.redact('"token": " the"')


# --- modes -----------------------------------------------------------------------------


def test_hash_mode_gives_stable_keyed_pseudonyms() -> None:
    one = Redactor(modes={"email": "hash"}, hash_key=KEY)
    again = Redactor(modes={"email": "hash"}, hash_key=KEY)
    other = Redactor(modes={"email": "hash"}, hash_key="another key")
    first = one.redact("from Bob@Example.com")
    assert re2.fullmatch(r"from <email:[0-9a-f]{8}>", first)
    assert first == again.redact("from bob@example.com")  # normalised before hashing
    assert first != other.redact("from Bob@Example.com")
    assert first != one.redact("from carol@example.com")


def test_hash_mode_without_key_fails_at_construction(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("INFERLOG_REDACTION_KEY", raising=False)
    with pytest.raises(ValueError, match="INFERLOG_REDACTION_KEY"):
        Redactor(modes={"card": "hash"})


def test_hash_key_from_environment_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_REDACTION_KEY", "env-secret-key-value")
    redactor = Redactor(default_mode="hash", hash_key_env="MY_REDACTION_KEY")
    assert redactor.redact("4111111111111111").startswith("<card:")
    assert "env-secret-key-value" not in repr(redactor)
    assert "env-secret-key-value" not in repr(RedactionFilter(redactor=redactor).__dict__)


def test_partial_mode_keeps_last_four_of_a_card() -> None:
    redactor = Redactor(modes={"card": "partial"})
    assert "card [REDACTED:CARD:****1111]" == redactor.redact("card 4111-1111-1111-1111")


def test_partial_mode_is_refused_where_there_are_no_digits() -> None:
    with pytest.raises(ValueError, match="partial"):
        Redactor(modes={"email": "partial"})


def test_drop_mode_removes_the_field_in_data_and_masks_in_text() -> None:
    redactor = Redactor(modes={"email": "drop"})
    data = {"user": "bob@example.com", "n": 1, "tags": ["ok", "mail bob@example.com"]}
    assert {"n": 1, "tags": ["ok"]} == redactor.redact_value(data)
    assert "to [REDACTED:EMAIL]" == redactor.redact("to bob@example.com")


def test_secret_field_mode_drop_removes_secret_keys() -> None:
    redactor = Redactor(modes={"secret_field": "drop"})
    assert {"user": "bob"} == redactor.redact_value({"user": "bob", "api_key": "k"})


# --- structured data -------------------------------------------------------------------


def test_redact_value_walks_nested_data_without_mutating_it() -> None:
    data = {
        "messages": [{"role": "user", "content": "I am bob@example.com"}],
        "config": {"api_key": "sk-live-xyz", "password": "pw"},
        "meta": ("203.0.113.7", 4111111111111111, 512, 0.5, None, True),
        "input_token_count": 512,
    }
    before = copy.deepcopy(data)
    out = DEFAULT.redact_value(data)
    assert before == data
    assert {
        "messages": [{"role": "user", "content": "I am [REDACTED:EMAIL]"}],
        "config": {"api_key": "[REDACTED:SECRET]", "password": "[REDACTED:SECRET]"},
        "meta": ("[REDACTED:IPV4]", "[REDACTED:CARD]", 512, 0.5, None, True),
        "input_token_count": 512,
    } == out


def test_redact_value_returns_new_containers_even_when_clean() -> None:
    data = {"a": [1, 2], "b": {"c": "d"}}
    out = DEFAULT.redact_value(data)
    assert data == out
    assert out is not data
    assert out["a"] is not data["a"]
    assert out["b"] is not data["b"]


def test_secret_key_names_match_whole_values_but_not_counts() -> None:
    secret = ["password", "db_password_hash", "X-Api-Key", "refresh_token", "sessionid"]
    plain = ["input_token_count", "max_tokens", "tokenizer", "cache_key", "author"]
    assert all(DEFAULT.is_secret_key(k) for k in secret)
    assert not any(DEFAULT.is_secret_key(k) for k in plain)


def test_cycles_and_deep_nesting_are_cut_not_recursed_forever() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert ["<circular reference to list>"] == DEFAULT.redact_value(loop)
    deep: Any = "bottom"
    for _ in range(100):
        deep = [deep]
    assert "<nested deeper than 64 levels: list>" in repr(DEFAULT.redact_value(deep))


# --- properties --------------------------------------------------------------------------

_SAFE_WORD = st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10)
_SAFE_NUMBER = st.integers(0, 9999).map(str)
_PUNCT = st.sampled_from(["", ",", ".", "!", "?", ";"])
# A word before every number: numbers side by side ("100 10 1000", "415 555 0132")
# are a real SSN or phone number in spaced form, not text without PII.
_safe_text = st.lists(
    st.tuples(st.one_of(_SAFE_WORD, st.tuples(_SAFE_WORD, _SAFE_NUMBER).map(" ".join)), _PUNCT).map(
        "".join
    ),
    max_size=30,
).map(" ".join)
_delims = st.sampled_from([(" ", " "), ("(", ")"), ('"', '"'), (": ", "."), ("<", ">")])


def _luhn_complete(body: str) -> str:
    for check in "0123456789":
        if luhn_valid(body + check):
            return body + check
    raise AssertionError("unreachable")


@st.composite
def cards(draw: st.DrawFn) -> str:
    prefix, length = draw(
        st.sampled_from(
            [
                ("4", 16),
                ("51", 16),
                ("55", 16),
                ("2221", 16),
                ("34", 15),
                ("37", 15),
                ("6011", 16),
                ("65", 16),
                ("36", 14),
                ("3530", 16),
                ("4", 13),
                ("62", 19),
            ]
        )
    )
    body = prefix + "".join(
        draw(
            st.lists(
                st.sampled_from("0123456789"),
                min_size=length - len(prefix) - 1,
                max_size=length - len(prefix) - 1,
            )
        )
    )
    number = _luhn_complete(body)
    style = draw(st.sampled_from(["", " ", "-"]))
    if not style:
        return number
    if length == 15:
        return style.join([number[:4], number[4:10], number[10:]])
    return style.join(number[i : i + 4] for i in range(0, len(number), 4))


@st.composite
def ibans(draw: st.DrawFn) -> str:
    country = draw(st.sampled_from(["GB", "DE", "FR", "NL", "ES", "IT", "CH", "BE", "PL", "SE"]))
    bban = draw(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=11, max_size=28))
    for check in range(100):
        candidate = f"{country}{check:02d}{bban}"
        if iban_valid(candidate):
            break
    if draw(st.booleans()):
        return " ".join(candidate[i : i + 4] for i in range(0, len(candidate), 4))
    return candidate


_label = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=12)
emails = st.builds(
    lambda local, domain, tld: f"{local}@{domain}.{tld}",
    st.builds(lambda a, b: a + b, _label, st.sampled_from(["", ".x", "_y", "+tag", "-z"])),
    _label,
    st.sampled_from(["com", "org", "net", "io", "ai", "de", "co.uk", "example"]),
)

_PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@_PROPERTY_SETTINGS
@given(
    st.lists(
        st.one_of(_safe_text, cards(), ibans(), emails, st.sampled_from([p[1] for p in POSITIVES])),
        max_size=6,
    ).map(" ".join)
)
def test_redaction_is_idempotent(text: str) -> None:
    once = DEFAULT.redact(text)
    assert once == DEFAULT.redact(once)


@_PROPERTY_SETTINGS
@given(st.lists(st.one_of(_safe_text, cards(), emails), max_size=5).map(" ".join))
def test_hash_mode_is_idempotent(text: str) -> None:
    redactor = Redactor(default_mode="hash", hash_key=KEY)
    once = redactor.redact(text)
    assert once == redactor.redact(once)


@_PROPERTY_SETTINGS
@given(_safe_text, st.one_of(cards(), ibans(), emails), _delims, _safe_text)
def test_generated_values_in_random_text_are_caught(
    left: str, value: str, delims: tuple[str, str], right: str
) -> None:
    text = f"{left} {delims[0]}{value}{delims[1]} {right}"
    out = DEFAULT.redact(text)
    assert value not in out
    assert value.replace(" ", "").replace("-", "") not in out.replace(" ", "").replace("-", "")


@_PROPERTY_SETTINGS
@given(_safe_text)
def test_random_text_without_pii_is_unchanged(text: str) -> None:
    assert text == DEFAULT.redact(text)


@_PROPERTY_SETTINGS
@given(any_extras)
def test_filter_never_raises_on_any_extras(extra: dict[str, Any]) -> None:
    record = logging.LogRecord("t", logging.INFO, "f.py", 1, "m %s", ("a@b.co",), None)
    record.__dict__.update(extra)
    assert RedactionFilter(redactor=DEFAULT).filter(record) is True
    assert "a@b.co" not in record.getMessage()


# --- safety ------------------------------------------------------------------------------

ADVERSARIAL = [
    "a" * 1_000_000,
    "1 " * 500_000,
    "4" * 1_000_000,
    "a@" * 500_000,
    "password=" * 111_111,
    'password="x ' * 83_333,
    "-----BEGIN RSA PRIVATE KEY-----" * 32_258,
    "1:" * 500_000,
    "1." * 500_000,
    "+1 " * 333_333,
    "Bearer " * 142_857,
    "eyJ" * 333_333 + "." * 1000,
    "ab" * 500_000,
]


def test_adversarial_megabyte_inputs_stay_linear() -> None:
    worst = 0.0
    for text in ADVERSARIAL:
        started = time.perf_counter()
        DEFAULT.redact(text)
        worst = max(worst, time.perf_counter() - started)
    # Linear engines take well under a second per megabyte; backtracking would take hours.
    assert worst < 30.0


# --- the logging filter ------------------------------------------------------------------


def _record(msg: str, args: Any = None, **extra: Any) -> logging.LogRecord:
    record = logging.LogRecord("test", logging.INFO, "f.py", 1, msg, args, None)
    record.__dict__.update(extra)
    return record


def test_filter_redacts_merged_message_and_clears_args() -> None:
    record = _record("user %s paid with %s", ("bob@example.com", "4111111111111111"))
    assert RedactionFilter().filter(record)
    assert "user [REDACTED:EMAIL] paid with [REDACTED:CARD]" == record.msg
    assert record.args is None


def test_filter_redacts_every_extra_field_and_secret_keys() -> None:
    payload = {"messages": [{"content": "my ssn is 123-45-6789"}]}
    record = _record(
        "done",
        request_payload=payload,
        user_id="bob@example.com",
        api_key="abc",
        input_token_count=12,
    )
    RedactionFilter().filter(record)
    assert {"messages": [{"content": "my ssn is [REDACTED:SSN]"}]} == vars(record)[
        "request_payload"
    ]
    assert {"messages": [{"content": "my ssn is 123-45-6789"}]} == payload  # not mutated
    assert "[REDACTED:EMAIL]" == vars(record)["user_id"]
    assert "[REDACTED:SECRET]" == vars(record)["api_key"]
    assert 12 == vars(record)["input_token_count"]


def test_filter_drop_mode_deletes_the_extra() -> None:
    record = _record("ok", client_ip="203.0.113.5", model_id="m")
    RedactionFilter(modes={"ipv4": "drop"}).filter(record)
    assert not hasattr(record, "client_ip")
    assert "m" == vars(record)["model_id"]


def _raise_with_pii() -> None:
    card = "4111111111111111"
    raise ValueError(f"charge failed for bob@example.com card {card}")


def test_filter_builds_and_redacts_the_exception_and_clears_exc_info() -> None:
    try:
        _raise_with_pii()
    except ValueError:
        record = logging.LogRecord("t", logging.ERROR, "f.py", 1, "failed", None, sys.exc_info())
    RedactionFilter().filter(record)
    assert record.exc_info is None
    assert record.exc_text is None
    exc = vars(record)["exception"]
    assert "ValueError" == exc["type"]
    assert "charge failed for [REDACTED:EMAIL] card [REDACTED:CARD]" == exc["message"]
    stack = "\n".join(exc["stack"])
    assert "bob@example.com" not in stack
    assert "4111111111111111" not in stack
    assert "[REDACTED:EMAIL]" in stack
    # A formatter has nothing raw left to render.
    assert "bob@example.com" not in logging.Formatter().format(record)


def test_filter_redacts_an_exception_prepared_upstream() -> None:
    prepared = {"type": "KeyError", "message": "no bob@example.com", "stack": ["x 203.0.113.1"]}
    record = _record("failed", exception=prepared)
    RedactionFilter().filter(record)
    assert {
        "type": "KeyError",
        "message": "no [REDACTED:EMAIL]",
        "stack": ["x [REDACTED:IPV4]"],
    } == vars(record)["exception"]
    assert "no bob@example.com" == prepared["message"]


def test_filter_redacts_stack_info_and_exc_text() -> None:
    record = _record("m")
    record.stack_info = "Stack (most recent call last):\n  token=abc123"
    record.exc_text = "Traceback ...\nValueError: bob@example.com"
    RedactionFilter().filter(record)
    assert "abc123" not in record.stack_info
    assert "ValueError: [REDACTED:EMAIL]" in record.exc_text


def test_filter_leaves_a_clean_record_alone() -> None:
    record = _record("latency %d ms", (12,), model_id="gpt-4o", temperature=0.2)
    RedactionFilter().filter(record)
    assert "latency 12 ms" == record.getMessage()
    assert "gpt-4o" == vars(record)["model_id"]


def test_filter_redacts_a_dict_message_as_data() -> None:
    record = _record({"event": "login", "password": "pw", "email": "bob@example.com"})  # type: ignore[arg-type]
    RedactionFilter().filter(record)
    assert {
        "event": "login",
        "password": "[REDACTED:SECRET]",
        "email": "[REDACTED:EMAIL]",
    } == record.msg


def test_filter_masks_a_field_whose_redaction_fails_and_reports_it() -> None:
    def broken(candidate: Candidate) -> bool:
        raise RuntimeError(candidate.value)

    _diagnostics.reset_report_once()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    _diagnostics.internal_logger.addHandler(handler)
    try:
        flt = RedactionFilter(custom_detectors=[Detector("boom", "EXPLODE", validator=broken)])
        record = _record("EXPLODE with bob@example.com", user="EXPLODE")
        assert flt.filter(record) is True
    finally:
        _diagnostics.internal_logger.removeHandler(handler)
    assert FAILED_TOKEN == record.msg
    assert FAILED_TOKEN == vars(record)["user"]
    assert "redaction of a text failed (RuntimeError)" in stream.getvalue()
    assert "bob@example.com" not in stream.getvalue()


def test_filter_from_dict_config() -> None:
    stream = io.StringIO()
    logging.config.dictConfig(
        {
            "version": 1,
            "disable_existing_loggers": False,
            "filters": {
                "redact": {
                    "()": "inferlog.redaction.RedactionFilter",
                    "detectors": {"ipv4": False},
                    "modes": {"email": "hash", "card": "partial"},
                    "patterns": {"employee_id": r"\bEMP-[0-9]{6}\b"},
                    "secret_keys": ["x-internal-sig"],
                    "hash_key": KEY,
                }
            },
            "handlers": {
                "mem": {
                    "class": "logging.StreamHandler",
                    "stream": stream,
                    "filters": ["redact"],
                    "formatter": "plain",
                }
            },
            "formatters": {"plain": {"format": "%(message)s %(x_internal_sig)s"}},
            "loggers": {"redaction.dictconfig": {"handlers": ["mem"], "level": "INFO"}},
        }
    )
    logging.getLogger("redaction.dictconfig").info(
        "EMP-123456 bob@example.com 4111111111111111 10.1.2.3",
        extra={"x_internal_sig": "abc"},
    )
    line = stream.getvalue().strip()
    assert re2.fullmatch(
        r"\[REDACTED:EMPLOYEE_ID\] <email:[0-9a-f]{8}> \[REDACTED:CARD:\*\*\*\*1111\] "
        r"10\.1\.2\.3 \[REDACTED:SECRET\]",
        line,
    ), line


def test_filter_rejects_both_a_redactor_and_options() -> None:
    with pytest.raises(ValueError, match="either"):
        RedactionFilter(redactor=DEFAULT, modes={"email": "hash"})


class _CountingFilter(RedactionFilter):
    """Counts the records it actually redacts (not the ones it recognises as done)."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.redacted = 0

    def _redact_record(self, record: logging.LogRecord) -> None:
        self.redacted += 1
        super()._redact_record(record)


class _ListHandler(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def _log_through(filters: list[RedactionFilter], message: str) -> list[_ListHandler]:
    logger = logging.getLogger("redaction.two_sinks")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handlers = []
    for flt in filters:
        handler = _ListHandler()
        handler.addFilter(flt)
        logger.addHandler(handler)
        handlers.append(handler)
    try:
        logger.info(message)
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
    return handlers


def test_filter_shared_by_two_sinks_redacts_a_record_once() -> None:
    flt = _CountingFilter()
    first, second = _log_through([flt, flt], "mail bob@example.com")
    assert 1 == flt.redacted
    assert ["mail [REDACTED:EMAIL]"] == [r.getMessage() for r in second.records]
    assert first.records == second.records


def test_equivalent_filter_skips_a_record_already_redacted() -> None:
    one, other = _CountingFilter(), _CountingFilter()
    _log_through([one, other], "card 4111 1111 1111 1111")
    assert (1, 0) == (one.redacted, other.redacted)
    assert one.redactor.mark is other.redactor.mark


def test_differently_configured_filter_redacts_again() -> None:
    lenient = _CountingFilter(detectors={"ipv4": False})
    strict = _CountingFilter()
    (_first, second) = _log_through([lenient, strict], "from 203.0.113.9")
    assert (1, 1) == (lenient.redacted, strict.redacted)
    assert "from [REDACTED:IPV4]" == second.records[0].getMessage()
    assert lenient.redactor.mark is not strict.redactor.mark


def test_hash_keys_make_configurations_differ() -> None:
    assert (
        Redactor(modes={"email": "hash"}, hash_key="a").mark
        is not Redactor(modes={"email": "hash"}, hash_key="b").mark
    )


def test_the_mark_is_not_an_extra() -> None:
    record = _record("bob@example.com")
    RedactionFilter().filter(record)
    assert REDACTED_MARK_ATTR in vars(record)
    assert REDACTED_MARK_ATTR not in dict(iter_extras(record))


def test_extra_with_a_non_str_key_is_redacted_and_nothing_raises() -> None:
    handler = _ListHandler()
    logger = logging.getLogger("redaction.non_str_key")
    logger.propagate = False
    logger.addHandler(handler)
    handler.addFilter(flt := _CountingFilter())
    try:
        logger.warning("x", extra={1: "secret 4111 1111 1111 1111", 2: {"password": "pw"}})  # type: ignore[dict-item]
    finally:
        logger.removeHandler(handler)
    record = handler.records[0]
    assert 0 == flt.counters.get("errors")
    assert "x" == record.msg
    assert "secret [REDACTED:CARD]" == vars(record)[1]
    assert {"password": "[REDACTED:SECRET]"} == vars(record)[2]
    assert {1: "secret [REDACTED:CARD]", 2: {"password": "[REDACTED:SECRET]"}} == {
        k: v for k, v in iter_extras(record) if not isinstance(k, str)
    }


def test_iter_extras_yields_non_str_keys() -> None:
    record = _record("m", user="u")
    record.__dict__[7] = "seven"
    assert {"user": "u", 7: "seven"} == dict(iter_extras(record))


def test_filter_redacts_plain_fields_as_redact_does_each() -> None:
    fields = {
        "user_id": "bob@example.com",
        "prompt": "call (415) 555-0132 or mail ann@example.org, card 4111 1111 1111 1111",
        "model_id": "gpt-4o-mini",
        "client": "from 203.0.113.9",
        "latency_ms": 12.5,
        "tokens": 512,
        "error_code": None,
    }
    record = _record("user %s", ("bob@example.com",), **fields)
    record.stack_info = "Stack:\n  password=hunter2"
    RedactionFilter().filter(record)
    expected = {k: DEFAULT.redact(v) if isinstance(v, str) else v for k, v in fields.items()}
    assert expected == {k: vars(record)[k] for k in fields}
    assert "user [REDACTED:EMAIL]" == record.msg
    assert DEFAULT.redact("Stack:\n  password=hunter2") == record.stack_info


def test_filter_drop_mode_deletes_a_plain_string_extra() -> None:
    record = _record("ok", note="mail bob@example.com", model_id="m")
    RedactionFilter(modes={"email": "drop"}).filter(record)
    assert "note" not in vars(record)
    assert "m" == vars(record)["model_id"]


def test_user_pattern_anchored_at_the_start_applies_to_every_field() -> None:
    # Fields are scanned joined; a pattern with ^ must still see each field's start.
    flt = RedactionFilter(patterns={"ticket": r"^TCK-[0-9]+"})
    record = _record("TCK-1 opened", ref="TCK-2", note="see TCK-3")
    flt.filter(record)
    assert "[REDACTED:TICKET] opened" == record.msg
    assert "[REDACTED:TICKET]" == vars(record)["ref"]
    assert "see TCK-3" == vars(record)["note"]


def test_filter_redacts_a_card_number_logged_as_an_int() -> None:
    record = _record("paid", card=4111111111111111, tokens=512, ok=True)
    RedactionFilter().filter(record)
    assert "[REDACTED:CARD]" == vars(record)["card"]
    assert (512, True) == (vars(record)["tokens"], vars(record)["ok"])


_pii_leaf = st.one_of(
    _safe_text,
    cards(),
    emails,
    st.sampled_from([p[1] for p in POSITIVES]),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([4111111111111111, 5500000000000004, None, 1.5, True]),
)
_nested = st.recursive(
    _pii_leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(
            st.sampled_from(["prompt", "text", "n", "meta", "items"]), inner, max_size=4
        ),
    ),
    max_leaves=12,
)


@_PROPERTY_SETTINGS
@given(_nested, _nested)
def test_filter_on_nested_extras_equals_redact_value_of_each(first: Any, second: Any) -> None:
    # The filter scans the record's strings once and rescans only the strings of a
    # nested value that the scan found something in, from that point: the result must
    # be what walking the whole value gives.
    record = logging.LogRecord("t", logging.INFO, "f.py", 1, "m", None, None)
    record.__dict__.update(request_payload=first, response_payload=second, seed=10**12)
    RedactionFilter(redactor=DEFAULT).filter(record)
    for name, value in (("request_payload", first), ("response_payload", second)):
        expected = DEFAULT.redact_value(value)
        assert record.__dict__[name] == expected
