"""The search indexer on real PostgreSQL: queued by the writer, indexed once, safe under failure and replicas."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from glassgate.storage import db, search
from glassgate.storage.partitions import drop_expired, maintain
from glassgate.storage.search_indexer import (
    BATCH_SIZE,
    SearchIndexer,
    backlog,
    index_batch,
    index_pending,
    may_vacuum_queue,
)
from glassgate.storage.spans import SpanFilter, insert_spans, list_spans
from tests.integration.storage.test_spans import make_span


async def found(pool: asyncpg.Pool, text: str) -> set[int]:
    rows, _ = await list_spans(pool, SpanFilter(search=text), 200, None)
    return {int(row["span_id"], 16) for row in rows}


async def test_new_spans_with_text_are_queued_then_indexed_once(pool: asyncpg.Pool) -> None:
    spans = [
        make_span(1, input_preview="Où est la Tour Eiffel…", output_preview="À Paris."),
        make_span(2, input_preview=None, output_preview="Rome."),
        make_span(3, input_preview=None, output_preview=None),  # an app span: nothing to search
        make_span(4, input_preview="", output_preview=""),
    ]
    assert await insert_spans(pool, spans) == 4
    assert await backlog(pool) == 2
    assert await found(pool, "eiffel") == set(), "searchable only once indexed"
    assert await index_pending(pool) == 2
    assert await backlog(pool) == 0
    assert await found(pool, "eiffel") == {1} and await found(pool, "à pa") == {1} and await found(pool, "rome") == {2}

    stored = await pool.fetchval("SELECT document::text FROM span_search WHERE span_id = $1", spans[0].span_id)
    expected = search.document(spans[0].input_preview, spans[0].output_preview)
    assert expected is not None and sorted(stored.replace("'", "").split()) == sorted(expected.split())

    assert await insert_spans(pool, spans) == 0, "a replayed batch stores nothing"
    assert await backlog(pool) == 0, "and queues nothing again"
    assert await pool.fetchval("SELECT count(*) FROM span_search") == 2


async def test_a_failed_batch_leaves_its_spans_queued(pool: asyncpg.Pool) -> None:
    await insert_spans(pool, [make_span(n, input_preview=f"refund {n}") for n in range(3)])
    await pool.execute(
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$;"
        "CREATE TRIGGER refuse BEFORE INSERT ON span_search FOR EACH ROW EXECUTE FUNCTION refuse()"
    )
    with pytest.raises(asyncpg.RaiseError, match="disk full"):
        await index_batch(pool)
    assert await backlog(pool) == 3, "the queue rows come back with the rolled-back batch"
    await pool.execute("DROP TRIGGER refuse ON span_search")
    assert await index_pending(pool) == 3
    assert await found(pool, "refund") == {0, 1, 2}


async def test_indexers_of_several_replicas_share_the_queue(pool: asyncpg.Pool, database_url: str) -> None:
    count = 3 * BATCH_SIZE + 17
    for first in range(0, count, 500):
        await insert_spans(
            pool, [make_span(n, input_preview=f"word{n % 7} shared") for n in range(first, min(first + 500, count))]
        )
    replicas = [await db.create_pool(database_url) for _ in range(3)]
    try:
        indexed = await asyncio.gather(*(index_pending(replica) for replica in replicas))
    finally:
        await asyncio.gather(*(replica.close() for replica in replicas))
    assert sum(indexed) == count, indexed
    assert await pool.fetchval("SELECT count(*) FROM span_search") == count
    matching = await pool.fetchval("SELECT count(*) FROM span_search WHERE document @@ 'word3'::tsquery")
    assert matching == len([n for n in range(count) if n % 7 == 3])


async def test_the_indexer_keeps_to_its_rate(pool: asyncpg.Pool) -> None:
    count = 3 * BATCH_SIZE
    for first in range(0, count, 500):
        await insert_spans(pool, [make_span(n, input_preview=f"text {n}") for n in range(first, first + 500)])
    indexer = SearchIndexer(pool, max_per_s=4 * BATCH_SIZE)  # a quarter of a second a batch
    started = time.monotonic()
    assert await indexer.run_once() == count
    assert time.monotonic() - started >= 0.7, "three full batches, each followed by its quarter second"
    assert indexer.counters.indexed == count and indexer.counters.taken == count
    assert indexer.counters.backlog == 0


async def test_the_background_task_indexes_what_the_writer_queues_when_woken(pool: asyncpg.Pool) -> None:
    indexer = SearchIndexer(pool, interval_s=3600)
    indexer.start()
    try:
        await insert_spans(pool, [make_span(1, input_preview="late refund")])
        indexer.wake()  # as the app does after each write: no waiting for the interval
        deadline = time.monotonic() + 10
        while not await found(pool, "refund") and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert await found(pool, "refund") == {1}
    finally:
        await indexer.stop()
    assert indexer.counters.indexed == 1


async def test_retention_drops_the_words_and_the_queue_of_expired_months(pool: asyncpg.Pool) -> None:
    now = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    await maintain(pool, retention_days=None, now=now - timedelta(days=120))
    await maintain(pool, retention_days=None, now=now)
    old = [make_span(n, started_at=now - timedelta(days=100), input_preview=f"old {n}") for n in range(2)]
    await insert_spans(pool, old)
    await index_pending(pool)
    await insert_spans(pool, [make_span(5, started_at=now - timedelta(days=99), input_preview="queued old")])
    await insert_spans(pool, [make_span(9, started_at=now, input_preview="new")])
    async with pool.acquire() as connection:
        dropped = await drop_expired(connection, retention_days=30, now=now)
    assert any(name.startswith("span_search_p") for name in dropped), dropped
    assert await pool.fetchval("SELECT count(*) FROM span_search") == 0
    assert await pool.fetch("SELECT span_id FROM span_search_queue") == [(make_span(9).span_id,)]


async def test_migration_0013_moves_the_stored_words_with_their_transaction(postgres_url: str) -> None:
    from tests.harness import create_database

    url = await asyncio.to_thread(create_database, postgres_url, "migrate_search_0012")
    await asyncio.to_thread(db.migrate, url, "0012")
    connection = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        stored_xid = await connection.fetchval(
            "INSERT INTO spans (span_id, trace_id, project, kind, status, started_at, input_preview, search_document) "
            "VALUES ('00000000000000aa', 'ab', 'default', 'llm', 'ok', now(), 'Refund my order', "
            "'refund my order'::tsvector) RETURNING stored_xid"
        )
    finally:
        await connection.close()
    await asyncio.to_thread(db.migrate, url)
    migrated = await db.create_pool(url)
    try:
        row = await migrated.fetchrow("SELECT document::text, stored_xid FROM span_search")
        assert row is not None and row["document"] == "'my' 'order' 'refund'"
        assert row["stored_xid"] == stored_xid, "an online rule that scored the span does not score it again"
        assert await found(migrated, "refund ord") == {0xAA}
        columns = await migrated.fetchval(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'spans'::regclass AND attname = 'search_document'"
        )
        assert columns == 0
    finally:
        await migrated.close()


async def test_stopping_mid_batch_ends_quietly_and_leaves_the_batch_queued(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    await insert_spans(pool, [make_span(n, input_preview=f"refund {n}") for n in range(3)])
    indexer = SearchIndexer(pool, interval_s=60)
    async with pool.acquire() as blocker, blocker.transaction():
        # The indexer's batch waits on this lock: stopping cancels it mid-query.
        await blocker.execute("LOCK TABLE span_search IN ACCESS EXCLUSIVE MODE")
        indexer.start()
        indexer.wake()
        async with asyncio.timeout(10):
            while not await pool.fetchval("SELECT count(*) FROM pg_locks WHERE NOT granted"):
                await asyncio.sleep(0.01)
        await asyncio.wait_for(indexer.stop(), 10)
    assert "failed" not in caplog.text and indexer.counters.failures == 0
    assert await backlog(pool) == 3, "the interrupted batch was rolled back"
    assert await index_pending(pool) == 3


async def test_a_batch_reads_only_its_own_queue_rows_however_long_the_queue(database_url: str) -> None:
    """A batch deletes its rows by ctid: a plan that scans the queue to find them costs O(queue × batch).

    PostgreSQL caches a generic plan for the indexer's statement after a few batches, planned for the
    queue as it was then: nearly empty, when a seq scan looks cheapest. Without a guard, that plan stays
    when a burst queues thousands of spans, and each batch then compares every queued row with each of
    its 500 ctids (measured in bench.run: ~150 µs of PostgreSQL CPU per span instead of ~25).
    """
    indexer_pool = await db.create_pool(database_url, max_size=1)
    try:
        for n in range(8):  # past PostgreSQL's five custom plans: from here on, the generic plan
            await insert_spans(indexer_pool, [make_span(n, input_preview=f"warm {n}")])
            assert await index_batch(indexer_pool) == (1, 1)
        queued = 6 * BATCH_SIZE
        for first in range(100, 100 + queued, 500):
            await insert_spans(
                indexer_pool, [make_span(n, input_preview=f"burst {n}") for n in range(first, first + 500)]
            )
        before = await _queue_rows_read(indexer_pool)
        assert await index_batch(indexer_pool) == (BATCH_SIZE, BATCH_SIZE)
        read = await _queue_rows_read(indexer_pool) - before
    finally:
        await indexer_pool.close()
    # The batch's own scan for its rows reads BATCH_SIZE of them; the delete must not read the queue again.
    assert read <= BATCH_SIZE + 10, f"one batch read {read} queue rows with {queued} queued"


async def _queue_rows_read(pool: asyncpg.Pool) -> int:
    """Rows that scans of span_search_queue have read so far (this backend's pending counts flushed first)."""
    async with pool.acquire() as connection:
        await connection.execute("SELECT pg_stat_force_next_flush()")
        await connection.execute("SELECT 1")  # the flush happens as the backend goes idle after the previous one
        await connection.execute("SELECT pg_stat_clear_snapshot()")
        value = await connection.fetchval(
            "SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) FROM pg_stat_user_tables "
            "WHERE relname = 'span_search_queue'"
        )
    return int(value)


async def test_the_indexer_vacuums_the_queue_so_the_next_pick_skips_no_dead_rows(pool: asyncpg.Pool) -> None:
    count = 9 * BATCH_SIZE  # past the rows after which an indexer vacuums the queue
    for first in range(0, count, 500):
        await insert_spans(pool, [make_span(n, input_preview=f"text {n}") for n in range(first, first + 500)])
    assert await index_pending(pool) == count  # what the indexer did before: no vacuum
    left_dead = await _pages_a_pick_reads(pool)
    assert left_dead >= 20, "the deleted rows' pages, walked by every pick until a vacuum"

    for first in range(count, 2 * count, 500):
        await insert_spans(pool, [make_span(n, input_preview=f"text {n}") for n in range(first, first + 500)])
    indexer = SearchIndexer(pool)
    assert await indexer.run_once() == count
    assert indexer.counters.vacuums == 1, "once it had taken 4,096 rows (the ninth batch)"
    assert await _pages_a_pick_reads(pool) <= 1, f"a pick read {left_dead} pages before"


async def _pages_a_pick_reads(pool: asyncpg.Pool) -> int:
    """Pages the indexer's scan for a batch reads, with the queue empty (only dead rows, if any, are left)."""
    pick = "SELECT ctid FROM span_search_queue LIMIT 500"
    explained = await pool.fetchval(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {pick}")
    node = json.loads(explained)[0]["Plan"]
    return int(node["Shared Hit Blocks"]) + int(node["Shared Read Blocks"])


async def test_a_role_that_does_not_own_the_queue_leaves_it_to_autovacuum(
    pool: asyncpg.Pool, database_url: str
) -> None:
    assert await may_vacuum_queue(pool)
    await pool.execute("DROP ROLE IF EXISTS glassgate_app; CREATE ROLE glassgate_app LOGIN")
    try:
        app_pool = await asyncpg.create_pool(database_url, user="glassgate_app", min_size=1, max_size=1)
        try:
            assert not await may_vacuum_queue(app_pool), "its VACUUM would only log a warning each time"
        finally:
            await app_pool.close()
    finally:
        await pool.execute("DROP ROLE glassgate_app")
