"""The :class:`Redactor`: finds PII and secrets in text and nested data and replaces them.

Configuration (which detectors, which modes, which key names) is checked and compiled
here; the one-scan matcher lives in ``_engine`` and the walk over nested data in
``_walk``.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Literal

from inferlog._options import check_bool, check_list, check_mapping, check_names, check_text
from inferlog._safe import safe_str
from inferlog.redaction._engine import CompiledDetector, Engine
from inferlog.redaction._keys import (
    DESCRIBES_SECRET,
    NAMES_SECRET,
    NOT_SECRET,
    key_class,
    normalize_key,
    user_key_regex,
    value_could_be_secret,
)
from inferlog.redaction._walk import ATOMIC_SAFE, FAILED_TOKEN, Walker, report_failure
from inferlog.redaction.detectors import Detector, builtin_detectors

#: How a detector replaces what it finds.
Mode = Literal["mask", "hash", "partial", "drop"]
_MODES: frozenset[str] = frozenset({"mask", "hash", "partial", "drop"})

#: Environment variable read for the HMAC key when ``hash_key`` is not given.
DEFAULT_HASH_KEY_ENV = "INFERLOG_REDACTION_KEY"
#: Hex digits of HMAC-SHA256 kept in a pseudonym (``<email:9f2c1a7e>``): 32 bits, enough
#: to join records, too few to be worth attacking without the key.
HASH_HEX_CHARS = 8
#: Label used for whole values of keys that name a secret.
SECRET_FIELD = "secret_field"
_KEY_CACHE_LIMIT = 4_096
# One mark per distinct configuration, shared by every Redactor built with it, so that
# a record redacted by one filter is recognised by any equivalent one. Holding the
# configurations keeps their callables alive, so no identity is ever reused.
_MARKS: dict[tuple[Any, ...], RedactionMark] = {}


class RedactionMark:
    """The identity of one redaction configuration, stamped on the records it redacted."""

    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number

    def __repr__(self) -> str:
        return f"<redaction configuration {self.number}>"


def _mark_of(configuration: tuple[Any, ...]) -> RedactionMark:
    mark = _MARKS.get(configuration)
    if mark is None:
        mark = _MARKS.setdefault(configuration, RedactionMark(len(_MARKS)))
    return mark


def _callable_identity(function: object) -> object:
    # The built-in validators are rebuilt per Redactor (some are closures over its safe
    # keys, which the configuration tuple holds anyway): name them, not their object.
    if str(getattr(function, "__module__", None)).startswith("inferlog.redaction."):
        return getattr(function, "__qualname__", function)
    return function


def _check_detector(name: str, value: object) -> Detector:
    if not isinstance(value, Detector):
        raise TypeError(f"{name} must be a Detector, got {value!r}")
    return value


class Redactor:
    """Finds PII and secrets in text and nested data and replaces them.

    Args:
        detectors: switch detectors on or off by name, e.g. ``{"ipv4": False}``.
        modes: per-detector mode, ``mask`` (``[REDACTED:EMAIL]``), ``hash`` (keyed
            HMAC-SHA256 pseudonym ``<email:9f2c1a7e>``), ``partial`` (last four
            characters, for ``card``, ``iban``, ``phone``, ``ssn``) or ``drop`` (remove
            the field from structured data; in free text it masks).
        default_mode: mode of every detector that ``modes`` does not name.
        patterns: extra detectors as ``name -> RE2 pattern``; if the pattern has
            capturing groups, only the first one that matched is replaced.
        custom_detectors: extra :class:`Detector` objects (with validators).
        secret_keys: extra key names whose values are secret, matched like the
            built-in ones ending a key (``x_internal_sig`` matches ``my-internal-sig``).
        safe_keys: key names that are never treated as secret (e.g. ``token`` when
            logging LLM log-probabilities).
        hash_key: HMAC key for ``hash`` mode; if None, read from ``hash_key_env``.
        hash_key_env: environment variable holding the key.

    Raises:
        ValueError: unknown detector or mode, ``partial`` on a detector that has no
            digits to keep, an invalid pattern, or ``hash`` mode without a key.
    """

    def __init__(
        self,
        *,
        detectors: Mapping[str, bool] | None = None,
        modes: Mapping[str, str] | None = None,
        default_mode: str = "mask",
        patterns: Mapping[str, str] | None = None,
        custom_detectors: Iterable[Detector] = (),
        secret_keys: Iterable[str] = (),
        safe_keys: Iterable[str] = (),
        hash_key: str | bytes | None = None,
        hash_key_env: str = DEFAULT_HASH_KEY_ENV,
    ) -> None:
        self._safe_keys = frozenset(normalize_key(k) for k in check_names("safe_keys", safe_keys))
        user_keys = tuple(check_names("secret_keys", secret_keys))
        check_text("default_mode", default_mode)
        check_text("hash_key_env", hash_key_env)
        if hash_key is not None and not isinstance(hash_key, str | bytes):
            raise TypeError(f"hash_key must be a string or bytes, got {hash_key!r}")
        pattern_map = check_mapping(
            "patterns", patterns or {}, lambda where, value: check_text(where, value, empty=False)
        )
        extra_detectors = check_list("custom_detectors", custom_detectors, _check_detector)
        self._user_key_suffixes = tuple(normalize_key(k) for k in user_keys)
        # Key name -> its class (NOT_SECRET, MENTIONS_SECRET, NAMES_SECRET).
        self._key_cache: dict[str, int] = {}
        # name -> is_secret_field(name): asked for every extra of every record.
        self._field_cache: dict[str, bool] = {}

        custom = []
        for name, pattern in pattern_map.items():
            try:
                custom.append(Detector(name, pattern))
            except (ValueError, TypeError) as err:
                raise ValueError(f"patterns[{name!r}]: {err}") from None
        custom.extend(extra_detectors)
        builtins = builtin_detectors(
            tuple(user_key_regex(k) for k in user_keys), self._is_safe_key, self._classify
        )
        all_detectors = [*custom, *builtins]
        names = [d.name for d in all_detectors]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(
                "patterns and custom_detectors: detector names must be unique; "
                f"repeated: {sorted(duplicates)}"
            )
        known = {*names, SECRET_FIELD}

        switches = check_mapping("detectors", detectors or {}, check_bool)
        for name in switches:
            if name not in known:
                raise ValueError(f"detectors: unknown detector {name!r}; known: {sorted(known)}")
        mode_map = check_mapping("modes", modes or {}, check_text)
        for name, mode in (*mode_map.items(), ("default_mode", default_mode)):
            where = name if name == "default_mode" else f"modes[{name!r}]"
            if mode not in _MODES:
                raise ValueError(f"{where}: mode {mode!r} is not one of {sorted(_MODES)}")
            if name != "default_mode" and name not in known:
                raise ValueError(f"modes: unknown detector {name!r}; known: {sorted(known)}")
        if default_mode == "partial":
            raise ValueError("default_mode cannot be 'partial'; set it per detector")

        enabled = [d for d in all_detectors if bool(switches.get(d.name, d.enabled))]
        self._secret_field_on = bool(switches.get(SECRET_FIELD, True))
        self._secret_field_mode = mode_map.get(SECRET_FIELD, default_mode)
        if self._secret_field_mode == "partial":
            raise ValueError("modes['secret_field']: partial mode needs digits to keep; use mask")

        effective = {d.name: mode_map.get(d.name, default_mode) for d in enabled}
        for det in enabled:
            if effective[det.name] == "partial" and not det.partial:
                raise ValueError(
                    f"modes[{det.name!r}]: partial mode keeps the last four digits and is only "
                    "available for card, iban, phone and ssn"
                )
        hashed = sorted(n for n, m in effective.items() if m == "hash")
        if self._secret_field_on and self._secret_field_mode == "hash":
            hashed.append(SECRET_FIELD)
        key: bytes | None = None
        if hash_key is not None and hash_key != "":
            key = hash_key.encode("utf-8") if isinstance(hash_key, str) else bytes(hash_key)
        elif hashed:
            env_value = os.environ.get(hash_key_env, "")
            key = env_value.encode("utf-8") if env_value else None
        if hashed and key is None:
            raise ValueError(
                f"hash mode is configured for {', '.join(hashed)} but no HMAC key was given: "
                f"pass hash_key=... or set the environment variable {hash_key_env}"
            )
        self.__key = key or b""

        compiled = tuple(
            CompiledDetector(d, effective[d.name], self._make_replace(d, effective[d.name]))
            for d in enabled
        )
        self._description = (
            f"Redactor(detectors={[d.name for d in enabled]!r}, "
            f"modes={ {n: m for n, m in effective.items() if m != 'mask'}!r})"
        )
        configuration = (
            tuple(
                (
                    c.detector.name,
                    c.detector.pattern,
                    c.mode,
                    c.detector.mask_label,
                    c.detector.retry_inside,
                    c.detector.shrink,
                    _callable_identity(c.detector.validator),
                    _callable_identity(c.detector.normalize),
                )
                for c in compiled
            ),
            self._user_key_suffixes,
            self._safe_keys,
            self._secret_field_on,
            self._secret_field_mode,
            # Keyed pseudonyms differ by key: tell keys apart without keeping one.
            hmac.new(self.__key, b"inferlog-redaction-mark", hashlib.sha256).digest(),
        )
        #: Names this configuration: stamped on records its filter redacted, and the
        #: key of its changes in a record's memo (see RedactionFilter).
        self.mark: RedactionMark = _mark_of(configuration)
        self._detectors = tuple(c.detector for c in compiled)
        self._engine = Engine(compiled) if compiled else None
        self._walker = Walker(
            self._redact_plain,
            self.is_secret_field,
            self.hides_value,
            self._secret_field_token_factory(),
            self._secret_field_mode == "drop",
            self.redact_from,
        )

    def __repr__(self) -> str:
        return self._description

    # --- configuration helpers ---------------------------------------------------------

    @property
    def detector_names(self) -> tuple[str, ...]:
        """Names of the enabled text detectors, in the order they are applied."""
        return tuple(d.name for d in self._detectors)

    @property
    def detectors(self) -> tuple[Detector, ...]:
        """The enabled text detectors, in the order they are applied."""
        return self._detectors

    def _is_safe_key(self, name: str) -> bool:
        return normalize_key(name) in self._safe_keys

    def _classify(self, name: str) -> int:
        return key_class(name, self._user_key_suffixes)

    def _key_class(self, name: str) -> int:
        cached = self._key_cache.get(name)
        if cached is not None:
            return cached
        safe = normalize_key(name) in self._safe_keys
        found = NOT_SECRET if safe else self._classify(name)
        if len(self._key_cache) >= _KEY_CACHE_LIMIT:
            self._key_cache.clear()
        self._key_cache[name] = found
        return found

    def is_secret_key(self, name: str) -> bool:
        """Return True when a field called ``name`` may hold a secret as a whole.

        A name that names a secret (``password``, ``db_password``, ``api_key``,
        ``refresh_token``) makes every value one; a name that only mentions a secret
        (``password_updated_at``, ``secret_version``) only a value that could be one:
        see :meth:`hides_value`.
        """
        return self._key_class(name) > DESCRIBES_SECRET

    def hides_value(self, name: str, value: Any) -> bool:
        """Return True when the ``secret_field`` rule replaces this value of a field
        called ``name`` whole.

        Booleans and None never hold a secret. Under a name that only mentions a secret
        (``api_key_count``, ``password_expires_in_days``), numbers, timestamps, dates,
        versions, durations, UUIDs, lower-case words and prose are metadata, kept.
        """
        if not self._secret_field_on:
            return False
        found = self._key_class(name)
        if found <= DESCRIBES_SECRET or value is None or isinstance(value, bool):
            return False
        if found == NAMES_SECRET:
            return True
        if isinstance(value, str):
            return value_could_be_secret(value)
        if isinstance(value, int):
            return value_could_be_secret(str(value))
        return not isinstance(value, ATOMIC_SAFE)

    def is_secret_field(self, name: str) -> bool:
        """Return True when this redactor may replace a field called ``name`` whole.

        That is :meth:`is_secret_key`, unless the ``secret_field`` rule is switched off;
        whether it does depends on the value too (:meth:`hides_value`).
        """
        found = self._field_cache.get(name)
        if found is None:
            found = self._secret_field_on and self.is_secret_key(name)
            if len(self._field_cache) >= _KEY_CACHE_LIMIT:
                self._field_cache.clear()
            self._field_cache[name] = found
        return found

    def _pseudonym(self, name: str, normalized: str) -> str:
        digest = hmac.new(
            self.__key, f"{name}\x00{normalized}".encode("utf-8", "surrogatepass"), hashlib.sha256
        )
        return f"<{name.lower()}:{digest.hexdigest()[:HASH_HEX_CHARS]}>"

    def _make_replace(self, det: Detector, mode: str) -> Callable[[bytes], bytes]:
        mask = f"[REDACTED:{det.mask_label}]".encode()
        if mode in ("mask", "drop"):
            return lambda _value: mask
        if mode == "partial":
            label = det.mask_label

            def partial(value: bytes) -> bytes:
                tail = "".join(ch for ch in value.decode("utf-8", "replace") if ch.isalnum())
                return f"[REDACTED:{label}:****{tail[-4:]}]".encode()

            return partial
        name = det.name

        def hashed(value: bytes) -> bytes:
            text = value.decode("utf-8", "surrogatepass")
            return self._pseudonym(name, det.normalize(text)).encode()

        return hashed

    def _secret_field_token_factory(self) -> Callable[[object], str]:
        if self._secret_field_mode == "hash":
            return lambda value: self._pseudonym("secret", safe_str(value))
        return lambda _value: "[REDACTED:SECRET]"

    # --- text --------------------------------------------------------------------------

    def redact(self, text: str) -> str:
        """Return ``text`` with every detected secret and piece of PII replaced.

        ``drop`` mode masks here, since free text has no field to remove.
        Never returns the original on an internal failure: the whole text is then
        replaced by ``[REDACTED:ERROR]`` and the failure reported on ``inferlog.internal``.
        """
        if not isinstance(text, str):
            raise TypeError(f"redact() takes a str, not {type(text).__name__}")
        return self.redact_from(text)[0]

    def redact_from(self, text: str, start: int = 0) -> tuple[str, bool]:
        """Redact one string; the flag says a ``drop``-mode detector hit it.

        ``start`` is a byte offset (in the UTF-8 text) before which the text is known
        to hold no match, as :meth:`first_matches` reports; the scan begins there.
        Returns ``text`` itself when nothing changed. Never raises (fails closed).
        """
        engine = self._engine
        if engine is None:
            return text, False
        try:
            data = text.encode("utf-8", "surrogatepass")
            # The scan's first search is the gate: text without a match costs one scan.
            out, dropped = engine.redact_bytes(data, start)
            if out is data:
                return text, False
            return out.decode("utf-8", "surrogatepass"), dropped
        except Exception as err:  # fail closed: never hand back the raw text
            report_failure("text", err)
            return FAILED_TOKEN, False

    def _redact_plain(self, text: str) -> tuple[str, bool]:
        return self.redact_from(text)

    def first_matches(self, texts: Sequence[str]) -> dict[int, int]:
        """Scan ``texts`` as one, once; map the index of each text that may hold a match
        to the byte offset in it before which it holds none.

        A text not in the answer holds nothing to redact; one in it is redacted with
        :meth:`redact_from` from that offset. Costs one RE2 scan of the texts.
        """
        engine = self._engine
        if engine is None:
            return {}
        return engine.first_matches(texts)

    # --- structured data ---------------------------------------------------------------

    def redact_value(self, value: Any) -> Any:
        """Return a redacted copy of ``value``: strings, and dicts/lists/tuples/sets of them.

        Containers are always rebuilt, so the caller's data is never mutated. Values
        under keys that name a secret (``password``, ``api_key``, ``refresh_token``,
        ...) are replaced whole. A ``drop``-mode hit removes the dict entry or list
        item that holds it. Other objects are returned as they are unless their
        ``str()`` contains something to redact, in which case the redacted ``str()``
        replaces them. Never raises; a part that fails is replaced by ``[REDACTED:ERROR]``.
        """
        result, _changed, _dropped = self._walker.walk(value, 0, True)
        return result

    def redact_field(
        self,
        name: object,
        value: Any,
        start: int = 0,
        starts: Sequence[int | None] | None = None,
    ) -> tuple[Any, bool, bool]:
        """Redact the value of one named field: ``(new_value, changed, dropped)``.

        A secret field name replaces (or, in ``drop`` mode, drops) the value whole;
        a str is redacted from byte ``start`` (see :meth:`first_matches`); other values
        are walked, and returned as they are, not copied, when nothing in them changed.
        ``starts``, for a value whose strings :meth:`collect_texts` listed without
        asking for a full walk, gives each string's ``start`` (None: it holds no
        match and is not scanned). ``dropped`` says the field should be removed.
        Never raises.
        """
        if isinstance(name, str) and self.hides_value(name, value):
            return self._walker.secret_field(value)
        if type(value) is str:
            new, dropped = self.redact_from(value, start)
            return new, new is not value, dropped
        if starts is not None:
            return self._walker.walk_found(value, starts)
        return self._walker.walk(value, 0, False)

    def collect_texts(self, value: Any, texts: list[str]) -> bool:
        """Append the strings inside ``value`` to ``texts`` for :meth:`first_matches`.

        Returns True when ``value`` must be redacted with :meth:`redact_field` whatever
        its text says: it holds a secret field name, an object other than str, number,
        None, dict, list or tuple, or nesting too deep to inspect here.
        """
        return self._walker.collect(value, texts)
