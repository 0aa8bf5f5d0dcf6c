"""The contract every embedder keeps, and the registry built-ins join exactly as plugins would.

An embedder turns texts into unit vectors of `DIMENSIONS` floats, one per text, in order. Every
stored vector has that length (the `span_embeddings.embedding` column is `vector(256)`), so an
embedder whose model answers with another length fits its vectors with `fit_dimensions`.
Vectors from different embedders live in different spaces: each embedder has a `name` that is
stored beside its vectors, and only vectors of the same name are ever compared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from glassgate.errors import UpstreamError

if TYPE_CHECKING:
    from glassgate.config import Settings

DIMENSIONS = 256


class Embedder(Protocol):
    """Texts in, unit vectors of DIMENSIONS floats out."""

    name: str  # the vector space: stored with each vector, e.g. "hashed-v1", "upstream/openai/text-embedding-3-small"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One vector per text, in order. Raises UpstreamError (or EmbeddingRejected) when it cannot."""
        ...

    async def close(self) -> None:
        """Release connections; the embedder is not used afterwards."""
        ...


class EmbeddingRejected(UpstreamError):
    """The embeddings service refused these texts themselves (400, 413, 422): retrying them is pointless."""


EmbedderFactory = Callable[["Settings"], Embedder]
_REGISTRY: dict[str, EmbedderFactory] = {}


def register(name: str, factory: EmbedderFactory) -> None:
    """Make an embedder available to `embeddings.embedder` under `name` (its factory gets the Settings)."""
    _REGISTRY[name] = factory


def registered() -> list[str]:
    return sorted(_REGISTRY)


def create(name: str, settings: Settings) -> Embedder:
    """The configured embedder; KeyError names the ones that exist (config validation checks first)."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown embedder {name!r}; known: {', '.join(registered())}") from None
    return factory(settings)


def normalized(vector: list[float]) -> list[float]:
    """`vector` scaled to length 1; a zero vector becomes the first basis vector (cosine needs a direction)."""
    norm = math.hypot(*vector)
    if norm == 0.0 or not math.isfinite(norm):
        return [1.0] + [0.0] * (len(vector) - 1)
    return [value / norm for value in vector]


def fit_dimensions(vector: Sequence[float]) -> list[float]:
    """A model's vector as DIMENSIONS floats of length 1.

    Longer vectors are cut and re-normalised, which is exactly how text-embedding-3 models
    shorten theirs (Matryoshka training) and a lossy approximation for other models; shorter
    ones are padded with zeros, which leaves every cosine unchanged.
    """
    values = [float(value) for value in vector[:DIMENSIONS]]
    values.extend([0.0] * (DIMENSIONS - len(values)))
    return normalized(values)
