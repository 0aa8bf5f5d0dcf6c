"""Precision and recall of a detector over the labelled corpus (see corpus.py).

python -m tests.unit.guardrails.scoring    # prints the table per detector and category
"""

from __future__ import annotations

import sys
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field

from glassgate.guardrails.base import Detector
from tests.unit.guardrails.corpus import HARD_NEGATIVES, INJECTION, PII, SECRETS, Sample

Span = tuple[str, int, int]


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    false_positives: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


def labelled_spans(sample: Sample, categories: Collection[str]) -> list[Span]:
    """Each (category, value) label as offsets; repeated values take successive occurrences."""
    spans: list[Span] = []
    cursor: dict[str, int] = {}
    for category, value in sample.expect:
        start = sample.text.find(value, cursor.get(value, 0))
        if start < 0:
            raise ValueError(f"label {value!r} is not in {sample.text!r}")
        cursor[value] = start + len(value)
        if category in categories:
            spans.append((category, start, start + len(value)))
    return spans


def evaluate(
    detector: Detector, samples: Iterable[Sample], categories: Collection[str], exact: bool = True
) -> dict[str, Tally]:
    """Tallies per category (and "ALL"); `exact` scores spans exactly, otherwise by overlap."""
    tallies: dict[str, Tally] = {category: Tally() for category in [*categories, "ALL"]}
    for sample in samples:
        unmatched = labelled_spans(sample, categories)
        for match in detector.scan(sample.text):
            if match.category not in categories:
                continue
            hit = next(
                (span for span in unmatched if _same(span, (match.category, match.start, match.end), exact)), None
            )
            for tally in (tallies[match.category], tallies["ALL"]):
                if hit is None:
                    tally.fp += 1
                    tally.false_positives.append(f"{sample.text[match.start : match.end]!r} in {sample.text[:60]!r}")
                else:
                    tally.tp += 1
            if hit is not None:
                unmatched.remove(hit)
        for category, start, end in unmatched:
            for tally in (tallies[category], tallies["ALL"]):
                tally.fn += 1
                tally.misses.append(f"{sample.text[start:end]!r} in {sample.text[:60]!r}")
    return tallies


def _same(label: Span, found: Span, exact: bool) -> bool:
    if label[0] != found[0]:
        return False
    return label[1:] == found[1:] if exact else label[1] < found[2] and found[1] < label[2]


CORPUS = PII + SECRETS + INJECTION + HARD_NEGATIVES


def main() -> None:
    from glassgate.guardrails.detectors import injection, pii, secrets

    runs: list[tuple[str, Detector, Collection[str], bool]] = [
        ("pii", pii.PiiDetector(), pii.DEFAULT_CATEGORIES, True),
        ("pii (STREET_ADDRESS on)", pii.PiiDetector({"categories": ["STREET_ADDRESS"]}), {"STREET_ADDRESS"}, True),
        ("secrets", secrets.SecretsDetector(), secrets.CATEGORIES, True),
        ("injection", injection.InjectionDetector(), injection.CATEGORIES, False),
    ]
    out = [
        "| detector | category | labels | TP | FP | FN | precision | recall |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, detector, categories, exact in runs:
        for category, tally in sorted(evaluate(detector, CORPUS, categories, exact).items()):
            labels = tally.tp + tally.fn
            out.append(
                f"| {name} | {category} | {labels} | {tally.tp} | {tally.fp} | {tally.fn} "
                f"| {tally.precision:.3f} | {tally.recall:.3f} |"
            )
            out.extend(f"|   | FP {text} |" for text in tally.false_positives if category != "ALL")
            out.extend(f"|   | FN {text} |" for text in tally.misses if category != "ALL")
    sys.stdout.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
