"""The matcher: one RE2 scan for every enabled detector at once.

Every enabled detector pattern is joined into one alternation (the *gate*) that is
scanned over the text in linear time. Only where that scan finds something does the
engine ask an anchored ``re2.Set`` which detectors match at that position, run the
winner's own pattern if it has groups, and call its validator (Luhn, mod-97, ...). A
text without PII therefore costs one pass of a DFA; with hits, it is redacted from its
first match on, so its bytes are still scanned once, plus a proof scan of what changed
(idempotence).
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Callable, Sequence
from typing import Any

import re2

from inferlog.redaction.detectors import TOKEN_PATTERN, Candidate, Detector

#: Passes of the detector chain at most; a second pass only runs when the first changed
#: something, and tokens are never re-matched, so this converges in practice at two.
MAX_PASSES = 4
#: After this many rejected candidates in one field a detector stops retrying inside
#: them (``Detector.retry_inside``), so adversarial digit soup stays linear.
MAX_INSIDE_RETRIES = 2_000
# Longest token the redactor writes: "<" + 64-char name + ":" + 64 hex digits + ">".
_TOKEN_REACH = 132
# Bytes after a match start given to the anchored Set that picks the detector; longer
# than any built-in detector needs to decide (a user pattern that needs more is
# still found: an empty answer makes every detector try).
_START_WINDOW = 1_024
# RE2's \b is ASCII: these bytes are the word characters it sees.
_WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


# In a pattern, an assertion other than \b, which a window or a joined text would see
# differently from the text itself (^ $ \A \z \B); "[^" only negates a class.
def has_edge_assertion(pattern: str) -> bool:
    """Whether ``pattern`` asserts an edge other than ``\\b`` (``^``, ``$``, ``\\A``,
    ``\\z``, ``\\B``) outside a character class, where ``^`` and ``$`` are literals."""
    index, size, in_class = 0, len(pattern), False
    while index < size:
        char = pattern[index]
        if char == "\\":
            if not in_class and pattern[index + 1 : index + 2] in ("A", "z", "B"):
                return True
            index += 2
            continue
        if in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
            index += 1
            if pattern[index : index + 1] == "^":  # a negated class
                index += 1
            if pattern[index : index + 1] == "]":  # a literal ] first in the class
                index += 1
            continue
        elif char in "^$":
            return True
        index += 1
    return False


Spans = list[tuple[int, int]]


def re2_options() -> Any:
    """RE2 options for every program the redactor compiles: bounded memory, quiet."""
    options = re2.Options()
    options.max_mem = 64 << 20
    options.log_errors = False
    return options


class Matcher:
    """An RE2 program searched over UTF-8 bytes, returning the spans of every group.

    Uses the binding's raw ``Match`` when it is there: the public ``search`` builds a
    generator and a match object per call, which on short texts costs more than the
    scan. Falls back to the public API otherwise.
    """

    __slots__ = ("groups", "raw", "regex")

    def __init__(self, regex: Any) -> None:
        self.regex = regex
        self.groups = int(regex.groups)
        raw = getattr(getattr(regex, "_regexp", None), "Match", None)
        anchors = getattr(re2, "_Anchor", None)
        #: The binding's raw match call, or None where the binding has none.
        self.raw = raw if raw is not None and anchors is not None else None

    def find(self, data: bytes, pos: int, anchored: bool = False) -> Spans | None:
        """Spans of the leftmost match at or after ``pos`` (at ``pos`` if anchored)."""
        if self.raw is not None:
            anchor = re2._Anchor.ANCHOR_START if anchored else re2._Anchor.UNANCHORED
            spans: Spans = self.raw(anchor, data, pos, len(data))
            return None if spans[0][0] == -1 else spans
        match = self.regex.match(data, pos) if anchored else self.regex.search(data, pos)
        if match is None:
            return None
        return [match.span(g) for g in range(self.groups + 1)]


def _compile(detector: Detector, option: str, pattern: str) -> Any:
    try:
        return re2.compile(pattern, re2_options())
    except re2.error as err:
        raise ValueError(
            f"detector {detector.name!r}: {option} is not valid RE2 syntax "
            f"(no look-arounds or back-references): {err}"
        ) from None


class CompiledDetector:
    """A detector ready to run: its RE2 program, its mode and its replacement function."""

    __slots__ = ("detector", "group_count", "mode", "regex", "replace", "start_pattern")

    def __init__(self, detector: Detector, mode: str, replace: Callable[[bytes], bytes]):
        self.detector = detector
        self.mode = mode
        self.replace = replace
        self.regex = _compile(detector, "pattern", detector.pattern)
        if detector.start is not None:
            # Checked here to name the detector: the one-scan alternation compiles it.
            _compile(detector, "start", detector.start)
        self.group_count = int(self.regex.groups)
        #: What the one-pass scan searches for: ``Detector.start``, else the pattern.
        self.start_pattern = detector.start if detector.start is not None else detector.pattern


Found = tuple[CompiledDetector, int, int, int]


def _replaced(spans: Spans) -> tuple[int, int]:
    """The span a match replaces: its first group that took part, else the whole match."""
    for g_start, g_end in spans[1:]:
        if g_start >= 0:
            return g_start, g_end
    return spans[0]


class Engine:
    """Finds and replaces what a tuple of compiled detectors detect, in one scan.

    Detectors earlier in the tuple win where several match at one position.
    """

    def __init__(self, compiled: tuple[CompiledDetector, ...]) -> None:
        self.compiled = compiled
        self._token_matcher = Matcher(re2.compile(TOKEN_PATTERN, re2_options()))
        gate_options = re2_options()
        gate_options.never_capture = True
        #: The alternation of every detector's pattern.
        self.gate = Matcher(
            re2.compile("|".join(f"(?:{c.start_pattern})" for c in compiled), gate_options)
        )
        # Which detectors match at a given position: one anchored RE2::Set call on a
        # short window, instead of trying each detector's own pattern in turn.
        starts = re2.Set.MatchSet(gate_options)
        for runner in compiled:
            starts.Add(runner.start_pattern)
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
            has_edge_assertion(c.detector.pattern) or has_edge_assertion(c.start_pattern)
            for c in compiled
        )
        self._own = tuple(Matcher(runner.regex) for runner in compiled)

    def redact_bytes(self, data: bytes, start: int = 0) -> tuple[bytes, bool]:
        """Redact ``data`` (clean before byte ``start``); the flag says a drop-mode hit.

        Returns ``data`` itself when nothing changed.
        """
        dropped = False
        gate = self.gate
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
        gate = self.gate
        find = gate.find
        raw = gate.raw
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
    ) -> tuple[Found | None, bool]:
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
            # pattern need not run again. One with groups runs its own pattern here
            # only (the same match), for the group to replace.
            index = hits[0]
            runner = self.compiled[index]
            spans: Spans | None = [(m_start, m_end)]
            if runner.group_count or runner.detector.start is not None:
                # None when its start pattern matched here and the pattern did not.
                spans = self._own[index].find(data, m_start, anchored=True)
            if spans is not None:
                start, end = _replaced(spans)
                if end > start:
                    accepted = self._accept(data, runner.detector, start, end, m_start, tokens)
                    if accepted >= 0:
                        resume = spans[0][1] if accepted == end else accepted
                        return (runner, start, accepted, resume), runner.detector.retry_inside
        # The window is a pre-selection (and RE2::Set answers nothing when its DFA runs
        # out of memory): if no detector it names matches here, the others get a go.
        order: list[int] = sorted(hits) if hits else []
        rest = (i for i in range(len(self.compiled)) if i not in order)
        retry_inside: bool | None = None
        for index in itertools.chain(order, rest):
            if retry_inside is not None and index not in order:
                break
            spans = self._own[index].find(data, m_start, anchored=True)
            if spans is None:
                continue
            runner = self.compiled[index]
            if retry_inside is None:
                retry_inside = runner.detector.retry_inside
            start, end = _replaced(spans)
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

    def first_matches(self, texts: Sequence[str]) -> dict[int, int]:
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
        if not texts:
            return {}
        if not self._set_exact:
            return dict.fromkeys(range(len(texts)), 0)
        gate = self.gate
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
