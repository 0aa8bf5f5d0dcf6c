"""The official SDKs as clients of the simulated vendor, through an in-memory transport (no IO).

The SDKs parse the answers with their own rules (SSE decoding, stream helpers, strict response
validation), so a shape they would reject fails the tests.
"""

from __future__ import annotations

import anthropic
import httpx2
import openai

from glassgate.demo.simulation import Simulation


def transport(simulation: Simulation) -> httpx2.MockTransport:
    def handle(request: httpx2.Request) -> httpx2.Response:
        answer = simulation.respond(request.method, request.url.path, request.headers, request.read())
        # An iterator makes a streamed body: the SDK reads it chunk by chunk, as from the network.
        return httpx2.Response(answer.status, headers=answer.headers, content=iter(answer.chunks))

    return httpx2.MockTransport(handle)


def anthropic_sdk(http: httpx2.Client) -> anthropic.Anthropic:
    return anthropic.Anthropic(
        api_key="demo-key",
        base_url="http://vendor.test",
        http_client=http,
        max_retries=0,
        _strict_response_validation=True,
    )


def openai_sdk(http: httpx2.Client, *, strict: bool = True) -> openai.OpenAI:
    return openai.OpenAI(
        api_key="demo-key",
        base_url="http://vendor.test/v1",
        http_client=http,
        max_retries=0,
        _strict_response_validation=strict,
    )
