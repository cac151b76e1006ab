"""Key names that mark a value as secret: ``password=...``, ``"api_key": "..."``.

Used twice: by the ``secret`` detector, which finds ``key=value`` in text, and by the
redactor's walk over structured data, where a field whose name is secret is replaced
whole (the ``secret_field`` rule).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inferlog.redaction.detectors import Candidate, Validator


#: Words that make a key name secret wherever they appear in it (``db_password_hash``).
SECRET_KEY_WORDS_ANYWHERE: tuple[str, ...] = (
    "password",
    "passwd",
    "passphrase",
    "secret",
    "privatekey",
    "credential",
    "apikey",
    "accesskey",
    "authorization",
    "cookie",
)
#: Words that make a key name secret when it ends with them (``refresh_token``, but not
#: ``input_token_count`` or ``max_tokens``).
SECRET_KEY_WORDS_AT_END: tuple[str, ...] = (
    "token",
    "pwd",
    "auth",
    "session",
    "sessionid",
    "jwt",
    "bearer",
    "signature",
)

_SEPARATORS_RE = re.compile(r"[\s_.\-]+")


def normalize_key(name: str) -> str:
    """Lower-case a key name and drop separators: ``X-Api-Key`` -> ``xapikey``."""
    return _SEPARATORS_RE.sub("", name).lower()


def _word_regex(word: str) -> str:
    # "apikey" also matches "api_key", "api-key", "api.key": allow a separator between
    # any two letters of the built-in words would be too loose, so only where the
    # readable forms put one.
    known_splits = {
        "privatekey": "private[_.-]?key",
        "apikey": "api[_.-]?key",
        "accesskey": "access[_.-]?key",
        "sessionid": "session[_.-]?id",
    }
    return known_splits.get(word, re.escape(word))


def user_key_regex(name: str) -> str:
    """RE2 fragment matching a user-given key name in any of its separator spellings."""
    parts = [p for p in _SEPARATORS_RE.split(name.lower()) if p]
    if not parts:
        raise ValueError(f"secret key name {name!r} has no letters or digits")
    return "[_.-]?".join(re.escape(p) for p in parts)


def secret_assignment_pattern(extra_words: tuple[str, ...] = ()) -> str:
    """The RE2 pattern of ``key=value`` / ``"key": "value"`` where the key names a secret."""
    anywhere = "|".join(_word_regex(w) for w in SECRET_KEY_WORDS_ANYWHERE)
    at_end = "|".join([*(_word_regex(w) for w in SECRET_KEY_WORDS_AT_END), *extra_words])
    # Bounded runs: in one combined pattern an unbounded run could keep this
    # alternative alive to the end of the text at every match another detector finds.
    key = rf"\b(?:[\w.-]{{0,64}}(?i:{anywhere})[\w.-]{{0,64}}|[\w.-]{{0,64}}(?i:{at_end}))"
    separator = r"\\?[\"']?[ \t]*(?:=>|[:=])[ \t]*"
    value = (
        r"(?:\"((?:[^\"\\\r\n]|\\.){0,512})\""  # "double quoted", JSON escapes allowed
        r"|'([^'\r\n]{0,512})'"  # 'single quoted'
        r"|\\?[\"']?(?:(?i:token|digest)[ \t]+)?"  # bare, maybe a scheme
        r"([^\s\"'\\,;&)\]}<\[{(][^\s\"'\\,;&)\]}]*))"
    )
    # A Cookie header holds several name=value pairs: take the rest of the line.
    cookie = r"\b(?i:set-cookie|cookie)[ \t]*:[ \t]*([^\r\n\"]+)"
    return rf"{cookie}|{key}{separator}{value}"


_KEY_PREFIX_RE = re.compile(r"[\w.-]+")
_EMPTY_VALUES = frozenset({"", "null", "none", "nil", "undefined", "true", "false"})
# "Authorization: Bearer xyz": the scheme word is not the secret; rejecting it lets the
# bearer_token and basic_auth detectors take the credential that follows.
_SCHEMES = frozenset({"bearer", "basic", "token", "digest"})


def make_secret_assignment_validator(is_safe_key: Callable[[str], bool]) -> Validator:
    """Build the validator of the ``secret`` detector; ``is_safe_key`` exempts key names."""

    def validate(candidate: Candidate) -> bool:
        value = candidate.value.strip()
        lowered = value.lower()
        if lowered in _EMPTY_VALUES or lowered in _SCHEMES or set(value) <= {"*", "x", "X"}:
            return False
        key = _KEY_PREFIX_RE.match(candidate.match)
        return key is None or not is_safe_key(key.group())

    return validate
