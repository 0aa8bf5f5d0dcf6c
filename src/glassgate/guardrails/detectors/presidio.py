"""Presidio's pattern recognizers on a blank spaCy pipeline (optional: `pip install presidio-analyzer`).

Not a dependency: presidio-analyzer and spaCy add ~385 MB, and the spaCy English models
Presidio expects are not on PyPI (guardrails-offline.md, Q1). So the pipeline is
`spacy.blank("en")` (a tokenizer, no NER, nothing downloaded), the SpacyRecognizer that would
read its entities is removed, and so are the phone (phonenumbers, ~4.4 ms) and URL (~1 ms)
recognizers, which cost most of the time; what is left (e-mail, card, IBAN, IP, US SSN,
licence, passport, ITIN, bank number, crypto wallet, NHS, MAC, UUID and other locale
patterns) runs in ~1.5 ms per 1.5 KB. tldextract, which the e-mail recognizer calls, is
pointed at its bundled suffix list so it never fetches one.

Categories are Presidio's entity names (EMAIL_ADDRESS, CREDIT_CARD, US_SSN, IBAN_CODE, …),
scores its own (0–1). Without the package the detector is a start-up error saying what to
install, never a silent no-op.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

from glassgate.guardrails.base import Detector, Match
from glassgate.guardrails.detectors.options import check_keys

NAME = "presidio"
DROPPED_RECOGNIZERS = ("SpacyRecognizer", "PhoneRecognizer", "UrlRecognizer")
INSTALL_HINT = (
    f"detector {NAME!r} needs `pip install presidio-analyzer` (it brings spaCy; no spaCy model is needed: "
    "Glassgate runs it on a blank pipeline)"
)


def available() -> bool:
    """Whether presidio-analyzer and spaCy can be imported (looked up, not imported)."""
    return all(importlib.util.find_spec(name) is not None for name in ("presidio_analyzer", "spacy"))


def create_presidio(options: Mapping[str, Any]) -> Detector:
    """The registered factory: the detector when the package is installed, else a start-up error saying
    what to install (looked up when a policy names it, so importing the detectors touches nothing)."""
    if not available():
        raise ValueError(INSTALL_HINT)
    return PresidioDetector(options)


class PresidioDetector:
    name = NAME

    def __init__(self, options: Mapping[str, Any]) -> None:
        check_keys(NAME, options, ())
        self._analyzer = _blank_analyzer()

    def scan(self, text: str) -> list[Match]:
        results = self._analyzer.analyze(text=text, language="en")
        return sorted(
            (Match(result.entity_type, result.start, result.end, float(result.score)) for result in results),
            key=lambda match: (match.start, match.end),
        )


def _blank_analyzer() -> Any:
    # Imported by name: neither package is a dependency, so there are no stubs to check against.
    try:
        spacy: Any = importlib.import_module("spacy")
        analyzer: Any = importlib.import_module("presidio_analyzer")
        nlp_engine: Any = importlib.import_module("presidio_analyzer.nlp_engine")
    except ImportError:
        raise ValueError(INSTALL_HINT) from None
    _offline_tldextract()

    def load_blank(engine: Any) -> None:  # a tokenizer only: no model to load, nothing to download
        engine.nlp = {"en": spacy.blank("en")}

    blank_engine = type("BlankSpacyEngine", (nlp_engine.SpacyNlpEngine,), {"load": load_blank})
    engine = blank_engine(models=[{"lang_code": "en", "model_name": "blank"}])
    engine.load()
    registry = analyzer.RecognizerRegistry(supported_languages=["en"])
    registry.load_predefined_recognizers(languages=["en"], nlp_engine=engine)
    for recognizer in DROPPED_RECOGNIZERS:
        registry.remove_recognizer(recognizer)
    return analyzer.AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=["en"])


def _offline_tldextract() -> None:
    """The bundled Public Suffix List only: the default fetches one on first use (and may hang)."""
    try:
        tldextract: Any = importlib.import_module("tldextract")
    except ImportError:
        return
    tldextract.extract = tldextract.TLDExtract(suffix_list_urls=())
