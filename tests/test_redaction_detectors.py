"""Property tests of the detectors added for real logs (inferlog.redaction.detectors).

For each: generated positives, in the formats logs hold them, are caught; generated
look-alikes are left exactly as they were; and redaction stays idempotent.
"""

from __future__ import annotations

import base64
import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inferlog._detectors import builtin_detectors as shim_builtin_detectors
from inferlog.redaction import Redactor, ssn_valid
from inferlog.redaction.detectors import builtin_detectors

DEFAULT = Redactor()
SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None
)

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"


def _text(alphabet: str, size: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=size, max_size=size)


def _mixed(size: int) -> st.SearchStrategy[str]:
    """Random tokens with upper case, lower case and a digit, as real keys have."""
    return st.tuples(_text(ALNUM, size - 3), st.sampled_from(["aB1", "Z9q", "4xY"])).map("".join)


# The formats a value is logged in: plain text, JSON, JSON escaped in JSON, an
# OpenTelemetry attribute, a Python repr.
def _formats(key: str, value: str) -> list[str]:
    record = {key: value, "n": 1}
    return [
        f"INFO {key}={value} ok",
        json.dumps(record),
        json.dumps({"body": json.dumps(record)}),
        f"     -> app.{key}: Str({value})",
        repr(record),
    ]


# --- api_token and Slack ------------------------------------------------------------------

api_tokens = st.one_of(
    _mixed(20).map("glpat-".__add__),
    _mixed(34).map("hf_".__add__),
    _mixed(36).map("npm_".__add__),
    _text(HEX, 62).map(lambda t: "dop_v1_a1" + t),
    _text(HEX, 30).map(lambda t: "dapi" + t + "f0"),
    _mixed(52).map("gsk_".__add__),
    _mixed(37).map("r8_".__add__),
    _mixed(80).map("xai-".__add__),
    st.tuples(_mixed(22), _mixed(43)).map(lambda p: f"SG.{p[0]}.{p[1]}"),
)
slack_tokens = st.one_of(
    st.tuples(_mixed(10), _text(string.digits, 13), _text(HEX, 64)).map(
        lambda p: f"xapp-1-A{p[0].upper()}-{p[1]}-{p[2]}"
    ),
    _mixed(60).map("xoxe.xoxp-1-".__add__),
    st.tuples(_text(string.digits, 12), _mixed(24)).map(lambda p: f"xoxb-{p[0]}-{p[1]}"),
)


@SETTINGS
@given(api_tokens, st.sampled_from(["uses {v} to pull", "{v}", "キー{v}です", "'{v}'"]))
def test_vendor_tokens_with_a_known_prefix_are_caught(token: str, template: str) -> None:
    out = DEFAULT.redact(template.format(v=token))
    assert token not in out
    assert "[REDACTED:API_TOKEN]" in out


@SETTINGS
@given(slack_tokens)
def test_every_slack_token_family_is_caught(token: str) -> None:
    assert "bot [REDACTED:SLACK_TOKEN] ok" == DEFAULT.redact(f"bot {token} ok")


@SETTINGS
@given(
    st.sampled_from(["hf_", "npm_", "glpat-", "gsk_", "xapp-", "dapi"]),
    st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=12),
)
def test_token_prefixes_before_short_or_plain_words_are_left_alone(prefix: str, word: str) -> None:
    text = f"the {prefix}{word} module and npm install"
    assert text == DEFAULT.redact(text)


# --- SSNs under keys that name one --------------------------------------------------------

ssns = st.tuples(st.integers(1, 899), st.integers(1, 99), st.integers(1, 9999)).filter(
    lambda p: p[0] != 666
)
SSN_KEYS = ["ssn", "taxpayer_id", "social_security_number", "tax_id", "customer_ssn", "SSN"]


@SETTINGS
@given(ssns, st.sampled_from(SSN_KEYS))
def test_nine_digit_ssns_under_ssn_keys_are_caught_in_every_format(
    parts: tuple[int, int, int], key: str
) -> None:
    digits = f"{parts[0]:03d}{parts[1]:02d}{parts[2]:04d}"
    for text in _formats(key, digits):
        out = DEFAULT.redact(text)
        assert digits not in out, text
        assert "[REDACTED:SSN]" in out, text


@SETTINGS
@given(ssns, st.sampled_from(["order_id", "invoice", "zip", "count", "seed", "sku"]))
def test_nine_digits_under_other_keys_are_left_alone(parts: tuple[int, int, int], key: str) -> None:
    digits = f"{parts[0]:03d}{parts[1]:02d}{parts[2]:04d}"
    for text in _formats(key, digits):
        assert text == DEFAULT.redact(text)


@SETTINGS
@given(st.sampled_from(["000", "666", "900", "987"]), st.sampled_from(SSN_KEYS))
def test_impossible_ssns_under_ssn_keys_are_left_alone(area: str, key: str) -> None:
    digits = f"{area}451234"
    assert not ssn_valid(digits)
    assert f"{key}={digits}" == DEFAULT.redact(f"{key}={digits}")


# --- phone numbers: bare North American digits, and next to CJK text -----------------------

nanp = st.tuples(st.integers(200, 999), st.integers(200, 999), st.integers(0, 9999)).map(
    lambda p: f"{p[0]}{p[1]}{p[2]:04d}"
)


@SETTINGS
@given(nanp, st.sampled_from(["phone", "mobile", "tel", "phone_number", "cell"]))
def test_bare_north_american_numbers_after_phone_words_are_caught(digits: str, key: str) -> None:
    for text in [*_formats(key, digits), f"call me at {digits} tonight"]:
        out = DEFAULT.redact(text)
        assert digits not in out, text
        assert "[REDACTED:PHONE]" in out, text


@SETTINGS
@given(nanp, st.sampled_from(["seed", "order_id", "request_id", "count", "invoice", "ticket"]))
def test_bare_ten_digit_ids_are_left_alone(digits: str, key: str) -> None:
    for text in _formats(key, digits):
        assert text == DEFAULT.redact(text)


@SETTINGS
@given(
    st.sampled_from(["+44 20 7946 0958", "+81-3-1234-5678", "+86 138 0013 8000", "+4917012345678"]),
    st.sampled_from(["電話番号は", "我的电话是", "전화번호는", "連絡先\uff1a"]),
    st.sampled_from(["です。", "\uff0c谢谢", "입니다", "まで"]),
)
def test_international_numbers_right_against_cjk_text_are_caught(
    number: str, before: str, after: str
) -> None:
    assert f"{before}[REDACTED:PHONE]{after}" == DEFAULT.redact(f"{before}{number}{after}")


# --- passwords in prose ----------------------------------------------------------------------

PROSE = [
    "My password is {v} please",
    "Mein Passwort ist {v} und",
    "Mijn wachtwoord is {v} maar",
    "Mon mot de passe est {v} mais",
    "Mi contraseña es {v} y",
    "La mia password è {v} ma",
    "Minha senha é {v} e",
    "Das Kennwort lautet {v}.",
    "パスワードは{v}です",
    "我的密码是{v}",
    "my password was changed to {v} today",
    "Hasło to {v}",
]
passwords = st.tuples(
    st.text(alphabet=string.ascii_letters, min_size=4, max_size=10),
    st.integers(0, 9999),
    st.sampled_from(["", "!", "#", "$", "_x"]),
).map(lambda p: f"{p[0]}{p[1]}{p[2]}")


@SETTINGS
@given(passwords, st.sampled_from(PROSE))
def test_passwords_stated_in_prose_are_caught_in_several_languages(
    password: str, template: str
) -> None:
    for text in _formats("content", template.format(v=password)):
        out = DEFAULT.redact(text)
        assert password not in out, text
        assert "[REDACTED:SECRET]" in out, text


@SETTINGS
@given(st.text(alphabet=string.ascii_lowercase, min_size=4, max_size=12), st.sampled_from(PROSE))
def test_plain_words_after_password_phrases_are_left_alone(word: str, template: str) -> None:
    text = template.format(v=word)
    assert text == DEFAULT.redact(text)


# --- key names: metadata kept, secrets masked -------------------------------------------------

DESCRIBING_KEYS = [
    "secret_version",
    "api_key_count",
    "password_updated_at",
    "password_expires_in_days",
    "api_key_last_used_at",
    "secret_name",
    "credential_type",
    "num_secrets",
    "password_min_length",
]
metadata_values = st.one_of(
    st.integers(0, 99999),
    st.booleans(),
    st.sampled_from(["2024-11-02T10:00:00Z", "2026-01-31", "1.2.3", "v7", "90d", "3600s", "oauth"]),
)


@SETTINGS
@given(st.sampled_from(DESCRIBING_KEYS), metadata_values)
def test_metadata_under_keys_that_mention_a_secret_is_kept(key: str, value: Any) -> None:
    shown = json.dumps(value) if isinstance(value, bool) else str(value)
    for text in _formats(key, shown):
        assert text == DEFAULT.redact(text)
    assert {key: value} == DEFAULT.redact_value({key: value})


@SETTINGS
@given(
    st.sampled_from(["password", "db_password", "api_key", "client_secret", "refresh_token"]),
    st.one_of(st.integers(0, 99999), _mixed(12)),
)
def test_every_value_of_a_key_that_names_a_secret_is_masked(key: str, value: Any) -> None:
    assert {key: "[REDACTED:SECRET]"} == DEFAULT.redact_value({key: value})
    out = DEFAULT.redact(json.dumps({key: str(value)}))
    assert str(value) not in out


# --- Authorization schemes ---------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["ApiKey", "Token", "SSWS", "Key", "sso-key", "Custom-Scheme", "Bearer"]),
    _mixed(24),
)
def test_authorization_masks_the_credential_and_keeps_the_scheme(scheme: str, key: str) -> None:
    for text in [
        f"Authorization: {scheme} {key}",
        json.dumps({"headers": {"Authorization": f"{scheme} {key}"}}),
        f"     -> http.request.header.authorization: Str({scheme} {key})",
    ]:
        out = DEFAULT.redact(text)
        assert key not in out, text
        assert scheme in out, text


# --- private keys --------------------------------------------------------------------------------


@SETTINGS
@given(
    st.sampled_from(["RSA ", "EC ", "DSA ", "OPENSSH ", "ENCRYPTED ", "", "PGP"]),
    st.binary(min_size=48, max_size=900),
    st.sampled_from(["raw", "json", "json_twice", "under_private_key", "repr"]),
)
def test_private_keys_are_caught_whole_in_every_encoding(kind: str, body: bytes, how: str) -> None:
    encoded = base64.b64encode(body).decode()
    lines = [encoded[i : i + 64] for i in range(0, len(encoded), 64)]
    if kind == "PGP":
        pem = (
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\nVersion: GnuPG v2\n\n"
            + "\n".join(lines)
            + "\n-----END PGP PRIVATE KEY BLOCK-----"
        )
    else:
        pem = f"-----BEGIN {kind}PRIVATE KEY-----\n" + "\n".join(lines)
        pem += f"\n-----END {kind}PRIVATE KEY-----"
    text = {
        "raw": pem,
        "json": json.dumps({"key_pem": pem}),
        "json_twice": json.dumps({"body": json.dumps({"key_pem": pem})}),
        "under_private_key": json.dumps({"type": "service_account", "private_key": pem}),
        "repr": repr({"tls_key": pem}),
    }[how]
    out = DEFAULT.redact(text)
    assert all(line not in out for line in lines if len(line) > 8), out
    assert "[REDACTED:PRIVATE_KEY]" in out


# --- versions are not addresses ------------------------------------------------------------------

quads = st.tuples(*[st.integers(1, 254)] * 4).map(lambda p: ".".join(map(str, p)))


@SETTINGS
@given(quads, st.sampled_from(["build ", "version: ", "Chrome/", "vllm==", "release ", "fw "]))
def test_dotted_versions_are_not_addresses(quad: str, before: str) -> None:
    text = f"{before}{quad} ok"
    assert text == DEFAULT.redact(text)


@SETTINGS
@given(quads.filter(lambda q: not q.startswith("127.")), st.sampled_from(["client ", "サーバー"]))
def test_addresses_after_other_words_are_caught(quad: str, before: str) -> None:
    assert f"{before}[REDACTED:IPV4] ok" == DEFAULT.redact(f"{before}{quad} ok")


# --- idempotence over all of the above ------------------------------------------------------------


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.one_of(
            api_tokens,
            slack_tokens,
            passwords.map("Mein Passwort ist {}".format),
            nanp.map("phone {}".format),
            _mixed(20).map("Authorization: ApiKey {}".format),
            st.sampled_from(DESCRIBING_KEYS).map("{}=5".format),
            st.text(max_size=20),
        ),
        max_size=6,
    ).map(" ".join)
)
def test_redaction_stays_idempotent(text: str) -> None:
    once = DEFAULT.redact(text)
    assert once == DEFAULT.redact(once)


def test_the_old_module_still_gives_the_same_detectors() -> None:
    assert [d.name for d in builtin_detectors()] == [d.name for d in shim_builtin_detectors()]


@pytest.mark.parametrize(
    ("key", "value"),
    [("password", True), ("api_key", None), ("refresh_token", "")],
)
def test_booleans_none_and_empty_values_are_never_secrets(key: str, value: Any) -> None:
    assert {key: value} == DEFAULT.redact_value({key: value})


@SETTINGS
@given(st.sampled_from(["order_id", "request_id", "id", "txn_id", "event_ts"]))
def test_luhn_valid_numbers_under_id_keys_are_ids_not_cards(key: str) -> None:
    for text in _formats(key, "4532015112830366"):
        assert text == DEFAULT.redact(text)
    assert "card=[REDACTED:CARD]" == DEFAULT.redact("card=4532015112830366")
