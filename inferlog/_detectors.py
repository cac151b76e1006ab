"""The built-in redaction detectors: RE2 patterns plus the validators that confirm them.

Every pattern here is written for RE2 (no look-arounds, no back-references) so that
matching is linear in the length of the text. Where a stdlib pattern would use a
look-behind or look-ahead, the detector's validator inspects the few characters
around the candidate instead; validators only ever run on candidates, never on the
whole text.

A pattern's *replaced span* is the first capturing group that took part in the
match, or the whole match when no group did; keys, separators and schemes stay
visible (``password=[REDACTED:SECRET]``).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from collections.abc import Callable
from dataclasses import dataclass, field

#: Characters of context that :meth:`Candidate.before` and :meth:`Candidate.after` give.
CONTEXT_CHARS = 16

#: Every mask, partial and hash token the redactor writes matches this RE2 pattern, and
#: no detector may replace text that overlaps such a token: that is what makes
#: ``redact(redact(x)) == redact(x)`` hold.
TOKEN_PATTERN = (
    r"\[REDACTED:[A-Z0-9_]{1,64}(?::\*{4}[A-Za-z0-9]{1,4})?\]|<[a-z0-9_]{1,64}:[0-9a-f]{8,64}>"
)

_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")


class Candidate:
    """A span that a detector's pattern matched, handed to the detector's validator.

    Offsets are byte offsets into the UTF-8 encoding of the text being redacted.
    ``start``/``end`` delimit the span that would be replaced; ``match_start`` and
    ``match_end`` the whole pattern match (which may include a key or a scheme).
    """

    __slots__ = ("_data", "end", "match_end", "match_start", "start")

    def __init__(self, data: bytes, start: int, end: int, match_start: int, match_end: int):
        self._data = data
        self.start = start
        self.end = end
        self.match_start = match_start
        self.match_end = match_end

    @property
    def value(self) -> str:
        """The text that would be replaced."""
        return self._data[self.start : self.end].decode("utf-8", "replace")

    @property
    def match(self) -> str:
        """The whole text the pattern matched."""
        return self._data[self.match_start : self.match_end].decode("utf-8", "replace")

    def before(self, chars: int = CONTEXT_CHARS) -> str:
        """Up to ``chars`` bytes of text just before the replaced span, decoded leniently."""
        return self._data[max(0, self.start - chars) : self.start].decode("utf-8", "ignore")

    def after(self, chars: int = CONTEXT_CHARS) -> str:
        """Up to ``chars`` bytes of text just after the replaced span, decoded leniently."""
        return self._data[self.end : self.end + chars].decode("utf-8", "ignore")


#: A validator confirms or rejects a candidate; it must not raise for any input.
Validator = Callable[[Candidate], bool]


def _identity(value: str) -> str:
    return value


@dataclass(frozen=True)
class Detector:
    """One named kind of sensitive text: an RE2 pattern and an optional validator.

    Args:
        name: identifier, ``[A-Za-z][A-Za-z0-9_]*``; the mask label is its upper case
            (``email`` -> ``[REDACTED:EMAIL]``) unless ``label`` is given.
        pattern: RE2 syntax. If it has capturing groups, only the first group that
            took part in a match is replaced; otherwise the whole match is.
        validator: called with a :class:`Candidate`; return False to leave it alone.
        enabled: whether the detector is on when the configuration does not say.
        partial: whether ``partial`` mode (keep the last four characters) is allowed.
        normalize: maps a value to the form that is hashed, so that ``4111 1111 ...``
            and ``4111-1111-...`` get the same pseudonym.
        retry_inside: after a rejected candidate, search again from the next
            character rather than after the candidate, so that a valid value hidden
            behind a longer invalid one is still found (digit runs).
        shrink: after a rejected candidate, also try it cut back at each inner space
            or dash, so that trailing words glued on by the pattern do not hide it.
        description: one line for the documentation.
    """

    name: str
    pattern: str
    validator: Validator | None = None
    enabled: bool = True
    partial: bool = False
    normalize: Callable[[str], str] = field(default=_identity)
    retry_inside: bool = False
    shrink: bool = False
    label: str | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME_RE.fullmatch(self.name):
            raise ValueError(
                f"detector name {self.name!r} must match [A-Za-z][A-Za-z0-9_]* (at most 64)"
            )
        if self.label is not None and not re.fullmatch(r"[A-Z0-9_]{1,64}", self.label):
            raise ValueError(f"detector label {self.label!r} must match [A-Z0-9_]{{1,64}}")

    @property
    def mask_label(self) -> str:
        """The label used in ``[REDACTED:LABEL]``."""
        return self.label or self.name.upper()


# --- validators ---------------------------------------------------------------------


# Luhn: each digit replaced by the digit that doubling it adds to the sum.
_LUHN_DOUBLED = str.maketrans("0123456789", "0246813579")


def luhn_valid(digits: str) -> bool:
    """Return True when the digit string passes the Luhn (mod 10) check."""
    if digits.isascii() and digits.isdigit():
        # Validators run once per candidate: sum in C rather than digit by digit.
        total = sum(digits[-1::-2].encode()) + sum(digits[-2::-2].translate(_LUHN_DOUBLED).encode())
        return (total - 48 * len(digits)) % 10 == 0
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_prefix_known(digits: str) -> bool:
    first2 = int(digits[:2])
    first4 = int(digits[:4])
    if digits[0] == "4":  # Visa
        return len(digits) in (13, 16, 19)
    if 51 <= first2 <= 55 or 2221 <= first4 <= 2720:  # Mastercard
        return len(digits) == 16
    if first2 in (34, 37):  # American Express
        return len(digits) == 15
    if first2 in (36, 38, 39) or 300 <= int(digits[:3]) <= 305:  # Diners Club
        return 14 <= len(digits) <= 19
    if 3528 <= first4 <= 3589:  # JCB
        return 16 <= len(digits) <= 19
    if digits[0] == "6" or first2 in (50, 56, 57, 58):  # Discover, UnionPay, Maestro
        return 12 <= len(digits) <= 19
    return False


_NON_DIGITS_RE = re.compile(r"[^0-9]+")


def _digits(value: str) -> str:
    # Candidates are mostly digits with spaces or dashes: strip those in C first.
    compact = value.replace(" ", "").replace("-", "")
    if compact.isascii() and compact.isdigit():
        return compact
    return _NON_DIGITS_RE.sub("", value)


def _validate_card(candidate: Candidate) -> bool:
    digits = _digits(candidate.value)
    if not 13 <= len(digits) <= 19 or not _card_prefix_known(digits):
        return False
    return luhn_valid(digits)


# ISO 3166 codes of the countries that issue IBANs.
_IBAN_COUNTRY_TEXT = (
    "AD AE AL AT AZ BA BE BG BH BI BR BY CH CR CY CZ DE DJ DK DO EE EG ES FI FK FO FR GB "
    "GE GI GL GR GT HN HR HU IE IL IQ IS IT JO KW KZ LB LC LI LT LU LV LY MC MD ME MK MN "
    "MR MT MU NI NL NO OM PK PL PS PT QA RO RS RU SA SC SD SE SI SK SM SO ST SV TL TN TR "
    "UA VA VG XK YE"
)
IBAN_COUNTRIES = frozenset(_IBAN_COUNTRY_TEXT.split())


def iban_valid(iban: str) -> bool:
    """Return True for a compact IBAN with a known country and a correct mod-97 check."""
    if not 15 <= len(iban) <= 34 or iban[:2] not in IBAN_COUNTRIES:
        return False
    if not iban[2:4].isdigit() or not iban.isalnum() or not iban.isascii():
        return False
    rearranged = iban[4:] + iban[:4]
    # Letters count as 10..35; folding the remainder digit by digit keeps ints small.
    remainder = 0
    for char in rearranged:
        if char.isdigit():
            remainder = (remainder * 10 + ord(char) - 48) % 97
        else:
            remainder = (remainder * 100 + ord(char.upper()) - 55) % 97
    return remainder == 1


def _validate_iban(candidate: Candidate) -> bool:
    return iban_valid(candidate.value.replace(" ", ""))


def ssn_valid(digits: str) -> bool:
    """Return True for nine digits that are a possible US SSN (area, group, serial rules)."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    if area == 0 or area == 666 or area >= 900:
        return False
    return group != 0 and serial != 0


def _validate_ssn(candidate: Candidate) -> bool:
    before = candidate.before(2)
    after = candidate.after(2)
    # Part of a longer dashed or dotted number (an order or part number), not an SSN.
    if before[-1:] in ("-", ".", "/") or (after[:1] in ("-", ".") and after[1:2].isdigit()):
        return False
    return ssn_valid(_digits(candidate.value))


def _validate_phone(candidate: Candidate) -> bool:
    value = candidate.value
    before = candidate.before(2)
    if before[-1:] and (before[-1].isalnum() or before[-1] in "+-./_"):
        return False
    after = candidate.after(2)
    if after[:1] in ("-", ".", "/") and after[1:2].isdigit():
        return False
    digits = _digits(value)
    if value.startswith("+"):
        return 8 <= len(digits) <= 15
    return len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")


_FILE_EXTENSION_TEXT = (
    "png jpg jpeg gif svg webp bmp ico tif tiff pdf txt csv json yaml yml xml html htm "
    "js ts css py md zip gz tar whl so dll exe bin pt pth onnx safetensors gguf"
)
_FILE_EXTENSIONS = frozenset(_FILE_EXTENSION_TEXT.split())


def _validate_email(candidate: Candidate) -> bool:
    value = candidate.value
    local, _, domain = value.rpartition("@")
    if not local or local.startswith(".") or local.endswith("."):
        return False
    tld = domain.rsplit(".", 1)[-1].lower()
    return tld not in _FILE_EXTENSIONS


def _validate_ipv4(candidate: Candidate) -> bool:
    before = candidate.before()
    after = candidate.after(2)
    if before[-1:] and (before[-1].isalnum() or before[-1] in "._-"):
        return False
    if after[:1] in (".", "-", "_") and after[1:2].isalnum():
        return False
    if "version" in before.lower() or before.rstrip().lower().endswith(("ver", "v")):
        return False
    value = candidate.value
    # Addresses that identify no one: unspecified, loopback, broadcast.
    return not (value == "0.0.0.0" or value.startswith("127.") or value == "255.255.255.255")


def _validate_ipv6(candidate: Candidate) -> bool:
    before = candidate.before(2)
    after = candidate.after(2)
    if before[-1:] and (before[-1].isalnum() or before[-1] in ":_."):
        return False
    if after[:1] and (after[0].isalnum() or after[0] in ":_"):
        return False
    value = candidate.value
    hex_chars = sum(1 for ch in value if ch not in ":.%")
    if hex_chars < 4:
        return False
    try:
        address = ipaddress.IPv6Address(value)
    except ValueError:
        return False
    return not (address.is_loopback or address.is_unspecified)


def _b64url_decode(segment: str) -> bytes:
    padded = segment + "=" * (-len(segment) % 4)
    return base64.urlsafe_b64decode(padded)


def _validate_jwt(candidate: Candidate) -> bool:
    header = candidate.value.split(".", 1)[0]
    try:
        decoded = _b64url_decode(header)
    except (binascii.Error, ValueError):
        return False
    return decoded.lstrip().startswith(b"{")


def _validate_basic(candidate: Candidate) -> bool:
    value = candidate.value
    try:
        decoded = base64.b64decode(value + "=" * (-len(value) % 4), validate=True)
    except (binascii.Error, ValueError):
        return False
    if b":" not in decoded:
        return False
    try:
        text = decoded.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return text.isprintable()


def _validate_bearer(candidate: Candidate) -> bool:
    return len(candidate.value.rstrip(".")) >= 8


def _validate_aws_secret(candidate: Candidate) -> bool:
    value = candidate.value
    if len(value) != 40 or candidate.after(1) == "=":
        return False
    has_upper = any("A" <= ch <= "Z" for ch in value)
    has_lower = any("a" <= ch <= "z" for ch in value)
    has_digit = any("0" <= ch <= "9" for ch in value)
    return has_upper and has_lower and has_digit and "//" not in value


def _validate_vendor_key(candidate: Candidate) -> bool:
    value = candidate.value
    return any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value)


def _validate_openai(candidate: Candidate) -> bool:
    # With the Anthropic detector switched off its keys must not be labelled OpenAI.
    return not candidate.value.startswith("sk-ant-") and _validate_vendor_key(candidate)


# --- secret key names ------------------------------------------------------------------

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


# --- the detector table ------------------------------------------------------------------

_H = r"[0-9A-Fa-f]{1,4}"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"


def _lower(value: str) -> str:
    return value.lower()


def _alnum_upper(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum()).upper()


def builtin_detectors(
    extra_secret_words: tuple[str, ...] = (),
    is_safe_key: Callable[[str], bool] = lambda _key: False,
) -> tuple[Detector, ...]:
    """Return the built-in detectors in priority order (earlier ones replace first)."""
    return (
        Detector(
            "private_key",
            r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
            r"[A-Za-z0-9+/=\r\n\t\\]*"
            r"(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
            description="PEM private-key blocks (RSA, EC, OpenSSH, PKCS#8, PGP), "
            "also JSON-escaped and truncated ones",
        ),
        Detector(
            "url_password",
            r"\b[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/?#@\"'<>\[\]]{0,128}:"
            r"([^\s/?#@\"'<>\[\]]{1,256})@",
            description="the password in scheme://user:password@host",
        ),
        Detector(
            "jwt",
            r"\beyJ[A-Za-z0-9_-]{5,}\.ey[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*",
            validator=_validate_jwt,
            description="JSON Web Tokens (header.payload.signature)",
        ),
        Detector(
            "anthropic_key",
            r"\bsk-ant-[A-Za-z0-9]{2,20}-[A-Za-z0-9_-]{20,}",
            validator=_validate_vendor_key,
            description="Anthropic API keys (sk-ant-...)",
        ),
        Detector(
            "openai_key",
            r"\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}",
            validator=_validate_openai,
            description="OpenAI API keys (sk-..., sk-proj-...)",
        ),
        Detector(
            "github_token",
            r"\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})",
            validator=_validate_vendor_key,
            description="GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
        ),
        Detector(
            "slack_token",
            r"\bxox[abeoprs]-[A-Za-z0-9-]{10,}"
            r"|\bhttps://hooks\.slack\.com/services/[A-Za-z0-9_/]{10,}",
            validator=_validate_vendor_key,
            description="Slack tokens (xoxb-, xoxp-, ...) and incoming-webhook URLs",
        ),
        Detector(
            "stripe_key",
            r"\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|\bwhsec_[A-Za-z0-9]{16,}",
            validator=_validate_vendor_key,
            description="Stripe secret and restricted keys, webhook signing secrets",
        ),
        Detector(
            "google_api_key",
            r"\bAIza[0-9A-Za-z_-]{35}|\bya29\.[0-9A-Za-z_-]{20,}",
            description="Google API keys (AIza...) and OAuth access tokens (ya29.)",
        ),
        Detector(
            "aws_access_key",
            r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
            description="AWS access key ids (AKIA..., ASIA...)",
        ),
        Detector(
            "aws_secret_key",
            r"[A-Za-z0-9/+]{40,}",
            validator=_validate_aws_secret,
            description="40-character AWS secret access keys (mixed case and digits)",
        ),
        Detector(
            "basic_auth",
            r"\b(?i:basic)[ \t]+"
            r"([A-Za-z0-9+/]*(?:[a-z][A-Z]|[A-Z][A-Z0-9+/]|[0-9+/])[A-Za-z0-9+/]*={0,2})",
            validator=_validate_basic,
            description="HTTP Basic credentials (base64 of user:password)",
        ),
        Detector(
            "bearer_token",
            r"\b(?i:bearer)[ \t]+"
            r"([A-Za-z0-9._~+/-]*(?:[0-9]|[a-z][A-Z]|[._~+/][A-Za-z0-9])[A-Za-z0-9._~+/-]*=*)",
            validator=_validate_bearer,
            description="Bearer tokens (Authorization: Bearer ...)",
        ),
        Detector(
            "secret",
            secret_assignment_pattern(extra_secret_words),
            validator=make_secret_assignment_validator(is_safe_key),
            retry_inside=True,
            description="values assigned to keys that name a secret, in text",
        ),
        Detector(
            "email",
            r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
            r"\.[A-Za-z]{2,24}\b",
            validator=_validate_email,
            normalize=_lower,
            description="email addresses",
        ),
        Detector(
            "iban",
            r"\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b",
            validator=_validate_iban,
            partial=True,
            normalize=_alnum_upper,
            retry_inside=True,
            shrink=True,
            description="IBANs, compact or in groups of four, mod-97 checked",
        ),
        Detector(
            "card",
            r"\b(?:[2-6][0-9]{12,18}|[2-6][0-9]{3}(?:[ -][0-9]{4}){2,3}(?:[ -][0-9]{1,3})?"
            r"|3[0-9]{3}[ -][0-9]{6}[ -][0-9]{4,5})\b",
            validator=_validate_card,
            partial=True,
            normalize=_digits,
            retry_inside=True,
            shrink=True,
            description="payment card numbers, Luhn checked, known issuer prefixes",
        ),
        Detector(
            "ssn",
            r"\b([0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})\b"
            r"|\b(?i:ssn|social security(?: number)?)[ \t]*(?:#|no\.?|number)?[ \t]*[:=]?[ \t]*"
            r"([0-9]{9})\b",
            validator=_validate_ssn,
            partial=True,
            normalize=_digits,
            retry_inside=True,
            description="US social security numbers, invalid areas/groups/serials rejected",
        ),
        Detector(
            "phone",
            r"(?:\+?1[ .-]?)?(?:\([2-9][0-9]{2}\)[ .-]?|[2-9][0-9]{2}[ .-])"
            r"[2-9][0-9]{2}[ .-][0-9]{4}\b"
            r"|\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,6}\b",
            validator=_validate_phone,
            partial=True,
            normalize=_digits,
            retry_inside=True,
            description="phone numbers: North American formats and international E.164",
        ),
        Detector(
            "ipv6",
            rf"\b(?:{_H}(?::{_H}){{7}}|{_H}(?::{_H}){{0,6}}::(?:{_H}(?::{_H}){{0,6}})?)"
            rf"(?:\.[0-9]{{1,3}}){{0,3}}(?:%[0-9A-Za-z]{{1,16}})?"
            rf"|::{_H}(?::{_H}){{1,6}}(?:\.[0-9]{{1,3}}){{0,3}}",
            validator=_validate_ipv6,
            description="IPv6 addresses, full and compressed (loopback excepted)",
        ),
        Detector(
            "ipv4",
            rf"\b{_IPV4}\b",
            validator=_validate_ipv4,
            description="IPv4 addresses (loopback, 0.0.0.0 and broadcast excepted)",
        ),
    )


#: Names of the built-in detectors, in priority order, plus ``secret_field``.
BUILTIN_NAMES: tuple[str, ...] = (*(d.name for d in builtin_detectors()), "secret_field")
