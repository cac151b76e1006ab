"""What a detector is, and the built-in set: RE2 patterns plus the validators that confirm them.

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

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from inferlog.redaction._keys import make_secret_assignment_validator, secret_assignment_pattern
from inferlog.redaction._validators import (
    digits_of,
    validate_aws_secret,
    validate_basic,
    validate_bearer,
    validate_card,
    validate_email,
    validate_iban,
    validate_ipv4,
    validate_ipv6,
    validate_jwt,
    validate_openai,
    validate_phone,
    validate_ssn,
    validate_token_shape,
    validate_vendor_key,
)

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
        start: optional RE2 pattern that matches wherever ``pattern`` can begin a match
            (usually a prefix of it: ``-----BEGIN ... PRIVATE KEY-----``). The one-pass
            scan then searches for ``start`` and runs ``pattern`` anchored where it is
            found. Give it when ``pattern`` can run on over prose (a header value to
            the end of the line, a key body): finding where such a match begins would
            otherwise read back over the text before every match of any detector.
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
    start: str | None = None

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


# --- the detector table ------------------------------------------------------------------

_H = r"[0-9A-Fa-f]{1,4}"
# Where a vendor token may start: at a word boundary, or right after a JSON \uXXXX
# escape (CJK text in ASCII JSON), whose last hex digit RE2's \b sees as part of a word;
# the escape is then replaced with the token.
_WORD_START = r"(?:\b|\\{1,3}u[0-9A-Fa-f]{4})"
# A JSON \uXXXX escape (CJK text in ASCII JSON) right before a number: RE2's \b sees
# its last hex digit as part of the number's word, so such numbers get their own branch.
_AFTER_ESCAPE = r"\\{1,3}u[0-9A-Fa-f]{4}"
_CARD = (
    r"(?:[2-6][0-9]{12,18}|[2-6][0-9]{3}(?:[ -][0-9]{4}){2,3}(?:[ -][0-9]{1,3})?"
    r"|3[0-9]{3}[ -][0-9]{6}[ -][0-9]{4,5})"
)
# Key names and words that announce a US SSN or taxpayer id.
_SSN_KEY = (
    r"ssn|social[ _.-]?security(?:[ _.-]?(?:number|num|no|nr))?|taxpayer[ _.-]?id\w{0,16}"
    r"|tax[ _.-]?id(?:[ _.-]?(?:number|num|no))?|itin|tin"
)
# The first line of a PEM or PGP private key: where a key block begins.
_PRIVATE_KEY_BEGIN = r"-----BEGIN [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----"
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"


def _lower(value: str) -> str:
    return value.lower()


def _alnum_upper(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum()).upper()


def builtin_detectors(
    extra_secret_words: tuple[str, ...] = (),
    is_safe_key: Callable[[str], bool] = lambda _key: False,
    classify: Callable[[str], int] | None = None,
) -> tuple[Detector, ...]:
    """Return the built-in detectors in priority order (earlier ones replace first).

    ``extra_secret_words`` are RE2 fragments of further secret key names,
    ``is_safe_key`` exempts key names, ``classify`` tells a key that names a secret
    from one that only mentions one (see ``secret``).
    """
    return (
        Detector(
            "private_key",
            rf"{_PRIVATE_KEY_BEGIN}"
            # Base64 lines, line breaks as they are or JSON-escaped (\n, \\n), and the
            # header lines of PGP and legacy encrypted PEM (Version:, Proc-Type:).
            r"(?:[A-Z][A-Za-z-]{1,30}:[ \t][^\r\n\\\"]{0,128}|[A-Za-z0-9+/= \r\n\t\\])*"
            r"(?:-----END [A-Z0-9 ]{0,40}PRIVATE KEY(?: BLOCK)?-----)?",
            description="PEM private-key blocks (RSA, EC, DSA, OpenSSH, PKCS#8, encrypted, "
            "PGP), also JSON-escaped and truncated ones",
            start=_PRIVATE_KEY_BEGIN,
        ),
        Detector(
            "url_password",
            r"\b[A-Za-z][A-Za-z0-9+.-]{0,30}://[^\s:/?#@\"'<>\[\]]{0,128}:"
            r"([^\s/?#@\"'<>\[\]]{1,256})@",
            description="the password in scheme://user:password@host",
        ),
        Detector(
            "jwt",
            rf"{_WORD_START}(?:"
            r"eyJ[A-Za-z0-9_-]{5,}\.ey[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*"
            r")",
            validator=validate_jwt,
            description="JSON Web Tokens (header.payload.signature)",
        ),
        Detector(
            "anthropic_key",
            rf"{_WORD_START}(?:"
            r"sk-ant-[A-Za-z0-9]{2,20}-[A-Za-z0-9_-]{20,}"
            r")",
            validator=validate_vendor_key,
            description="Anthropic API keys (sk-ant-...)",
        ),
        Detector(
            "openai_key",
            rf"{_WORD_START}(?:"
            r"sk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}"
            r")",
            validator=validate_openai,
            description="OpenAI API keys (sk-..., sk-proj-...)",
        ),
        Detector(
            "github_token",
            rf"{_WORD_START}(?:"
            r"(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})"
            r")",
            validator=validate_vendor_key,
            description="GitHub tokens (ghp_, gho_, ghu_, ghs_, ghr_, github_pat_)",
        ),
        Detector(
            "slack_token",
            rf"{_WORD_START}(?:"
            r"(?:xox[abcdeoprs]|xapp|xoxe\.xox[bp]|xoxe)-[A-Za-z0-9-]{10,}"
            r"|https://hooks\.slack\.com/(?:services|workflows|triggers)/[A-Za-z0-9_/]{10,}"
            r")",
            validator=validate_vendor_key,
            description="Slack tokens (xoxb-, xoxp-, xapp-, xoxe-, ...) and webhook URLs",
        ),
        Detector(
            "stripe_key",
            rf"{_WORD_START}(?:"
            r"(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,}|whsec_[A-Za-z0-9]{16,}"
            r")",
            validator=validate_vendor_key,
            description="Stripe secret and restricted keys, webhook signing secrets",
        ),
        Detector(
            "api_token",
            rf"{_WORD_START}(?:"
            r"(?:glpat-[0-9A-Za-z_-]{20,}|gl(?:ptt|dt|rt|soat|cbt)-[0-9A-Za-z_-]{20,}"
            r"|hf_[A-Za-z0-9]{30,}|npm_[A-Za-z0-9]{36}|pypi-AgE[A-Za-z0-9_-]{50,}"
            r"|SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}|do[opr]_v1_[a-f0-9]{64}"
            r"|dapi[a-f0-9]{32}|shp(?:at|ca|pa|ss)_[a-fA-F0-9]{32}|gsk_[A-Za-z0-9]{40,}"
            r"|r8_[A-Za-z0-9]{30,}|xai-[A-Za-z0-9]{40,}|pplx-[A-Za-z0-9]{40,}"
            r"|lin_api_[A-Za-z0-9]{30,}|ntn_[A-Za-z0-9]{30,}|sk-or-v1-[a-f0-9]{64}"
            r"|[0-9]{8,10}:AA[A-Za-z0-9_-]{33})"
            r")",
            validator=validate_token_shape,
            description="API tokens with a known prefix: GitLab (glpat-), Hugging Face "
            "(hf_), npm, PyPI, SendGrid, DigitalOcean, Databricks, Shopify, Groq, "
            "Replicate, xAI, Perplexity, OpenRouter, Linear, Notion, Telegram bots",
        ),
        Detector(
            "google_api_key",
            rf"{_WORD_START}(?:"
            r"AIza[0-9A-Za-z_-]{35}|ya29\.[0-9A-Za-z_-]{20,}|GOCSPX-[0-9A-Za-z_-]{20,}"
            r")",
            description="Google API keys (AIza...), OAuth access tokens (ya29.) and "
            "OAuth client secrets (GOCSPX-)",
        ),
        Detector(
            "aws_access_key",
            rf"{_WORD_START}(?:"
            r"(?:AKIA|ASIA)[A-Z0-9]{16}\b"
            r")",
            description="AWS access key ids (AKIA..., ASIA...)",
        ),
        Detector(
            "aws_secret_key",
            r"[A-Za-z0-9/+]{40,}",
            validator=validate_aws_secret,
            description="40-character AWS secret access keys (mixed case and digits)",
        ),
        Detector(
            "basic_auth",
            r"\b(?i:basic)[ \t]+"
            r"([A-Za-z0-9+/]*(?:[a-z][A-Z]|[A-Z][A-Z0-9+/]|[0-9+/])[A-Za-z0-9+/]*={0,2})",
            validator=validate_basic,
            description="HTTP Basic credentials (base64 of user:password)",
        ),
        Detector(
            "bearer_token",
            r"\b(?i:bearer)[ \t]+"
            r"([A-Za-z0-9._~+/-]*(?:[0-9]|[a-z][A-Z]|[._~+/][A-Za-z0-9])[A-Za-z0-9._~+/-]*=*)",
            validator=validate_bearer,
            description="Bearer tokens (Authorization: Bearer ...)",
        ),
        Detector(
            "secret",
            secret_assignment_pattern(extra_secret_words),
            validator=make_secret_assignment_validator(is_safe_key, classify),
            retry_inside=True,
            description="values assigned to keys that name a secret, in text",
            start=secret_assignment_pattern(extra_secret_words, start=True),
        ),
        Detector(
            "email",
            r"[A-Za-z0-9._%+-]{1,64}@[A-Za-z0-9-]{1,63}(?:\.[A-Za-z0-9-]{1,63}){0,8}"
            r"\.[A-Za-z]{2,24}\b",
            validator=validate_email,
            normalize=_lower,
            description="email addresses",
        ),
        Detector(
            "iban",
            r"\b[A-Z]{2}[0-9]{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,4})?)\b",
            validator=validate_iban,
            partial=True,
            normalize=_alnum_upper,
            retry_inside=True,
            shrink=True,
            description="IBANs, compact or in groups of four, mod-97 checked",
        ),
        Detector(
            "card",
            rf"\b{_CARD}\b|{_AFTER_ESCAPE}({_CARD})\b",
            validator=validate_card,
            partial=True,
            normalize=digits_of,
            retry_inside=True,
            shrink=True,
            description="payment card numbers, Luhn checked, known issuer prefixes",
        ),
        Detector(
            "ssn",
            r"\b([0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4})\b"
            rf"|{_AFTER_ESCAPE}([0-9]{{3}}-[0-9]{{2}}-[0-9]{{4}})\b"
            # Nine bare digits only after a key or words that name an SSN or tax id, in
            # text, JSON (also escaped), Python reprs and OpenTelemetry attributes.
            rf"|(?:\b|_)(?i:{_SSN_KEY})[\w.-]{{0,24}}"
            r"\\{0,3}[\"']?[ \t]*(?:#|no\.?|number|=>|[:=]|is)?[ \t]*(?:Str\(|\\{0,3}[\"'])?"
            r"[ \t]*([0-9]{9})\b",
            validator=validate_ssn,
            partial=True,
            normalize=digits_of,
            retry_inside=True,
            description="US social security numbers, invalid areas/groups/serials rejected",
        ),
        Detector(
            "phone",
            r"(?:\+?1[ .-]?)?(?:\([2-9][0-9]{2}\)[ .-]?|[2-9][0-9]{2}[ .-])"
            r"[2-9][0-9]{2}[ .-]?[0-9]{4}\b"
            r"|\+[1-9][0-9]{0,2}(?:[ .-]?\(?[0-9]{1,4}\)?){2,6}\b"
            # Ten bare digits (eleven with a leading 1): a phone number only after words
            # that say so (the validator checks), else an id.
            r"|\b1?[2-9][0-9]{2}[2-9][0-9]{6}\b",
            validator=validate_phone,
            partial=True,
            normalize=digits_of,
            retry_inside=True,
            description="phone numbers: North American formats and international E.164",
        ),
        Detector(
            "ipv6",
            rf"\b(?:{_H}(?::{_H}){{7}}|{_H}(?::{_H}){{0,6}}::(?:{_H}(?::{_H}){{0,6}})?)"
            rf"(?:\.[0-9]{{1,3}}){{0,3}}(?:%[0-9A-Za-z]{{1,16}})?"
            rf"|::{_H}(?::{_H}){{1,6}}(?:\.[0-9]{{1,3}}){{0,3}}",
            validator=validate_ipv6,
            description="IPv6 addresses, full and compressed (loopback excepted)",
        ),
        Detector(
            "ipv4",
            # No leading \b: the validator checks what comes before, so that an address
            # right after a JSON \uXXXX escape (CJK text in ASCII JSON) is still found.
            rf"{_IPV4}\b",
            validator=validate_ipv4,
            description="IPv4 addresses (loopback, 0.0.0.0 and broadcast excepted)",
        ),
    )


#: Names of the built-in detectors, in priority order, plus ``secret_field``.
BUILTIN_NAMES: tuple[str, ...] = (*(d.name for d in builtin_detectors()), "secret_field")
