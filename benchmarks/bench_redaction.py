"""What redaction costs per record, against a naive one-stdlib-regex-per-detector loop.

Compares, in one run and one process, on the same inputs:

* ``Redactor.redact`` / ``RedactionFilter.filter`` (RE2: one combined-pattern scan,
  then only the detectors that matched, validators on candidates only);
* a naive redactor: the same detector patterns and validators, compiled with the
  stdlib ``re`` and applied one after another with ``pattern.sub`` (what one writes
  first), and a naive filter applying it to the message and every string extra.

Inputs: short log lines, the inference record of DESIGN.md (a 2 KB prompt and a 1 KB
response in ``request_payload``/``response_payload`` plus the usual fields), and 2 KB
and 32 KB prompts, each without PII and with a few hits (an email, a phone number, a
card).

Run: ``.venv/bin/python benchmarks/bench_redaction.py`` (``--help`` for options;
``--markdown docs/perf-redaction.md`` rewrites the documentation fragment). Prints a
Markdown table: the best over repeats of the mean µs per call, throughput in MB/s of
text redacted, and how many times faster inferlog is than the naive loop.
"""

from __future__ import annotations

import argparse
import functools
import gc
import logging
import platform
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import re2

from inferlog.redaction import Candidate, RedactionFilter, Redactor
from inferlog.redaction._engine import Matcher, re2_options

# --- inputs --------------------------------------------------------------------------

_PARAGRAPHS = [
    "You are a careful assistant for an online retailer. Answer in plain English, cite the "
    "policy section you rely on, and never promise a refund the policy does not allow. ",
    "The customer writes that the blender they ordered arrived with a cracked jug and the "
    "replacement took three weeks. They want to know whether the extended warranty covers "
    "the motor as well, and how long a repair usually takes at the regional service centre. ",
    "Summarise the conversation so far in five bullet points, then propose two next steps "
    "for the support agent. Keep the tone friendly and avoid jargon; the customer said they "
    "are not technical and found the previous answer confusing. ",
    "Policy 4.2: items damaged in transit are replaced free of charge within 30 days of "
    "delivery. Policy 4.7: the extended warranty covers parts and labour for 24 months, "
    "excluding wear items such as blades and seals. ",
    "Context from the order system: order placed on the 3rd of March, shipped two days later "
    "by ground courier, delivered on the 9th, status closed, one previous contact about a "
    "delayed delivery that was resolved with a voucher. ",
]


def _prose(size: int) -> str:
    out: list[str] = []
    total = 0
    index = 0
    while total < size:
        paragraph = _PARAGRAPHS[index % len(_PARAGRAPHS)]
        out.append(paragraph)
        total += len(paragraph)
        index += 1
    return "".join(out)[:size]


def _with_pii(text: str) -> str:
    hits = [
        " Please reply to maria.gonzalez@example.com ",
        " or call me on (415) 555-0132 ",
        " my card is 4111 1111 1111 1111 ",
    ]
    step = len(text) // (len(hits) + 1)
    pieces = [text[i * step : (i + 1) * step] for i in range(len(hits) + 1)]
    out = pieces[0]
    for hit, piece in zip(hits, pieces[1:]):
        out += hit + piece
    return out[: len(text) + sum(len(h) for h in hits)]


SHORT_CLEAN = (
    "inference done request_id=550e8400-e29b-41d4-a716-446655440000 model=gpt-4o-mini "
    "latency_ms=123.4 tokens=512/128 status=ok"
)
SHORT_PII = "login failed for maria.gonzalez@example.com from 203.0.113.42 status=401"
PROMPT_2K = _prose(2048)
RESPONSE_1K = _prose(3072)[2048:]
PROMPT_32K = _prose(32 * 1024)


def _design_record(prompt: str, response: str) -> logging.LogRecord:
    record = logging.LogRecord(
        "inference", logging.INFO, "app.py", 1, "inference %s", ("completed",), None
    )
    record.__dict__.update(
        request_id="550e8400-e29b-41d4-a716-446655440000",
        user_id="u-81723",
        model_id="gpt-4o-mini",
        model_version="2024-07-18",
        latency_ms=812.4,
        input_token_count=512,
        output_token_count=256,
        temperature=0.7,
        top_p=0.95,
        seed=42,
        status="ok",
        error_code=None,
        intent="support.refund",
        request_payload=prompt,
        response_payload=response,
    )
    return record


# --- the naive baseline ---------------------------------------------------------------


class NaiveRedactor:
    """One stdlib ``re`` per detector, applied in turn: the design the issue warns about."""

    def __init__(self, redactor: Redactor) -> None:
        self._steps: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = []
        for det in redactor.detectors:
            pattern = re.compile(det.pattern, re.ASCII)
            label = f"[REDACTED:{det.mask_label}]"
            self._steps.append((pattern, self._replacer(det.validator, label)))

    @staticmethod
    def _replacer(validator: Any, label: str) -> Callable[[re.Match[str]], str]:
        def replace(match: re.Match[str]) -> str:
            whole = match.group(0)
            group = next((i for i in range(1, (match.lastindex or 0) + 1) if match.group(i)), 0)
            if validator is not None:
                data = match.string.encode()
                start = len(match.string[: match.start(group)].encode())
                end = start + len(match.group(group).encode())
                m_start = len(match.string[: match.start()].encode())
                if not validator(Candidate(data, start, end, m_start, end)):
                    return whole
            if group == 0:
                return label
            offset = match.start(group) - match.start()
            return whole[:offset] + label + whole[offset + len(match.group(group)) :]

        return replace

    def redact(self, text: str) -> str:
        """Apply every detector, one full pass each."""
        for pattern, replace in self._steps:
            text = pattern.sub(replace, text)
        return text


class NaiveFilter(logging.Filter):
    """The naive redactor over the message and every string extra."""

    def __init__(self, naive: NaiveRedactor) -> None:
        super().__init__()
        self.naive = naive

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.naive.redact(record.getMessage())
        record.args = None
        for key, value in list(record.__dict__.items()):
            if key in _STANDARD or not isinstance(value, str):
                continue
            setattr(record, key, self.naive.redact(value))
        return True


_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message"}

# --- timing ------------------------------------------------------------------------------


def best_mean(func: Callable[[], object], number: int, repeats: int) -> float:
    """Best over ``repeats`` of the mean seconds per call over ``number`` calls."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            for _ in range(number):
                func()
            elapsed = time.perf_counter() - started
        finally:
            gc.enable()
        best = min(best, elapsed / number)
    return best


def best_mean_records(
    make: Callable[[], logging.LogRecord], flt: logging.Filter, number: int, repeats: int
) -> float:
    """Like :func:`best_mean` for a filter that changes records: fresh records each call."""
    best = float("inf")
    for _ in range(repeats):
        records = [make() for _ in range(number)]
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            for record in records:
                flt.filter(record)
            elapsed = time.perf_counter() - started
        finally:
            gc.enable()
        best = min(best, elapsed / number)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=2000, help="calls per repeat (short inputs)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--markdown", type=Path, help="write the documentation fragment here")
    args = parser.parse_args()

    redactor = Redactor()
    flt = RedactionFilter(redactor=redactor)
    naive = NaiveRedactor(redactor)
    naive_filter = NaiveFilter(naive)

    # Same output on every input, or the comparison means nothing.
    for text in (SHORT_CLEAN, SHORT_PII, PROMPT_2K, _with_pii(PROMPT_2K), _with_pii(PROMPT_32K)):
        assert naive.redact(text) == redactor.redact(text), text[:80]

    texts = [
        ("short log line, no PII", SHORT_CLEAN),
        ("short log line, 2 hits", SHORT_PII),
        ("2 KB prompt, no PII", PROMPT_2K),
        ("2 KB prompt, 3 hits", _with_pii(PROMPT_2K)),
        ("32 KB prompt, no PII", PROMPT_32K),
        ("32 KB prompt, 3 hits", _with_pii(PROMPT_32K)),
    ]
    rows: list[tuple[str, float, float, int]] = []
    for name, text in texts:
        number = max(20, args.n * 2048 // max(len(text), 2048))
        ours = best_mean(functools.partial(redactor.redact, text), number, args.repeats)
        base = best_mean(functools.partial(naive.redact, text), max(5, number // 10), args.repeats)
        rows.append((name, ours, base, len(text.encode())))

    record_cases = [
        ("DESIGN.md record (2 KB + 1 KB), no PII", PROMPT_2K, RESPONSE_1K),
        ("DESIGN.md record (2 KB + 1 KB), 3 hits", _with_pii(PROMPT_2K), RESPONSE_1K),
    ]
    for name, prompt, response in record_cases:
        make = functools.partial(_design_record, prompt, response)
        size = len(prompt.encode()) + len(response.encode()) + 120
        ours = best_mean_records(make, flt, args.n, args.repeats)
        base = best_mean_records(make, naive_filter, max(20, args.n // 10), args.repeats)
        rows.append((f"`RedactionFilter`: {name}", ours, base, size))

    # The floor: what one RE2 scan of the record's joined text costs, nothing else.
    joined = "\n".join([SHORT_CLEAN, PROMPT_2K, RESPONSE_1K]).encode()
    # The same alternation of every detector's pattern that the redactor scans with.
    options = re2_options()
    options.never_capture = True
    gate = Matcher(re2.compile("|".join(f"(?:{d.pattern})" for d in redactor.detectors), options))
    floor = best_mean(functools.partial(gate.find, joined, 0), args.n, args.repeats)
    naive_floor = best_mean(
        functools.partial(naive.redact, joined.decode()), max(20, args.n // 10), args.repeats
    )
    rows.append(
        ("the floor: one RE2 scan of the record's 3 KB of text", floor, naive_floor, len(joined))
    )

    targets = {
        "`RedactionFilter`: DESIGN.md record (2 KB + 1 KB), no PII": ("<= 15 µs", 15e-6),
        "`RedactionFilter`: DESIGN.md record (2 KB + 1 KB), 3 hits": ("<= 30 µs", 30e-6),
    }
    lines = [
        "| case | inferlog µs | inferlog MB/s | naive `re` µs | naive MB/s | speed-up |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    verdicts: list[str] = []
    for name, ours, base, size in rows:
        lines.append(
            f"| {name} | {ours * 1e6:,.1f} | {size / ours / 1e6:,.0f} | {base * 1e6:,.1f} "
            f"| {size / base / 1e6:,.1f} | {base / ours:,.1f}x |"
        )
        if name in targets:
            label, bound = targets[name]
            verdicts.append(
                f"- {name}: {ours * 1e6:.1f} µs, target {label}: "
                f"**{'met' if ours <= bound else 'missed'}**"
            )
        if name == "32 KB prompt, no PII" or name == "32 KB prompt, 3 hits":
            verdicts.append(
                f"- {name}: {base / ours:.0f}x faster than the naive loop, target >= 20x: "
                f"**{'met' if base / ours >= 20 else 'missed'}**"
            )
    by_name = {name: ours for name, ours, _base, _size in rows}
    record_clean = by_name["`RedactionFilter`: DESIGN.md record (2 KB + 1 KB), no PII"]
    verdicts.append(
        f"- Of the {record_clean * 1e6:.1f} µs of the clean record, the RE2 scan of its text "
        f"(the floor row) is {floor * 1e6:.1f} µs; the rest is Python: reading the record's "
        "fields, joining their text, and the calls around the scan."
    )
    scale = _logger_info_cost(args.n, args.repeats)
    verdicts.append(
        f"- For scale, in the same run: `logger.info` with the record's extras to a handler "
        f"that does nothing costs {scale * 1e6:.1f} µs."
    )
    load = _load_average()
    env = (
        f"Python {platform.python_version()}, google-re2, {platform.machine()}, "
        f"{platform.system()}; load average at start {load}."
    )
    table = "\n".join(lines)
    print(table)
    print()
    print("\n".join(verdicts))
    print()
    print(env)
    if args.markdown:
        args.markdown.write_text(_fragment(table, "\n".join(verdicts), env), encoding="utf-8")
        print(f"wrote {args.markdown}")


class _DiscardHandler(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        pass


def _logger_info_cost(number: int, repeats: int) -> float:
    logger = logging.getLogger("bench.redaction.scale")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = _DiscardHandler()
    logger.addHandler(handler)
    extra = {k: v for k, v in vars(_design_record("", "")).items() if k not in _STANDARD}
    try:
        return best_mean(
            lambda: logger.info("inference %s", "completed", extra=extra), number, repeats
        )
    finally:
        logger.removeHandler(handler)


def _load_average() -> str:
    try:
        with open("/proc/loadavg", encoding="ascii") as handle:
            return " ".join(handle.read().split()[:3])
    except OSError:
        return "unknown"


def _fragment(table: str, verdicts: str, env: str) -> str:
    # No front matter: docs/performance.md includes this file.
    return f"""(perf-redaction)=
# Redaction: the cost per record

What {{class}}`~inferlog.RedactionFilter` and `Redactor.redact` cost with the default
detectors, measured side by side in one run against a naive redactor that compiles
the same patterns and validators with the stdlib `re` and applies them one after
another with `pattern.sub` (the benchmark first checks both give the same output).
Measured with:

```console
$ .venv/bin/python benchmarks/bench_redaction.py --markdown docs/perf-redaction.md
```

(`-n` calls per repeat for short inputs, default 2,000, fewer for long ones;
`--repeats`, default 7; each figure is the best repeat's mean.) MB/s is text
redacted per second. The record is DESIGN.md's inference record: a 2 KB prompt and a
1 KB response in `request_payload`/`response_payload` plus the thirteen usual fields;
"3 hits" puts an email address, a phone number and a card number in the prompt.
Each record is fresh: the filter's mark (a record it already redacted is not
scanned again) plays no part in these figures.

{table}

Targets from the redaction issue:

{verdicts}

{env} The machine is shared (two cores, other jobs running), so absolute figures
move from run to run by a factor of two or more; the ratios, measured in the same
run, are the stable part.

The detector set grew for real logs (key names that only describe a secret, passwords
in prose in nine languages, keyed SSNs, bare North American numbers after a phone word,
vendor token families, JSON escapes): still one RE2 scan. On the same machine, each
figure the best of 20 repeats in a fresh process, that scan of the record's 3 KB went
from 6.4-6.5 µs with the previous detectors to 6.8 µs (32 KB prompt: 51 to 53-54 µs),
about 5% more; it rose by 30% before the foreign key words moved from the key
alternative to the prose rule and vendor tokens were anchored at a word start again.

Where the time goes. A record without PII costs one scan of a DFA over all its
text joined (the floor row) plus reading its fields: records of the usual shape
(string, number and None fields, and dicts, lists and tuples of them, under names
that are not secret) are read with a few C-level calls, the shape's field list being
cached. With hits, the record's text is still scanned once: the joined scan stops at
a field's first match (for a nested payload, at the first match of each of its
strings) and hands the rest of that string to its own pass, which starts there;
strings without a match are not scanned again. Each hit then costs an anchored
`RE2::Set` call to name the detector (its own pattern runs again only when it has
groups, a start pattern, or the Set names several), its validator, and the
replacement; and a string that changed is scanned once more, whole, to prove that a
second pass would change nothing (`redact(redact(x)) == redact(x)`). Detectors whose
pattern can run on over prose (a PEM key body, a Cookie header's value) are searched
for by their start pattern, so that finding where any match begins does not read
back over the text before it.
"""


if __name__ == "__main__":
    main()
