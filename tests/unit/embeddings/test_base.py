"""The embedder contract: fitting vectors to 256 floats, the registry, the settings (no IO)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from glassgate.config import Settings, load_settings
from glassgate.embeddings import embedder_for, register, registered
from glassgate.embeddings.base import DIMENSIONS, fit_dimensions, normalized
from glassgate.embeddings.hashed import HashedEmbedder
from glassgate.embeddings.upstream import UpstreamEmbedder, loopback_host
from glassgate.errors import ConfigError
from glassgate.storage import embeddings as storage


def test_the_column_and_the_embedders_agree_on_the_size() -> None:
    assert storage.DIMENSIONS == DIMENSIONS == 256


def test_longer_vectors_are_cut_and_renormalised_shorter_ones_padded() -> None:
    long = fit_dimensions([1.0] * 1536)
    assert len(long) == DIMENSIONS and math.isclose(math.hypot(*long), 1.0)
    short = fit_dimensions([3.0, 4.0])
    assert short[:3] == [0.6, 0.8, 0.0] and len(short) == DIMENSIONS
    assert normalized([0.0, 0.0]) == [1.0, 0.0], "a zero vector still has a direction"


def test_built_ins_are_registered_like_plugins() -> None:
    assert {"hashed", "upstream"} <= set(registered())

    class Constant:
        name = "constant-v1"

        async def embed(self, texts: object) -> list[list[float]]:
            return []

        async def close(self) -> None:
            return None

    register("constant", lambda settings: Constant())
    built = embedder_for(Settings(embeddings={"embedder": "constant"}))
    assert built is not None and built.name == "constant-v1"


def test_the_default_is_the_hashed_embedder_and_off_means_none() -> None:
    assert isinstance(embedder_for(Settings()), HashedEmbedder)
    assert embedder_for(Settings(embeddings={"enabled": False})) is None


def test_an_unknown_embedder_names_the_field() -> None:
    with pytest.raises(ConfigError, match=r"embeddings\.embedder: unknown embedder 'minilm'; known: .*hashed"):
        embedder_for(Settings(embeddings={"embedder": "minilm"}))


def test_the_upstream_must_be_a_configured_openai_or_azure_one(tmp_path: Path) -> None:
    config = tmp_path / "glassgate.yaml"
    config.write_text("upstreams: {openai: {vendor: openai}}\nembeddings: {embedder: upstream, upstream: azure}\n")
    with pytest.raises(ConfigError, match=r"embeddings\.upstream: 'azure' is not a configured upstream \(openai\)"):
        load_settings(config)
    config.write_text("upstreams: {claude: {vendor: anthropic}}\nembeddings: {embedder: upstream, upstream: claude}\n")
    with pytest.raises(ConfigError, match=r"embeddings\.upstream: 'claude' is a anthropic upstream"):
        load_settings(config)
    config.write_text("embeddings: {dimensions: 1536}\n")
    with pytest.raises(ConfigError, match=r"embeddings\.dimensions"):
        load_settings(config)


def test_the_upstream_embedder_calls_glassgate_itself_on_loopback() -> None:
    settings = Settings(
        host="0.0.0.0",
        port=4123,
        upstreams={"oai": {"vendor": "openai"}, "az": {"vendor": "azure", "url": "https://x.openai.azure.com"}},
        embeddings={"embedder": "upstream", "upstream": "oai", "api_key": "gg-key"},
    )
    embedder = embedder_for(settings)
    assert isinstance(embedder, UpstreamEmbedder)
    assert embedder.url == "http://127.0.0.1:4123/oai/v1/embeddings"
    assert embedder.name == "upstream/oai/text-embedding-3-small/256"
    azure = UpstreamEmbedder.from_settings(
        settings.model_copy(update={"embeddings": settings.embeddings.model_copy(update={"upstream": "az"})})
    )
    assert (
        azure.url
        == "http://127.0.0.1:4123/az/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21"
    )
    assert [loopback_host(host) for host in ("0.0.0.0", "::", "10.1.2.3", "localhost")] == [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "127.0.0.1",
    ]
