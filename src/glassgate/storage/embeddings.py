"""Prompt embeddings in `span_embeddings` (pgvector): finding spans to embed, storing, searching.

One row per span (same key as `spans`, partitioned by month the same way, so retention drops
both together), with the embedder's name: vectors of different embedders are never compared,
and spans embedded by another embedder than the configured one count as not embedded yet.
Nearest neighbours go through the HNSW index (cosine distance); each monthly partition has
its own, and PostgreSQL merges their ordered answers.

Spans to embed are found by walking `spans` newest first in bounded pages (keyset on
started_at, span_id), so each query reads at most `scan` spans however far the walk goes.
Spans without an input preview and Glassgate's own internal calls (its embeddings calls
among them) are never embedded.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

DIMENSIONS = 256  # the column is vector(256); embeddings.base.DIMENSIONS is the same number
INTERNAL_TAG = "glassgate-internal"
# One embedding worker at a time across replicas (a constant shared by all of them).
_WORK_LOCK_KEY = 0x676C617373656D62  # "glassemb"
_EMBEDDABLE = f"s.input_preview <> '' AND NOT s.tags @> ARRAY['{INTERNAL_TAG}']"
_MISSING = (
    "NOT EXISTS (SELECT 1 FROM span_embeddings e WHERE e.span_id = {alias}.span_id "
    "AND e.started_at = {alias}.started_at AND e.embedder = $1)"
)
_VECTOR = struct.Struct(f">{DIMENSIONS}f")  # pgvector's binary form after its 4-byte header

Key = tuple[datetime, str]  # (started_at, span_id): the walk's order, newest first


@dataclass(frozen=True, slots=True)
class PendingSpan:
    span_id: str
    started_at: datetime
    text: str


@dataclass(frozen=True, slots=True)
class PendingPage:
    spans: list[PendingSpan]  # newest first
    next_key: Key | None  # continue the walk below this key; None: the walk reached the oldest span


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form, `[x, y, ...]`."""
    return str([float(value) for value in vector])


async def try_work_lock(connection: asyncpg.Connection) -> bool:
    """Take the embedding lock for the current transaction, unless another replica holds it."""
    taken: bool = await connection.fetchval("SELECT pg_try_advisory_xact_lock($1)", _WORK_LOCK_KEY)
    return taken


async def pending(
    connection: asyncpg.Connection,
    embedder: str,
    *,
    below: Key | None = None,
    since: datetime | None = None,
    scan: int = 4096,
    limit: int = 64,
) -> PendingPage:
    """Spans without an embedding by `embedder` among the next `scan` spans below `below` (newest first)."""
    params: list[Any] = [embedder]
    conditions = []
    if below is not None:
        params += below
        conditions.append("(s.started_at, s.span_id) < ($2, $3)")
    if since is not None:
        params.append(since)
        conditions.append(f"s.started_at >= ${len(params)}")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    query = (
        f"WITH page AS MATERIALIZED (SELECT s.span_id, s.started_at, ({_EMBEDDABLE}) AS wanted FROM spans s {where} "
        f"ORDER BY s.started_at DESC, s.span_id DESC LIMIT {int(scan)}), "
        f"todo AS (SELECT p.span_id, p.started_at FROM page p WHERE p.wanted AND {_MISSING.format(alias='p')} "
        f"ORDER BY p.started_at DESC, p.span_id DESC LIMIT {int(limit)}) "
        "SELECT t.span_id, t.started_at, (SELECT s.input_preview FROM spans s WHERE s.span_id = t.span_id "
        "AND s.started_at = t.started_at), NULL::bigint AS examined FROM todo t "
        "UNION ALL (SELECT span_id, started_at, NULL, (SELECT count(*) FROM page) FROM page "
        "ORDER BY started_at, span_id LIMIT 1)"
    )
    records = await connection.fetch(query, *params)
    found = sorted(
        (PendingSpan(r["span_id"], r["started_at"], r["input_preview"]) for r in records if r["examined"] is None),
        key=lambda span: (span.started_at, span.span_id),
        reverse=True,
    )
    edge = next((r for r in records if r["examined"] is not None), None)
    if len(found) >= limit:
        next_key: Key | None = (found[-1].started_at, found[-1].span_id)  # more may wait in this page
    elif edge is not None and edge["examined"] >= scan:
        next_key = (edge["started_at"], edge["span_id"])
    else:
        next_key = None
    return PendingPage(found, next_key)


async def store(
    connection: asyncpg.Connection, embedder: str, keys: Sequence[Key], vectors: Sequence[Sequence[float]]
) -> int:
    """Upsert one vector per span; a vector already stored by the same embedder is kept. Returns rows written."""
    result: str = await connection.execute(
        "INSERT INTO span_embeddings (span_id, started_at, embedder, embedding) "
        "SELECT u.span_id, u.started_at, $4, u.embedding::vector "
        "FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS u(span_id, started_at, embedding) "
        "ON CONFLICT (span_id, started_at) DO UPDATE SET embedder = excluded.embedder, "
        "embedding = excluded.embedding, created_at = now() WHERE span_embeddings.embedder <> excluded.embedder",
        [span_id for _, span_id in keys],
        [started_at for started_at, _ in keys],
        [vector_literal(vector) for vector in vectors],
        embedder,
    )
    return int(result.rsplit(" ", 1)[-1])


async def span_for_search(pool: asyncpg.Pool, embedder: str, span_id: str) -> dict[str, Any] | None:
    """A span's key, input preview, tags and (text form) vector by `embedder`, if it has one."""
    record = await pool.fetchrow(
        "SELECT s.span_id, s.started_at, s.input_preview, s.tags, e.embedding::text AS embedding FROM spans s "
        "LEFT JOIN span_embeddings e ON e.span_id = s.span_id AND e.started_at = s.started_at AND e.embedder = $2 "
        "WHERE s.span_id = $1 ORDER BY s.started_at DESC LIMIT 1",
        span_id,
        embedder,
    )
    return dict(record) if record is not None else None


async def nearest(
    pool: asyncpg.Pool, embedder: str, vector: str, limit: int, ef_search: int = 200
) -> list[dict[str, Any]]:
    """The `limit` spans whose vectors are closest to `vector` (text form), closest first, with a summary."""
    async with pool.acquire() as connection, connection.transaction():
        # HNSW returns at most ef_search candidates per partition; more than the page, for recall.
        await connection.execute(f"SET LOCAL hnsw.ef_search = {max(limit, min(int(ef_search), 1000))}")
        records = await connection.fetch(
            "WITH found AS MATERIALIZED (SELECT span_id, started_at, embedding <=> $1::vector AS distance "
            "FROM span_embeddings WHERE embedder = $2 ORDER BY embedding <=> $1::vector LIMIT $3) "
            "SELECT f.span_id, f.started_at, s.model, s.upstream, s.input_preview, 1 - f.distance AS similarity "
            "FROM found f CROSS JOIN LATERAL (SELECT model, upstream, input_preview FROM spans "
            "WHERE span_id = f.span_id AND started_at = f.started_at) s ORDER BY f.distance, f.span_id",
            vector,
            embedder,
            limit,
        )
    return [dict(record) for record in records]


@dataclass(frozen=True, slots=True)
class MapSample:
    keys: list[Key]
    previews: list[str]
    fit_rows: list[tuple[float, ...]]  # the vectors of an even subset, for fitting the axes


async def map_sample(
    pool: asyncpg.Pool,
    embedder: str,
    *,
    limit: int,
    since: datetime | None = None,
    until: datetime | None = None,
    fit_rows: int = 256,
    preview_chars: int = 160,
) -> MapSample:
    """The newest `limit` embedded spans in the window, with the vectors of every n-th one (about `fit_rows`)."""
    params: list[Any] = [embedder, limit, fit_rows, preview_chars]
    conditions = ["embedder = $1"]
    for value, condition in ((since, "started_at >= ${}"), (until, "started_at < ${}")):
        if value is not None:
            params.append(value)
            conditions.append(condition.format(len(params)))
    # The preview is a subquery per row: a join lets the planner, which cannot tell the LIMIT's
    # output is small, hash the whole spans table.
    records = await pool.fetch(
        "SELECT e.span_id, e.started_at, (SELECT left(s.input_preview, $4) FROM spans s "
        "WHERE s.span_id = e.span_id AND s.started_at = e.started_at) AS preview, "
        "CASE WHEN (row_number() OVER w - 1) % greatest(1, ceil(count(*) OVER () / $3::float8)::int) = 0 "
        "THEN vector_send(e.embedding) END AS vector "
        f"FROM (SELECT span_id, started_at, embedding FROM span_embeddings WHERE {' AND '.join(conditions)} "
        "ORDER BY started_at DESC, span_id DESC LIMIT $2) e "
        "WINDOW w AS (ORDER BY e.started_at DESC, e.span_id DESC) ORDER BY e.started_at DESC, e.span_id DESC",
        *params,
    )
    return MapSample(
        keys=[(record["started_at"], record["span_id"]) for record in records],
        previews=[record["preview"] or "" for record in records],
        fit_rows=[_VECTOR.unpack_from(record["vector"], 4) for record in records if record["vector"] is not None],
    )


async def coordinates(
    pool: asyncpg.Pool, embedder: str, keys: Sequence[Key], axes: Sequence[Sequence[float]]
) -> dict[int, tuple[float, float]]:
    """Each span's inner products with the two axes, by its position in `keys` (spans gone since are absent)."""
    records = await pool.fetch(
        "SELECT u.position, -(e.embedding <#> $3::vector) AS x, -(e.embedding <#> $4::vector) AS y "
        "FROM unnest($1::text[], $2::timestamptz[]) WITH ORDINALITY AS u(span_id, started_at, position) "
        "JOIN span_embeddings e ON e.span_id = u.span_id AND e.started_at = u.started_at AND e.embedder = $5",
        [span_id for _, span_id in keys],
        [started_at for started_at, _ in keys],
        vector_literal(axes[0]),
        vector_literal(axes[1]),
        embedder,
    )
    return {record["position"] - 1: (record["x"], record["y"]) for record in records}


async def counts(pool: asyncpg.Pool, embedder: str, since: datetime | None = None) -> tuple[int, int]:
    """(spans embedded by `embedder`, spans started since `since` still waiting for it; None: all of them).

    The second reads every span of the window (an anti-join on the previews' rows): about a
    second per million spans, hence the window.
    """
    window = "AND s.started_at >= $2" if since is not None else ""
    async with pool.acquire() as connection:
        embedded = await connection.fetchval("SELECT count(*) FROM span_embeddings WHERE embedder = $1", embedder)
        waiting = await connection.fetchval(
            f"SELECT count(*) FROM spans s WHERE {_EMBEDDABLE} AND {_MISSING.format(alias='s')} {window}",
            *([embedder, since] if since is not None else [embedder]),
        )
    return int(embedded), int(waiting)
