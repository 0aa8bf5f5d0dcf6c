"""GET /api/v1/spans/{span_id}/conversation over real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from glassgate.api.app import create_api
from glassgate.storage import db
from glassgate.storage.spans import insert_spans
from tests.fakes import anthropic_fixtures as anthropic_fake
from tests.fakes import openai_fixtures as openai_fake
from tests.integration.storage.test_spans import make_span

TOKEN = "test-admin-token"
CHAT_REQUEST = {
    "model": "gpt-4o-mini",
    "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    "temperature": 0.2,
}


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, asyncpg.Pool]]:
    pool = await db.create_pool(database_url)
    api = create_api(TOKEN)
    api.state.pool = pool
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://glassgate", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        yield http, pool
    await pool.close()


async def test_a_chat_span_as_a_conversation(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    response_body = openai_fake.chat_completion({"n": 2}, azure=False)
    await insert_spans(
        pool,
        [make_span(1, vendor="openai", operation="chat", request_body=CHAT_REQUEST, response_body=response_body)],
    )
    response = await http.get(f"/api/v1/spans/{1:016x}/conversation")
    assert response.status_code == 200, response.text
    view = response.json()
    assert view["span_id"] == f"{1:016x}" and view["format"] == "openai.chat"
    assert view["messages"] == [
        {"role": "system", "parts": [{"type": "text", "text": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "text": "Hi"}]},
    ]
    assert [(answer["choice"], answer["parts"][0]["text"]) for answer in view["output"]] == [
        (0, openai_fake.TEXT),
        (1, openai_fake.TEXT),
    ]
    assert view["parameters"] == {"model": "gpt-4o-mini", "temperature": 0.2}
    assert view["tools"] == [] and view["warnings"] == []


async def test_an_anthropic_span_with_tools_and_thinking(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    request = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 256,
        "thinking": {"type": "enabled", "budget_tokens": 128},
        "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}],
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
    }
    span = make_span(
        2,
        vendor="anthropic",
        operation="messages",
        request_body=request,
        response_body=anthropic_fake.message(request),
    )
    await insert_spans(pool, [span])
    view = (await http.get(f"/api/v1/spans/{2:016x}/conversation")).json()
    [answer] = view["output"]
    assert [part["type"] for part in answer["parts"]] == ["reasoning", "reasoning", "text", "tool_call"]
    assert answer["parts"][3]["arguments"] == {"city": "Paris"}
    assert view["tools"] == [{"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}]


async def test_spans_without_bodies_and_unknown_spans(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    await insert_spans(pool, [make_span(3, kind="app", request_body=None, response_body=None)])
    view = (await http.get(f"/api/v1/spans/{3:016x}/conversation")).json()
    assert view["messages"] == [] and view["format"] == "generic"
    assert view["warnings"] == ["no request or response body was stored"]
    missing = await http.get("/api/v1/spans/ffffffffffffffff/conversation")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("application/problem+json")
    unauthenticated = await http.get(f"/api/v1/spans/{3:016x}/conversation", headers={"Authorization": ""})
    assert unauthenticated.status_code == 401
