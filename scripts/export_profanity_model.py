"""Export the alt-profanity-check model (MIT) to the JSON Glassgate's toxicity detector scores.

Run it with the Python of a throwaway venv that has the package, never Glassgate's own (the
package pins scikit-learn and joblib exactly, which is why Glassgate scores the weights itself):

    python3 -m venv /tmp/apc && /tmp/apc/bin/pip install alt-profanity-check
    /tmp/apc/bin/python scripts/export_profanity_model.py

It checks the vectorizer and the calibrated classifiers are what the scorer assumes, writes
src/glassgate/guardrails/data/profanity_model.json.gz, then scores thousands of texts with both
the package and src/glassgate/guardrails/detectors/toxicity.py, fails if any two differ by more
than 1e-6, and rewrites the PACKAGE_SCORES block of tests/unit/guardrails/toxicity_corpus.py
with the package's scores, which a unit test holds the scorer to.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import importlib.util
import json
import random
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

# scikit-learn, numpy and the package live only in the throwaway venv this script runs in,
# not in Glassgate's .venv, so mypy there cannot see them.
import numpy as np  # type: ignore[import-not-found]
from profanity_check import profanity_check  # type: ignore[import-not-found]
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS  # type: ignore[import-not-found]

ROOT = Path(__file__).resolve().parent.parent
OUTPUT = ROOT / "src/glassgate/guardrails/data/profanity_model.json.gz"
SCORER = ROOT / "src/glassgate/guardrails/detectors/toxicity.py"
CORPUS = ROOT / "tests/unit/guardrails/toxicity_corpus.py"
BEGIN = "# BEGIN PACKAGE SCORES"
END = "# END PACKAGE SCORES"
TOLERANCE = 1e-6

EXPECTED_VECTORIZER = {
    "analyzer": "word",
    "binary": False,
    "lowercase": True,
    "ngram_range": (1, 1),
    "norm": "l2",
    "preprocessor": None,
    "smooth_idf": True,
    "stop_words": "english",
    "strip_accents": None,
    "sublinear_tf": False,
    "token_pattern": r"(?u)\b\w\w+\b",
    "tokenizer": None,
    "use_idf": True,
}


def out(line: str) -> None:
    sys.stdout.write(line + "\n")


def check_assumptions(vectorizer: Any, model: Any) -> None:
    """Fail loudly if a new release changed anything the pure-Python scorer relies on."""
    params = vectorizer.get_params()
    wrong = {key: params[key] for key, value in EXPECTED_VECTORIZER.items() if params[key] != value}
    if wrong:
        raise SystemExit(f"vectorizer settings changed: {wrong}")
    if set(vectorizer.vocabulary_) & ENGLISH_STOP_WORDS:
        raise SystemExit("stop words in the vocabulary: the scorer would have to drop them itself")
    if model.method != "sigmoid" or list(model.classes_) != [0, 1]:
        raise SystemExit(f"expected a binary sigmoid calibration, got {model.method} over {model.classes_}")
    for calibrated in model.calibrated_classifiers_:
        coef = calibrated.estimator.coef_
        if coef.shape != (1, len(vectorizer.vocabulary_)) or len(calibrated.calibrators) != 1:
            raise SystemExit("expected one linear model and one calibrator per calibrated classifier")


def rounded(values: Any, digits: int) -> list[float]:
    return [float(f"{value:.{digits}g}") for value in np.asarray(values, dtype=float).ravel()]


def export(vectorizer: Any, model: Any, digits: int) -> dict[str, Any]:
    terms = sorted(vectorizer.vocabulary_, key=vectorizer.vocabulary_.__getitem__)
    classifiers = []
    for calibrated in model.calibrated_classifiers_:
        calibrator = calibrated.calibrators[0]
        classifiers.append(
            {
                "coef": rounded(calibrated.estimator.coef_, digits),
                "intercept": float(calibrated.estimator.intercept_[0]),
                "a": float(calibrator.a_),
                "b": float(calibrator.b_),
            }
        )
    return {
        "format": "glassgate-profanity-model/1",
        "source": f"alt-profanity-check {package_version()} (MIT; see LICENSE-alt-profanity-check)",
        "score": "mean over classifiers of 1/(1+exp(a*(coef.x+intercept)+b)); x = L2-normalised tf-idf",
        "token_pattern": EXPECTED_VECTORIZER["token_pattern"],
        "lowercase": True,
        "digits": digits,
        "terms": terms,  # in the vectorizer's index order: position i is column i
        "idf": rounded(vectorizer.idf_, digits),
        "classifiers": classifiers,
    }


def package_version() -> str:
    from importlib.metadata import version

    return version("alt-profanity-check")


def load_source(name: str, path: Path) -> ModuleType:
    """A module from the repository by path (toxicity.py needs only glassgate.guardrails.base)."""
    sys.path.insert(0, str(ROOT / "src"))
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def test_texts(corpus: ModuleType, scorer: ModuleType, terms: list[str], count: int) -> list[str]:
    """The corpus, each of its sentences, and random texts over the whole vocabulary."""
    texts = list(corpus.FIXTURE_TEXTS)
    for text in list(texts):
        texts.extend(text[start:end] for start, end in scorer.segments(text))
    rng = random.Random(2026)
    fillers = [*sorted(ENGLISH_STOP_WORDS), "zzqx", "ñandú", "x", "42", "gpu-9000"]
    for _ in range(count):
        size = rng.choice([1, 2, 3, 5, 8, 13, 30, 60, 120, 250])
        words = [rng.choice(terms) if rng.random() < 0.7 else rng.choice(fillers) for _ in range(size)]
        if rng.random() < 0.3:  # repeated words: term frequencies above one
            words += rng.choices(words, k=size)
        texts.append(" ".join(word.upper() if rng.random() < 0.1 else word for word in words))
    return texts


def fixture_block(corpus: ModuleType) -> str:
    lines = [
        f"{BEGIN} (generated by scripts/export_profanity_model.py with alt-profanity-check {package_version()};",
        "# do not edit): the sha256 prefix of each FIXTURE_TEXTS entry and the package's predict_prob for it.",
        "PACKAGE_SCORES: list[tuple[str, float]] = [",
    ]
    scores = profanity_check.predict_prob(corpus.FIXTURE_TEXTS)
    for text, score in zip(corpus.FIXTURE_TEXTS, scores, strict=True):
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]
        lines.append(f'    ("{digest}", {float(score)!r}),')
    lines += ["]", END]
    return "\n".join(lines)


def write_fixture(corpus: ModuleType) -> None:
    source = CORPUS.read_text(encoding="utf-8")
    head, rest = source.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    CORPUS.write_text(head + fixture_block(corpus) + tail, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--digits", type=int, default=10, help="significant digits kept per weight")
    parser.add_argument("--texts", type=int, default=5000, help="random texts to compare on")
    parser.add_argument("--no-fixture", action="store_true", help="leave toxicity_corpus.py alone")
    args = parser.parse_args()

    vectorizer, model = profanity_check.vectorizer, profanity_check.model
    check_assumptions(vectorizer, model)
    data = export(vectorizer, model, args.digits)
    raw = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    OUTPUT.write_bytes(gzip.compress(raw, compresslevel=9, mtime=0))
    out(f"alt-profanity-check {package_version()}: {len(data['terms'])} terms, {len(data['classifiers'])} classifiers")
    out(f"wrote {OUTPUT.relative_to(ROOT)}: {OUTPUT.stat().st_size:,} bytes gzipped ({len(raw):,} raw)")

    scorer = load_source("glassgate_toxicity_export_check", SCORER)
    corpus = load_source("glassgate_toxicity_corpus", CORPUS)
    began = time.perf_counter()
    ours = scorer.ToxicityModel.from_file(OUTPUT)
    out(f"load: {(time.perf_counter() - began) * 1000:.0f} ms")

    texts = test_texts(corpus, scorer, data["terms"], args.texts)
    theirs = profanity_check.predict_prob(texts)
    diffs = [abs(ours.score(text) - float(score)) for text, score in zip(texts, theirs, strict=True)]
    worst = max(range(len(diffs)), key=diffs.__getitem__)
    out(f"compared {len(texts)} texts: max |ours - package| = {diffs[worst]:.3g} (on text {worst})")
    if diffs[worst] > TOLERANCE:
        raise SystemExit(f"scores differ by more than {TOLERANCE}: {texts[worst][:200]!r}")

    if not args.no_fixture:
        write_fixture(corpus)
        out(f"rewrote the PACKAGE_SCORES block of {CORPUS.relative_to(ROOT)} ({len(corpus.FIXTURE_TEXTS)} texts)")


if __name__ == "__main__":
    main()
