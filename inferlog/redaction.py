"""PII and secret redaction: :class:`Redactor` for text and data, :class:`RedactionFilter`.

Speed comes from RE2 (``google-re2``): every enabled detector pattern is joined into
one alternation that is scanned over the text, in linear time. Only where that scan
finds something does the redactor ask an anchored ``re2.Set`` which detectors match
at that position, run the winner's own pattern if it has groups, and call its
validator (Luhn, mod-97, ...). A record without PII therefore costs one pass of a DFA
over its text joined; with hits, each field is redacted from its first match on, so
its bytes are still scanned once, plus a proof scan of what changed (idempotence).
"""

from __future__ import annotations

import bisect
import hashlib
import hmac
import itertools
import logging
import operator
import os
import re
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any, Literal
from uuid import UUID

import re2

from inferlog import _diagnostics
from inferlog._detectors import (
    BUILTIN_NAMES,
    SECRET_KEY_WORDS_ANYWHERE,
    SECRET_KEY_WORDS_AT_END,
    TOKEN_PATTERN,
    Candidate,
    Detector,
    Validator,
    builtin_detectors,
    iban_valid,
    luhn_valid,
    normalize_key,
    ssn_valid,
    user_key_regex,
)
from inferlog._exceptions import EXCEPTION_ATTR, ExceptionInfo, describe_exception
from inferlog._record import STANDARD_RECORD_ATTRS

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

#: How a detector replaces what it finds.
Mode = Literal["mask", "hash", "partial", "drop"]
_MODES: frozenset[str] = frozenset({"mask", "hash", "partial", "drop"})

#: Environment variable read for the HMAC key when ``hash_key`` is not given.
DEFAULT_HASH_KEY_ENV = "INFERLOG_REDACTION_KEY"
#: Hex digits of HMAC-SHA256 kept in a pseudonym (``<email:9f2c1a7e>``): 32 bits, enough
#: to join records, too few to be worth attacking without the key.
HASH_HEX_CHARS = 8
#: What a field becomes when redacting it failed: never the original text.
FAILED_TOKEN = "[REDACTED:ERROR]"
#: Label used for whole values of keys that name a secret.
SECRET_FIELD = "secret_field"
#: Passes of the detector chain at most; a second pass only runs when the first changed
#: something, and tokens are never re-matched, so this converges in practice at two.
MAX_PASSES = 4
#: After this many rejected candidates in one field a detector stops retrying inside
#: them (``Detector.retry_inside``), so adversarial digit soup stays linear.
MAX_INSIDE_RETRIES = 2_000
#: Nesting depth of dicts/lists beyond which a value is masked rather than walked.
MAX_DEPTH = 64
_KEY_CACHE_LIMIT = 4_096
# Longest token the redactor writes: "<" + 64-char name + ":" + 64 hex digits + ">".
_TOKEN_REACH = 132
# Bytes after a match start given to the anchored Set that picks the detector; longer
# than any built-in detector needs to decide (a user pattern that needs more is
# still found: an empty answer makes every detector try).
_START_WINDOW = 1_024
# Owner ids of the record's texts other than extras (which are numbered from 0).
_MESSAGE = -1
_TEXT_ATTR_BASE = -2
_TEXT_ATTRS = ("exc_text", "stack_info", "message")
#: Private record attribute (never an extra) naming the configuration that redacted it.
REDACTED_MARK_ATTR = "_inferlog_redacted"
# One mark per distinct configuration, shared by every Redactor built with it, so that
# a record redacted by one filter is recognised by any equivalent one. Holding the
# configurations keeps their callables alive, so no identity is ever reused.
_MARKS: dict[tuple[Any, ...], _RedactionMark] = {}


class _RedactionMark:
    """The identity of one redaction configuration, stamped on the records it redacted."""

    __slots__ = ("number",)

    def __init__(self, number: int) -> None:
        self.number = number

    def __repr__(self) -> str:
        return f"<redaction configuration {self.number}>"


def _callable_identity(function: object) -> object:
    # The built-in validators are rebuilt per Redactor (some are closures over its safe
    # keys, which the configuration tuple holds anyway): name them, not their object.
    if getattr(function, "__module__", None) == "inferlog._detectors":
        return getattr(function, "__qualname__", function)
    return function


# Types whose values cannot carry text worth redacting (ints are handled apart: a
# 16-digit int can be a card number).
_ATOMIC_SAFE: tuple[type, ...] = (
    float,
    bool,
    type(None),
    datetime,
    date,
    time,
    timedelta,
    UUID,
    Decimal,
)
_BIG_INT = 10**8
# RE2's \b is ASCII: these bytes are the word characters it sees.
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")
# In a pattern, an assertion other than \b, which a window or a joined text would see
# differently from the text itself (^ $ \A \z \B); "[^" only negates a class.
_EDGE_ASSERTION = re.compile(r"\$|\\[AzB]|(?<!\[)\^")


def _re2_options() -> Any:
    options = re2.Options()
    options.max_mem = 64 << 20
    options.log_errors = False
    return options


Spans = list[tuple[int, int]]


class _Matcher:
    """An RE2 program searched over UTF-8 bytes, returning the spans of every group.

    Uses the binding's raw ``Match`` when it is there: the public ``search`` builds a
    generator and a match object per call, which on short texts costs more than the
    scan. Falls back to the public API otherwise.
    """

    __slots__ = ("_raw", "groups", "regex")

    def __init__(self, regex: Any) -> None:
        self.regex = regex
        self.groups = int(regex.groups)
        raw = getattr(getattr(regex, "_regexp", None), "Match", None)
        anchors = getattr(re2, "_Anchor", None)
        self._raw = raw if raw is not None and anchors is not None else None

    def find(self, data: bytes, pos: int, anchored: bool = False) -> Spans | None:
        """Spans of the leftmost match at or after ``pos`` (at ``pos`` if anchored)."""
        if self._raw is not None:
            anchor = re2._Anchor.ANCHOR_START if anchored else re2._Anchor.UNANCHORED
            spans: Spans = self._raw(anchor, data, pos, len(data))
            return None if spans[0][0] == -1 else spans
        match = self.regex.match(data, pos) if anchored else self.regex.search(data, pos)
        if match is None:
            return None
        return [match.span(g) for g in range(self.groups + 1)]


class _Compiled:
    """A detector ready to run: its RE2 program and its replacement function."""

    __slots__ = ("detector", "group_count", "mode", "regex", "replace")

    def __init__(self, detector: Detector, mode: str, replace: Callable[[bytes], bytes]):
        self.detector = detector
        self.mode = mode
        self.replace = replace
        try:
            self.regex = re2.compile(detector.pattern, _re2_options())
        except re2.error as err:
            raise ValueError(
                f"detector {detector.name!r}: pattern is not valid RE2 syntax "
                f"(no look-arounds or back-references): {err}"
            ) from None
        self.group_count = int(self.regex.groups)


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
        self._safe_keys = frozenset(normalize_key(k) for k in safe_keys)
        user_keys = tuple(str(k) for k in secret_keys)
        self._user_key_suffixes = tuple(normalize_key(k) for k in user_keys)
        key_cache: dict[str, bool] = {}
        self._key_cache = key_cache

        custom = [Detector(name, str(pattern)) for name, pattern in (patterns or {}).items()]
        custom.extend(custom_detectors)
        builtins = builtin_detectors(tuple(user_key_regex(k) for k in user_keys), self._is_safe_key)
        all_detectors = [*custom, *builtins]
        names = [d.name for d in all_detectors]
        duplicates = {n for n in names if names.count(n) > 1}
        if duplicates:
            raise ValueError(f"detector names must be unique; repeated: {sorted(duplicates)}")
        known = {*names, SECRET_FIELD}

        switches = dict(detectors or {})
        for name in switches:
            if name not in known:
                raise ValueError(f"unknown detector {name!r}; known: {sorted(known)}")
        mode_map = {str(k): str(v) for k, v in (modes or {}).items()}
        for name, mode in (*mode_map.items(), ("default_mode", default_mode)):
            if mode not in _MODES:
                raise ValueError(f"{name}: mode {mode!r} is not one of {sorted(_MODES)}")
            if name != "default_mode" and name not in known:
                raise ValueError(f"modes: unknown detector {name!r}; known: {sorted(known)}")
        if default_mode == "partial":
            raise ValueError("default_mode cannot be 'partial'; set it per detector")

        enabled = [d for d in all_detectors if bool(switches.get(d.name, d.enabled))]
        self._secret_field_on = bool(switches.get(SECRET_FIELD, True))
        self._secret_field_mode = mode_map.get(SECRET_FIELD, default_mode)
        if self._secret_field_mode == "partial":
            raise ValueError("secret_field: partial mode needs digits to keep; use mask")

        effective = {d.name: mode_map.get(d.name, default_mode) for d in enabled}
        for det in enabled:
            if effective[det.name] == "partial" and not det.partial:
                raise ValueError(
                    f"{det.name}: partial mode keeps the last four digits and is only "
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

        self._compiled = tuple(
            _Compiled(d, effective[d.name], self._make_replace(d, effective[d.name]))
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
                for c in self._compiled
            ),
            self._user_key_suffixes,
            self._safe_keys,
            self._secret_field_on,
            self._secret_field_mode,
            # Keyed pseudonyms differ by key: tell keys apart without keeping one.
            hmac.new(self.__key, b"inferlog-redaction-mark", hashlib.sha256).digest(),
        )
        mark = _MARKS.get(configuration)
        if mark is None:
            mark = _MARKS.setdefault(configuration, _RedactionMark(len(_MARKS)))
        #: Stamped on records this redactor's filter redacted (see RedactionFilter).
        self.mark: _RedactionMark = mark
        self._token_re = re2.compile(TOKEN_PATTERN, _re2_options())
        self._field_token = self._secret_field_token_factory()
        self._token_matcher = _Matcher(self._token_re)
        if not self._compiled:
            self._gate: _Matcher | None = None
            return
        gate_options = _re2_options()
        gate_options.never_capture = True
        self._gate = _Matcher(
            re2.compile("|".join(f"(?:{c.detector.pattern})" for c in self._compiled), gate_options)
        )
        # Which detectors match at a given position: one anchored RE2::Set call on a
        # short window, instead of trying each detector's own pattern in turn.
        starts = re2.Set.MatchSet(gate_options)
        for runner in self._compiled:
            starts.Add(runner.detector.pattern)
        starts.Compile()
        self._starts: Any = starts
        # The binding's raw Set.Match skips a wrapper call per hit.
        raw_set = getattr(starts, "_set", None)
        self._set_match: Callable[[bytes], list[int] | None] = (
            raw_set.Match if raw_set is not None else starts.Match
        )
        # Whether every pattern sees a window of the text, or the record's texts
        # joined by newlines, as it sees the text itself: true unless a pattern has
        # an assertion other than \b.
        self._set_exact = not any(
            _EDGE_ASSERTION.search(c.detector.pattern) for c in self._compiled
        )
        self._own = tuple(_Matcher(runner.regex) for runner in self._compiled)

    def __repr__(self) -> str:
        return self._description

    # --- configuration helpers ---------------------------------------------------------

    @property
    def detector_names(self) -> tuple[str, ...]:
        """Names of the enabled text detectors, in the order they are applied."""
        return tuple(c.detector.name for c in self._compiled)

    def _is_safe_key(self, name: str) -> bool:
        return normalize_key(name) in self._safe_keys

    def is_secret_key(self, name: str) -> bool:
        """Return True when a field called ``name`` holds a secret as a whole."""
        cached = self._key_cache.get(name)
        if cached is not None:
            return cached
        key = normalize_key(name)
        secret = key not in self._safe_keys and (
            any(w in key for w in SECRET_KEY_WORDS_ANYWHERE)
            or key.endswith(SECRET_KEY_WORDS_AT_END)
            or (bool(self._user_key_suffixes) and key.endswith(self._user_key_suffixes))
        )
        if len(self._key_cache) >= _KEY_CACHE_LIMIT:
            self._key_cache.clear()
        self._key_cache[name] = secret
        return secret

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
            return lambda value: self._pseudonym("secret", _safe_str(value))
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
        return self._redact_text(text)[0]

    def _redact_text(self, text: str, start: int = 0) -> tuple[str, bool]:
        """Redact one string; the flag says a ``drop``-mode detector hit it.

        ``start`` is a byte offset before which the text is known to hold no match
        (found by the filter's scan of the whole record), so the first pass begins there.
        """
        gate = self._gate
        if gate is None:
            return text, False
        try:
            data = text.encode("utf-8", "surrogatepass")
            # The scan's first search is the gate: text without a match costs one scan.
            out, dropped = self._redact_bytes(data, start)
            if out is data:
                return text, False
            return out.decode("utf-8", "surrogatepass"), dropped
        except Exception as err:  # fail closed: never hand back the raw text
            _report_failure("text", err)
            return FAILED_TOKEN, False

    def _redact_bytes(self, data: bytes, start: int = 0) -> tuple[bytes, bool]:
        dropped = False
        gate = self._gate
        assert gate is not None
        for _ in range(MAX_PASSES):
            new, hit_drop = self._scan(data, start)
            start = 0
            if new is data:
                break
            data = new
            dropped = dropped or hit_drop
            # Replacing text can change what is next to other text; go again until
            # nothing changes, so that redact(redact(x)) == redact(x).
            if gate.find(data, 0) is None:
                break
        return data, dropped

    def _scan(self, data: bytes, pos: int = 0) -> tuple[bytes, bool]:
        """One left-to-right pass of every detector at once over ``data``."""
        gate = self._gate
        assert gate is not None
        find = gate.find
        raw = gate._raw
        unanchored = re2._Anchor.UNANCHORED if raw is not None else None
        resolve = self._resolve
        pieces: list[bytes] = []
        last = 0
        size = len(data)
        retries = 0
        dropped = False
        # Only text that already holds a token needs each candidate checked against
        # the tokens around it (see _overlaps_token); a fresh record usually holds none.
        tokens = b"[REDACTED:" in data or b"<" in data
        while pos <= size:
            if raw is not None:  # the binding's call without its wrapper: once per hit
                spans = raw(unanchored, data, pos, size)
                m_start, m_end = spans[0]
                if m_start == -1:
                    break
            else:
                found_spans = find(data, pos)
                if found_spans is None:
                    break
                m_start, m_end = found_spans[0]
            found, retry_inside = resolve(data, m_start, m_end, tokens)
            if found is not None:
                runner, start, end, resume = found
                pieces.append(data[last:start])
                pieces.append(runner.replace(data[start:end]))
                last = end
                if runner.mode == "drop":
                    dropped = True
                pos = resume if resume > m_start else m_start + 1
            elif retry_inside and retries < MAX_INSIDE_RETRIES:
                retries += 1
                pos = m_start + 1
            else:
                pos = m_end if m_end > m_start else m_start + 1
        if not pieces:
            return data, False
        pieces.append(data[last:])
        return b"".join(pieces), dropped

    def _resolve(
        self, data: bytes, m_start: int, m_end: int = -1, tokens: bool = True
    ) -> tuple[tuple[_Compiled, int, int, int] | None, bool]:
        """Find the first detector, in priority order, that matches at ``m_start`` and
        whose validator accepts; also say whether the first matching one retries inside.

        ``m_end`` is where the gate's match ends, ``tokens`` whether ``data`` may hold
        a token at all.
        """
        hits = self._set_match(data[m_start : m_start + _START_WINDOW])
        if (
            hits is not None
            and len(hits) == 1
            and m_start < m_end < m_start + _START_WINDOW
            and self._set_exact
            and (m_start == 0 or data[m_start - 1] not in _WORD_BYTES)
        ):
            # The gate is the detectors' alternation, so its match [m_start, m_end) is
            # the first detector's (in priority order) that matches here. The window
            # holds that whole match with the same context (no earlier word byte for a
            # leading \b to see), so the Set names it; named alone, it is the winner,
            # and a detector without groups replaces exactly the gate's span: its own
            # pattern need not run again.
            index = hits[0]
            runner = self._compiled[index]
            if not runner.group_count:
                accepted = self._accept(data, runner.detector, m_start, m_end, m_start, tokens)
                if accepted >= 0:
                    resume = m_end if accepted == m_end else accepted
                    return (runner, m_start, accepted, resume), runner.detector.retry_inside
        # The window is a pre-selection (and RE2::Set answers nothing when its DFA runs
        # out of memory): if no detector it names matches here, the others get a go.
        order: list[int] = sorted(hits) if hits else []
        rest = (i for i in range(len(self._compiled)) if i not in order)
        retry_inside: bool | None = None
        for index in itertools.chain(order, rest):
            if retry_inside is not None and index not in order:
                break
            spans = self._own[index].find(data, m_start, anchored=True)
            if spans is None:
                continue
            runner = self._compiled[index]
            if retry_inside is None:
                retry_inside = runner.detector.retry_inside
            start, end = spans[0]
            for g_start, g_end in spans[1:]:
                if g_start >= 0:
                    start, end = g_start, g_end
                    break
            if end <= start:
                continue
            accepted = self._accept(data, runner.detector, start, end, m_start, tokens)
            if accepted >= 0:
                # Cut short by Detector.shrink: rescan what was cut off.
                resume = spans[0][1] if accepted == end else accepted
                return (runner, start, accepted, resume), bool(retry_inside)
        return None, bool(retry_inside)

    def _accept(
        self, data: bytes, det: Detector, start: int, end: int, m_start: int, tokens: bool = True
    ) -> int:
        """Return the end of the span to replace, or -1 to leave the candidate alone."""
        validator = det.validator
        if not tokens or not self._overlaps_token(data, start, end):
            if validator is None or validator(Candidate(data, start, end, m_start, end)):
                return end
        else:
            return -1
        if not det.shrink:
            return -1
        # Cut back at each inner space or dash, longest first (only after a rejection).
        for candidate_end in range(end - 1, start, -1):
            if data[candidate_end] not in (0x20, 0x2D):  # space, dash
                continue
            if tokens and self._overlaps_token(data, start, candidate_end):
                return -1
            if validator is None or validator(
                Candidate(data, start, candidate_end, m_start, candidate_end)
            ):
                return candidate_end
        return -1

    def _overlaps_token(self, data: bytes, start: int, end: int) -> bool:
        # A token is at most _TOKEN_REACH bytes long, so one overlapping the span lies
        # wholly inside this window: no need to scan the whole text per candidate.
        low = max(0, start - _TOKEN_REACH)
        window = data[low : end + _TOKEN_REACH]
        if b"[REDACTED:" not in window and b"<" not in window:
            return False
        pos = 0
        matcher = self._token_matcher
        while True:
            spans = matcher.find(window, pos)
            if spans is None:
                return False
            t_start, t_end = spans[0]
            if t_start + low < end and start < t_end + low:
                return True
            if t_start + low >= end:
                return False
            pos = max(t_end, t_start + 1)

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
        result, _changed, _dropped = self._walk(value, 0, True)
        return result

    def _walk(self, value: Any, depth: int, copy: bool) -> tuple[Any, bool, bool]:
        """Return ``(new_value, changed, drop)``; containers are rebuilt if ``copy``."""
        try:
            kind = type(value)
            if kind is str:
                text, dropped = self._redact_text(value)
                return text, text is not value, dropped
            if isinstance(value, (*_ATOMIC_SAFE, Enum)):
                return value, False, False
            if isinstance(value, int):
                if -_BIG_INT < value < _BIG_INT:
                    return value, False, False
                text, dropped = self._redact_text(str(value))
                if text == str(value):
                    return value, False, False
                return text, True, dropped
            if depth >= MAX_DEPTH:
                return "[REDACTED:DEPTH]", True, False
            if isinstance(value, Mapping):
                return self._walk_mapping(value, depth, copy)
            if isinstance(value, (list, tuple, set, frozenset)):
                return self._walk_sequence(value, depth, copy)
            if isinstance(value, (bytes, bytearray)):
                decoded = bytes(value).decode("utf-8", "replace")
                text, dropped = self._redact_text(decoded)
                return (text, True, dropped) if text != decoded else (value, False, False)
            shown = _safe_str(value)
            text, dropped = self._redact_text(shown)
            return (text, True, dropped) if text != shown else (value, False, False)
        except Exception as err:
            _report_failure("value", err)
            return FAILED_TOKEN, True, False

    def _walk_mapping(
        self, value: Mapping[Any, Any], depth: int, copy: bool
    ) -> tuple[Any, bool, bool]:
        out: dict[Any, Any] = {}
        changed = False
        for key, item in value.items():
            if self._secret_field_on and isinstance(key, str) and self.is_secret_key(key):
                if self._secret_field_mode == "drop":
                    changed = True
                    continue
                if item is None or item == "":
                    out[key] = item
                    continue
                out[key] = self._field_token(item)
                changed = True
                continue
            new, item_changed, dropped = self._walk(item, depth + 1, copy)
            if dropped:
                changed = True
                continue
            out[key] = new
            changed = changed or item_changed
        if not changed and not copy:
            return value, False, False
        if type(value) is not dict:
            try:
                rebuilt: Any = type(value)
                return rebuilt(out), changed, False
            except Exception:
                pass
        return out, changed, False

    def _walk_sequence(self, value: Any, depth: int, copy: bool) -> tuple[Any, bool, bool]:
        items: list[Any] = []
        changed = False
        for item in value:
            new, item_changed, dropped = self._walk(item, depth + 1, copy)
            if dropped:
                changed = True
                continue
            items.append(new)
            changed = changed or item_changed
        if not changed and not copy:
            return value, False, False
        if isinstance(value, list):
            return items, changed, False
        if isinstance(value, tuple):
            if hasattr(value, "_fields"):  # a namedtuple: keep its type if it still fits
                try:
                    return type(value)(*items), changed, False
                except Exception:
                    return tuple(items), changed, False
            return tuple(items), changed, False
        try:
            return type(value)(items), changed, False
        except TypeError:  # unhashable redacted items
            return items, changed, False

    # --- cheap whole-record pre-check ----------------------------------------------------

    def _touched(self, texts: list[str]) -> dict[int, int]:
        """Scan ``texts`` joined, once; map each text a match touches to a byte offset
        in it before which it holds no match.

        The joining newline makes every detector behave at a text's edges as it does
        at the start or end of a string (patterns with other assertions than \\b are
        the exception: then every text is reported, from 0). So a text's own scan
        finds its leftmost match where the joined scan did, unless that match went on
        into the next text: the texts such a match reaches are reported from 0. Once a
        text is reported the scan jumps to the next one: the text's own redaction
        scans the rest of it, so each byte is scanned once.
        """
        gate = self._gate
        if gate is None or not texts:
            return {}
        if not self._set_exact:
            return dict.fromkeys(range(len(texts)), 0)
        joined_text = "\n".join(texts)
        joined = joined_text.encode("utf-8", "surrogatepass")
        spans = gate.find(joined, 0)
        if spans is None:
            return {}
        starts: list[int] = []
        offset = 0
        if len(joined) == len(joined_text):  # ASCII: byte offsets are char offsets
            for text in texts:
                starts.append(offset)
                offset += len(text) + 1
        else:
            for text in texts:
                starts.append(offset)
                offset += len(text.encode("utf-8", "surrogatepass")) + 1
        found: dict[int, int] = {}
        count = len(texts)
        while spans is not None:
            m_start, m_end = spans[0]
            first = bisect.bisect_right(starts, m_start) - 1
            last = bisect.bisect_right(starts, max(m_start, m_end - 1)) - 1
            found.setdefault(first, m_start - starts[first])
            for index in range(first + 1, last + 1):
                found[index] = 0
            if last + 1 >= count:
                break
            spans = gate.find(joined, starts[last + 1])
        return found

    def _collect(self, value: Any, texts: list[str], depth: int) -> bool:
        """Append the strings inside ``value`` to ``texts``; True if it needs a full walk.

        A full walk is needed regardless of the text when a key names a secret, or
        when the value is too deep to inspect here.
        """
        kind = type(value)
        if kind is str:
            texts.append(value)
            return False
        if value is None or kind is float or kind is bool:
            return False
        if kind is int:
            if -_BIG_INT < value < _BIG_INT:
                return False
            texts.append(str(value))
            return False
        if depth >= MAX_DEPTH:
            return True
        if kind is dict:
            for key, item in value.items():
                if self._secret_field_on and type(key) is str and self.is_secret_key(key):
                    return True
                if self._collect(item, texts, depth + 1):
                    return True
            return False
        if kind is list or kind is tuple:
            return any(self._collect(item, texts, depth + 1) for item in value)
        return True


class _RecordPlan:
    """The extras of one record layout: their names, and a C-level reader of their values."""

    __slots__ = ("keys", "values")

    def __init__(self, keys: tuple[str, ...]) -> None:
        self.keys = keys
        self.values: Callable[[Mapping[str, Any]], tuple[Any, ...]]
        if not keys:
            self.values = lambda _attributes: ()
        elif len(keys) == 1:
            key = keys[0]
            self.values = lambda attributes: (attributes[key],)
        else:
            self.values = operator.itemgetter(*keys)


_NO_PLAN: Any = object()
# Value types a record on the fast path may hold: strings and leaves without text
# (ints too when they are small, checked apart).
_FLAT_TYPES: frozenset[type] = frozenset({str, float, bool, type(None)})
_FLAT_OR_INT_TYPES: frozenset[type] = _FLAT_TYPES | {int}
_IS_STR: Callable[[object], bool] = str.__instancecheck__
_IS_INT: Callable[[object], bool] = int.__instancecheck__


def _safe_str(value: object) -> str:
    try:
        return str(value)
    except Exception as err:
        return f"<unprintable {type(value).__name__}: {type(err).__name__}>"


def _report_failure(where: str, err: BaseException) -> None:
    # Only the exception type: its message could quote the text being redacted.
    _diagnostics.report_once(
        f"redaction-failure:{where}:{type(err).__name__}",
        logging.WARNING,
        "redaction of a %s failed (%s); the %s was replaced by %s",
        where,
        type(err).__name__,
        where,
        FAILED_TOKEN,
    )


class RedactionFilter(logging.Filter):
    """A logging filter that redacts every part of a record before anything formats it.

    Redacts the message after ``%``-merging (``record.msg`` becomes the redacted text
    and ``record.args`` None; a dict message is redacted as data), every ``extra=``
    field (``drop`` mode deletes the field), the ``exception`` object (built from
    ``exc_info`` with :func:`~inferlog._exceptions.describe_exception` if a queue has
    not done so already, after which ``exc_info`` and ``exc_text`` are cleared so no
    formatter renders the raw traceback) and ``stack_info``. Always returns True.

    Takes the keyword arguments of :class:`Redactor` (plain types, so it can be
    built from ``logging.config.dictConfig``), or a ready ``redactor``.
    It never raises: a field whose redaction fails becomes ``[REDACTED:ERROR]``.
    """

    def __init__(self, name: str = "", *, redactor: Redactor | None = None, **options: Any):
        super().__init__(name)
        if redactor is not None and options:
            raise ValueError("pass either redactor= or Redactor options, not both")
        self.redactor = redactor if redactor is not None else Redactor(**options)
        #: ``errors``: fields replaced by ``[REDACTED:ERROR]`` since start-up.
        self.counters = _diagnostics.Counters()
        # Record layout (its attribute names, in order; records logged from one call
        # site share it) -> how to read its extras, or None for the general path.
        self._plans: dict[tuple[Any, ...], _RecordPlan | None] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record`` in place and keep it.

        A record that this filter, or any with an equivalent configuration, already
        redacted (several sinks behind one queue share the record) carries a private
        mark and is not scanned again.
        """
        attributes = record.__dict__
        mark = self.redactor.mark
        if attributes.get(REDACTED_MARK_ATTR) is mark:
            return True
        try:
            self._redact_record(record)
            attributes[REDACTED_MARK_ATTR] = mark
        except Exception as err:  # pragma: no cover - every field is guarded below
            self._failed("record", err)
            record.msg, record.args = FAILED_TOKEN, None
        return True

    def _failed(self, where: str, err: BaseException) -> None:
        self.counters.add("errors")
        _report_failure(where, err)

    def _plan(self, layout: tuple[Any, ...]) -> _RecordPlan | None:
        """How to read the extras of records with this layout; None for the general path.

        The fast path takes records whose extra names are all str, none names a
        secret, and none is ``exception``; what their values hold is checked per record.
        """
        redactor = self.redactor
        keys: list[str] = []
        for key in layout:
            if not isinstance(key, str):
                return None
            if key in STANDARD_RECORD_ATTRS or key[:1] == "_":
                continue
            if key == EXCEPTION_ATTR or (redactor._secret_field_on and redactor.is_secret_key(key)):
                return None
            keys.append(key)
        return _RecordPlan(tuple(keys))

    def _redact_record(self, record: logging.LogRecord) -> None:
        """Redact ``record``: the fast path for the common record, else the general one.

        The common record (a str message, no exception, extras that are strings,
        numbers or None under names that are not secret) is read with one C call and
        scanned joined, once; only the strings a match touches are redacted.
        """
        attributes = record.__dict__
        if type(record.msg) is not str or record.exc_info is not None:
            self._redact_record_general(record)
            return
        layout = tuple(attributes)
        plans = self._plans
        plan = plans.get(layout, _NO_PLAN)
        if plan is _NO_PLAN:
            if len(plans) >= _KEY_CACHE_LIMIT:
                plans.clear()
            plan = plans[layout] = self._plan(layout)
        if plan is None:
            self._redact_record_general(record)
            return
        values = plan.values(attributes)
        # Checked with C-level calls: this runs on every record.
        kinds = set(map(type, values))
        if not kinds <= _FLAT_TYPES:
            # An int as long as a card number is text to scan; containers and other
            # objects need the walk: both take the general path.
            if not kinds <= _FLAT_OR_INT_TYPES:
                self._redact_record_general(record)
                return
            # bools come along (int's subclass) and are 0 or 1: harmless to the bounds.
            ints = list(filter(_IS_INT, values))
            if max(ints) >= _BIG_INT or min(ints) <= -_BIG_INT:
                self._redact_record_general(record)
                return
        message = self._message_text(record)
        record.msg, record.args = message, None
        texts = [message]
        # Only exact str values got here (a str subclass is not in _FLAT_TYPES).
        texts.extend(filter(_IS_STR, values))
        extra_count = len(texts) - 1
        text_attrs: list[str] = []
        for attr in _TEXT_ATTRS:
            extra_text = attributes.get(attr)
            if isinstance(extra_text, str):
                texts.append(extra_text)
                text_attrs.append(attr)
        redactor = self.redactor
        found = redactor._touched(texts)
        if not found:
            return
        string_keys = [
            key for key, value in zip(plan.keys, values, strict=True) if type(value) is str
        ]
        for index, start in sorted(found.items()):
            if index == 0:
                record.msg = self._guarded("message", message, start)
            elif index <= extra_count:
                key, value = string_keys[index - 1], texts[index]
                new, dropped = redactor._redact_text(value, start)
                if dropped:
                    del attributes[key]
                elif new is not value:
                    attributes[key] = new
            else:
                attr = text_attrs[index - 1 - extra_count]
                setattr(record, attr, self._guarded(attr, texts[index], start))

    def _redact_record_general(self, record: logging.LogRecord) -> None:
        redactor = self.redactor
        message: Any
        if isinstance(record.msg, Mapping) and not record.args:
            message = record.msg
        else:
            message = self._message_text(record)
            record.msg, record.args = message, None

        if record.exc_info and not isinstance(getattr(record, EXCEPTION_ATTR, None), dict):
            try:
                info = describe_exception(record.exc_info)
            except Exception as err:
                self._failed("exception", err)
                info = ExceptionInfo(type="Exception", message=FAILED_TOKEN, stack=[])
            if info is not None:
                setattr(record, EXCEPTION_ATTR, info)
        if record.exc_info is not None:
            record.exc_info = None
            record.exc_text = None

        # Gather every string of the record and scan them joined, once. Fields that a
        # gate match touches (or that need a walk whatever their text: secret key
        # names, objects) are then redacted one by one; the others are not looked at.
        texts: list[str] = []
        owners: list[int] = []
        # Owner -> index in texts of the owners that are one plain string: those are
        # redacted from where the record's scan found their first match.
        text_of: dict[int, int] = {}
        if type(message) is str:
            text_of[_MESSAGE] = 0
        full_walk = redactor._collect(message, texts, 0)
        owners.extend([_MESSAGE] * len(texts))
        # This loop runs on every record: it inlines iter_extras() (same rule: not a
        # standard attribute, not private) and the common leaf types.
        extras: list[tuple[Any, Any]] = []
        key_cache = redactor._key_cache
        secret_field_on = redactor._secret_field_on
        attributes = record.__dict__
        # A set difference in C leaves the dozen extras out of some thirty attributes.
        for key in attributes.keys() - STANDARD_RECORD_ATTRS:
            # ``extra={1: ...}`` leaves non-str keys here: keep them, their values may
            # hold PII, but only str names can be private or name a secret.
            is_name = isinstance(key, str)
            if is_name and key[:1] == "_":
                continue
            value = attributes[key]
            number = len(extras)
            extras.append((key, value))
            if full_walk:
                continue
            if secret_field_on and is_name:
                secret = key_cache.get(key)
                if secret is None:
                    secret = redactor.is_secret_key(key)
                if secret:
                    full_walk = True
                    continue
            kind = type(value)
            if kind is str:
                text_of[number] = len(texts)
                texts.append(value)
                owners.append(number)
            elif value is None or kind is float or kind is bool:
                continue
            else:
                before = len(texts)
                full_walk = redactor._collect(value, texts, 0)
                owners.extend([number] * (len(texts) - before))
        for number, attr in enumerate(_TEXT_ATTRS):
            extra_text = record.__dict__.get(attr)
            if isinstance(extra_text, str):
                text_of[_TEXT_ATTR_BASE - number] = len(texts)
                texts.append(extra_text)
                owners.append(_TEXT_ATTR_BASE - number)
        found: dict[int, int] = {}
        touched: set[int] | None = None
        if not full_walk:
            found = redactor._touched(texts)
            if not found:
                return
            touched = {owners[index] for index in found}

        def start_of(owner: int) -> int:
            index = text_of.get(owner)
            return 0 if index is None else found.get(index, 0)

        if touched is None or _MESSAGE in touched:
            record.msg = self._guarded("message", message, start_of(_MESSAGE))
        for number, (key, value) in enumerate(extras):
            if touched is not None and number not in touched:
                continue
            # record.__dict__ rather than setattr/delattr: keys need not be str.
            if redactor._secret_field_on and isinstance(key, str) and redactor.is_secret_key(key):
                if redactor._secret_field_mode == "drop":
                    del attributes[key]
                elif value is not None and value != "":
                    attributes[key] = redactor._field_token(value)
                continue
            new: Any
            try:
                if key == EXCEPTION_ATTR and isinstance(value, dict):
                    new, changed, dropped = self._redact_exception(value), True, False
                elif type(value) is str:
                    new, dropped = redactor._redact_text(value, start_of(number))
                    changed = new is not value
                else:
                    new, changed, dropped = redactor._walk(value, 0, False)
            except Exception as err:
                self._failed("field", err)
                new, changed, dropped = FAILED_TOKEN, True, False
            if dropped:
                del attributes[key]
            elif changed:
                attributes[key] = new
        for number, attr in enumerate(_TEXT_ATTRS):
            if touched is not None and _TEXT_ATTR_BASE - number not in touched:
                continue
            extra_text = record.__dict__.get(attr)
            if isinstance(extra_text, str):
                start = start_of(_TEXT_ATTR_BASE - number)
                setattr(record, attr, self._guarded(attr, extra_text, start))

    def _message_text(self, record: logging.LogRecord) -> str:
        try:
            return record.getMessage()
        except Exception:
            # A %-format mismatch: keep what there is, redacted, instead of losing it.
            return f"{_safe_str(record.msg)} args={_safe_str(record.args)}"

    def _guarded(self, where: str, value: Any, start: int = 0) -> Any:
        """Redact one top-level value (drop falls back to mask); never raises.

        ``start``: for a str, the byte offset of its first possible match.
        """
        try:
            if isinstance(value, str):
                return self.redactor._redact_text(value, start)[0]
            return self.redactor._walk(value, 0, True)[0]
        except Exception as err:
            self._failed(where, err)
            return FAILED_TOKEN

    def _redact_exception(self, info: dict[str, Any]) -> dict[str, Any]:
        out = dict(info)
        message = info.get("message")
        if isinstance(message, str):
            out["message"] = self._guarded("exception", message)
        stack = info.get("stack")
        if isinstance(stack, list):
            out["stack"] = [
                self._guarded("exception", line) if isinstance(line, str) else line
                for line in stack
            ]
        for key, value in info.items():
            if key not in ("message", "stack", "type"):
                out[key] = self._guarded("exception", value)
        return out
