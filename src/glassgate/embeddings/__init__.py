"""Prompt embeddings: what "find similar" and the map of prompts compare.

| name     | vectors from                                                      | module      |
|----------|-------------------------------------------------------------------|-------------|
| hashed   | words and word pairs, feature-hashed: similar WORDING, offline    | hashed.py   |
| upstream | an OpenAI-format embeddings model, through Glassgate's own proxy  | upstream.py |

`worker.py` embeds new spans in the background (storage/embeddings.py holds the SQL);
`projection.py` lays a sample out in 2-D and clusters it, in pure Python. A third-party
embedder registers a factory with `base.register(name, factory)`, as the built-ins do here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from glassgate.embeddings.base import Embedder, create, register, registered
from glassgate.embeddings.hashed import HashedEmbedder
from glassgate.embeddings.upstream import UpstreamEmbedder
from glassgate.errors import ConfigError

if TYPE_CHECKING:
    from glassgate.config import Settings

register("hashed", lambda settings: HashedEmbedder())
register("upstream", UpstreamEmbedder.from_settings)


def embedder_for(settings: Settings) -> Embedder | None:
    """The configured embedder, or None when embeddings are off; ConfigError for a name nobody registered."""
    if not settings.embeddings.enabled:
        return None
    try:
        return create(settings.embeddings.embedder, settings)
    except KeyError as exc:
        raise ConfigError(f"invalid configuration:\n  embeddings.embedder: {exc.args[0]}") from None


__all__ = ["Embedder", "embedder_for", "register", "registered"]
