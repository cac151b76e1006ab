"""The validators that confirm or reject what a detector's pattern matched.

They run on candidates only, never on the whole text, and inspect the few characters
around a candidate where a stdlib pattern would use a look-around (RE2 has none).
Every validator takes a :class:`~inferlog.redaction.detectors.Candidate` and must not
raise for any input.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inferlog.redaction.detectors import Candidate


# Luhn: each digit replaced by the digit that doubling it adds to the sum.
_LUHN_DOUBLED_BYTES = bytes.maketrans(b"0123456789", b"0246813579")


def luhn_valid(digits: str) -> bool:
    """Return True when the digit string passes the Luhn (mod 10) check."""
    if digits.isascii() and digits.isdigit():
        # Validators run once per candidate: sum in C rather than digit by digit.
        raw = digits.encode()
        total = sum(raw[-1::-2]) + sum(raw[-2::-2].translate(_LUHN_DOUBLED_BYTES))
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
    if digits[0] == "4":  # Visa, the commonest: no number to parse
        return len(digits) in (13, 16, 19)
    first2 = int(digits[:2])
    first4 = int(digits[:4])
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


def digits_of(value: str) -> str:
    # Candidates are mostly digits with spaces or dashes: strip those in C first.
    compact = value.replace(" ", "").replace("-", "")
    if compact.isascii() and compact.isdigit():
        return compact
    return _NON_DIGITS_RE.sub("", value)


# A value under a key that says it is an id or a time, not a card number: a random
# 16-digit id passes Luhn one time in ten.
_ID_KEY_BEFORE = re.compile(
    r"(?i)(?:\bid|_id|ids|uuid|seq|nonce|timestamp|\bts|_ts|epoch|_at|_ns)\\{0,3}[\"']?[ \t]*"
    r"(?:[:=]|=>)[ \t]*(?:Str\(|\\{0,3}[\"'])?$"
)


def validate_card(candidate: Candidate) -> bool:
    digits = digits_of(candidate.value)
    if not 13 <= len(digits) <= 19 or not _card_prefix_known(digits) or not luhn_valid(digits):
        return False
    before = candidate.before(24)
    # The key pattern needs an assignment sign: most candidates have none before them.
    return not (("=" in before or ":" in before) and _ID_KEY_BEFORE.search(before))


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


def validate_iban(candidate: Candidate) -> bool:
    return iban_valid(candidate.value.replace(" ", ""))


def ssn_valid(digits: str) -> bool:
    """Return True for nine digits that are a possible US SSN (area, group, serial rules)."""
    if len(digits) != 9 or not digits.isdigit():
        return False
    area, group, serial = int(digits[:3]), int(digits[3:5]), int(digits[5:])
    if area == 0 or area == 666 or area >= 900:
        return False
    return group != 0 and serial != 0


def validate_ssn(candidate: Candidate) -> bool:
    before = candidate.before(2)
    after = candidate.after(2)
    # Part of a longer dashed or dotted number (an order or part number), not an SSN.
    if before[-1:] in ("-", ".", "/") or (after[:1] in ("-", ".") and after[1:2].isalnum()):
        return False
    return ssn_valid(digits_of(candidate.value))


def _glued(char: str) -> bool:
    # RE2's \b is ASCII, and so is what counts as "part of a word" here: a number right
    # against CJK or other letters is still a number of its own.
    return char.isascii() and char.isalnum()


_UNICODE_ESCAPE = re.compile(r"\\{1,3}u([0-9a-fA-F]{4})$")


def char_before(candidate: Candidate) -> str:
    """The character before the candidate, JSON escapes decoded.

    ``\n``, ``\r`` and ``\t`` read as a space, ``\u00e9`` as the character it stands for:
    what counts is the text, not how JSON wrote it.
    """
    before = candidate.before(9)
    if len(before) >= 2 and before[-2] == "\\" and before[-1] in "nrt":
        return " "
    escaped = _UNICODE_ESCAPE.search(before)
    if escaped is not None:
        return chr(int(escaped.group(1), 16))
    return before[-1:]


# Words in front of a bare run of ten digits that make it a phone number rather than an
# id, a seed or a count ("number" alone does not: order numbers look the same).
_PHONE_CONTEXT = re.compile(
    r"(?i)(?:phone|tel|mobile|cell|call|text|sms|fax|contact|whatsapp|signal|reach|dial|ring"
    r"|telefon|tel[eé]fono|telefone|t[eé]l[eé]phone|portable|num[eé]ro|nummer|handy|celular"
    r"|m[oó]vil|cellulare|電話|电话|携帯|手机|手機|번호|전화)[^0-9\n]{0,24}$"
)


def validate_phone(candidate: Candidate) -> bool:
    value = candidate.value
    before = char_before(candidate)
    if before and (_glued(before) or before in "+-./_"):
        return False
    after = candidate.after(2)
    if after[:1] in ("-", ".", "/") and after[1:2].isdigit():
        return False
    digits = digits_of(value)
    if value.startswith("+"):
        return 8 <= len(digits) <= 15
    if value.isdigit() and not _PHONE_CONTEXT.search(candidate.before(40)):
        return False
    return len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")


_FILE_EXTENSION_TEXT = (
    "png jpg jpeg gif svg webp bmp ico tif tiff pdf txt csv json yaml yml xml html htm "
    "js ts css py md zip gz tar whl so dll exe bin pt pth onnx safetensors gguf"
)
_FILE_EXTENSIONS = frozenset(_FILE_EXTENSION_TEXT.split())


def validate_email(candidate: Candidate) -> bool:
    value = candidate.value
    local, _, domain = value.rpartition("@")
    if not local or local.startswith(".") or local.endswith("."):
        return False
    tld = domain.rsplit(".", 1)[-1].lower()
    return tld not in _FILE_EXTENSIONS


# What makes a dotted quad a version rather than an address: a word for a version or
# build just before it, a product name and a slash (user agents: Chrome/120.0.0.0),
# or a version comparison (==, >=, ~=).
_VERSION_WORDS = frozenset(
    [
        "v",
        "ver",
        "version",
        "versions",
        "versión",
        "versão",
        "build",
        "release",
        "rel",
        "rev",
        "revision",
        "firmware",
        "fw",
        "patch",
        "update",
        "upgrade",
        "tag",
        "sdk",
        "bundle",
        "バージョン",
        "版本",
    ]
)


def _names_a_version(before: str) -> bool:
    tail = before.rstrip(" \t:=#\"'")
    if not tail:
        return False
    last = tail[-1]
    if last == "/":
        return tail[-2:-1].isalpha()
    if before.rstrip(" \t")[-2:] in ("==", ">=", "<=", "~=", "!="):
        return True
    # The word just before: "build", "app_version", "{\"version\"", "--release".
    start = len(tail)
    while start and tail[start - 1].isalpha():
        start -= 1
    return tail[start:].lower() in _VERSION_WORDS


def validate_ipv4(candidate: Candidate) -> bool:
    before = candidate.before()
    after = candidate.after(2)
    previous = char_before(candidate)
    if previous and (_glued(previous) or previous in "._-"):
        return False
    if after[:1] in (".", "-", "_", "+") and after[1:2].isalnum():
        return False
    if _names_a_version(before):
        return False
    value = candidate.value
    # Addresses that identify no one: unspecified, loopback, broadcast.
    return not (value == "0.0.0.0" or value.startswith("127.") or value == "255.255.255.255")


def validate_ipv6(candidate: Candidate) -> bool:
    before = candidate.before(2)
    after = candidate.after(2)
    if before[-1:] and (_glued(before[-1]) or before[-1] in ":_."):
        return False
    if after[:1] and (_glued(after[0]) or after[0] in ":_"):
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


_LEADING_ESCAPE = re.compile(r"\\{1,3}u[0-9a-fA-F]{4}")


def validate_jwt(candidate: Candidate) -> bool:
    # A match may start with the JSON escape of the character before it.
    header = _LEADING_ESCAPE.sub("", candidate.value.split(".", 1)[0], count=1)
    try:
        decoded = _b64url_decode(header)
    except (binascii.Error, ValueError):
        return False
    return decoded.lstrip().startswith(b"{")


def validate_basic(candidate: Candidate) -> bool:
    return basic_credential(candidate.value)


def basic_credential(value: str) -> bool:
    """Whether ``value`` is HTTP Basic credentials: base64 of printable ``user:password``."""
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


def validate_bearer(candidate: Candidate) -> bool:
    return len(candidate.value.rstrip(".")) >= 8


_TOKEN_LIKE = re.compile(r"[0-9]|[a-z][A-Z]|[._~+/][A-Za-z0-9]")


def bearer_credential(value: str) -> bool:
    """Whether the bearer_token detector takes ``value``: 8 characters or more, credential-like."""
    return len(value.rstrip(".")) >= 8 and _TOKEN_LIKE.search(value) is not None


def validate_aws_secret(candidate: Candidate) -> bool:
    value = candidate.value
    if len(value) != 40 or candidate.after(1) == "=":
        return False
    has_upper = any("A" <= ch <= "Z" for ch in value)
    has_lower = any("a" <= ch <= "z" for ch in value)
    has_digit = any("0" <= ch <= "9" for ch in value)
    return has_upper and has_lower and has_digit and "//" not in value


def validate_vendor_key(candidate: Candidate) -> bool:
    value = candidate.value
    return any(ch.isdigit() for ch in value) and any(ch.isalpha() for ch in value)


def validate_openai(candidate: Candidate) -> bool:
    # With the Anthropic detector switched off its keys must not be labelled OpenAI.
    return "sk-ant-" not in candidate.value[:16] and validate_vendor_key(candidate)


def validate_token_shape(candidate: Candidate) -> bool:
    """Random-looking: at least two of upper case, lower case and digits after the prefix."""
    value = candidate.value
    classes = (
        any("A" <= ch <= "Z" for ch in value[4:]),
        any("a" <= ch <= "z" for ch in value[4:]),
        any("0" <= ch <= "9" for ch in value[4:]),
    )
    return sum(classes) >= 2


_PROSE_VALUE_MIN = 5


def looks_like_password(value: str) -> bool:
    """Whether a word stated as a password in prose looks like one, not like a word.

    At least five characters with a digit, a symbol, or upper case after the first
    character: ``Sommer2024!`` and ``hunter2`` are passwords, ``abgelaufen``
    (expired) and ``incorrect`` are words.
    """
    value = value.rstrip(".,;:!?)»”")
    if not _PROSE_VALUE_MIN <= len(value) <= 128:
        return False
    if any(ch.isdigit() for ch in value):
        return True
    if any(not ch.isalnum() for ch in value):
        return True
    return any(ch.isupper() for ch in value[1:])
