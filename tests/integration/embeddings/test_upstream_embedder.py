"""The upstream embedder through a real Glassgate process and a fake OpenAI embeddings model.

Calls go to Glassgate's own proxy port, so they are authenticated, traced and tagged like a
client's; Glassgate's own worker embeds the spans of client calls this way in the background.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from glassgate.embeddings.base import EmbeddingRejected
from glassgate.embeddings.hashed import embed_text
from glassgate.embeddings.upstream import UpstreamEmbedder
from glassgate.errors import UpstreamError
from glassgate.storage import db, keys
from tests.fakes.embeddings_server import FakeEmbeddings
from tests.fakes.vendor_server import Received, ServerThread
from tests.harness import GlassgateProcess, openai_config, start_glassgate

MODEL = "text-embedding-3-small"


@dataclass
class Stack:
    fake: FakeEmbeddings
    glassgate: GlassgateProcess
    database_url: str

    def embeddings_calls(self, model: str | None = None) -> list[Received]:
        with self.fake.lock:
            calls = [call for call in self.fake.received if call.raw_path.split("?")[0].endswith("/embeddings")]
        return [call for call in calls if model is None or model in call.raw_path or _model(call) == model]

    def embedder(self, **overrides: Any) -> UpstreamEmbedder:
        options: dict[str, Any] = {
            "proxy_url": self.glassgate.url,
            "upstream": "openai",
            "vendor": "openai",
            "model": MODEL,
            "dimensions": 256,
            "api_key": "sk-client-key",
            "backoff_s": 0.01,
            **overrides,
        }
        return UpstreamEmbedder(**options)


def _model(call: Received) -> str | None:
    model: str | None = json.loads(call.body).get("model")
    return model


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, postgres_url: str, template_database: str) -> Iterator[Stack]:
    from tests.harness import create_database

    fake = FakeEmbeddings()
    server = ServerThread(fake.app()).start()
    database_url = create_database(postgres_url, "embeddings_upstream", template=template_database)
    config = openai_config(
        tmp_path_factory.mktemp("glassgate"),
        database_url,
        server.url,
        embeddings={"embedder": "upstream", "upstream": "openai", "model": MODEL, "api_key": "sk-worker-key"},
    )
    config["embeddings"]["interval_s"] = 0.2
    config["upstreams"]["azure"] = {"vendor": "azure", "url": server.url}
    config["upstreams"]["held"] = {"vendor": "openai", "url": server.url, "auth": {"type": "static", "key": "sk-held"}}
    glassgate = start_glassgate(config, Path(tmp_path_factory.mktemp("run")))
    try:
        yield Stack(fake, glassgate, database_url)
    finally:
        glassgate.stop()
        server.stop()


def wait_for(check: Any, timeout_s: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def test_the_worker_embeds_client_calls_through_glassgate(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.glassgate.url}/openai/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "How do I reset my password?"}]},
        headers={"authorization": "Bearer sk-client-key"},
        timeout=10,
    )
    assert response.status_code == 200, response.text
    span_id = response.headers["x-glassgate-span-id"]
    stack.glassgate.span(span_id)

    def settled() -> dict[str, Any] | None:
        status: dict[str, Any] = stack.glassgate.api("/embeddings/status").json()
        return status if status["embedded"] >= 1 and status["pending"] == 0 else None

    status = wait_for(settled)
    assert status is not None, stack.glassgate.api("/embeddings/status").text
    assert status["embedder"] == f"upstream/openai/{MODEL}/256"
    call = next(call for call in stack.embeddings_calls(MODEL) if b"reset my password" in call.body)
    assert call.raw_path == "/v1/embeddings"
    body = json.loads(call.body)
    assert body["dimensions"] == 256 and body["input"] == ["How do I reset my password?"]
    assert call.header("authorization") == "Bearer sk-worker-key", "a passthrough upstream gets the configured key"
    assert call.header("x-glassgate-tags") is None, "Glassgate's own headers stay behind"
    # The embeddings call is a span of its own, tagged, and never embedded in turn. Its span is
    # written with the writer's next batch, up to a flush interval after the call.
    internal = wait_for(lambda: stack.glassgate.api("/spans", tag=["glassgate-internal", "embeddings"]).json()["data"])
    assert internal and {span["operation"] for span in internal} == {"embeddings"}, internal
    similar = stack.glassgate.api(f"/spans/{span_id}/similar")
    assert similar.status_code == 200 and similar.json()["embedder"] == f"upstream/openai/{MODEL}/256"


async def test_batches_order_and_dimensions(stack: Stack) -> None:
    texts = [f"support ticket {number} about a late delivery" for number in range(70)]
    before = len(stack.embeddings_calls("batching-model"))
    embedder = stack.embedder(model="batching-model", batch_size=64)
    try:
        vectors = await embedder.embed(texts)
    finally:
        await embedder.close()
    assert len(stack.embeddings_calls("batching-model")) - before == 2, "70 texts: 64 + 6"
    for text, vector in zip(texts, vectors, strict=True):
        assert len(vector) == 256 and math.isclose(math.hypot(*vector), 1.0)
        assert vector == pytest.approx(embed_text(text), abs=1e-6), "the answer's `index` order is kept"


async def test_a_model_without_dimensions_is_cut_to_256(stack: Stack) -> None:
    embedder = stack.embedder(model="full-size", dimensions=None)
    try:
        [vector] = await embedder.embed(["a text"])
    finally:
        await embedder.close()
    assert "dimensions" not in json.loads(stack.embeddings_calls("full-size")[-1].body)
    assert len(vector) == 256 and vector == pytest.approx(embed_text("a text"), abs=1e-6)
    assert embedder.name == "upstream/openai/full-size/full"


@pytest.mark.parametrize("model", ["flaky-429", "flaky-503"])
async def test_rate_limits_and_server_errors_are_retried(stack: Stack, model: str) -> None:
    embedder = stack.embedder(model=model)
    try:
        [vector] = await embedder.embed(["retry me"])
    finally:
        await embedder.close()
    assert len(stack.embeddings_calls(model)) == 3, "two failures, then the answer"
    assert math.isclose(math.hypot(*vector), 1.0)


async def test_refused_texts_and_bad_keys_fail_differently(stack: Stack) -> None:
    refusing = stack.embedder(model="refuse-forbidden")
    held = stack.embedder(upstream="held", api_key=None)
    try:
        with pytest.raises(EmbeddingRejected, match="HTTP 400"):
            await refusing.embed(["forbidden words"])
        assert await refusing.embed(["allowed words"])
        with pytest.raises(UpstreamError, match="HTTP 401") as failure:
            await held.embed(["a text"])
        assert not isinstance(failure.value, EmbeddingRejected), "a missing key is not the texts' fault"
    finally:
        await refusing.close()
        await held.close()


async def test_a_proxy_held_upstream_takes_a_glassgate_key(stack: Stack) -> None:
    pool = await db.create_pool(stack.database_url)
    try:
        issued = await keys.create_key(pool, "embeddings")
    finally:
        await pool.close()
    embedder = stack.embedder(upstream="held", api_key=issued.key, model="held-model")
    try:
        assert await embedder.embed(["a text"])
    finally:
        await embedder.close()
    call = stack.embeddings_calls("held-model")[-1]
    assert call.header("authorization") == "Bearer sk-held", "Glassgate swapped its key for the vendor's"


async def test_azure_deployments_path_and_key_header(stack: Stack) -> None:
    embedder = stack.embedder(upstream="azure", vendor="azure", model="emb-deployment", api_key="azure-key")
    try:
        assert await embedder.embed(["a text"])
    finally:
        await embedder.close()
    call = stack.embeddings_calls("emb-deployment")[-1]
    assert call.raw_path == "/openai/deployments/emb-deployment/embeddings?api-version=2024-10-21"
    assert call.header("api-key") == "azure-key"
    assert "model" not in json.loads(call.body), "Azure takes the deployment from the path"


async def test_an_unreachable_glassgate_fails_after_the_retries() -> None:
    embedder = UpstreamEmbedder(
        proxy_url="http://127.0.0.1:1",
        upstream="openai",
        vendor="openai",
        model=MODEL,
        dimensions=256,
        api_key=None,
        max_retries=2,
        backoff_s=0.01,
    )
    try:
        with pytest.raises(UpstreamError, match="failed 3 times"):
            await embedder.embed(["a text"])
    finally:
        await embedder.close()
