"""Migration 0012: spans carry the transaction that stored them, and rules move from a time window to it."""

from __future__ import annotations

import asyncio

import asyncpg

from glassgate.storage import db, eval_rules
from tests.harness import create_database


async def test_an_upgrade_keeps_the_spans_the_old_window_had_not_scanned_yet(postgres_url: str) -> None:
    url = await asyncio.to_thread(create_database, postgres_url, "watermark_upgrade")
    await asyncio.to_thread(db.migrate, url, "0011")
    connection = await asyncpg.connect(url)
    try:
        await connection.execute(
            "INSERT INTO score_configs (config_id, name, kind) VALUES ('cfg', 'says', 'numeric');"
            "INSERT INTO evaluators (evaluator_id, name, evaluator_type, kind, config_id) "
            "VALUES ('ev', 'says', 'contains', 'code', 'cfg');"
            "INSERT INTO eval_rules (rule_id, name, evaluator_id, sampling_rate, scanned_until) "
            "VALUES ('rule', 'all', 'ev', 1, now() - interval '10 seconds')"
        )
        # Spans started 0..299 s ago; the old scan had looked at those that started before its window.
        await connection.execute(
            "INSERT INTO spans (span_id, trace_id, project, kind, status, started_at) "
            "SELECT 'span' || g, 't', 'default', 'llm', 'ok', now() - make_interval(secs => g) "
            "FROM generate_series(0, 299) AS g"
        )
    finally:
        await connection.close()

    await asyncio.to_thread(db.migrate, url)
    pool = await db.create_pool(url)
    try:
        added = await eval_rules.enqueue_new_spans(pool, max_attempts=5)
        # scanned_until - 120 s: the spans that started within the last ~130 s are looked at again.
        assert 125 <= added["rule"] <= 135, added
        assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {"rule": 0}
        await pool.execute(
            "INSERT INTO spans (span_id, trace_id, project, kind, status, started_at) "
            "VALUES ('after', 't', 'default', 'llm', 'ok', now() - interval '3 days')"
        )
        assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {"rule": 1}
        # Every partition, the default one included, has the index the scans read.
        partitions = await pool.fetch(
            "SELECT c.relname, EXISTS (SELECT 1 FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid "
            "WHERE i.indrelid = c.oid AND x.relname LIKE '%stored_xid%') AS indexed "
            "FROM pg_inherits JOIN pg_class c ON c.oid = inhrelid WHERE inhparent = 'spans'::regclass"
        )
        assert partitions and all(record["indexed"] for record in partitions), partitions
    finally:
        await pool.close()
