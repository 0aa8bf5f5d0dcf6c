"""storage.embeddings on real PostgreSQL: the bounded walk, the upsert, nearest neighbours, the migration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest
from alembic import command
from alembic.config import Config

from glassgate.embeddings.hashed import embed_text
from glassgate.storage import db
from glassgate.storage import embeddings as store
from glassgate.storage.spans import insert_spans
from tests.harness import create_database
from tests.integration.storage.test_spans import make_span

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(database_url)
    yield created
    await created.close()


async def test_the_walk_reads_bounded_pages_newest_first(pool: asyncpg.Pool) -> None:
    # 20 spans; every third has no preview. Pages of 6 spans, batches of 3 pending ones.
    await insert_spans(pool, [make_span(n, input_preview=None if n % 3 == 0 else f"prompt {n}") for n in range(20)])
    seen: list[int] = []
    below = None
    async with pool.acquire() as connection:
        for _ in range(20):
            page = await store.pending(connection, "hashed-v1", below=below, scan=6, limit=3)
            seen += [int(span.span_id, 16) for span in page.spans]
            assert len(page.spans) <= 3
            below = page.next_key
            if below is None:
                break
    assert seen == [n for n in reversed(range(20)) if n % 3], "every pending span once, newest first"


async def test_since_bounds_the_walk_and_stored_spans_leave_it(pool: asyncpg.Pool) -> None:
    await insert_spans(pool, [make_span(n, input_preview=f"prompt {n}") for n in range(10)])
    async with pool.acquire() as connection:
        page = await store.pending(connection, "hashed-v1", since=T0 + timedelta(seconds=7))
        assert [span.text for span in page.spans] == ["prompt 9", "prompt 8", "prompt 7"] and page.next_key is None
        keys = [(span.started_at, span.span_id) for span in page.spans]
        assert await store.store(connection, "hashed-v1", keys, [embed_text(s.text) for s in page.spans]) == 3
        assert await store.store(connection, "hashed-v1", keys, [embed_text("x")] * 3) == 0, "kept, not rewritten"
        assert await store.store(connection, "other-v1", keys[:1], [embed_text("x")]) == 1, "another embedder's"
        page = await store.pending(connection, "hashed-v1")
    assert [span.text for span in page.spans][:2] == ["prompt 9", "prompt 6"], "9 now has other-v1's vector"


async def test_nearest_orders_by_cosine_similarity(pool: asyncpg.Pool) -> None:
    texts = ["reset my password", "reset the password please", "poem about rain", "password reset link expired"]
    spans = [make_span(n, input_preview=text) for n, text in enumerate(texts)]
    await insert_spans(pool, spans)
    async with pool.acquire() as connection:
        keys = [(span.started_at, span.span_id) for span in spans]
        await store.store(connection, "hashed-v1", keys, [embed_text(text) for text in texts])
    query = store.vector_literal(embed_text("reset my password"))
    found = await store.nearest(pool, "hashed-v1", query, 4)
    assert [row["input_preview"] for row in found][:2] == ["reset my password", "reset the password please"]
    assert found[0]["similarity"] == pytest.approx(1.0)
    assert [row["similarity"] for row in found] == sorted((row["similarity"] for row in found), reverse=True)
    assert found[-1]["input_preview"] == "poem about rain"
    assert await store.nearest(pool, "other-v1", query, 4) == [], "only the same embedder's vectors"
    plan = "\n".join(
        row[0]
        for row in await pool.fetch(
            "EXPLAIN SELECT span_id FROM span_embeddings ORDER BY embedding <=> $1::vector LIMIT 5", query
        )
    )
    assert "span_embeddings_hnsw_idx" in plan or "embedding_idx" in plan, plan


async def test_the_migration_gives_embeddings_the_months_spans_have(postgres_url: str) -> None:
    url = await asyncio.to_thread(create_database, postgres_url, "migrate_from_0009")
    await asyncio.to_thread(db.migrate, url, "0009")
    connection = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        await connection.execute(
            "CREATE TABLE spans_p2025_03 PARTITION OF spans FOR VALUES FROM ('2025-03-01') TO ('2025-04-01')"
        )
        await asyncio.to_thread(db.migrate, url)
        partitions = {
            row[0]
            for row in await connection.fetch(
                "SELECT child.relname FROM pg_inherits JOIN pg_class parent ON parent.oid = inhparent "
                "JOIN pg_class child ON child.oid = inhrelid WHERE parent.relname = 'span_embeddings'"
            )
        }
        assert {"span_embeddings_default", "span_embeddings_p2025_03"} <= partitions
        config = Config()
        config.set_main_option("script_location", str(db._MIGRATIONS))
        config.set_main_option("sqlalchemy.url", db.sqlalchemy_url(url))
        await asyncio.to_thread(command.downgrade, config, "0009")
        assert await connection.fetchval("SELECT to_regclass('span_embeddings')") is None
    finally:
        await connection.close()
