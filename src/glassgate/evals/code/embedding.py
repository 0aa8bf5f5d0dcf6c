"""`embedding_similarity`: the cosine similarity of the output's and the expected answer's embeddings.

Params:
- `embedder`: what makes the vectors. "hashed" (the default) is Glassgate's offline lexical
  embedder (`glassgate.embeddings.hashed`: similar wording, not similar meaning). Anything else
  is passed in as an object, not a name: any `glassgate.embeddings.base.Embedder` (whoever
  builds evaluators from config creates the `upstream` embedder from Settings and passes it)
  or an object with `async embed(texts) -> list[list[float]]`.
- `expected` (a string to compare with instead of the item's expected output),
  `threshold` (-1–1; sets label pass/fail).

Score: the cosine, from -1 to 1 (1: same direction). An embedder that refuses the texts
(`EmbeddingRejected`) gives a per-item error; one that cannot be reached (`UpstreamError`)
raises, so the runner can retry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, Literal, Protocol

from glassgate.embeddings.base import EmbeddingRejected
from glassgate.evals.base import EvalInput, EvalResult, JudgeClient, failed
from glassgate.evals.code.reference import NO_EXPECTED, expected_text
from glassgate.evals.code.similarity import SimilarityParams
from glassgate.evals.text import answer_text


class Embeds(Protocol):
    """The part of an Embedder this evaluator uses."""

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """The cosine of two vectors; 0 when either is zero or their lengths differ."""
    if len(a) != len(b):
        return 0.0
    norms = math.sqrt(math.fsum(x * x for x in a)) * math.sqrt(math.fsum(y * y for y in b))
    if norms == 0.0 or not math.isfinite(norms):
        return 0.0
    return max(-1.0, min(1.0, math.fsum(x * y for x, y in zip(a, b, strict=True)) / norms))


def _embedder(value: Any, p: SimilarityParams) -> Embeds:
    if value is None or value == "hashed":
        from glassgate.embeddings.hashed import HashedEmbedder  # here: only when configured

        return HashedEmbedder()
    if isinstance(value, str):
        raise p.params.error(
            "embedder",
            f"names {value!r}; only 'hashed' is built in here: pass an Embedder object for any other "
            "(e.g. glassgate.embeddings.base.create('upstream', settings))",
        )
    if not callable(getattr(value, "embed", None)):
        raise p.params.error("embedder", f"must be 'hashed' or an object with an async embed(texts), got {value!r}")
    embedder: Embeds = value
    return embedder


class EmbeddingSimilarity:
    name = "embedding_similarity"
    kind: Literal["code", "llm"] = "code"
    score_range = (-1.0, 1.0)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.p = SimilarityParams(self.name, params, extra={"embedder"}, low=-1.0)
        self.embedder = _embedder(self.p.params.raw("embedder"), self.p)

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        expected = expected_text(self.p.expected, item)
        if expected is None:
            return failed(NO_EXPECTED)
        try:
            vectors = await self.embedder.embed([answer_text(item.output), expected])
        except EmbeddingRejected as error:
            return failed(f"the embedder refused these texts: {error}")
        if len(vectors) != 2:
            return failed(f"the embedder returned {len(vectors)} vector(s) for 2 texts")
        name = getattr(self.embedder, "name", type(self.embedder).__name__)
        return self.p.result(cosine(vectors[0], vectors[1]), f"cosine of {name} embeddings")
