"""GET /api/v1/spans/{id}/similar, /embeddings/map and /embeddings/status over real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from glassgate.api.app import create_api
from glassgate.embeddings.hashed import HashedEmbedder
from glassgate.embeddings.worker import EmbeddingWorker
from glassgate.storage import db
from glassgate.storage.spans import insert_spans
from tests.integration.storage.test_spans import make_span

TOKEN = "test-admin-token"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TOPICS = [
    "I want a refund for order {n}, the parcel arrived damaged and the box was wet",
    "Write a haiku poem about autumn leaves and cold rain, variant {n}",
    "Translate this sentence into German for the sales deck number {n}",
]


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, asyncpg.Pool]]:
    pool = await db.create_pool(database_url)
    api = create_api(TOKEN)
    api.state.pool = pool
    api.state.embedder = HashedEmbedder()
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://glassgate", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        yield http, pool
    await pool.close()


async def seed(pool: asyncpg.Pool) -> None:
    spans = [
        make_span(number, input_preview=TOPICS[number % 3].format(n=number), started_at=T0 + timedelta(minutes=number))
        for number in range(60)
    ]
    # The same words as span 3, in another case and punctuation: what "similar wording" is about.
    near_duplicate = "I WANT a refund for order 3 -- the parcel arrived damaged, and the box was wet!"
    spans.append(make_span(100, input_preview=near_duplicate, started_at=T0))
    await insert_spans(pool, spans)
    await EmbeddingWorker(pool, HashedEmbedder()).run_once()


async def test_similar_returns_the_near_duplicate_first(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    await seed(pool)
    response = await http.get(f"/api/v1/spans/{3:016x}/similar", params={"limit": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["embedder"] == "hashed-v1"
    data = body["data"]
    assert len(data) == 5 and f"{3:016x}" not in [row["span_id"] for row in data], "the span itself is left out"
    assert data[0]["span_id"] == f"{100:016x}" and data[0]["similarity"] == pytest.approx(1.0)
    assert all("refund" in row["input_preview"] for row in data), "the same topic, not the others"
    similarities = [row["similarity"] for row in data]
    assert similarities == sorted(similarities, reverse=True) and 0 < similarities[-1] <= similarities[0] <= 1
    assert set(data[0]) == {"span_id", "started_at", "model", "upstream", "input_preview", "similarity"}


async def test_a_span_not_embedded_yet_is_embedded_on_demand(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    await seed(pool)
    await insert_spans(pool, [make_span(200, input_preview="Please write a haiku poem about autumn leaves")])
    response = await http.get(f"/api/v1/spans/{200:016x}/similar", params={"limit": 3})
    assert response.status_code == 200, response.text
    assert all("haiku" in row["input_preview"] for row in response.json()["data"])
    assert await pool.fetchval("SELECT embedder FROM span_embeddings WHERE span_id = $1", f"{200:016x}") == "hashed-v1"


async def test_similar_problems(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    await insert_spans(
        pool,
        [
            make_span(1, input_preview=None),
            make_span(2, input_preview="an embeddings call", tags=("glassgate-internal", "embeddings")),
        ],
    )
    missing = await http.get("/api/v1/spans/nope/similar")
    assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
    assert (await http.get(f"/api/v1/spans/{1:016x}/similar")).status_code == 422
    assert (await http.get(f"/api/v1/spans/{2:016x}/similar")).status_code == 422
    assert (await http.get(f"/api/v1/spans/{1:016x}/similar", params={"limit": 0})).status_code == 422
    http._transport.app.state.embedder = None  # type: ignore[attr-defined]
    off = await http.get(f"/api/v1/spans/{1:016x}/similar")
    assert off.status_code == 409 and "embeddings.enabled" in off.json()["detail"]
    status = (await http.get("/api/v1/embeddings/status")).json()
    assert status["enabled"] is False and status["embedder"] is None and status["pending"] is None


async def test_the_map_lays_out_and_clusters_a_sample(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    await seed(pool)
    response = await http.get("/api/v1/embeddings/map", params={"clusters": 3})
    assert response.status_code == 200, response.text
    body = response.json()
    points, clusters = body["points"], body["clusters"]
    assert len(points) == 61
    assert set(points[0]) == {"span_id", "x", "y", "cluster", "input_preview"}
    by_topic: dict[int, set[int]] = {}
    for point in points:
        number = int(point["span_id"], 16)
        by_topic.setdefault(number % 3 if number < 100 else 0, set()).add(point["cluster"])
    assert all(len(found) == 1 for found in by_topic.values()), f"each topic is one cluster: {by_topic}"
    assert len({next(iter(found)) for found in by_topic.values()}) == 3, "three topics, three clusters"
    assert sum(cluster["size"] for cluster in clusters) == 61 and [c["id"] for c in clusters] == [0, 1, 2]
    labels = " ".join(cluster["label"] for cluster in clusters)
    assert "haiku" in labels or "autumn" in labels or "poem" in labels
    window = await http.get(
        "/api/v1/embeddings/map", params={"since": (T0 + timedelta(minutes=50)).isoformat(), "limit": 5}
    )
    assert [int(p["span_id"], 16) for p in window.json()["points"]] == [59, 58, 57, 56, 55], "newest first"
    empty = await http.get("/api/v1/embeddings/map", params={"since": (T0 + timedelta(days=9)).isoformat()})
    assert empty.json() == {"embedder": "hashed-v1", "points": [], "clusters": []}


async def test_status_counts_embedded_and_waiting_spans(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    await seed(pool)
    waiting = [
        make_span(300, input_preview="waiting", started_at=T0),
        make_span(301, input_preview=None, started_at=T0),
    ]
    await insert_spans(pool, waiting)
    since = (T0 - timedelta(days=1)).isoformat()
    body = (await http.get("/api/v1/embeddings/status", params={"since": since})).json()
    assert body == {
        "enabled": True,
        "embedder": "hashed-v1",
        "dimensions": 256,
        "embedded": 61,
        "pending": 1,
        "pending_since": since.replace("+00:00", "Z"),
    }
    recent = (await http.get("/api/v1/embeddings/status")).json()
    assert recent["pending"] == 0, "by default only the last 24 hours are counted (these spans are older)"
    assert datetime.fromisoformat(recent["pending_since"]) > datetime.now(UTC) - timedelta(hours=25)
