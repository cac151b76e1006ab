"""PII and secret redaction: :class:`Redactor` for text and data, :class:`RedactionFilter`.

Speed comes from RE2 (``google-re2``): every enabled detector pattern is joined into
one alternation that is scanned over the text, in linear time; only where that scan
finds something do detectors' own patterns and validators run. The package holds one
concept per module:

- :mod:`inferlog.redaction.detectors`: the :class:`Detector` and :class:`Candidate`
  types and the built-in detector set (with ``_validators`` and ``_keys``);
- ``_engine``: the one-scan matcher;
- :mod:`inferlog.redaction.redactor`: :class:`Redactor`, its configuration and modes;
- ``_walk``: redaction of nested values;
- :mod:`inferlog.redaction.filter`: :class:`RedactionFilter`, the logging stage.
"""

from __future__ import annotations

from inferlog.redaction._engine import MAX_INSIDE_RETRIES as MAX_INSIDE_RETRIES
from inferlog.redaction._engine import MAX_PASSES as MAX_PASSES
from inferlog.redaction._engine import Spans as Spans
from inferlog.redaction._keys import SECRET_KEY_WORDS_ANYWHERE as SECRET_KEY_WORDS_ANYWHERE
from inferlog.redaction._keys import SECRET_KEY_WORDS_AT_END as SECRET_KEY_WORDS_AT_END
from inferlog.redaction._keys import normalize_key as normalize_key
from inferlog.redaction._keys import user_key_regex as user_key_regex
from inferlog.redaction._validators import iban_valid, luhn_valid, ssn_valid
from inferlog.redaction._walk import FAILED_TOKEN
from inferlog.redaction._walk import MAX_DEPTH as MAX_DEPTH
from inferlog.redaction.detectors import BUILTIN_NAMES, Candidate, Detector, Validator
from inferlog.redaction.detectors import TOKEN_PATTERN as TOKEN_PATTERN
from inferlog.redaction.detectors import builtin_detectors as builtin_detectors
from inferlog.redaction.filter import REDACTED_MARK_ATTR as REDACTED_MARK_ATTR
from inferlog.redaction.filter import RedactionFilter
from inferlog.redaction.redactor import DEFAULT_HASH_KEY_ENV, Mode, Redactor
from inferlog.redaction.redactor import HASH_HEX_CHARS as HASH_HEX_CHARS
from inferlog.redaction.redactor import SECRET_FIELD as SECRET_FIELD

__all__ = [
    "BUILTIN_NAMES",
    "DEFAULT_HASH_KEY_ENV",
    "FAILED_TOKEN",
    "Candidate",
    "Detector",
    "Mode",
    "RedactionFilter",
    "Redactor",
    "Validator",
    "iban_valid",
    "luhn_valid",
    "ssn_valid",
]
