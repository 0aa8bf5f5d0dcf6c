"""The maintenance task: it runs at start, and an unreachable database never ends it."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import asyncpg
import pytest

from glassgate.storage import db
from glassgate.storage.partitions import Maintainer, existing_months, month_start, next_month, partition_name


async def test_runs_at_start_and_keeps_trying_while_the_database_is_away(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    unreachable = await asyncpg.create_pool("postgresql://nobody@127.0.0.1:1/none", min_size=0, max_size=1, timeout=1)
    failing = Maintainer(unreachable, retention_days=None, interval_s=0.05)
    with caplog.at_level(logging.WARNING):
        failing.start()
        await asyncio.sleep(0.5)
        assert failing._task is not None and not failing._task.done(), "a failed run does not end the task"
        await failing.stop()
    assert "partition maintenance failed" in caplog.text
    await unreachable.close()

    pool = await db.create_pool(database_url)
    try:
        following = next_month(next_month(month_start(datetime.now(UTC))))
        async with pool.acquire() as connection:
            for table in ("spans", "span_bodies"):
                await connection.execute(f"DROP TABLE {partition_name(table, following)}")
            assert following not in await existing_months(connection)
        maintainer = Maintainer(pool, retention_days=None)
        maintainer.start()
        async with asyncio.timeout(10):
            while True:
                async with pool.acquire() as connection:
                    if following in await existing_months(connection, "span_bodies"):
                        break
                await asyncio.sleep(0.05)
        await maintainer.stop()
    finally:
        await pool.close()
