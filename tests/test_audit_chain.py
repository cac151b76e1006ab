"""The chain's hash: an unambiguous, stable encoding; SHA-256 or HMAC; where the key comes from."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inferlog.audit.chain import (
    GENESIS_HASH,
    algorithm_for,
    encode_content,
    resolve_key,
    row_digest,
)

_values = st.one_of(
    st.none(),
    st.text(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
)


@given(a=st.lists(_values, max_size=6), b=st.lists(_values, max_size=6))
def test_different_contents_never_encode_alike(a: list[object], b: list[object]) -> None:
    same = len(a) == len(b) and all(
        type(x) is type(y) and repr(x) == repr(y) for x, y in zip(a, b, strict=True)
    )
    assert (encode_content(a) == encode_content(b)) == same


def test_the_encoding_is_the_documented_one() -> None:
    assert encode_content([None, 5, 1.5, "é"]) == b"n;i5;f0x1.8000000000000p+0;s2:\xc3\xa9"


def test_the_digest_is_sha256_of_the_previous_hash_and_the_content() -> None:
    expected = hashlib.sha256(GENESIS_HASH.encode() + b"\n" + b"s1:a").hexdigest()
    assert row_digest(GENESIS_HASH, ["a"]) == expected
    assert row_digest(GENESIS_HASH, ["a"], b"k") != expected


def test_the_key_comes_from_the_option_else_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AUDIT_KEY_FOR_TEST", "from-env")
    assert resolve_key("given", "AUDIT_KEY_FOR_TEST") == b"given"
    assert resolve_key(None, "AUDIT_KEY_FOR_TEST") == b"from-env"
    assert resolve_key(None, "AUDIT_KEY_NOT_SET_FOR_TEST") is None
    assert resolve_key("", None) is None
    assert (algorithm_for(b"k"), algorithm_for(None)) == ("hmac-sha256", "sha256")
