"""A lexical embedding that needs no model: words and word pairs, feature-hashed into 256 floats.

It finds prompts with similar WORDING, not similar meaning: "cancel my order" and "how do I
cancel an order" are close, "cancel my order" and "stop my purchase" are not. It is the
offline default because no model ships in our dependencies and none may be downloaded at run
time; configure the `upstream` embedder for semantic similarity.

Each text is cut into words the way search cuts them (storage.search.words); the features are
its words (without a short list of English function words, unless those are all it has) and
its adjacent word pairs (except pairs of two function words). Each feature adds
`1 + ln(count)` (sublinear term frequency) at the position and sign given by its CRC-32
(signed hashing: collisions cancel out on average instead of piling up), and the vector is
scaled to length 1. The same text always gives the
same vector, in every process and on every machine: Python's own `hash` is salted per
process, CRC-32 is not. Changing any of this changes the vector space, so `name` carries a
version.
"""

from __future__ import annotations

import asyncio
import math
import zlib
from collections import Counter
from collections.abc import Sequence
from itertools import pairwise

from glassgate.embeddings.base import DIMENSIONS, normalized
from glassgate.storage.search import words

_INDEX_MASK = DIMENSIONS - 1  # DIMENSIONS is a power of two
_SIGN_BIT = DIMENSIONS  # the next bit of the hash
# Words that say little about what a prompt is about; they still count inside word pairs.
_STOP_WORDS_TEXT = """
    a an and are as at be but by can could do does for from had has have how i if in into is it its me my
    no not of on or our please so that the their them then there these they this to us was we were what
    when where which who why will with would you your
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())
# Texts embedded per hop to a worker thread: the event loop (the proxy's too) gets a turn in between.
_CHUNK = 16


def features(text: str) -> Counter[str]:
    """The counted features of one text: content words and adjacent word pairs."""
    tokens = words(text)
    content = [token for token in tokens if token not in STOP_WORDS] or tokens
    counted = Counter(content)
    counted.update(
        f"{first} {second}"
        for first, second in pairwise(tokens)
        if first not in STOP_WORDS or second not in STOP_WORDS  # "of the" says nothing either
    )
    if not counted:
        counted.update(text.split())  # no letters or digits at all (emoji, punctuation): its runs
    return counted


def embed_text(text: str) -> list[float]:
    """The unit vector of one text (the same on every run, in every process)."""
    vector = [0.0] * DIMENSIONS
    for feature, count in features(text).items():
        digest = zlib.crc32(feature.encode())
        weight = 1.0 + math.log(count)
        if digest & _SIGN_BIT:
            vector[digest & _INDEX_MASK] -= weight
        else:
            vector[digest & _INDEX_MASK] += weight
    return normalized(vector)


def embed_texts(texts: Sequence[str]) -> list[list[float]]:
    return [embed_text(text) for text in texts]


class HashedEmbedder:
    """The `hashed` embedder: pure CPU, no IO; runs off the event loop in small chunks."""

    name = "hashed-v1"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        vectors: list[list[float]] = []
        for start in range(0, len(texts), _CHUNK):
            chunk = texts[start : start + _CHUNK]
            vectors.extend(await asyncio.to_thread(embed_texts, chunk))
        return vectors

    async def close(self) -> None:
        return None
