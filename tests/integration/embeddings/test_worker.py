"""The background embedder on real PostgreSQL: what it embeds, what it skips, replicas, outages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from glassgate.embeddings.base import EmbeddingRejected
from glassgate.embeddings.hashed import HashedEmbedder, embed_text
from glassgate.embeddings.worker import EmbeddingWorker
from glassgate.storage import db
from glassgate.storage import embeddings as store
from glassgate.storage.spans import insert_spans
from tests.integration.storage.test_spans import make_span

NOW = datetime.now(UTC)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(database_url)
    yield created
    await created.close()


def prompt_span(number: int, text: str | None, **fields: object) -> object:
    return make_span(number, input_preview=text, started_at=NOW - timedelta(minutes=number), **fields)


async def embedded(pool: asyncpg.Pool) -> dict[str, str]:
    return {
        row["span_id"]: row["embedder"] for row in await pool.fetch("SELECT span_id, embedder FROM span_embeddings")
    }


async def test_the_worker_embeds_prompts_and_skips_internal_calls_and_empty_ones(pool: asyncpg.Pool) -> None:
    spans = [prompt_span(number, f"question number {number} about invoices") for number in range(1, 151)]
    spans.append(prompt_span(200, "Glassgate's own embeddings call", tags=("glassgate-internal", "embeddings")))
    spans.append(prompt_span(201, None))
    await insert_spans(pool, spans)  # type: ignore[arg-type]
    worker = EmbeddingWorker(pool, HashedEmbedder(), batch_size=32, scan=64)
    assert await worker.run_once() == 150
    found = await embedded(pool)
    assert set(found) == {f"{number:016x}" for number in range(1, 151)}
    assert set(found.values()) == {"hashed-v1"}
    vector = await pool.fetchval("SELECT embedding::text FROM span_embeddings WHERE span_id = $1", f"{7:016x}")
    expected = embed_text("question number 7 about invoices")
    assert [float(value) for value in vector.strip("[]").split(",")] == pytest.approx(expected, abs=1e-6)
    assert await worker.run_once() == 0, "nothing left: the next tick stores nothing"
    assert await store.counts(pool, "hashed-v1") == (150, 0)


async def test_recent_walks_pick_up_new_spans_and_full_walks_late_old_ones(pool: asyncpg.Pool) -> None:
    await insert_spans(pool, [prompt_span(1, "first prompt")])  # type: ignore[list-item]
    worker = EmbeddingWorker(pool, HashedEmbedder(), late_s=60, full_walk_s=3600)
    assert await worker.run_once() == 1
    await insert_spans(pool, [make_span(2, input_preview="a new prompt", started_at=datetime.now(UTC))])
    # A span written long after it started (a spill replay after an outage): older than the recent window.
    await insert_spans(
        pool, [make_span(3, input_preview="replayed from the spill", started_at=NOW - timedelta(days=3))]
    )
    assert await worker.run_once() == 1
    assert f"{3:016x}" not in await embedded(pool)
    worker = EmbeddingWorker(pool, HashedEmbedder(), late_s=60, full_walk_s=0)  # a full walk is due every tick
    assert await worker.run_once() == 1
    assert f"{3:016x}" in await embedded(pool)


async def test_replicas_never_embed_a_span_twice(pool: asyncpg.Pool) -> None:
    await insert_spans(pool, [prompt_span(number, f"prompt {number}") for number in range(1, 301)])  # type: ignore[misc]
    calls: list[int] = []

    class Counting(HashedEmbedder):
        async def embed(self, texts: Sequence[str]) -> list[list[float]]:
            calls.append(len(texts))
            await asyncio.sleep(0.01)  # a slow upstream: the replicas overlap
            return await super().embed(texts)

    workers = [EmbeddingWorker(pool, Counting(), batch_size=16, scan=64) for _ in range(3)]
    for _ in range(5):
        await asyncio.gather(*(worker.run_once() for worker in workers))
    assert len(await embedded(pool)) == 300
    assert sum(calls) == 300, "each text was sent to the embedder once"


async def test_a_replica_that_finds_the_lock_taken_waits_for_its_next_tick(pool: asyncpg.Pool) -> None:
    await insert_spans(pool, [prompt_span(1, "a prompt")])  # type: ignore[list-item]
    async with pool.acquire() as other, other.transaction():
        assert await store.try_work_lock(other)
        assert await EmbeddingWorker(pool, HashedEmbedder()).run_once() == 0
    assert await EmbeddingWorker(pool, HashedEmbedder()).run_once() == 1


async def test_refused_texts_are_set_aside_and_the_rest_stored(pool: asyncpg.Pool) -> None:
    texts = ["fine one", "forbidden words", "fine two", "fine three"]
    await insert_spans(pool, [prompt_span(number, text) for number, text in enumerate(texts, 1)])  # type: ignore[misc]
    seen: list[str] = []

    class Refusing(HashedEmbedder):
        async def embed(self, texts: Sequence[str]) -> list[list[float]]:
            seen.extend(texts)
            if any("forbidden" in text for text in texts):
                raise EmbeddingRejected("400: blocked by a guardrail")
            return await super().embed(texts)

    worker = EmbeddingWorker(pool, Refusing())
    assert await worker.run_once() == 3
    assert worker.counters.rejected == 1
    seen.clear()
    assert await EmbeddingWorker(pool, HashedEmbedder()).run_once() == 1, "another process tries it again"
    await pool.execute("DELETE FROM span_embeddings WHERE span_id = $1", f"{2:016x}")
    assert await worker.run_once() == 0 and seen == [], "this process does not retry it every tick"


async def test_spans_embedded_by_another_embedder_are_embedded_again(pool: asyncpg.Pool) -> None:
    await insert_spans(pool, [prompt_span(1, "a prompt"), prompt_span(2, "another")])  # type: ignore[list-item]
    await EmbeddingWorker(pool, HashedEmbedder()).run_once()

    class Other(HashedEmbedder):
        name = "other-v1"

    assert await store.counts(pool, "other-v1") == (0, 2)
    assert await EmbeddingWorker(pool, Other()).run_once() == 2
    assert set((await embedded(pool)).values()) == {"other-v1"}


async def test_the_daemon_survives_a_database_that_is_away(caplog: pytest.LogCaptureFixture) -> None:
    unreachable = await db.create_pool("postgresql://nobody@127.0.0.1:1/none")
    worker = EmbeddingWorker(unreachable, HashedEmbedder(), interval_s=0.01)
    try:
        worker.start()
        for _ in range(200):
            if worker.counters.failures >= 2:
                break
            await asyncio.sleep(0.02)
        assert worker.counters.failures >= 2
        assert worker._task is not None and not worker._task.done(), "still running, backing off"
        assert "embedding spans failed" in caplog.text
    finally:
        await worker.stop()
        await unreachable.close()


async def test_the_daemon_embeds_in_the_background(pool: asyncpg.Pool) -> None:
    await insert_spans(pool, [prompt_span(1, "a prompt")])  # type: ignore[list-item]
    async with EmbeddingWorker(pool, HashedEmbedder(), interval_s=0.05) as worker:
        for _ in range(100):
            if worker.counters.embedded:
                break
            await asyncio.sleep(0.05)
    assert await embedded(pool) == {f"{1:016x}": "hashed-v1"}


async def test_the_rate_cap_spreads_a_backlog_over_time(pool: asyncpg.Pool) -> None:
    await insert_spans(pool, [prompt_span(n, f"backlog prompt {n}") for n in range(1, 97)])  # type: ignore[misc]
    worker = EmbeddingWorker(pool, HashedEmbedder(), batch_size=32, scan=64, max_per_s=100)
    started = asyncio.get_running_loop().time()
    assert await worker.run_once() == 96
    # Three batches of 32 at 100 spans/s: the first two are each followed by 0.32 s of rest.
    assert asyncio.get_running_loop().time() - started >= 0.6
