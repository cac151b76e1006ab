"""Former home of the detector types: kept so that existing imports still work.

Everything here now lives in :mod:`inferlog.redaction.detectors` (and its private
helper modules); import from :mod:`inferlog.redaction` instead.
"""

from __future__ import annotations

from inferlog.redaction._keys import (
    SECRET_KEY_WORDS_ANYWHERE,
    SECRET_KEY_WORDS_AT_END,
    make_secret_assignment_validator,
    normalize_key,
    secret_assignment_pattern,
    user_key_regex,
)
from inferlog.redaction._validators import IBAN_COUNTRIES, iban_valid, luhn_valid, ssn_valid
from inferlog.redaction.detectors import (
    BUILTIN_NAMES,
    CONTEXT_CHARS,
    TOKEN_PATTERN,
    Candidate,
    Detector,
    Validator,
    builtin_detectors,
)

__all__ = [
    "BUILTIN_NAMES",
    "CONTEXT_CHARS",
    "IBAN_COUNTRIES",
    "SECRET_KEY_WORDS_ANYWHERE",
    "SECRET_KEY_WORDS_AT_END",
    "TOKEN_PATTERN",
    "Candidate",
    "Detector",
    "Validator",
    "builtin_detectors",
    "iban_valid",
    "luhn_valid",
    "make_secret_assignment_validator",
    "normalize_key",
    "secret_assignment_pattern",
    "ssn_valid",
    "user_key_regex",
]
