"""Precision and recall floors over the labelled corpus (corpus.py; scoring in scoring.py).

Floors: precision ≥ 0.95 for pii, secrets and injection; recall ≥ 0.9 for pii and secrets;
no finding at all in the hard negatives from the detectors meant to block (secrets, injection).
"""

from __future__ import annotations

import pytest

from glassgate.guardrails.base import Detector
from glassgate.guardrails.detectors import injection, pii, secrets
from tests.unit.guardrails.corpus import (
    BLIND_PII,
    HARD_NEGATIVES,
    INJECTION,
    INVISIBLE_TEXT,
    JAILBREAK,
    PII,
    PROMPT_INJECTION,
    SECRETS,
)
from tests.unit.guardrails.scoring import CORPUS, evaluate

PII_MAIN = ("EMAIL", "PHONE", "CREDIT_CARD", "US_SSN", "IBAN", "IP_ADDRESS")
RUNS: list[tuple[str, Detector, tuple[str, ...] | frozenset[str], bool, float, float]] = [
    ("pii", pii.PiiDetector(), pii.DEFAULT_CATEGORIES, True, 0.95, 0.9),
    ("secrets", secrets.SecretsDetector(), secrets.CATEGORIES, True, 0.95, 0.9),
    ("injection", injection.InjectionDetector(), injection.CATEGORIES, False, 0.95, 0.0),
]


@pytest.mark.parametrize(
    ("name", "detector", "categories", "exact", "precision", "recall"), RUNS, ids=[run[0] for run in RUNS]
)
def test_floors(
    name: str,
    detector: Detector,
    categories: tuple[str, ...] | frozenset[str],
    exact: bool,
    precision: float,
    recall: float,
) -> None:
    total = evaluate(detector, CORPUS, categories, exact)["ALL"]
    assert total.precision >= precision, (name, total.false_positives)
    assert total.recall >= recall, (name, total.misses)


def test_street_addresses_clear_the_precision_bar_to_be_offered() -> None:
    detector = pii.PiiDetector({"categories": ["STREET_ADDRESS"]})
    total = evaluate(detector, CORPUS, {"STREET_ADDRESS"})["ALL"]
    assert total.precision >= 0.9, total.false_positives


@pytest.mark.parametrize("detector", [secrets.SecretsDetector(), injection.InjectionDetector()], ids=["secrets", "inj"])
def test_blocking_detectors_find_nothing_in_hard_negatives(detector: Detector) -> None:
    hits = [(s.text, detector.scan(s.text)) for s in HARD_NEGATIVES if detector.scan(s.text)]
    assert hits == []


def test_corpus_size() -> None:
    labelled: dict[str, int] = {}
    for sample in PII + SECRETS + INJECTION:
        for category in {category for category, _ in sample.expect}:
            labelled[category] = labelled.get(category, 0) + 1
    assert all(labelled[category] >= 10 for category in PII_MAIN), labelled
    assert all(labelled[category] >= 10 for category in secrets.CATEGORIES), labelled
    assert min(len(PROMPT_INJECTION), len(JAILBREAK), len(INVISIBLE_TEXT)) >= 10
    assert len(HARD_NEGATIVES) >= 40
    assert len(BLIND_PII) >= 10
