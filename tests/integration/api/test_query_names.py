"""A query parameter that a route does not take is refused (422), never silently ignored."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import httpx
import pytest

from glassgate.storage.spans import insert_spans
from tests.integration.api.accounts import running_api
from tests.integration.storage.test_spans import make_span


@pytest.fixture
async def http(database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with running_api(database_url) as api:
        await insert_spans(api.pool, [make_span(1, model="gpt-4o"), make_span(2, model="claude")])
        async with api.client(bearer=True) as client:
            yield client


async def test_a_misspelt_filter_is_refused_rather_than_answered_unfiltered(http: httpx.AsyncClient) -> None:
    assert len((await http.get("/api/v1/spans", params={"model": "claude"})).json()["data"]) == 1
    response = await http.get("/api/v1/spans", params={"models": "claude"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["errors"][0]["field"] == "query.models"
    message = problem["errors"][0]["message"]
    assert message.startswith("unknown parameter; this endpoint takes ")
    takes = message.removeprefix("unknown parameter; this endpoint takes ").split(", ")
    assert "model" in takes and "q" in takes


async def test_a_route_without_query_parameters_refuses_any(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/upstreams", params={"verbose": "1"})
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {"field": "query.verbose", "message": "unknown parameter; this endpoint takes no query parameters"}
    ]


async def test_authentication_is_checked_first(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/v1/spans", params={"serach": "x"}, headers={"Authorization": "Bearer wrong"})
    assert response.status_code == 401


async def test_each_read_route_takes_exactly_the_query_parameters_its_openapi_document_declares(
    http: httpx.AsyncClient,
) -> None:
    """Parameters declared by a route's dependencies count as taken; the web app and clients read this document."""
    document = (await http.get("/api/v1/openapi.json")).json()
    checked = 0
    for path, operations in document["paths"].items():
        if "get" not in operations:
            continue
        declared = sorted(param["name"] for param in operations["get"].get("parameters", []) if param["in"] == "query")
        response = await http.get(re.sub(r"\{[^}]+\}", "1", path), params={"zz-not-a-parameter": "1"})
        assert response.status_code == 422, (path, response.status_code, response.text)
        takes = response.json()["errors"][0]["message"].removeprefix("unknown parameter; this endpoint takes ")
        assert (takes.split(", ") if declared else [takes]) == (declared or ["no query parameters"]), path
        checked += 1
    assert checked > 30
