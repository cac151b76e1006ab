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
    "accountkey",
    "authorization",
    "cookie",
    "passwort",
    "kennwort",
    "wachtwoord",
    "motdepasse",
    "contrasena",
    "contraseña",
    "senha",
    "haslo",
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
_SECRET_ENDINGS = (*SECRET_KEY_WORDS_ANYWHERE, *SECRET_KEY_WORDS_AT_END, "secretkey", "pass")


def key_class(normalized: str, user_suffixes: tuple[str, ...] = ()) -> int:
    """Classify a normalised key name: NOT_SECRET, MENTIONS_SECRET or NAMES_SECRET."""
    if user_suffixes and normalized.endswith(user_suffixes):
        return NAMES_SECRET
    anywhere = any(word in normalized for word in SECRET_KEY_WORDS_ANYWHERE)
    if not anywhere and not normalized.endswith(SECRET_KEY_WORDS_AT_END):
        return NOT_SECRET
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
        "motdepasse": "mot[ _.-]?de[ _.-]?passe",
    }
    return known_splits.get(word, re.escape(word))


def user_key_regex(name: str) -> str:
    """RE2 fragment matching a user-given key name in any of its separator spellings."""
    parts = [p for p in _SEPARATORS_RE.split(name.lower()) if p]
    if not parts:
        raise ValueError(f"secret key name {name!r} has no letters or digits")
    return "[_.-]?".join(re.escape(p) for p in parts)


# Words for "password" in prose, in the languages the redactor is tested on, and the
# verbs that state one: "my password is ...", "Mein Passwort ist ...", "mot de passe est".
_PROSE_WORDS = (
    r"password|passwort|kennwort|wachtwoord|mot de passe|mdp|contrase(?:ñ|n)a|clave"
    r"|senha|parola d'ordine|has(?:ł|l)o|heslo|l(?:ö|o)senord|adgangskode|passord"
    r"|salasana|sifre|passcode|pin|pwd"
)
# Words starting with a letter outside ASCII, where RE2's ASCII \b cannot anchor.
_PROSE_WORDS_NON_ASCII = r"şifre|пароль|密码|密碼|口令|パスワード|暗証番号|비밀번호|암호"
_PROSE_VERBS = (
    r"is|ist|lautet|est|es|(?:è|e|é)|era|was|war|sera|será|will be|wird|sind|c'est"
    r"|is now|ist jetzt|is nu|est maintenant|es ahora|(?:è|é) adesso|(?:é|e) agora|это"
)
# Authorization header schemes that come before the credential.
_SCHEME_WORDS = (
    r"token|digest|apikey|api-key|api_key|key|sso-key|ssws|hmac|negotiate|ntlm|dpop|mac"
    r"|splunk|bot|pat|oauth|jwt|cred"
)


def secret_assignment_pattern(extra_words: tuple[str, ...] = ()) -> str:
    """The RE2 pattern of ``key=value`` / ``"key": "value"`` where the key names a secret,
    of ``Authorization: <scheme> <credential>``, and of passwords stated in prose.
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
        r"\b(?i:(?:proxy[_-]?)?authorization)\\{0,3}[\"']?[ \t]*[:=][ \t]*\\{0,3}[\"']?"
        r"[A-Za-z][A-Za-z0-9_-]{0,30}[ \t]+([^\s\"'\\,;]{4,512})"
    )
    prose = (
        rf"(?:\b(?i:{_PROSE_WORDS})|(?i:{_PROSE_WORDS_NON_ASCII}))"
        r"(?:[ \t]*[:\x{FF1A}]|[ \t]*(?:是|は|는|은|이|가)"
        rf"|[ \t]+(?:[^\s]{{1,24}}[ \t]+){{0,4}}?(?i:{_PROSE_VERBS})[ \t]*[:=]?[ \t])"
        r"[ \t]*[\"'«“„]?([^\s\"'«»“”„<>]{4,128})"
    )
    # A Cookie header holds several name=value pairs: take the rest of the line.
    cookie = r"\b(?i:set-cookie|cookie)[ \t]*:[ \t]*([^\r\n\"]+)"
    return rf"{cookie}|{authorization}|{key}{separator}{value}|{prose}"


_KEY_PREFIX_RE = re.compile(r"[\w.-]+")
_EMPTY_VALUES = frozenset({"", "null", "none", "nil", "undefined", "true", "false"})
# "Authorization: Bearer xyz": the scheme word is not the secret; rejecting it lets the
# bearer_token and basic_auth detectors take the credential that follows.
_SCHEMES = frozenset({"bearer", "basic", "token", "digest"})
_DELEGATED_SCHEMES = ("bearer", "basic")
_ASSIGNMENT = re.compile(r"[:=]")


def make_secret_assignment_validator(
    is_safe_key: Callable[[str], bool],
    classify: Callable[[str], int] | None = None,
) -> Validator:
    """Build the validator of the ``secret`` detector.

    ``is_safe_key`` exempts key names; ``classify`` gives a normalised key name's
    class (:func:`key_class` by default): a key that only mentions a secret keeps
    values that cannot be one (counts, timestamps, versions).
    """
    from inferlog.redaction._validators import looks_like_password

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
        if head[:1] in "aApP" and head.lower().startswith(("authorization", "proxy")):
            # "Authorization: Bearer <token>": the bearer_token and basic_auth detectors
            # take the credential after their scheme.
            scheme = head.rstrip().rsplit(None, 1)[-1].strip("\\\"'").lower()
            if scheme in _DELEGATED_SCHEMES:
                return False
        if lowered.startswith(_DELEGATED_SCHEMES) and lowered.split(None, 1)[0] in _SCHEMES:
            return False
        key = _KEY_PREFIX_RE.match(match)
        if key is None:
            return True
        if not _ASSIGNMENT.search(head):
            # Stated in prose: only a value that looks like a password.
            return looks_like_password(value)
        name = key.group()
        if is_safe_key(name):
            return False
        found = classify_key(normalize_key(name))
        if found == DESCRIBES_SECRET:
            return False
        if found == MENTIONS_SECRET:
            return value_could_be_secret(value)
        return True

    return validate
