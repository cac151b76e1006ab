"""Score the default Redactor on the labelled corpus: recall and false positives per detector.

The corpus (tests/data/redaction_corpus.jsonl, written by make_redaction_corpus.py)
holds realistic prompts, payloads and log lines with every detector's positives and
hard negatives. A labelled value counts as caught when it is gone from the output
and the output has at least as many of its detector's tokens as the sample has
labels for it. A sample counts as a false positive of a detector when the output has
more of that detector's tokens than it has labels for it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from inferlog.redaction import Redactor

CORPUS = Path(__file__).parent / "data" / "redaction_corpus.jsonl"
MIN_RECALL = 0.99
MAX_FALSE_POSITIVE_RATE = 0.01


def _load() -> list[dict[str, Any]]:
    with CORPUS.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


SAMPLES = _load()
REDACTOR = Redactor()
DETECTORS = list(REDACTOR.detector_names)


def _score() -> tuple[dict[str, list[int]], Counter[str], list[str]]:
    """Return ``{detector: [caught, labelled]}``, false-positive samples, and misses."""
    recall: dict[str, list[int]] = {name: [0, 0] for name in DETECTORS}
    false_positive_samples: Counter[str] = Counter()
    misses: list[str] = []
    for sample in SAMPLES:
        out = REDACTOR.redact(sample["text"])
        expected = Counter(label["detector"] for label in sample["labels"])
        for name in DETECTORS:
            tokens = out.count(f"[REDACTED:{name.upper()}")
            if tokens > expected[name]:
                false_positive_samples[name] += 1
                misses.append(f"FP {name} #{sample['id']}: {out}")
        for label in sample["labels"]:
            name = label["detector"]
            recall[name][1] += 1
            tokens = out.count(f"[REDACTED:{name.upper()}")
            if label["value"] not in out and tokens >= expected[name]:
                recall[name][0] += 1
            else:
                misses.append(f"MISS {name} #{sample['id']}: {out}")
    return recall, false_positive_samples, misses


RECALL, FALSE_POSITIVES, REPORT = _score()


def test_corpus_is_big_and_covers_every_detector() -> None:
    assert len(SAMPLES) >= 300
    assert sum(1 for s in SAMPLES if not s["labels"]) >= 100
    uncovered = [name for name in DETECTORS if RECALL[name][1] < 10]
    assert [] == uncovered


@pytest.mark.parametrize("name", DETECTORS)
def test_recall_per_detector(name: str) -> None:
    caught, labelled = RECALL[name]
    misses = [line for line in REPORT if line.startswith(f"MISS {name} ")]
    assert caught / labelled >= MIN_RECALL, "\n".join(misses)


@pytest.mark.parametrize("name", DETECTORS)
def test_false_positive_rate_per_detector(name: str) -> None:
    rate = FALSE_POSITIVES[name] / len(SAMPLES)
    wrong = [line for line in REPORT if line.startswith(f"FP {name} ")]
    assert rate <= MAX_FALSE_POSITIVE_RATE, "\n".join(wrong)


def test_hard_negatives_are_left_exactly_as_they_were() -> None:
    changed = [
        s["text"] for s in SAMPLES if not s["labels"] and REDACTOR.redact(s["text"]) != s["text"]
    ]
    # At most the 1% budget; the rest must survive byte for byte.
    assert len(changed) <= len(SAMPLES) * MAX_FALSE_POSITIVE_RATE, changed


def test_the_accuracy_table_in_the_docs_is_what_the_report_prints() -> None:
    from tests.data.redaction_report import score, table

    result = score(REDACTOR, SAMPLES)
    names = tuple(name for name in REDACTOR.detector_names if result.labelled[name])
    docs = (Path(__file__).parent.parent / "docs" / "redaction.md").read_text(encoding="utf-8")
    assert table(result, names) in docs
    assert 0 == result.clean_altered
