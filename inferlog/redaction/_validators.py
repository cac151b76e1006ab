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


def digits_of(value: str) -> str:
    # Candidates are mostly digits with spaces or dashes: strip those in C first.
    compact = value.replace(" ", "").replace("-", "")
    if compact.isascii() and compact.isdigit():
        return compact
    return _NON_DIGITS_RE.sub("", value)


def validate_card(candidate: Candidate) -> bool:
    digits = digits_of(candidate.value)
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
    if before[-1:] in ("-", ".", "/") or (after[:1] in ("-", ".") and after[1:2].isdigit()):
        return False
    return ssn_valid(digits_of(candidate.value))


def validate_phone(candidate: Candidate) -> bool:
    value = candidate.value
    before = candidate.before(2)
    if before[-1:] and (before[-1].isalnum() or before[-1] in "+-./_"):
        return False
    after = candidate.after(2)
    if after[:1] in ("-", ".", "/") and after[1:2].isdigit():
        return False
    digits = digits_of(value)
    if value.startswith("+"):
        return 8 <= len(digits) <= 15
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


def validate_ipv4(candidate: Candidate) -> bool:
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


def validate_ipv6(candidate: Candidate) -> bool:
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


def validate_jwt(candidate: Candidate) -> bool:
    header = candidate.value.split(".", 1)[0]
    try:
        decoded = _b64url_decode(header)
    except (binascii.Error, ValueError):
        return False
    return decoded.lstrip().startswith(b"{")


def validate_basic(candidate: Candidate) -> bool:
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


def validate_bearer(candidate: Candidate) -> bool:
    return len(candidate.value.rstrip(".")) >= 8


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
    return not candidate.value.startswith("sk-ant-") and validate_vendor_key(candidate)
