"""Key names that mark a value as secret: ``password=...``, ``"api_key": "..."``.

Used twice: by the ``secret`` detector, which finds ``key=value`` in text (and
``Authorization: <scheme> <credential>``, passwords stated in prose, ``--password``
options), and by the redactor's walk over structured data, where a field whose name is
secret is replaced whole (the ``secret_field`` rule). A key that only describes a secret
(``password_updated_at``) or merely mentions one keeps values that cannot be a secret:
see :func:`key_class` and :func:`value_could_be_secret`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from inferlog.redaction._validators import (
    basic_credential,
    bearer_credential,
    looks_like_password,
)

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
    "accountkey",
    "authorization",
    "cookie",
)
# The same in other languages. Matched in key names of structured data; in text, the
# prose alternative of the secret pattern finds them ("Passwort: ...", "senha é ..."),
# since each extra word in the key alternative costs every scan a little.
_SECRET_KEY_WORDS_FOREIGN: tuple[str, ...] = (
    "passwort",
    "kennwort",
    "wachtwoord",
    "motdepasse",
    "contrasena",
    "contraseña",
    "senha",
    "haslo",
    "hasło",
)
_ANYWHERE_ALL = (*SECRET_KEY_WORDS_ANYWHERE, *_SECRET_KEY_WORDS_FOREIGN)
# Endings that name a secret in structured data only ("AZURE_OPENAI_KEY",
# "Ocp-Apim-Subscription-Key"): as words of the text pattern they would cost every scan.
_AT_END_DATA_ONLY = ("subscriptionkey", "openaikey", "encryptionkey", "signingkey", "masterkey")
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
    "sig",
    "pin",
    "passcode",
)

#: Key classes: not secret; describes a secret (``password_updated_at``,
#: ``api_key_count``, ``secret_name``: never the secret itself); mentions a secret
#: (``secret_sauce``: only a value that could be a secret is one); names a secret
#: (``db_password``, ``api_key``: every value is one).
NOT_SECRET, DESCRIBES_SECRET, MENTIONS_SECRET, NAMES_SECRET = 0, 1, 2, 3
# Last words of a key that describe something about a secret rather than hold it.
_METADATA_ENDINGS = (
    "id",
    "ids",
    "name",
    "names",
    "type",
    "kind",
    "count",
    "version",
    "at",
    "on",
    "date",
    "time",
    "days",
    "hours",
    "minutes",
    "seconds",
    "ms",
    "length",
    "len",
    "enabled",
    "disabled",
    "required",
    "ttl",
    "age",
    "policy",
    "provider",
    "source",
    "status",
    "expiry",
    "expires",
    "present",
    "rotated",
    "updated",
    "created",
    "changed",
    "set",
    "strength",
    "algorithm",
    "scheme",
    "format",
    "location",
    "path",
    "arn",
    "manager",
    "store",
    "used",
    "attempts",
    "retries",
    "reset",
    "min",
    "max",
    "ref",
    "reference",
    "uri",
    "url",
    "endpoint",
    "host",
    "region",
    "mode",
    "label",
    "description",
    "owner",
    "scope",
    "scopes",
    "prefix",
    "suffix",
)
# First words of a key that make it describe secrets (``num_secrets``, ``has_password``).
_METADATA_PREFIXES = frozenset(
    {"num", "count", "total", "has", "is", "use", "enable", "allow", "require", "min", "max"}
)
# Endings after a secret word that still name the secret itself (``password_hash``,
# ``api_key_value``, ``new_password_confirm``), and plural or numbered forms.
_VALUE_SUFFIXES = (
    "value",
    "string",
    "text",
    "plain",
    "plaintext",
    "raw",
    "data",
    "b64",
    "base64",
    "hex",
    "pem",
    "hash",
    "hashed",
    "digest",
    "confirm",
    "confirmation",
    "again",
    "repeat",
    "new",
    "old",
    "current",
    "encrypted",
    "enc",
    "input",
)
_SECRET_ENDINGS = (
    *_ANYWHERE_ALL,
    *SECRET_KEY_WORDS_AT_END,
    *_AT_END_DATA_ONLY,
    "secretkey",
    "pass",
)


def key_class(name: str, user_suffixes: tuple[str, ...] = ()) -> int:
    """Classify a key name: NOT_SECRET, DESCRIBES_SECRET, MENTIONS_SECRET or NAMES_SECRET.

    ``user_suffixes``: normalised names given by the user, which name a secret.
    """
    normalized = normalize_key(name)
    if user_suffixes and normalized.endswith(user_suffixes):
        return NAMES_SECRET
    anywhere = any(word in normalized for word in _ANYWHERE_ALL)
    if not anywhere and not normalized.endswith((*SECRET_KEY_WORDS_AT_END, *_AT_END_DATA_ONLY)):
        return NOT_SECRET
    # The first word of the last dotted part: "app.num_secrets" -> "num".
    local = name.strip().lower().rsplit(".", 1)[-1]
    if _SEPARATORS_RE.split(local, 1)[0] in _METADATA_PREFIXES:
        return DESCRIBES_SECRET
    core = normalized.rstrip("0123456789")
    for suffix in _VALUE_SUFFIXES:
        if core.endswith(suffix) and len(core) > len(suffix):
            core = core[: -len(suffix)]
            break
    if core.endswith(_SECRET_ENDINGS) or (core[-1:] == "s" and core[:-1].endswith(_SECRET_ENDINGS)):
        return NAMES_SECRET
    if normalized.endswith(_METADATA_ENDINGS):
        return DESCRIBES_SECRET
    return MENTIONS_SECRET


# Values that a key which only mentions a secret (``password_updated_at``,
# ``api_key_count``, ``secret_version``) holds when they are metadata, not a secret:
# numbers, booleans, timestamps and dates, versions, durations, UUIDs, lower-case
# words (enum values, names) and prose.
_METADATA_VALUE = re.compile(
    r"(?i)[+-]?[0-9]{1,6}(?:\.[0-9]+)?"
    r"|1[0-9]{9}(?:[0-9]{3})?(?:\.[0-9]+)?"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:[.,][0-9]{1,9})?)?)?"
    r"(?:Z|[+-][0-9]{2}:?[0-9]{2}| ?UTC)?"
    r"|[0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?"
    r"|[0-9]{1,2}/[0-9]{1,2}/[0-9]{2,4}"
    r"|v?[0-9]+(?:\.[0-9]+){1,3}(?:[-+.][0-9a-z.]+)?|v[0-9]+"
    r"|[0-9]+(?:\.[0-9]+)? ?(?:ms|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?|d|days?"
    r"|w|weeks?|mo|months?|y|years?)"
    r"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    r"|(?:sha|md|aes|rsa|argon|pbkdf|hmac|ecdsa|blake|scrypt|bcrypt)[_-]?[0-9]{0,4}"
    r"(?:[_-][a-z0-9]{1,8})?"
    r"|yes|no|on|off|enabled|disabled|true|false|null|none|nil|undefined"
)
_LOWER_WORD = re.compile(r"[a-z][a-z_.-]{0,39}")


def value_could_be_secret(value: str) -> bool:
    """Whether a value under a key that only mentions a secret could be the secret."""
    text = value.strip()
    if not text or any(ch.isspace() for ch in text):
        return False
    return not (_METADATA_VALUE.fullmatch(text) or _LOWER_WORD.fullmatch(text))


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
        "accountkey": "account[_.-]?key",
    }
    return known_splits.get(word, re.escape(word))


def user_key_regex(name: str) -> str:
    """RE2 fragment matching a user-given key name in any of its separator spellings."""
    parts = [p for p in _SEPARATORS_RE.split(name.lower()) if p]
    if not parts:
        raise ValueError(f"secret_keys: key name {name!r} has no letters or digits")
    return "[_.-]?".join(re.escape(p) for p in parts)


# Words for "password" in prose, in the languages the redactor is tested on, and the
# verbs that state one: "my password is ...", "Mein Passwort ist ...", "mot de passe est".
_PROSE_WORDS = (
    r"password|passwort|kennwort|wachtwoord|mot de passe|mdp|contrase(?:ñ|n)a|clave"
    r"|senha|parola d'ordine|has(?:ł|l)o|heslo|l(?:ö|o)senord|adgangskode|passord"
    r"|salasana|sifre|passcode|passphrase|pass phrase|pin|pwd|pw|passwd|secret code|code secret"
    r"|codice segreto|c(?:ó|o)digo secreto|geheimcode|geheimwort"
)
# Words starting with a letter outside ASCII, where RE2's ASCII \b cannot anchor.
_PROSE_WORDS_NON_ASCII = r"şifre|пароль|密码|密碼|口令|パスワード|暗証番号|비밀번호|암호"
_PROSE_VERBS = (
    r"is|ist|lautet|est|es|(?:è|e|é)|era|was|war|sera|será|will be|wird|sind|c'est"
    r"|is now|ist jetzt|is nu|est maintenant|es ahora|(?:è|é) adesso|(?:é|e) agora|это"
    r"|to|zu|auf|en|a|para|naar"
)
# Authorization header schemes that come before the credential.
_SCHEME_WORDS = (
    r"token|digest|apikey|api-key|api_key|key|sso-key|ssws|hmac|negotiate|ntlm|dpop|mac"
    r"|splunk|bot|pat|oauth|jwt|cred"
)


def _escapable(fragment: str) -> str:
    """An RE2 fragment of literal words where each character outside ASCII may also be
    written as a JSON ``\\uXXXX`` escape."""
    return "".join(
        char if char.isascii() else f"(?:{char}|\\\\{{1,3}}u{ord(char):04x})" for char in fragment
    )


def secret_assignment_pattern(extra_words: tuple[str, ...] = (), start: bool = False) -> str:
    """The RE2 pattern of ``key=value`` / ``"key": "value"`` where the key names a secret,
    of ``Authorization: <scheme> <credential>``, and of passwords stated in prose.

    With ``start``, the detector's start pattern: the same, except that a Cookie
    header ends at its colon (its value runs to the end of the line).
    """
    anywhere = "|".join(_word_regex(w) for w in SECRET_KEY_WORDS_ANYWHERE)
    at_end = "|".join([*(_word_regex(w) for w in SECRET_KEY_WORDS_AT_END), *extra_words])
    # Bounded runs: in one combined pattern an unbounded run could keep this
    # alternative alive to the end of the text at every match another detector finds.
    key = rf"\b(?:[\w.-]{{0,64}}(?i:{anywhere})[\w.-]{{0,64}}|[\w.-]{{0,64}}(?i:{at_end}))"
    separator = r"\\{0,3}[\"']?[ \t]*(?:=>|[:=])[ \t]*"
    scheme = rf"(?:(?i:{_SCHEME_WORDS})[ \t]+)?"
    value = (
        rf"(?:\"{scheme}((?:[^\"\\\r\n]|\\.){{0,512}})\""  # "double quoted", JSON escapes
        rf"|'{scheme}([^'\r\n]{{0,512}})'"  # 'single quoted'
        rf"|\\{{1,3}}\"{scheme}([^\"\\\r\n]{{0,512}})\\{{1,3}}\""  # \"quoted in escaped JSON\"
        # bare, maybe after escaped quotes or OpenTelemetry's Str(, maybe a scheme
        rf"|\\{{0,3}}[\"']?(?:Str\()?{scheme}"
        r"([^\s\"'\\,;&)\]}<\[{(][^\s\"'\\,;&)\]}]*))"
    )
    # Any scheme word, then the credential: the scheme stays visible.
    authorization = (
        r"\b(?:[\w.-]{0,64}[._-])?(?i:(?:proxy[_-]?)?authorization)\\{0,3}[\"']?[ \t]*[:=]"
        r"[ \t]*\\{0,3}[\"']?(?:Str\()?[A-Za-z][A-Za-z0-9_-]{0,30}[ \t]+([^\s\"'\\,;)]{4,512})"
    )
    # Words outside ASCII also as JSON writes them by default (\u00f1, \u5bc6).
    words = _escapable(_PROSE_WORDS)
    non_ascii = _escapable(_PROSE_WORDS_NON_ASCII)
    particles = _escapable("是|は|는|은|이|가|\uff1a")
    prose = (
        rf"(?:\b(?i:{words})|(?i:{non_ascii}))"
        rf"(?:\\{{0,3}}[\"']?[ \t]*(?:[:=]|{particles})"
        rf"|[ \t]+(?:[^\s]{{1,24}}[ \t]+){{0,4}}?(?i:{_escapable(_PROSE_VERBS)})[ \t]*[:=]?[ \t])"
        # A bare value has a digit, a symbol or an inner capital, so that "password was
        # changed to X" skips "changed" and takes X; the validator checks the rest.
        r"[ \t]*(?:[\"“„]([^\"“”\r\n]{4,128})[\"”]|[\"'«“„]?"
        r"([^\s\"'«»“”„<>\\]{0,64}(?:[0-9!#$%&*+=?@^_~]|[a-z][A-Z])[^\s\"'«»“”„<>\\]{0,64}))"
    )
    # A Cookie header holds several name=value pairs: take the rest of the line.
    cookie = r"\b(?i:set-cookie|cookie)[ \t]*:"
    if not start:
        cookie += r"[ \t]*([^\r\n\"]+)"
    # A command-line option: mysql --password hunter2 (-p is too short to tell).
    option = (
        r"[ \t]--?(?i:password|passwd|pass|pwd|secret|token|api-key|apikey)[ \t]+"
        r"([^\s\"'-][^\s\"']{0,127})"
    )
    return rf"{cookie}|{authorization}|{key}{separator}{value}|{prose}|{option}"


_KEY_PREFIX_RE = re.compile(r"[\w.-]+")
_EMPTY_VALUES = frozenset({"", "null", "none", "nil", "undefined", "true", "false"})
# "Authorization: Bearer xyz": the scheme word is not the secret; rejecting it lets the
# bearer_token and basic_auth detectors take the credential that follows.
_SCHEMES = frozenset({"bearer", "basic", "token", "digest"})
_DELEGATED_SCHEMES = ("bearer", "basic")
_ALL_SCHEMES = frozenset({*_SCHEMES, *_SCHEME_WORDS.split("|")})
_QUOTES = frozenset("\"'«“„")


def make_secret_assignment_validator(
    is_safe_key: Callable[[str], bool],
    classify: Callable[[str], int] | None = None,
) -> Validator:
    """Build the validator of the ``secret`` detector.

    ``is_safe_key`` exempts key names; ``classify`` gives a normalised key name's
    class (:func:`key_class` by default): a key that only mentions a secret keeps
    values that cannot be one (counts, timestamps, versions).
    """

    classify_key = classify if classify is not None else key_class

    def validate(candidate: Candidate) -> bool:
        value = candidate.value.strip()
        lowered = value.lower()
        if lowered in _EMPTY_VALUES or lowered in _SCHEMES or set(value) <= {"*", "x", "X"}:
            return False
        if lowered.startswith("-----begin"):  # the private_key detector takes PEM blocks
            return False
        match = candidate.match
        head = match[: candidate.start - candidate.match_start]
        if "authorization" in head.lower():
            # "Authorization: Bearer <token>": the bearer_token and basic_auth detectors
            # take a credential after their scheme that they recognise.
            scheme = head.rstrip().rsplit(None, 1)[-1].rsplit("(", 1)[-1]
            scheme = scheme.strip("\\\"'").lower()
            if scheme == "bearer" and bearer_credential(value):
                return False
            if scheme == "basic" and basic_credential(value):
                return False
        if lowered.startswith(_DELEGATED_SCHEMES) and lowered.split(None, 1)[0] in _SCHEMES:
            return False
        if lowered in _ALL_SCHEMES and candidate.after(1).isspace():
            # A scheme word whose credential is already masked (a second pass).
            return False
        key = _KEY_PREFIX_RE.match(match)
        if key is None:
            # A command-line option (--password <value>): as in prose.
            return looks_like_password(value)
        after_key = head[key.end() :].lstrip(" \t\\\"'")
        if after_key[:1] not in ("=", ":", "\uff1a"):
            # Stated in prose: only a value that looks like a password, or a quoted
            # passphrase of several words.
            quoted = candidate.before(1) in _QUOTES and " " in value and len(value) >= 12
            return quoted or looks_like_password(value)
        name = key.group()
        if is_safe_key(name):
            return False
        found = classify_key(name)
        if found == DESCRIBES_SECRET:
            return False
        if found == MENTIONS_SECRET:
            return value_could_be_secret(value)
        return True

    return validate
