"""A fake OpenAI / Azure OpenAI that answers embeddings calls the way the real models do.

The shared fake (vendor_server.FakeVendor) answers every embeddings call with one fixed 4-d
vector and ignores `dimensions`; this one, for the embeddings tests, answers with a vector
derived from each text (the hashed embedder's, so similar texts stay similar), honours
`dimensions` like text-embedding-3 models, and answers 1536 floats without it. Other paths
(chat completions, ...) are FakeVendor's.

Scenarios, by `model` (or Azure deployment):
    flaky-429        the first two embeddings calls get 429 with Retry-After, then answers
    flaky-503        likewise with 503
    refuse-forbidden 400 when any input contains "forbidden" (as a guardrail block would)
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from glassgate.embeddings.hashed import embed_text
from tests.fakes.vendor_server import FakeVendor

NATIVE_DIMENSIONS = 1536


def fake_vector(text: str, dimensions: int) -> list[float]:
    """A unit vector of `dimensions` floats: the hashed embedding spread over the first 256 and a tail."""
    base = embed_text(text)
    tail = [0.0] * max(0, dimensions - len(base))
    return (base + tail)[:dimensions]


class FakeEmbeddings(FakeVendor):
    def __init__(self) -> None:
        super().__init__()
        self.failures: dict[str, int] = {"flaky-429": 2, "flaky-503": 2}

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if not request.path.endswith("/embeddings"):
            return await super().handle(request)
        record = await self.record(request)
        payload: dict[str, Any] = json.loads(record.body)
        model = str(payload.get("model") or "")
        if "/deployments/" in request.path:
            model = request.path.split("/deployments/", 1)[1].split("/", 1)[0]
        if self.failures.get(model, 0) > 0:
            self.failures[model] -= 1
            status = 429 if model == "flaky-429" else 503
            error = {"error": {"message": "Rate limit reached" if status == 429 else "Overloaded", "type": "x"}}
            return web.json_response(error, status=status, headers={"retry-after": "0"})
        inputs = payload["input"] if isinstance(payload["input"], list) else [payload["input"]]
        if model == "refuse-forbidden" and any("forbidden" in text for text in inputs):
            error = {"error": {"message": "Invalid prompt: forbidden", "type": "invalid_request_error"}}
            return web.json_response(error, status=400)
        dimensions = int(payload.get("dimensions") or NATIVE_DIMENSIONS)
        data = [
            {"object": "embedding", "index": index, "embedding": fake_vector(text, dimensions)}
            for index, text in enumerate(inputs)
        ]
        data.reverse()  # the API does not promise order; `index` does
        body = {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": 3, "total_tokens": 3}}
        return web.json_response(body)
