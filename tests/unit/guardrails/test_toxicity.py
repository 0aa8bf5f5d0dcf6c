"""The toxicity detector: the package's own scores, quality on a hand-written corpus, exact offsets."""

from __future__ import annotations

import hashlib
import itertools
import statistics
import threading
import time
from pathlib import Path

import pytest

from glassgate.guardrails.detectors import toxicity
from glassgate.guardrails.detectors.toxicity import MAX_SEGMENT, ToxicityDetector, ToxicityModel, load_model, segments
from tests.unit.guardrails.toxicity_corpus import (
    BENIGN,
    FIXTURE_TEXTS,
    INSULT,
    LONG_TOXIC,
    ODD_INPUTS,
    PACKAGE_SCORES,
    TICKET,
    TOXIC,
)


def flagged(detector: ToxicityDetector, texts: list[str]) -> list[bool]:
    return [bool(detector.scan(text)) for text in texts]


def test_scores_are_the_packages_own() -> None:
    assert len(PACKAGE_SCORES) == len(FIXTURE_TEXTS), "rerun scripts/export_profanity_model.py"
    model = load_model()
    worst = 0.0
    for text, (digest, expected) in zip(FIXTURE_TEXTS, PACKAGE_SCORES, strict=True):
        assert hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16] == digest, (
            f"{text[:40]!r} changed since the fixture was made: rerun scripts/export_profanity_model.py"
        )
        worst = max(worst, abs(model.score(text) - expected))
    assert worst <= 1e-6


def test_scan_scores_each_sentence_as_the_model_does() -> None:
    detector = ToxicityDetector({"threshold": 0.0})  # every sentence is a match
    model = load_model()
    for text in [*FIXTURE_TEXTS, *ODD_INPUTS]:
        matches = detector.scan(text)
        assert [(m.start, m.end) for m in matches] == segments(text)
        for match in matches:
            assert match.score == pytest.approx(model.score(text[match.start : match.end]), abs=1e-12)


def test_precision_and_recall_at_the_default_threshold() -> None:
    detector = ToxicityDetector({})
    true_positives = sum(flagged(detector, TOXIC))
    false_positives = sum(flagged(detector, BENIGN))
    precision = true_positives / (true_positives + false_positives)
    recall = true_positives / len(TOXIC)
    assert len(TOXIC) >= 20 and len(BENIGN) >= 20
    assert precision >= 0.9, f"precision {precision:.2f}"
    assert recall >= 0.7, f"recall {recall:.2f}"


@pytest.mark.parametrize(
    "text",
    [
        "How do I kill the process that is holding port 8080?",
        "Shoot me an email when the deploy is done.",
        "Let's assume the input is already sorted.",
        "Scunthorpe United won their match on Saturday.",
        "Order a cocktail at the hotel bar after the conference.",
        "The class inherits from the base class and overrides one method.",
        "Hello! Can you help me write a cover letter?",
    ],
)
def test_hard_negatives_pass(text: str) -> None:
    assert ToxicityDetector({}).scan(text) == []


def test_one_insult_in_a_long_polite_text_is_found_and_located() -> None:
    assert ToxicityDetector({}).scan(TICKET) == []
    assert load_model().score(LONG_TOXIC) < 0.5  # scored whole, the insult would drown
    [match] = ToxicityDetector({}).scan(LONG_TOXIC)
    assert LONG_TOXIC[match.start : match.end] == INSULT
    assert match.category == "TOXICITY"
    assert match.score >= 0.5


def test_threshold_option() -> None:
    text = "Kill yourself, nobody would miss you."  # scores about 0.68
    assert ToxicityDetector({"threshold": 0.5}).scan(text)
    assert ToxicityDetector({"threshold": 0.9}).scan(text) == []
    assert ToxicityDetector({"threshold": 1}).scan("") == []


@pytest.mark.parametrize("options", [{"threshold": 1.5}, {"threshold": "high"}, {"threshold": True}, {"limit": 1}])
def test_bad_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="toxicity"):
        ToxicityDetector(options)


@pytest.mark.parametrize("text", ODD_INPUTS)
def test_odd_inputs_never_raise(text: str) -> None:
    for match in ToxicityDetector({"threshold": 0.0}).scan(text):
        assert 0 <= match.start < match.end <= len(text)
        assert 0.0 <= match.score <= 1.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", []),
        ("   ", []),
        ("One. Two!  Three?\nFour", ["One.", "Two!", "Three?", "Four"]),
        ("It runs at 3.5 GHz, e.g.fast. Next", ["It runs at 3.5 GHz, e.g.fast.", "Next"]),
        ("Wait... what?! Yes", ["Wait...", "what?!", "Yes"]),
        ("  padded line   \n\n  second  ", ["padded line", "second"]),
        ("日本語です。次の文！", ["日本語です。", "次の文！"]),
        ("...!!!", ["...!!!"]),
    ],
)
def test_segments_are_sentences_trimmed(text: str, expected: list[str]) -> None:
    assert [text[start:end] for start, end in segments(text)] == expected


@pytest.mark.parametrize("text", ["word " * 5000, "x" * 100_000, "ab " * 40 + "y" * 700 + " end"])
def test_long_sentences_are_cut_into_windows_at_spaces(text: str) -> None:
    spans = segments(text)
    assert all(0 < end - start <= MAX_SEGMENT for start, end in spans)
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in itertools.pairwise(spans))
    kept = "".join("".join(text[start:end].split()) for start, end in spans)
    assert kept == "".join(text.split())  # every non-space character in exactly one window
    if " " in text.strip():
        assert all(not text[start:end].startswith(" ") and not text[start:end].endswith(" ") for start, end in spans)


def test_the_model_loads_once_across_threads(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = ToxicityModel.from_file

    def counting(path: Path) -> ToxicityModel:
        calls.append(path)
        time.sleep(0.05)  # widen the race
        return real(path)

    monkeypatch.setattr(toxicity, "_loaded", None)
    monkeypatch.setattr(ToxicityModel, "from_file", staticmethod(counting))
    results: list[ToxicityModel] = []
    threads = [threading.Thread(target=lambda: results.append(load_model())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    assert len(results) == 8 and all(result is results[0] for result in results)


def test_the_model_file_is_checked() -> None:
    with pytest.raises(ValueError, match="not a"):
        ToxicityModel.from_json({"format": "something else"})
    with pytest.raises(ValueError, match="differ in length"):
        ToxicityModel.from_json(
            {
                "format": toxicity.FORMAT,
                "terms": ["aa", "bb"],
                "idf": [1.0],
                "classifiers": [{"coef": [1.0, 2.0], "intercept": 0.0, "a": -1.0, "b": 0.0}],
            }
        )


def test_scanning_1_5_kb_is_cheap() -> None:
    """Budget 0.15 ms CPU per 1.5 KB (measured ~0.11 ms); the bound here is loose for slow CI."""
    detector = ToxicityDetector({})
    text = (TICKET * 2)[:1500]
    detector.scan(text)
    timings = []
    for _ in range(200):
        began = time.process_time()
        detector.scan(text)
        timings.append(time.process_time() - began)
    assert statistics.median(timings) < 0.0015
