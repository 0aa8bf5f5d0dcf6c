"""Prompt embeddings over the API: similar spans, a 2-D map of prompts, the embedder's progress.

    GET /api/v1/spans/{span_id}/similar   nearest spans by the configured embedder (HNSW, cosine)
    GET /api/v1/embeddings/map            a sample laid out by PCA, clustered by k-means
    GET /api/v1/embeddings/status         which embedder, how many spans embedded and waiting

With the default `hashed` embedder "similar" means similar wording, not similar meaning
(glassgate/embeddings/hashed.py).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import asyncpg
from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field

from glassgate.api.problem_docs import problems
from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.embeddings.base import DIMENSIONS, Embedder
from glassgate.embeddings.projection import cluster_labels, kmeans, principal_axes
from glassgate.errors import UpstreamError
from glassgate.storage import embeddings as store

router = APIRouter(prefix="/api/v1", tags=["embeddings"])


class SimilarSpan(BaseModel):
    span_id: str
    started_at: datetime
    model: str | None
    upstream: str | None
    input_preview: str | None
    similarity: float = Field(description="Cosine similarity to the span asked about, -1 to 1 (1: same direction).")


class SimilarSpans(BaseModel):
    embedder: str
    data: list[SimilarSpan] = Field(description="Most similar first; the span itself is left out.")


class MapPoint(BaseModel):
    span_id: str
    x: float
    y: float
    cluster: int
    input_preview: str = Field(description="The input preview's first 160 characters.")


class MapCluster(BaseModel):
    id: int = Field(description="0 is the largest cluster.")
    size: int
    label: str = Field(description="Words frequent in the cluster's prompts and rare in the others.")


class EmbeddingMap(BaseModel):
    embedder: str
    points: list[MapPoint] = Field(description="The newest embedded spans in the window, newest first.")
    clusters: list[MapCluster]


class EmbeddingStatus(BaseModel):
    enabled: bool
    embedder: str | None
    dimensions: int
    embedded: int | None = Field(description="Spans with a vector from the configured embedder.")
    pending: int | None = Field(description="Spans started since `pending_since` with an input preview and no vector.")
    pending_since: datetime | None


def _embedder(request: Request) -> Embedder:
    embedder: Embedder | None = getattr(request.app.state, "embedder", None)
    if embedder is None:
        raise Problem(409, "Embeddings are off", "set `embeddings.enabled: true` in the configuration")
    return embedder


@router.get(
    "/spans/{span_id}/similar",
    response_model=SimilarSpans,
    summary="Spans with similar prompts",
    responses=problems(409, 502),
)
async def similar_spans(
    request: Request,
    span_id: Annotated[str, Path(max_length=200)],
    limit: Annotated[int, Query(ge=1, le=100)] = 10,
) -> dict[str, Any]:
    embedder = _embedder(request)
    pool = pool_of(request)
    span = await store.span_for_search(pool, embedder.name, span_id)
    if span is None:
        raise Problem(404, "Not Found", f"no span {span_id!r}")
    vector: str | None = span["embedding"]
    if vector is None:  # not embedded yet: the worker has not reached it, or it is new
        vector = await _embed_now(pool, embedder, span)
    rows = await store.nearest(pool, embedder.name, vector, limit + 1)
    return {"embedder": embedder.name, "data": [row for row in rows if row["span_id"] != span_id][:limit]}


async def _embed_now(pool: asyncpg.Pool, embedder: Embedder, span: dict[str, Any]) -> str:
    text = span["input_preview"] or ""
    if not text.strip():
        raise Problem(422, "Nothing to compare", "the span has no input text")
    if store.INTERNAL_TAG in span["tags"]:
        raise Problem(422, "Nothing to compare", "Glassgate's own calls are not embedded")
    try:
        [vector] = await embedder.embed([text])
    except UpstreamError as exc:
        raise Problem(502, "Embedding failed", str(exc)) from exc
    async with pool.acquire() as connection:
        await store.store(connection, embedder.name, [(span["started_at"], span["span_id"])], [vector])
    return store.vector_literal(vector)


@router.get(
    "/embeddings/map", response_model=EmbeddingMap, summary="A 2-D map of prompts, clustered", responses=problems(409)
)
async def embedding_map(
    request: Request,
    limit: Annotated[int, Query(ge=1, le=5000, description="Spans on the map: the newest in the window.")] = 2000,
    since: Annotated[datetime | None, Query(description="Start (ISO 8601); default: no bound.")] = None,
    until: Annotated[datetime | None, Query(description="End, exclusive (ISO 8601); default: no bound.")] = None,
    clusters: Annotated[int, Query(ge=1, le=20, description="How many clusters (fewer for few spans).")] = 8,
) -> dict[str, Any]:
    embedder = _embedder(request)
    pool = pool_of(request)
    sample = await store.map_sample(pool, embedder.name, limit=limit, since=since, until=until)
    if not sample.keys:
        return {"embedder": embedder.name, "points": [], "clusters": []}
    # Pure-Python math runs in a thread, so the event loop (the proxy's too) keeps its turns.
    mean, axes = await asyncio.to_thread(principal_axes, sample.fit_rows)
    offsets = [sum(a * b for a, b in zip(mean, axis, strict=True)) for axis in axes]
    found = await store.coordinates(pool, embedder.name, sample.keys, axes)
    positions = sorted(found)
    points = [(found[at][0] - offsets[0], found[at][1] - offsets[1]) for at in positions]
    previews = [sample.previews[at] for at in positions]
    assignment, labels = await asyncio.to_thread(_clusters, points, previews, clusters)
    sizes = [assignment.count(cluster) for cluster in range(max(assignment, default=-1) + 1)]
    return {
        "embedder": embedder.name,
        "points": [
            {"span_id": sample.keys[at][1], "x": x, "y": y, "cluster": cluster, "input_preview": preview}
            for at, (x, y), cluster, preview in zip(positions, points, assignment, previews, strict=True)
        ],
        "clusters": [
            {"id": cluster, "size": size, "label": labels.get(cluster, "")} for cluster, size in enumerate(sizes)
        ],
    }


def _clusters(points: list[tuple[float, float]], previews: list[str], count: int) -> tuple[list[int], dict[int, str]]:
    assignment = kmeans(points, count)
    return assignment, cluster_labels(previews, assignment)


@router.get("/embeddings/status", response_model=EmbeddingStatus, summary="The embedder and its progress")
async def embedding_status(
    request: Request,
    since: Annotated[
        datetime | None,
        Query(
            description=(
                "Count the spans waiting since then (ISO 8601); default: the last 24 hours, which keeps the "
                "count fast (older spans are reached by the worker's hourly walk over the whole history)."
            )
        ),
    ] = None,
) -> dict[str, Any]:
    embedder: Embedder | None = getattr(request.app.state, "embedder", None)
    since = since or datetime.now(UTC) - timedelta(hours=24)
    if embedder is None:
        return {
            "enabled": False,
            "embedder": None,
            "dimensions": DIMENSIONS,
            "embedded": None,
            "pending": None,
            "pending_since": None,
        }
    embedded, pending = await store.counts(pool_of(request), embedder.name, since)
    return {
        "enabled": True,
        "embedder": embedder.name,
        "dimensions": DIMENSIONS,
        "embedded": embedded,
        "pending": pending,
        "pending_since": since,
    }
