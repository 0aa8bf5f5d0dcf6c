"""Proxy-held credentials: clients send Glassgate keys; the vendor sees only Glassgate's credential."""

from __future__ import annotations

from typing import TYPE_CHECKING

import openai
import pytest

from tests.conformance.clients import chat_model, sdk_client
from tests.conformance.conftest import CLIENT_VENDOR_KEY, HELD_UPSTREAM_KEY, Stack
from tests.fakes import openai_fixtures as fx

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam

MESSAGES: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Hi"}]


def test_static_key_replaces_the_glassgate_key(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client("openai-held", stack, monkeypatch, key=stack.glassgate_key)
    raw = client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=MESSAGES)
    assert raw.parse().choices[0].message.content == fx.TEXT
    received = stack.vendor.last()
    assert received.header("authorization") == f"Bearer {HELD_UPSTREAM_KEY}"
    assert stack.glassgate_key not in str(received.headers), "the Glassgate key must never reach the vendor"
    span = stack.glassgate.span(raw.headers["x-glassgate-span-id"])
    assert span["project"] == "team-a" and span["key_id"].startswith("key_")
    assert stack.glassgate_key not in str(span) and HELD_UPSTREAM_KEY not in str(span)


@pytest.mark.parametrize("key", ["gg-not-a-real-key", CLIENT_VENDOR_KEY])
def test_unknown_key_is_refused_before_the_vendor(stack: Stack, monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    client = sdk_client("openai-held", stack, monkeypatch, key=key)
    before = len(stack.vendor.received)
    with pytest.raises(openai.AuthenticationError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.status_code == 401
    assert "Glassgate key" in caught.value.message
    assert caught.value.response.headers["x-should-retry"] == "false"
    assert len(stack.vendor.received) == before, "nothing may go upstream for an unauthenticated call"
    span = stack.glassgate.span(caught.value.response.headers["x-glassgate-span-id"])
    assert span["status"] == "error" and span["http_status"] == 401
    assert key not in str(span)


def test_azure_service_principal_token_is_fetched_once_and_injected(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sdk_client("azure-sp", stack, monkeypatch, key=stack.glassgate_key)
    for _ in range(3):
        completion = client.chat.completions.create(model=chat_model("azure"), messages=MESSAGES)
        assert completion.choices[0].message.content == fx.TEXT
        received = stack.vendor.last()
        assert received.header("authorization") == "Bearer entra-token-1"
        assert received.header("api-key") is None, "the client's api-key header must be dropped"
    assert len(stack.entra.token_requests) == 1, "the Entra token is cached, not fetched per call"
    form = stack.entra.token_requests[0]
    assert form["grant_type"] == "client_credentials" and form["client_id"] == "client-1"
    assert form["scope"] == "https://cognitiveservices.azure.com/.default"
