"""levenshtein, rouge_l and embedding_similarity: the bit-parallel algorithms against plain tables."""

from __future__ import annotations

import random
from typing import Any

import pytest

from glassgate.embeddings.base import EmbeddingRejected
from glassgate.errors import UpstreamError
from glassgate.evals import base
from glassgate.evals.base import EvalInput, EvalResult
from glassgate.evals.code.embedding import cosine
from glassgate.evals.code.levenshtein import distance
from glassgate.evals.code.reference import NO_EXPECTED
from glassgate.evals.code.rouge_l import f_measure, lcs_length, tokens
from tests.unit.evals.fakes import FixedEmbedder


def plain_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def plain_lcs(a: list[str], b: list[str]) -> int:
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0]
        for j, y in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if x == y else max(previous[j], current[j - 1]))
        previous = current
    return previous[-1]


async def run(name: str, params: dict[str, Any], **item: Any) -> EvalResult:
    return await base.create(name, params).evaluate(EvalInput(**item), None)


# --- levenshtein ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("a", "b", "edits"),
    [
        ("", "", 0),
        ("", "abc", 3),
        ("abc", "", 3),
        ("kitten", "sitting", 3),
        ("flaw", "lawn", 2),
        ("abc", "abc", 0),
        ("abc", "cba", 2),
        ("ab" * 50, "ba" * 50, 2),
        ("naïve café", "naive cafe", 2),
        ("🙂🙃", "🙃🙂", 2),
        ("a" * 100, "a" * 99 + "b", 1),  # past one 64-bit word
    ],
)
def test_distance(a: str, b: str, edits: int) -> None:
    assert distance(a, b) == edits == plain_distance(a, b)


def test_distance_agrees_with_the_plain_table_on_random_strings() -> None:
    rng = random.Random(7)
    for _ in range(150):
        alphabet = rng.choice(["ab", "abc", "abcdefgh", "aé🙂 "])
        a = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 140)))
        b = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 140)))
        assert distance(a, b) == plain_distance(a, b), (a, b)


def test_distance_of_long_texts_is_fast_enough() -> None:
    a = "the quick brown fox jumps over the lazy dog " * 230  # ~10,000 characters
    b = a.replace("fox", "cat")
    assert distance(a, b) == 3 * 230


@pytest.mark.parametrize(
    ("params", "output", "expected", "score", "label"),
    [
        ({}, "kitten", "sitting", 1 - 3 / 7, None),
        ({}, "", "", 1.0, None),
        ({}, "abc", "", 0.0, None),
        ({}, "Paris", "paris", 0.8, None),
        ({"ignore_case": True}, "Paris", "paris", 1.0, None),
        ({"threshold": 0.5}, "kitten", "sitting", 1 - 3 / 7, "pass"),
        ({"threshold": 0.9}, "kitten", "sitting", 1 - 3 / 7, "fail"),
        ({"expected": "sitting"}, "kitten", "ignored", 1 - 3 / 7, None),
    ],
)
async def test_levenshtein(params: dict[str, Any], output: str, expected: str, score: float, label: str | None) -> None:
    result = await run("levenshtein", params, output=output, expected=expected)
    assert result.score == pytest.approx(score)
    assert result.label == label


async def test_levenshtein_cuts_long_texts_and_says_so() -> None:
    result = await run("levenshtein", {"max_chars": 10}, output="a" * 30, expected="a" * 10 + "b" * 20)
    assert result.score == 1.0
    assert "compared the first 10 of 30 characters" in result.explanation
    assert (await run("levenshtein", {}, output="x")).error == NO_EXPECTED


# --- rouge_l -------------------------------------------------------------------------------------


def test_tokens_are_lower_case_words_in_any_script() -> None:
    assert tokens("The cat's hat, 3 times — Übergröße_x!") == ["the", "cat", "s", "hat", "3", "times", "übergröße", "x"]


def test_lcs_agrees_with_the_plain_table_on_random_token_lists() -> None:
    rng = random.Random(11)
    for _ in range(150):
        vocabulary = [f"w{n}" for n in range(rng.randint(1, 12))]
        a = [rng.choice(vocabulary) for _ in range(rng.randint(0, 150))]
        b = [rng.choice(vocabulary) for _ in range(rng.randint(0, 150))]
        assert lcs_length(a, b) == plain_lcs(a, b), (a, b)


def test_f_measure() -> None:
    assert f_measure(0, 0, 0, 1.0) == (1.0, 1.0, 1.0)
    assert f_measure(0, 3, 0, 1.0) == (0.0, 0.0, 0.0)
    score, precision, recall = f_measure(2, 4, 2, 1.0)
    assert (precision, recall) == (0.5, 1.0)
    assert score == pytest.approx(2 / 3)
    assert f_measure(2, 4, 2, 0.0)[0] == pytest.approx(0.5)  # beta 0: precision alone


@pytest.mark.parametrize(
    ("params", "output", "expected", "score"),
    [
        ({}, "the cat sat on the mat", "the cat sat on the mat", 1.0),
        ({}, "The cat sat on the mat.", "the cat was on the mat", 2 * (5 / 6) * (5 / 6) / (5 / 6 + 5 / 6)),
        ({}, "police killed the gunman", "the gunman killed police", 0.5),  # LCS: "killed police"/"the gunman"
        ({}, "", "", 1.0),
        ({}, "...", "", 1.0),  # no words on either side
        ({}, "words", "", 0.0),
        ({}, "alpha beta", "gamma delta", 0.0),
        ({"beta": 2.0}, "a b", "a b c d", (1 + 4) * 1.0 * 0.5 / (0.5 + 4 * 1.0)),
    ],
)
async def test_rouge_l(params: dict[str, Any], output: str, expected: str, score: float) -> None:
    result = await run("rouge_l", params, output=output, expected=expected)
    assert result.score == pytest.approx(score)


async def test_rouge_l_explains_and_thresholds() -> None:
    result = await run("rouge_l", {"threshold": 0.6}, output="a b c", expected="a x c")
    assert result.label == "pass"
    assert "longest common subsequence 2 word(s); precision 0.667 (2/3), recall 0.667 (2/3)" in result.explanation
    long = await run("rouge_l", {"max_tokens": 3}, output="a b c d e", expected="a b c")
    assert long.score == 1.0
    assert "compared the first 3 words of each" in long.explanation


# --- embedding_similarity ------------------------------------------------------------------------


def test_cosine() -> None:
    assert cosine([1.0, 0.0], [1.0, 0.0]) == 1.0
    assert cosine([1.0, 0.0], [0.0, 2.0]) == 0.0
    assert cosine([1.0, 0.0], [-3.0, 0.0]) == -1.0
    assert cosine([0.0, 0.0], [1.0, 0.0]) == 0.0
    assert cosine([1.0], [1.0, 0.0]) == 0.0
    assert cosine([3.0, 4.0], [4.0, 3.0]) == pytest.approx(24 / 25)


async def test_embedding_similarity_with_an_injected_embedder() -> None:
    embedder = FixedEmbedder({"yes": [1.0, 0.0, 0.0], "sure": [0.8, 0.6, 0.0], "no": [-1.0, 0.0, 0.0]})
    close = await run("embedding_similarity", {"embedder": embedder, "threshold": 0.7}, output="yes", expected="sure")
    assert close.score == pytest.approx(0.8)
    assert close.label == "pass"
    assert "cosine of fixed embeddings" in close.explanation
    far = await run("embedding_similarity", {"embedder": embedder}, output="yes", expected="no")
    assert far.score == pytest.approx(-1.0)
    assert far.label is None


async def test_embedding_similarity_with_the_offline_hashed_embedder() -> None:
    evaluator = base.create("embedding_similarity", {})
    same = await evaluator.evaluate(EvalInput(output="cancel my order", expected="cancel my order"), None)
    near = await evaluator.evaluate(EvalInput(output="cancel my order", expected="how do I cancel an order"), None)
    far = await evaluator.evaluate(EvalInput(output="cancel my order", expected="the weather in Paris"), None)
    assert same.score == pytest.approx(1.0)
    assert far.score is not None and near.score is not None
    assert 1.0 > near.score > far.score
    assert "hashed-v1" in same.explanation


class _Refusing:
    name = "refusing"

    async def embed(self, texts: list[str]) -> list[list[float]]:
        raise EmbeddingRejected("413: too long")


class _Unreachable:
    async def embed(self, texts: list[str]) -> list[list[float]]:
        raise UpstreamError("connection refused")


class _Short:
    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [[1.0]]


async def test_embedding_failures() -> None:
    refused = await run("embedding_similarity", {"embedder": _Refusing()}, output="a", expected="b")
    assert refused.error == "the embedder refused these texts: 413: too long"
    short = await run("embedding_similarity", {"embedder": _Short()}, output="a", expected="b")
    assert short.error == "the embedder returned 1 vector(s) for 2 texts"
    with pytest.raises(UpstreamError):  # transport: the runner retries
        await run("embedding_similarity", {"embedder": _Unreachable()}, output="a", expected="b")
    assert (await run("embedding_similarity", {"embedder": _Short()}, output="a")).error == NO_EXPECTED


# --- thresholds ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "params", "item", "score", "said"),
    [
        ("latency_threshold", {"max_ms": 1000}, {"latency_ms": 523.4}, 1.0, "latency 523.4 ms ≤ 1,000 ms"),
        ("latency_threshold", {"max_ms": 1000}, {"latency_ms": 1000.0}, 1.0, "≤"),
        ("latency_threshold", {"max_ms": 250}, {"latency_ms": 1234.5}, 0.0, "latency 1,234.5 ms > 250 ms"),
        ("cost_threshold", {"max_usd": 0.01}, {"cost_usd": 0.0042}, 1.0, "cost $0.004200 ≤ $0.010000"),
        ("cost_threshold", {"max_usd": 0}, {"cost_usd": 0.0}, 1.0, "≤ $0.000000"),
        ("cost_threshold", {"max_usd": 0.001}, {"cost_usd": 0.5}, 0.0, "cost $0.500000 > $0.001000"),
    ],
)
async def test_thresholds(name: str, params: dict[str, Any], item: dict[str, Any], score: float, said: str) -> None:
    result = await run(name, params, **item)
    assert (result.score, result.label) == (score, "pass" if score else "fail")
    assert said in result.explanation


async def test_a_missing_value_is_an_item_error_never_a_pass() -> None:
    assert (await run("latency_threshold", {"max_ms": 1}, output="x")).error == "the item has no latency"
    cost = await run("cost_threshold", {"max_usd": 1}, output="x")
    assert cost.error is not None and cost.error.startswith("the item has no cost")
