"""The search indexer: stores the words of newly stored spans, behind the writer (migration 0013).

The writer queues each new span with text in `span_search_queue`, in the transaction that
stores it. After each of this replica's writes (`wake`), and every `interval_s` for the spans
other replicas stored, the indexer takes queued spans in batches, oldest first, cuts
their previews into words (storage.search) and stores one `span_search` row per span, under
the full-text index. Each batch is one transaction: the queue rows are deleted as the
documents are stored, so a crash or a database outage mid-batch leaves them queued, and a
span is indexed once (`ON CONFLICT DO NOTHING` besides, should a span be queued twice).

Replicas share the queue: a batch takes its rows `FOR UPDATE SKIP LOCKED`, so any number of
indexers work side by side on different spans.

Rate: at most `max_per_s` spans a second per replica. Indexing costs as much as storing the
rest of the span, or more (PostgreSQL: ~40 µs for a short call, ~150 µs for 1.5 KB of prose
each way, mostly the GIN entries; plus the cutting here), so under a burst that saturates the
machine the writer keeps its CPU and the search catches up in the quieter seconds after;
`glassgate_search_backlog` in /metrics says how far behind it is.
The words are cut on the event loop in slices of `_SLICE` spans (~3 ms), so proxied calls
never wait behind a whole batch.

The queue's dead rows: each batch's rows are deleted, and the scan that picks the next batch
starts at the table's first page, so it walks every row deleted since the last vacuum.
Autovacuum comes round once a minute at best (`autovacuum_naptime`, server-wide): at 750
calls/s that is up to ~45,000 dead rows, ~1 ms per pick, and batches are small at such rates
(one per writer flush), so the walk was a sixth of the indexer's PostgreSQL time per span.
Each indexer therefore vacuums the queue itself after every `_VACUUM_AFTER_ROWS` rows it took:
a few pages, a millisecond or two, skipped if another replica's or autovacuum's vacuum holds
the table (SKIP_LOCKED). Inserts and deletes go on meanwhile; only cutting empty pages off
the end takes the table alone, for an instant, and only when no one holds it (PostgreSQL
tries and gives up otherwise). A role that does not own the queue (migrations run by another
role) leaves it to autovacuum.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import datetime

import asyncpg

from glassgate.background import cancel, tick_forever
from glassgate.storage import db, search

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 60.0
BATCH_SIZE = 500
_SLICE = 50
_BACKLOG_EVERY_S = 5.0  # counting the queue reads all of it: not after every batch
_BACKLOG_CAP = 1_000_000
_VACUUM_AFTER_ROWS = 4096

_TAKE = (
    "WITH taken AS (DELETE FROM span_search_queue WHERE ctid = ANY (ARRAY("
    "SELECT ctid FROM span_search_queue LIMIT $1 FOR UPDATE SKIP LOCKED)) RETURNING span_id, started_at) "
    # A span dropped by retention since it was queued has no row left: nothing to index.
    "SELECT s.span_id, s.started_at, s.input_preview, s.output_preview FROM taken t "
    "JOIN spans s ON s.span_id = t.span_id AND s.started_at = t.started_at"
)
# The delete finds its rows by ctid, which only a TID scan does in O(batch). PostgreSQL caches
# a generic plan for the statement after five batches, costed for the queue as it was then:
# mostly nearly empty, where a seq scan looks cheaper. That plan then stays through a burst,
# and a seq scan compares every queued row with each of the batch's ctids: O(queue × batch),
# measured in bench.run at ~150 µs of PostgreSQL CPU per span instead of ~25. With seq scans
# off for the batch's transaction the delete always plans as a TID scan; the scan that picks
# the rows has no other path and stays a seq scan that stops at `limit` rows.
_TID_SCAN_ONLY = "SET LOCAL enable_seqscan = off"
_STORE = (
    "INSERT INTO span_search (span_id, started_at, document) "
    "SELECT u.span_id, u.started_at, u.document::tsvector FROM unnest($1::text[], $2::timestamptz[], $3::text[]) "
    "AS u(span_id, started_at, document) ON CONFLICT (span_id, started_at) DO NOTHING"
)


@dataclass
class IndexerCounters:
    indexed: int = 0  # documents stored
    taken: int = 0  # queue rows taken (spans without words among them)
    failures: int = 0  # ticks ended by a database failure
    backlog: int = 0  # queued spans, as last counted (up to _BACKLOG_CAP)
    vacuums: int = 0  # of the queue, by this indexer


async def index_batch(pool: asyncpg.Pool, limit: int = BATCH_SIZE) -> tuple[int, int]:
    """Index up to `limit` queued spans in one transaction; returns (taken from the queue, documents stored)."""
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute(_TID_SCAN_ONLY)
        rows = await connection.fetch(_TAKE, limit)
        ids: list[str] = []
        started: list[datetime] = []
        documents: list[str] = []
        for first in range(0, len(rows), _SLICE):
            if first:
                await asyncio.sleep(0)  # let proxied calls through between slices
            for row in rows[first : first + _SLICE]:
                document = search.document(row["input_preview"], row["output_preview"])
                if document is not None:
                    ids.append(row["span_id"])
                    started.append(row["started_at"])
                    documents.append(document)
        if ids:
            await connection.execute(_STORE, ids, started, documents)
    return len(rows), len(ids)


async def index_pending(pool: asyncpg.Pool) -> int:
    """Index every queued span now, whatever the rate (tests, benchmarks); returns documents stored."""
    stored = 0
    while True:
        taken, indexed = await index_batch(pool)
        stored += indexed
        if taken < BATCH_SIZE:
            return stored


async def vacuum_queue(pool: asyncpg.Pool) -> None:
    """Reclaim the queue rows deleted so far (see the module's docstring); not inside a transaction."""
    await pool.execute("VACUUM (SKIP_LOCKED) span_search_queue")


async def may_vacuum_queue(pool: asyncpg.Pool) -> bool:
    """Whether this role owns the queue (or is a superuser): another role's VACUUM only logs a warning."""
    owns: bool = await pool.fetchval(
        "SELECT pg_has_role(current_user, relowner, 'USAGE') FROM pg_class WHERE oid = 'span_search_queue'::regclass"
    )
    return owns


async def backlog(pool: asyncpg.Pool) -> int:
    """Spans waiting in the queue, counted up to _BACKLOG_CAP."""
    count = await pool.fetchval(f"SELECT count(*) FROM (SELECT 1 FROM span_search_queue LIMIT {_BACKLOG_CAP}) AS q")
    return int(count)


class SearchIndexer:
    def __init__(self, pool: asyncpg.Pool, *, interval_s: float = 0.5, max_per_s: float | None = None) -> None:
        self._pool = pool
        self._interval_s = interval_s
        self._max_per_s = max_per_s
        self._last_count = -float("inf")
        self._taken_since_vacuum = 0
        self._may_vacuum: bool | None = None  # asked at the first vacuum; False: autovacuum's job alone
        self._woken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.counters = IndexerCounters()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="glassgate-search-indexer")

    def wake(self) -> None:
        """Spans were just queued: index them now rather than at the next interval."""
        self._woken.set()

    async def stop(self) -> None:
        """Stop between batches (a batch in flight is rolled back: its spans stay queued)."""
        await cancel(self._task)
        self._task = None

    async def _run(self) -> None:
        await tick_forever(
            self.run_once,
            doing="indexing spans for search",
            interval_s=self._interval_s,
            max_backoff_s=MAX_BACKOFF_S,
            expected=db.UNAVAILABLE,
            on_failure=self._failed,
            wake=self._woken,
        )

    def _failed(self) -> None:
        self.counters.failures += 1

    async def run_once(self) -> int:
        """Index queued spans until the queue is empty, at most `max_per_s` a second; returns documents stored."""
        stored = 0
        while True:
            batch_started = time.monotonic()
            taken, indexed = await index_batch(self._pool)
            self.counters.taken += taken
            self.counters.indexed += indexed
            stored += indexed
            self._taken_since_vacuum += taken
            if self._taken_since_vacuum >= _VACUUM_AFTER_ROWS:
                await self._vacuum()
            if taken == BATCH_SIZE:
                await self._count_backlog()
            if self._max_per_s:
                # The rate cap: under a burst, the writer keeps the CPU and the search lags behind.
                await asyncio.sleep(max(0.0, taken / self._max_per_s - (time.monotonic() - batch_started)))
            if taken < BATCH_SIZE:
                self.counters.backlog = 0
                return stored

    async def _vacuum(self) -> None:
        self._taken_since_vacuum = 0
        if self._may_vacuum is None:
            self._may_vacuum = await may_vacuum_queue(self._pool)
            if not self._may_vacuum:
                log.info("span_search_queue is left to autovacuum: this database role does not own it")
        if self._may_vacuum:
            await vacuum_queue(self._pool)
            self.counters.vacuums += 1

    async def _count_backlog(self) -> None:
        if time.monotonic() - self._last_count >= _BACKLOG_EVERY_S:
            self._last_count = time.monotonic()
            self.counters.backlog = await backlog(self._pool)
