"""The hashed embedder: deterministic, unit length, closer for similar wording (no IO)."""

from __future__ import annotations

import math
import subprocess
import sys

from glassgate.embeddings.base import DIMENSIONS
from glassgate.embeddings.hashed import HashedEmbedder, embed_text, features


def cosine(first: list[float], second: list[float]) -> float:
    return sum(a * b for a, b in zip(first, second, strict=True))


def test_the_vector_is_pinned_so_a_change_of_algorithm_is_noticed() -> None:
    # Stored vectors are only comparable with vectors made the same way: changing the features
    # or the hash needs a new HashedEmbedder.name (hashed-v2), or old and new vectors get mixed.
    vector = embed_text("Reset my password, please")
    assert [(index, round(value, 6)) for index, value in enumerate(vector) if value] == [
        (16, 0.447214),
        (77, -0.447214),
        (158, -0.447214),
        (205, 0.447214),
        (213, 0.447214),
    ]
    assert HashedEmbedder.name == "hashed-v1"


def test_the_same_text_gives_the_same_vector_in_another_process() -> None:
    text = "Summarise this quarterly report for the board"
    code = f"from glassgate.embeddings.hashed import embed_text; print(repr(embed_text({text!r})))"
    other = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "12345"}
    ).stdout
    assert eval(other) == embed_text(text)  # our own repr of a list of floats


def test_vectors_are_unit_length_even_without_words() -> None:
    for text in ["hello", "a long prompt " * 200, "🙂🙂 ???", "", "the of and", "日本語のテキスト"]:
        vector = embed_text(text)
        assert len(vector) == DIMENSIONS
        assert math.isclose(math.hypot(*vector), 1.0, rel_tol=1e-9), text


def test_function_words_count_only_when_they_are_all_there_is() -> None:
    assert "the" not in features("the cat sat on the mat")
    assert "cat sat" in features("the cat sat on the mat")
    assert "on the" not in features("the cat sat on the mat"), "a pair of function words says nothing"
    assert set(features("to be or not")) >= {"to", "be", "or", "not"}


def test_sublinear_term_frequency() -> None:
    assert features("refund " * 10)["refund"] == 10
    # "refund refund": the word twice (weight 1 + ln 2) and the pair "refund refund" once (weight 1).
    weights = sorted((abs(value) for value in embed_text("refund refund") if value), reverse=True)
    assert len(weights) == 2 and math.isclose(weights[0] / weights[1], 1 + math.log(2))


def test_similar_wording_is_closer_than_unrelated_text() -> None:
    query = embed_text("How do I reset my password?")
    near = embed_text("how can I reset the password for my account")
    far = embed_text("Write a short poem about the ocean at night")
    assert cosine(query, near) > 0.4  # reset, password, 'i reset': 3 of 5 and 8 features
    assert abs(cosine(query, far)) < 0.2
    assert math.isclose(cosine(query, embed_text("HOW do I reset my password")), 1.0), "case and punctuation"


async def test_the_embedder_keeps_order_across_chunks() -> None:
    texts = [f"ticket number {number} about billing" for number in range(40)]
    vectors = await HashedEmbedder().embed(texts)
    assert vectors == [embed_text(text) for text in texts]
    await HashedEmbedder().close()
