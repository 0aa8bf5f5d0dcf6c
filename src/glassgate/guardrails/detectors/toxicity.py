"""Toxicity: the alt-profanity-check model (MIT), scored sentence by sentence in pure Python.

The model is a TF-IDF over single words (lower-cased, English stop words dropped) fed to five
sigmoid-calibrated linear SVMs whose probabilities are averaged. scripts/export_profanity_model.py
exports its weights to data/profanity_model.json.gz; scoring them here gives the package's own
numbers (a unit test holds the two together) without scikit-learn, whose exact pin in that package
would otherwise become ours.

Scoring a whole prompt would let a page of polite text dilute one abusive sentence into a low
score, so the text is cut into sentences (long ones into windows of about 300 characters) and
each is scored alone; a match covers the sentence that scored. Like any bag of words it misses
hate with no rude word in it and fires on a lone word such as "kill": flag with it, and block
only above a threshold a tenant has checked on its own traffic.
"""

from __future__ import annotations

import gzip
import json
import logging
import math
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from glassgate.guardrails.base import Match

logger = logging.getLogger(__name__)

CATEGORY = "TOXICITY"
FORMAT = "glassgate-profanity-model/1"
MAX_SEGMENT = 300  # characters; long sentences are scored in windows of about this size

# The vectorizer's own token pattern; it runs on lower-cased text.
_TOKEN = re.compile(r"(?u)\b\w\w+\b")
# For ASCII text the same tokens come ~5x faster from str.translate + split: every character
# outside [a-z0-9_] becomes a space. This also yields one-letter words, which no term matches.
_WORD_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
_ASCII_BREAKS = str.maketrans({chr(i): " " for i in range(128) if chr(i) not in _WORD_CHARS})
# A sentence: from a non-space up to . ! ? followed by space or the end (so "3.5" and "e.g.x" do
# not end one), a CJK full stop, or a line break. Possessive, so no input makes it backtrack.
_SENTENCE = re.compile(r"\S(?:[^.!?。！？\n]++|[.!?]++(?!\s|$))*+[.!?。！？]*+")


@dataclass(frozen=True, slots=True)
class Calibrated:
    """One calibrated classifier: p = 1 / (1 + exp(a·d + b)) with d = w·x + intercept."""

    intercept: float
    a: float
    b: float


class ToxicityModel:
    """The exported model: each known word's idf and its weight in each calibrated classifier."""

    def __init__(self, weights: Mapping[str, tuple[float, ...]], calibrated: list[Calibrated]) -> None:
        if not calibrated or any(len(row) != len(calibrated) + 1 for row in weights.values()):
            raise ValueError("each word needs an idf and one weight per calibrated classifier")
        if any(len(term) < 2 or term != term.lower() for term in weights):
            raise ValueError("terms must be lower-case and at least two characters long")
        # word -> (idf², idf·w_0, …, idf·w_k): a word's share of each dot product and of the norm
        self._rows = {term: (idf * idf, *(idf * w for w in ws)) for term, (idf, *ws) in weights.items()}
        self._idf2 = {term: row[0] for term, row in self._rows.items()}
        # a·(d + intercept) + b = a·d + (a·intercept + b)
        self._linear = tuple((c.a, c.a * c.intercept + c.b) for c in calibrated)
        self.empty_score = self._probability([0.0] * len(calibrated))  # no known word: the intercepts alone

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ToxicityModel:
        if data.get("format") != FORMAT:
            raise ValueError(f"not a {FORMAT} file")
        classifiers = data["classifiers"]
        columns = [data["idf"], *(c["coef"] for c in classifiers)]
        terms: list[str] = data["terms"]
        if any(len(column) != len(terms) for column in columns):
            raise ValueError("terms, idf and coefficients differ in length")
        weights = {term: tuple(map(float, row)) for term, *row in zip(terms, *columns, strict=True)}
        calibrated = [Calibrated(float(c["intercept"]), float(c["a"]), float(c["b"])) for c in classifiers]
        return cls(weights, calibrated)

    @classmethod
    def from_file(cls, path: Path) -> ToxicityModel:
        with gzip.open(path, "rt", encoding="utf-8") as file:
            return cls.from_json(json.load(file))

    @property
    def vocabulary_size(self) -> int:
        return len(self._rows)

    def score(self, text: str) -> float:
        """The probability the package's `predict_prob` gives `text` (0–1)."""
        return self.score_words(words(text))

    def score_words(self, tokens: list[str]) -> float:
        """The score of a text from its words (see `words`)."""
        rows = self._rows
        known = [token for token in tokens if token in rows]
        if not known:
            return self.empty_score
        columns = zip(*map(rows.__getitem__, known), strict=True)
        idf2 = next(columns)
        if len(set(known)) == len(known):
            norm2 = sum(idf2)
        else:  # a word seen n times adds (n·idf)², not n·idf²
            counts: dict[str, int] = {}
            for token in known:
                counts[token] = counts.get(token, 0) + 1
            idf2_of = self._idf2
            norm2 = sum(n * n * idf2_of[token] for token, n in counts.items())
        scale = 1.0 / math.sqrt(norm2)  # the vectorizer's L2 normalisation, applied to the dot products
        return self._probability([sum(column) * scale for column in columns])

    def _probability(self, dots: list[float]) -> float:
        total = 0.0
        for dot, (a, b) in zip(dots, self._linear, strict=True):
            exponent = a * dot + b
            # exp overflows past ~709; the probability there is 0 to double precision anyway
            total += 0.0 if exponent > 700.0 else 1.0 / (1.0 + math.exp(exponent))
        return total / len(self._linear)


def words(text: str) -> list[str]:
    """The vectorizer's tokens of `text`, lower-cased (plus one-letter words, which never count)."""
    lowered = text.lower()
    return lowered.translate(_ASCII_BREAKS).split() if lowered.isascii() else _TOKEN.findall(lowered)


def segments(text: str) -> list[tuple[int, int]]:
    """[start, end) of each sentence of `text`, trimmed of space; long ones cut at spaces."""
    spans: list[tuple[int, int]] = []
    for sentence in _SENTENCE.finditer(text):
        start, end = sentence.span()
        if text[end - 1].isspace():
            end = start + len(text[start:end].rstrip())
        if end - start <= MAX_SEGMENT:
            spans.append((start, end))
        else:
            _add_windows(text, start, end, spans)
    return spans


def _add_windows(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    while end - start > MAX_SEGMENT:
        # cut at the last space in the second half of the window; a run with no space is cut hard
        cut = text.rfind(" ", start + MAX_SEGMENT // 2, start + MAX_SEGMENT + 1)
        cut = cut if cut > start else start + MAX_SEGMENT
        stop = cut
        while text[stop - 1].isspace():
            stop -= 1
        spans.append((start, stop))
        start = cut
        while text[start].isspace():
            start += 1
    spans.append((start, end))


_lock = threading.Lock()
_loaded: ToxicityModel | None = None


def load_model() -> ToxicityModel:
    """The packaged model, read on first use only (once per process, whichever thread asks first)."""
    global _loaded
    if _loaded is None:
        with _lock:
            if _loaded is None:
                began = time.perf_counter()
                data = resources.files("glassgate.guardrails").joinpath("data", "profanity_model.json.gz")
                with resources.as_file(data) as path:
                    model = ToxicityModel.from_file(path)
                logger.info(
                    "toxicity model loaded: %d words in %.0f ms",
                    model.vocabulary_size,
                    (time.perf_counter() - began) * 1000,
                )
                _loaded = model
                return model
    return _loaded


class ToxicityDetector:
    """Sentences whose toxicity score reaches `threshold` (default 0.5)."""

    name = "toxicity"

    def __init__(self, options: Mapping[str, Any]) -> None:
        unknown = set(options) - {"threshold"}
        if unknown:
            raise ValueError(f"toxicity: unknown option(s) {', '.join(sorted(unknown))}")
        threshold = options.get("threshold", 0.5)
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not 0.0 <= threshold <= 1.0:
            raise ValueError(f"toxicity: threshold must be a number from 0 to 1, not {threshold!r}")
        self.threshold = float(threshold)

    def load(self) -> None:
        """Read the model now rather than on the first scan (for warm-up at start)."""
        load_model()

    def scan(self, text: str) -> list[Match]:
        model = load_model()
        lowered = text.lower()
        # ASCII text is lowered and broken into words once, then sliced per sentence; other text is
        # lowered per sentence, since lower() may change its length (İ becomes i + a combining dot).
        flat = lowered.translate(_ASCII_BREAKS) if lowered.isascii() and len(lowered) == len(text) else None
        found = []
        for start, end in segments(text):
            tokens = flat[start:end].split() if flat is not None else words(text[start:end])
            score = model.score_words(tokens)
            if score >= self.threshold:
                found.append(Match(CATEGORY, start, end, score))
        return found
