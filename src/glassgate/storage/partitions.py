"""Monthly partitions of `spans` and `span_bodies`: created ahead, dropped for retention.

Retention drops whole months (instant, no bloat, no vacuum debt) instead of DELETE-ing rows.
A DEFAULT partition catches any span whose month has no partition yet (a clock far off, an
OTLP span from long ago, a race with a drop), so an insert never fails for want of one;
when that month's partition is created later, the rows are moved into it.

The per-minute rollups have a shorter life of their own (`minute_rollup_days`): a row per
minute × project × upstream × model grows nearly as fast as the spans (a 1M-span month made
730k rows, 563 MB), while charts of older ranges read hourly and daily rows. They are trimmed
an hour of buckets per statement, oldest first: each DELETE is a short range of the primary
key, and the space it frees is reused by the next hours' rows after autovacuum.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

import asyncpg

from glassgate.background import being_cancelled, cancel
from glassgate.storage import rollups

log = logging.getLogger(__name__)

PARTITIONED_TABLES = ("spans", "span_bodies", "guardrail_findings", "span_embeddings", "span_search")
# Storage parameters of each new partition (a partitioned table holds none of its own): span
# rows up to 4 KB are stored without a compression attempt (migration 0014 says why).
_PARTITION_OPTIONS = {"spans": " WITH (toast_tuple_target = 4096)"}
MONTHS_AHEAD = 2
# Any constant, the same in every replica: one maintainer at a time.
_MAINTENANCE_LOCK_KEY = 0x676C61737370  # "glassp"
_MINUTE_TRIM_STEP = timedelta(hours=1)  # the buckets one DELETE of per-minute rollups removes, at most


def month_start(moment: datetime) -> datetime:
    moment = moment.astimezone(UTC)
    return datetime(moment.year, moment.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def partition_name(table: str, start: datetime) -> str:
    return f"{table}_p{start:%Y_%m}"


def _parse_partition_month(table: str, name: str) -> datetime | None:
    prefix = f"{table}_p"
    if not name.startswith(prefix):
        return None
    try:
        return datetime.strptime(name[len(prefix) :], "%Y_%m").replace(tzinfo=UTC)
    except ValueError:
        return None


async def existing_months(connection: asyncpg.Connection, table: str = "spans") -> set[datetime]:
    rows = await connection.fetch(
        "SELECT child.relname FROM pg_inherits JOIN pg_class parent ON parent.oid = inhparent "
        "JOIN pg_class child ON child.oid = inhrelid WHERE parent.relname = $1",
        table,
    )
    months = (_parse_partition_month(table, row["relname"]) for row in rows)
    return {month for month in months if month is not None}


async def ensure_months(connection: asyncpg.Connection, months: Iterable[datetime]) -> set[datetime]:
    """Create the monthly partitions of both tables for `months`; returns the months now present."""
    wanted = {month_start(month) for month in months}
    async with connection.transaction():
        # Serialise with other replicas and with retention; DDL on one parent at a time.
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _MAINTENANCE_LOCK_KEY)
        present = await existing_months(connection)
        for start in sorted(wanted - present):
            for table in PARTITIONED_TABLES:
                await _create_partition(connection, table, start)
        return present | wanted


async def _create_partition(connection: asyncpg.Connection, table: str, start: datetime) -> None:
    end = next_month(start)
    name = partition_name(table, start)
    options = _PARTITION_OPTIONS.get(table, "")
    stray = await connection.fetchval(
        f"SELECT count(*) FROM {table}_default WHERE started_at >= $1 AND started_at < $2", start, end
    )
    if not stray:
        await connection.execute(
            f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF {table} FOR VALUES FROM ('{start.isoformat()}') "
            f"TO ('{end.isoformat()}'){options}"
        )
        await _copy_statistics_targets(connection, table, name)
        return
    # Rows of this month already sit in the default partition: PostgreSQL refuses to create a
    # partition that would contradict them, so build the table apart, move them, then attach.
    await connection.execute(
        f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING GENERATED){options}"
    )
    await _copy_statistics_targets(connection, table, name)
    columns = ", ".join(
        row["attname"]
        for row in await connection.fetch(
            "SELECT attname FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum",
            table,
        )
    )  # generated columns are computed again, never copied
    await connection.execute(
        f"WITH moved AS (DELETE FROM {table}_default WHERE started_at >= $1 AND started_at < $2 RETURNING *) "
        f"INSERT INTO {name} ({columns}) SELECT {columns} FROM moved",
        start,
        end,
    )
    await connection.execute(
        f"ALTER TABLE {table} ATTACH PARTITION {name} FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )
    log.info("moved %d rows of %s from %s_default into %s", stray, start.strftime("%Y-%m"), table, name)


async def _copy_statistics_targets(connection: asyncpg.Connection, table: str, partition: str) -> None:
    """Give a new partition its parent's per-column statistics targets (migration 0016 says why).

    PostgreSQL applies an ALTER of the parent's targets to the partitions that exist, but a
    partition created afterwards starts with the defaults.
    """
    targets = await connection.fetch(
        # attstattarget: -1 (PostgreSQL 16) or NULL (17 and later) when the column has the default.
        "SELECT attname, attstattarget FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 "
        "AND NOT attisdropped AND attstattarget >= 0",
        table,
    )
    if targets:
        alterations = ", ".join(
            f'ALTER COLUMN "{row["attname"]}" SET STATISTICS {row["attstattarget"]}' for row in targets
        )
        await connection.execute(f"ALTER TABLE {partition} {alterations}")


async def drop_expired(connection: asyncpg.Connection, retention_days: int, now: datetime) -> list[str]:
    """Drop every month that ended before the retention horizon; returns the dropped tables."""
    horizon = now - timedelta(days=retention_days)
    dropped: list[str] = []
    async with connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _MAINTENANCE_LOCK_KEY)
        for table in PARTITIONED_TABLES:
            for start in sorted(await existing_months(connection, table)):
                if next_month(start) <= horizon:
                    name = partition_name(table, start)
                    await connection.execute(f"DROP TABLE {name}")
                    dropped.append(name)
            # The default partition holds few rows; those past the horizon are deleted.
            await connection.execute(f"DELETE FROM {table}_default WHERE started_at < $1", horizon)
        for table in rollups.TABLES.values():
            await connection.execute(f"DELETE FROM {table} WHERE bucket < $1", horizon)
        # Spans of the dropped months still waiting for the search indexer have nothing left to index.
        await connection.execute("DELETE FROM span_search_queue WHERE started_at < $1", horizon)
    if dropped:
        log.info("retention (%d days): dropped %s", retention_days, ", ".join(dropped))
    return dropped


async def trim_minute_rollups(connection: asyncpg.Connection, minute_rollup_days: int, now: datetime) -> int:
    """Delete the per-minute rollups older than `minute_rollup_days`, an hour of buckets at a time; returns rows."""
    table = rollups.TABLES["minute"]
    horizon = now - timedelta(days=minute_rollup_days)
    removed = 0
    # Each step looks for the oldest bucket past the previous step's range, never from the
    # start of the index again, which would walk the entries of every row deleted so far (they
    # stay until vacuumed); and a gap of months costs one step, not one per hour.
    oldest = f"SELECT min(bucket) FROM {table} WHERE bucket >= $1"
    start: datetime | None = await connection.fetchval(oldest, datetime.min.replace(tzinfo=UTC))
    while start is not None and start < horizon:
        end = min(horizon, start + _MINUTE_TRIM_STEP)
        status: str = await connection.execute(f"DELETE FROM {table} WHERE bucket >= $1 AND bucket < $2", start, end)
        removed += int(status.rsplit(" ", 1)[-1])
        start = await connection.fetchval(oldest, end)
    return removed


async def maintain(
    pool: asyncpg.Pool,
    retention_days: int | None,
    now: datetime | None = None,
    minute_rollup_days: int | None = None,
) -> set[datetime]:
    """Create this month's and the next months' partitions; apply retention. Safe on every replica."""
    now = now or datetime.now(UTC)
    months = [month_start(now)]
    for _ in range(MONTHS_AHEAD):
        months.append(next_month(months[-1]))
    async with pool.acquire() as connection:
        present = await ensure_months(connection, months)
        if retention_days is not None:
            dropped = await drop_expired(connection, retention_days, now)
            present -= {_parse_partition_month("spans", name) for name in dropped}
        if minute_rollup_days is not None:
            removed = await trim_minute_rollups(connection, minute_rollup_days, now)
            if removed:
                log.info("per-minute rollups (%d days): deleted %d rows", minute_rollup_days, removed)
    return present


class Maintainer:
    """Runs `maintain` at start and then hourly (every few minutes while it fails)."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        retention_days: int | None,
        interval_s: float = 3600.0,
        minute_rollup_days: int | None = None,
    ) -> None:
        self._pool = pool
        self._retention_days = retention_days
        self._minute_rollup_days = minute_rollup_days
        self._interval_s = interval_s
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="glassgate-partition-maintenance")

    async def stop(self) -> None:
        await cancel(self._task)

    async def _run(self) -> None:
        while True:
            delay = self._interval_s
            try:
                await maintain(self._pool, self._retention_days, minute_rollup_days=self._minute_rollup_days)
            except Exception as exc:  # whatever failed, the next run must still happen
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                # The database being away must not stop the proxy; spans land in the default
                # partition or the spill meanwhile, and the next run catches up.
                log.warning("partition maintenance failed (%s: %s); retrying in 5 minutes", type(exc).__name__, exc)
                delay = min(delay, 300.0)
            await asyncio.sleep(delay)
