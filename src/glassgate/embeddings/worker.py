"""The background embedder: finds spans without an embedding and stores theirs, batch by batch.

It never touches the proxy's hot path: it reads spans the writer has already stored. Every
`interval_s` it walks the spans newest first (storage.embeddings.pending, bounded pages) and
embeds those missing a vector, one transaction per batch:

    recent walk   each tick, the spans started since the previous tick less `late_s` (2 minutes:
                  calls still running then, spans the writer flushed late)
    full walk     the first tick and then every `full_walk_s` (an hour): the whole history
                  (calls that ran longer than `late_s`, spans from a spill replay, OTLP spans
                  from the past, spans of a previous embedder)

The recent walk reads every span of its window (in pages of `scan`), so its cost grows with
the traffic of the last `late_s` seconds, not with the size of the store.

Replicas: each batch takes a transaction-scoped advisory lock, so one replica embeds at a
time and two replicas never pay an embeddings upstream for the same span; a replica that
finds the lock taken waits for its next tick. The upsert is idempotent besides, so the API's on-demand
embedding can race with the worker harmlessly.

Rate: at most `max_per_s` spans a second (config `embeddings.max_per_s`), so under heavy
traffic embedding costs a fixed small share of a core rather than competing with the proxy.

Failures: a database outage or an embeddings service that keeps failing ends the tick with a
warning and a growing pause (up to 5 minutes); texts the service refuses (a guardrail block,
too long) are set aside for the life of the process, not retried each tick.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import TracebackType

import asyncpg

from glassgate.background import cancel, tick_forever
from glassgate.embeddings.base import Embedder, EmbeddingRejected
from glassgate.errors import UpstreamError
from glassgate.storage import db
from glassgate.storage import embeddings as store
from glassgate.storage.embeddings import Key, PendingSpan

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 300.0
MAX_SET_ASIDE = 100_000


@dataclass
class WorkerCounters:
    embedded: int = 0  # vectors stored
    rejected: int = 0  # texts the embeddings service refused (set aside)
    failures: int = 0  # ticks ended by a database or embeddings failure
    ticks: int = 0


class EmbeddingWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        embedder: Embedder,
        *,
        batch_size: int = 64,
        interval_s: float = 5.0,
        scan: int = 4096,
        late_s: float = 120.0,
        full_walk_s: float = 3600.0,
        max_per_s: float | None = None,
    ) -> None:
        self._pool = pool
        self._embedder = embedder
        self._batch_size = batch_size
        self._interval_s = interval_s
        self._scan = scan
        self._late = timedelta(seconds=late_s)
        self._full_walk_s = full_walk_s
        self._max_per_s = max_per_s
        self._recent_since: datetime | None = None  # None: the next walk covers everything
        self._last_full_walk = -float("inf")
        self._set_aside: set[Key] = set()
        self._task: asyncio.Task[None] | None = None
        self.counters = WorkerCounters()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="glassgate-embeddings")

    async def stop(self) -> None:
        """Stop between batches (a batch in flight is abandoned, its transaction rolled back); close the embedder."""
        await cancel(self._task)
        self._task = None
        await self._embedder.close()

    async def __aenter__(self) -> EmbeddingWorker:
        self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    async def _run(self) -> None:
        await tick_forever(
            self.run_once,
            doing="embedding spans",
            interval_s=self._interval_s,
            max_backoff_s=MAX_BACKOFF_S,
            expected=(*db.UNAVAILABLE, UpstreamError),
            on_failure=self._failed,
        )

    def _failed(self) -> None:
        self.counters.failures += 1

    async def run_once(self) -> int:
        """One tick: walk the recent spans (or all of them when a full walk is due); returns vectors stored."""
        self.counters.ticks += 1
        started = datetime.now(UTC)
        full = time.monotonic() - self._last_full_walk >= self._full_walk_s
        since = None if full or self._recent_since is None else self._recent_since
        stored, below = 0, None
        while True:
            batch_started = time.monotonic()
            outcome = await self._step(below, since)
            if outcome is None:  # another replica is embedding: it will cover this walk
                return stored
            count, below = outcome
            stored += count
            if below is None:
                break
            if self._max_per_s and count:
                # The rate cap: a busy proxy's spans are embedded at a fixed cost per second,
                # never with a core of their own; the backlog waits for quieter times.
                await asyncio.sleep(max(0.0, count / self._max_per_s - (time.monotonic() - batch_started)))
        if since is None:
            self._last_full_walk = time.monotonic()
        self._recent_since = started - self._late
        return stored

    async def _step(self, below: Key | None, since: datetime | None) -> tuple[int, Key | None] | None:
        """Embed one batch under the lock; returns (stored, where to continue) or None if the lock is taken."""
        async with self._pool.acquire() as connection, connection.transaction():
            if not await store.try_work_lock(connection):
                return None
            page = await store.pending(
                connection, self._embedder.name, below=below, since=since, scan=self._scan, limit=self._batch_size
            )
            todo = [span for span in page.spans if (span.started_at, span.span_id) not in self._set_aside]
            if not todo:
                return 0, page.next_key
            keys, vectors = await self._embed(todo)
            stored = await store.store(connection, self._embedder.name, keys, vectors) if keys else 0
        self.counters.embedded += stored
        return stored, page.next_key

    async def _embed(self, spans: list[PendingSpan]) -> tuple[list[Key], list[list[float]]]:
        """Vectors for the batch; if the service refuses the batch, each text alone, setting refused ones aside."""
        try:
            vectors = await self._embedder.embed([span.text for span in spans])
            return [(span.started_at, span.span_id) for span in spans], vectors
        except EmbeddingRejected:
            if len(spans) == 1:
                self._set_aside_span(spans[0])
                return [], []
        keys: list[Key] = []
        vectors = []
        for span in spans:
            try:
                [vector] = await self._embedder.embed([span.text])
            except EmbeddingRejected as exc:
                log.info("span %s set aside: its text was refused (%s)", span.span_id, exc)
                self._set_aside_span(span)
                continue
            keys.append((span.started_at, span.span_id))
            vectors.append(vector)
        return keys, vectors

    def _set_aside_span(self, span: PendingSpan) -> None:
        self.counters.rejected += 1
        if len(self._set_aside) < MAX_SET_ASIDE:
            self._set_aside.add((span.started_at, span.span_id))
