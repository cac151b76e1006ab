"""Print the default Redactor's recall and false-alarm rate per kind on the labelled corpus.

Run from the repository root::

    .venv/bin/python -m tests.data.redaction_report            # the Markdown table
    .venv/bin/python -m tests.data.redaction_report --misses   # and every miss

A labelled value is *caught* when it is gone from the output and the output holds at
least as many tokens of its detector as the sample has labels for it (strict: the right
detector took it); *removed* only asks that the value is gone (any detector). A
*false alarm* of a kind is a sample whose output holds more of that kind's tokens than
it has labels for it; its rate is over all samples. *Clean lines altered* counts the
samples without labels whose output differs from their input.
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from inferlog.redaction import Redactor

CORPUS = Path(__file__).with_name("redaction_corpus.jsonl")


@dataclass
class Score:
    """Counts per kind, and the samples behind the failures."""

    labelled: Counter[str] = field(default_factory=Counter)
    caught: Counter[str] = field(default_factory=Counter)
    removed: Counter[str] = field(default_factory=Counter)
    false_alarms: Counter[str] = field(default_factory=Counter)
    samples: int = 0
    clean: int = 0
    clean_altered: int = 0
    misses: list[str] = field(default_factory=list)


def load(path: Path = CORPUS) -> list[dict[str, Any]]:
    """The corpus samples."""
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def score(redactor: Redactor, samples: list[dict[str, Any]]) -> Score:
    """Redact every sample's text and count."""
    result = Score(samples=len(samples))
    names = redactor.detector_names
    for sample in samples:
        text = sample["text"]
        out = redactor.redact(text)
        expected = Counter(label["detector"] for label in sample["labels"])
        if not sample["labels"]:
            result.clean += 1
            if out != text:
                result.clean_altered += 1
                result.misses.append(f"ALTERED #{sample['id']}: {out}")
        for name in names:
            if out.count(f"[REDACTED:{name.upper()}") > expected[name]:
                result.false_alarms[name] += 1
                result.misses.append(f"FALSE ALARM {name} #{sample['id']}: {out}")
        for label in sample["labels"]:
            name, value = label["detector"], label["value"]
            result.labelled[name] += 1
            gone = value not in out
            result.removed[name] += gone
            if gone and out.count(f"[REDACTED:{name.upper()}") >= expected[name]:
                result.caught[name] += 1
            else:
                result.misses.append(f"MISS {name} #{sample['id']}: {out}")
    return result


def table(result: Score, names: tuple[str, ...]) -> str:
    """The Markdown table of one score."""
    lines = [
        "| kind | labelled | recall | value removed | false alarms | false-alarm rate |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name in names:
        labelled = result.labelled[name]
        recall = f"{result.caught[name] / labelled:.3f}" if labelled else "-"
        removed = f"{result.removed[name] / labelled:.3f}" if labelled else "-"
        alarms = result.false_alarms[name]
        lines.append(
            f"| `{name}` | {labelled} | {recall} | {removed} | {alarms} "
            f"| {alarms / result.samples:.4f} |"
        )
    total = sum(result.labelled.values())
    lines.append(
        f"| all | {total} | {sum(result.caught.values()) / total:.3f} "
        f"| {sum(result.removed.values()) / total:.3f} | {sum(result.false_alarms.values())} "
        f"| {sum(result.false_alarms.values()) / result.samples:.4f} |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--misses", action="store_true", help="also print every failure")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    args = parser.parse_args()
    redactor = Redactor()
    samples = load(args.corpus)
    result = score(redactor, samples)
    names = tuple(name for name in redactor.detector_names if result.labelled[name])
    print(table(result, names))
    print()
    print(
        f"{result.samples} samples, {sum(result.labelled.values())} labelled values; "
        f"{result.clean} clean samples, {result.clean_altered} altered "
        f"({result.clean_altered / max(result.clean, 1):.2%})."
    )
    if args.misses:
        print()
        print("\n".join(result.misses))


if __name__ == "__main__":
    main()
