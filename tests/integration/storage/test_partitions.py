"""Monthly partitions on real PostgreSQL: created ahead, strays moved in, retention by dropping months."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg

from glassgate.storage import db, embeddings
from glassgate.storage.bodies import unpack
from glassgate.storage.partitions import drop_expired, ensure_months, existing_months, maintain, trim_minute_rollups
from glassgate.storage.spans import insert_spans
from tests.integration.storage.test_spans import make_span

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def month(year: int, number: int) -> datetime:
    return datetime(year, number, 1, tzinfo=UTC)


async def partition_of(pool: asyncpg.Pool, span_id: str) -> str:
    name: str = await pool.fetchval("SELECT tableoid::regclass::text FROM spans WHERE span_id = $1", span_id)
    return name


async def test_maintenance_creates_this_month_and_two_ahead_on_both_tables(pool: asyncpg.Pool) -> None:
    present = await maintain(pool, retention_days=None, now=NOW)
    assert {month(2026, 11), month(2026, 12), month(2027, 1)} <= present
    async with pool.acquire() as connection:
        assert await existing_months(connection, "span_bodies") >= {month(2027, 1)}
    await insert_spans(pool, [make_span(1, started_at=datetime(2027, 1, 31, 23, 59, tzinfo=UTC))])
    assert await partition_of(pool, f"{1:016x}") == "spans_p2027_01"


async def test_a_span_without_its_month_lands_in_default_and_moves_when_the_month_is_made(
    pool: asyncpg.Pool,
) -> None:
    old = datetime(2019, 5, 17, 8, 0, tzinfo=UTC)  # e.g. an OTLP span from an app's old buffer
    await insert_spans(pool, [make_span(1, started_at=old), make_span(2, started_at=old + timedelta(days=1))])
    assert await partition_of(pool, f"{1:016x}") == "spans_default"
    async with pool.acquire() as connection:
        keys = [(old, f"{1:016x}"), (old + timedelta(days=1), f"{2:016x}")]
        await embeddings.store(connection, "hashed-v1", keys, [[1.0] + [0.0] * 255] * 2)
        await ensure_months(connection, [old])
    assert await partition_of(pool, f"{1:016x}") == "spans_p2019_05"
    assert await pool.fetchval("SELECT count(*) FROM spans") == 2
    assert await pool.fetchval("SELECT count(*) FROM span_bodies_p2019_05") == 2, "bodies moved with their spans"
    assert await pool.fetchval("SELECT count(*) FROM span_embeddings_p2019_05") == 2, "embeddings too"
    index = await pool.fetchval(
        "SELECT indexdef FROM pg_indexes WHERE tablename = 'span_embeddings_p2019_05' AND indexdef LIKE '%hnsw%'"
    )
    assert index is not None, "the moved partition got its HNSW index when attached"
    await insert_spans(pool, [make_span(1, started_at=old)])
    assert await pool.fetchval("SELECT count(*) FROM spans") == 2, "the moved table still rejects duplicates"


async def test_retention_drops_whole_months_past_the_horizon(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        await ensure_months(connection, [month(2026, 8), month(2026, 9), month(2026, 10), month(2026, 11)])
    spans = [
        make_span(1, started_at=datetime(2026, 8, 20, tzinfo=UTC)),
        make_span(2, started_at=datetime(2026, 9, 30, tzinfo=UTC)),
        make_span(3, started_at=datetime(2026, 10, 2, tzinfo=UTC)),
        make_span(4, started_at=NOW),
        make_span(5, started_at=datetime(2018, 1, 1, tzinfo=UTC)),  # in the default partition
    ]
    await insert_spans(pool, spans)
    async with pool.acquire() as connection:
        keys = [(span.started_at, span.span_id) for span in spans]
        await embeddings.store(connection, "hashed-v1", keys, [[1.0] + [0.0] * 255] * len(keys))
        dropped = await drop_expired(connection, retention_days=45, now=NOW)  # horizon: 2026-10-13
    tables = ("spans", "span_bodies", "guardrail_findings", "span_embeddings", "span_search")
    assert set(dropped) == {f"{table}_p2026_{month:02d}" for table in tables for month in (8, 9)}
    remaining = {row[0] for row in await pool.fetch("SELECT span_id FROM spans")}
    assert remaining == {f"{3:016x}", f"{4:016x}"}, "October straddles the horizon, so it stays whole"
    embedded = {row[0] for row in await pool.fetch("SELECT span_id FROM span_embeddings")}
    assert embedded == remaining, "embeddings go with their spans"
    oldest = await pool.fetchval("SELECT min(bucket) FROM rollups_minute")
    assert oldest >= NOW - timedelta(days=45), "rollups past the horizon go too"
    assert await pool.fetchval("SELECT count(*) FROM span_bodies_default") == 0


async def test_replicas_maintaining_at_once_do_not_collide(pool: asyncpg.Pool) -> None:
    results = await asyncio.gather(*(maintain(pool, retention_days=30, now=NOW) for _ in range(4)))
    assert all(month(2027, 1) in present for present in results)


async def test_migration_keeps_the_spans_of_an_older_schema(postgres_url: str) -> None:
    from tests.harness import create_database

    url = await asyncio.to_thread(create_database, postgres_url, "migrate_from_0004")
    await asyncio.to_thread(db.migrate, url, "0004")
    connection = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        await connection.execute(
            "INSERT INTO spans (span_id, trace_id, project, kind, status, started_at, upstream, model, latency_ms, "
            "input_tokens, request_body, response_body) VALUES "
            "('00000000000000aa', 'ab', 'default', 'llm', 'ok', '2026-03-04T05:06:07Z', 'openai', 'gpt-4o', 120, "
            "7, '{\"messages\": []}', '{\"choices\": []}')"
        )
    finally:
        await connection.close()
    await asyncio.to_thread(db.migrate, url)
    migrated = await db.create_pool(url)
    try:
        row = await migrated.fetchrow(
            "SELECT s.tableoid::regclass::text AS part, s.input_tokens, b.request_body FROM spans s "
            "JOIN span_bodies b USING (span_id, started_at)"
        )
        assert row is not None and row["part"] == "spans_p2026_03" and row["input_tokens"] == 7
        assert unpack(row["request_body"]) == {"messages": []}, "bodies are carried over, compressed"
        rollup = await migrated.fetchrow("SELECT requests, latency_hist FROM rollups_hour")
        assert rollup is not None and rollup["requests"] == 1 and sum(rollup["latency_hist"]) == 1
    finally:
        await migrated.close()


async def test_downgrade_to_0004_and_back_keeps_spans_and_bodies(postgres_url: str) -> None:
    from alembic import command
    from alembic.config import Config

    from tests.harness import create_database

    url = await asyncio.to_thread(create_database, postgres_url, "downgrade_0005")
    await asyncio.to_thread(db.migrate, url)
    pool = await db.create_pool(url)
    try:
        await insert_spans(pool, [make_span(1, started_at=NOW, response_body={"text": "a\u0000b"})])
    finally:
        await pool.close()
    config = Config()
    config.set_main_option("script_location", str(db._MIGRATIONS))
    config.set_main_option("sqlalchemy.url", db.sqlalchemy_url(url))
    await asyncio.to_thread(command.downgrade, config, "0004")
    connection = await asyncpg.connect(db.asyncpg_dsn(url))
    try:
        old = await connection.fetchrow(
            "SELECT request_body::text AS request, response_body::text AS response FROM spans"
        )
        assert old is not None and "hi 1" in old["request"] and old["response"] == '{"text": "a\ufffdb"}'
    finally:
        await connection.close()
    await asyncio.to_thread(db.migrate, url)
    pool = await db.create_pool(url)
    try:
        assert await pool.fetchval("SELECT count(*) FROM span_bodies") == 1
    finally:
        await pool.close()


async def test_every_spans_partition_stores_rows_up_to_4_kb_uncompressed(pool: asyncpg.Pool) -> None:
    old = datetime(2019, 5, 17, 8, 0, tzinfo=UTC)
    await insert_spans(pool, [make_span(1, started_at=old)])  # a stray: its month is built apart, then attached
    await maintain(pool, retention_days=None, now=NOW)
    async with pool.acquire() as connection:
        await ensure_months(connection, [old])
    options = await pool.fetch(
        "SELECT child.relname, child.reloptions FROM pg_inherits JOIN pg_class child ON child.oid = inhrelid "
        "WHERE inhparent = 'spans'::regclass"
    )
    names = {row["relname"] for row in options}
    assert {"spans_default", "spans_p2019_05", "spans_p2027_01"} <= names
    assert all(row["reloptions"] == ["toast_tuple_target=4096"] for row in options), options
    bodies = await pool.fetchval("SELECT reloptions FROM pg_class WHERE relname = 'span_bodies_p2027_01'")
    assert bodies is None, "only the spans' rows"


async def test_every_partition_keeps_its_parents_statistics_targets(pool: asyncpg.Pool) -> None:
    old = datetime(2019, 5, 17, 8, 0, tzinfo=UTC)
    await insert_spans(pool, [make_span(1, started_at=old)])  # a stray: its month is built apart, then attached
    await maintain(pool, retention_days=None, now=NOW)  # months created after the migration
    async with pool.acquire() as connection:
        await ensure_months(connection, [old])
    targets = await pool.fetch(
        "SELECT parent.relname AS parent, child.relname AS child, a.attname, "
        "coalesce(pa.attstattarget, -1) AS wanted, coalesce(a.attstattarget, -1) AS held "
        "FROM pg_inherits JOIN pg_class parent ON parent.oid = inhparent JOIN pg_class child ON child.oid = inhrelid "
        "JOIN pg_attribute pa ON pa.attrelid = inhparent AND pa.attnum > 0 AND NOT pa.attisdropped "
        "JOIN pg_attribute a ON a.attrelid = inhrelid AND a.attname = pa.attname "
        "WHERE parent.relname IN ('spans', 'span_bodies', 'span_search', 'span_embeddings')"
    )
    children = {row["child"] for row in targets}
    assert {"spans_default", "spans_p2019_05", "spans_p2027_01", "span_search_p2027_01"} <= children
    assert [row for row in targets if row["wanted"] != row["held"]] == []
    parent = {(row["parent"], row["attname"]): row["wanted"] for row in targets}
    assert parent["spans", "model"] == parent["spans", "started_at"] == 20
    assert parent["spans", "input_preview"] == parent["span_bodies", "response_body"] == 0
    assert parent["span_search", "document"] == parent["span_embeddings", "embedding"] == 0


async def test_per_minute_rollups_are_trimmed_past_their_own_horizon(pool: asyncpg.Pool) -> None:
    # Two days of calls a minute apart, five weeks back and two days back, plus a stray year-old
    # minute: a gap of months between them must not cost one statement per hour.
    old = [NOW - timedelta(days=35) + timedelta(minutes=minute) for minute in range(0, 2 * 24 * 60, 7)]
    recent = [NOW - timedelta(days=2) + timedelta(minutes=minute) for minute in range(0, 2 * 24 * 60, 7)]
    stray = [NOW - timedelta(days=400)]
    spans = [make_span(number, started_at=moment) for number, moment in enumerate(stray + old + recent)]
    async with pool.acquire() as connection:
        await ensure_months(connection, sorted({month(moment.year, moment.month) for moment in stray + old + recent}))
    await insert_spans(pool, spans)
    hourly_before = await pool.fetchval("SELECT sum(requests) FROM rollups_hour")
    async with pool.acquire() as connection:
        removed = await trim_minute_rollups(connection, minute_rollup_days=14, now=NOW)
    assert removed == len(stray) + len(old)
    minutes = await pool.fetch("SELECT bucket FROM rollups_minute ORDER BY bucket")
    assert [row["bucket"] for row in minutes] == recent
    assert await pool.fetchval("SELECT sum(requests) FROM rollups_hour") == hourly_before == len(spans)
    assert await pool.fetchval("SELECT sum(requests) FROM rollups_day") == len(spans)
    async with pool.acquire() as connection:
        assert await trim_minute_rollups(connection, minute_rollup_days=14, now=NOW) == 0


async def test_maintenance_trims_per_minute_rollups_only_when_asked(pool: asyncpg.Pool) -> None:
    moment = NOW - timedelta(days=20)
    async with pool.acquire() as connection:
        await ensure_months(connection, [month(moment.year, moment.month)])
    await insert_spans(pool, [make_span(1, started_at=moment)])
    await maintain(pool, retention_days=None, now=NOW)
    assert await pool.fetchval("SELECT count(*) FROM rollups_minute") == 1
    await maintain(pool, retention_days=None, now=NOW, minute_rollup_days=30)
    assert await pool.fetchval("SELECT count(*) FROM rollups_minute") == 1
    await maintain(pool, retention_days=None, now=NOW, minute_rollup_days=14)
    assert await pool.fetchval("SELECT count(*) FROM rollups_minute") == 0
    assert await pool.fetchval("SELECT count(*) FROM rollups_hour") == 1
