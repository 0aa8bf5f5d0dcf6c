"""A bounded queue of finished exchanges and the task that writes them to PostgreSQL in batches.

`submit` never blocks and never raises: when the queue is full (by count or by bytes) the
exchange is dropped and counted, so a slow or absent database can never grow memory without
bound or slow a client down. While the database is down the writer keeps its batch and
retries with backoff; on shutdown it drains what is queued within a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from glassgate.config import TracingSettings
from glassgate.guardrails.engine import GuardrailEngine
from glassgate.proxy.exchange import Exchange
from glassgate.tracing.capture import build_span, fallback_span
from glassgate.tracing.span import Span
from glassgate.tracing.spill import SpillStore
from glassgate.tracing.tokens import TokenizerNotLoaded, get_encoding

log = logging.getLogger(__name__)

SpanInserter = Callable[[Sequence[Span]], Awaitable[None]]
SpanObserver = Callable[[Span], None]
# Optional CPU work on a finished batch (encoding it for the database), run while the
# previous batch is being written; returns the spans to pass to the inserter. A coroutine
# that yields to the event loop after each slice of the given number of spans.
BatchPreparer = Callable[[list[Span], int], Awaitable[Sequence[Span]]]
_MAX_BACKOFF_S = 5.0


@dataclass(frozen=True)
class _Slices:
    """Spans built, and spans encoded, between two yields to the proxy's event loop."""

    build: int
    encode: int


# Capture is CPU work on the proxy's event loop, and each yield lets the calls in flight
# advance one step (a read, a write): small slices keep a call from waiting behind the
# writer for more than a fraction of a millisecond. They also give the writer a smaller
# share of the loop, so when it falls behind (a full batch queued when it takes one), it
# works in larger slices: a queue that overflows loses spans, a slower call loses nothing.
# Measured at one connection (~2,400 calls/s, with the batches of the flush interval): slices
# of 4 and 16 kept latency p90 at 1.8-2.2 ms, where 16 and the whole batch gave 2.2-4.2 ms;
# at 32 connections the small slices alone left the writer behind until the queue overflowed.
_SLICES = _Slices(build=4, encode=16)
_SLICES_BEHIND = _Slices(build=16, encode=64)


@dataclass
class WriterCounters:
    queued: int = 0
    written: int = 0
    dropped: int = 0
    capture_failed: int = 0
    write_failures: int = 0
    spilled: int = 0
    replayed: int = 0


class SpanWriter:
    """Lifecycle: `start()`, `submit()` from the proxy, `stop()` drains and flushes."""

    def __init__(
        self,
        insert: SpanInserter,
        settings: TracingSettings,
        max_queued_bytes: int = 256 * 1024 * 1024,
        observe: SpanObserver | None = None,
        spill: SpillStore | None = None,
        prepare: BatchPreparer | None = None,
        guardrails: GuardrailEngine | None = None,
    ):
        self._guardrails = guardrails
        self._insert = insert
        self._prepare = prepare
        self._observe = observe
        self._spill = spill
        self._backoff = 0.1
        self._next_retry = 0.0
        self._failures_while_stopping = 0
        self._batch_size = settings.batch_size
        self._estimate_tokens = settings.estimate_tokens
        self._interval = settings.flush_interval_ms / 1000.0
        self._max_items = settings.queue_size
        self._max_bytes = max_queued_bytes
        self._queue: deque[Exchange] = deque()
        self._queued_bytes = 0
        self._wakeup = asyncio.Event()
        self._last_take = -float("inf")  # when the last batch was taken off the queue
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._last_drop_log = 0.0
        self.counters = WriterCounters()

    @property
    def depth(self) -> int:
        return len(self._queue)

    def submit(self, exchange: Exchange) -> None:
        size = exchange.captured_bytes + len(exchange.request_body)
        if len(self._queue) >= self._max_items or self._queued_bytes + size > self._max_bytes:
            self.counters.dropped += 1
            now = time.monotonic()
            if now - self._last_drop_log > 10:
                self._last_drop_log = now
                log.warning("trace queue full (%d calls): dropped %d so far", len(self._queue), self.counters.dropped)
            return
        self._queue.append(exchange)
        self._queued_bytes += size
        self.counters.queued += 1
        if len(self._queue) >= self._batch_size:
            self._wakeup.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="glassgate-span-writer")

    async def stop(self, timeout_s: float = 15.0) -> None:
        """Flush everything queued (within `timeout_s`), then end the task."""
        self._stopping = True
        self._wakeup.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout_s)
        except TimeoutError:
            log.error("span writer did not drain in %.0fs; %d calls not written", timeout_s, len(self._queue))
            self._task.cancel()

    async def _run(self) -> None:
        # One batch is written while the next is built: PostgreSQL's work on one and the
        # capture of the other then run on separate cores. Writes stay one at a time, in order.
        in_flight: asyncio.Task[bool] | None = None
        try:
            while True:
                if not self._queue:
                    if in_flight is not None:
                        written, in_flight = await in_flight, None
                        if not written:
                            return
                        continue
                    if self._spill is not None and self._spill.has_pending():
                        await self._replay()
                    if self._stopping:
                        return
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), self._interval)
                    self._wakeup.clear()
                    continue
                linger = self._linger_left()
                if linger > 0:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wakeup.wait(), linger)
                    self._wakeup.clear()
                    continue
                self._last_take = time.monotonic()
                slices = _SLICES_BEHIND if len(self._queue) >= self._batch_size else _SLICES
                built = await self._take_batch(slices.build)
                batch = await self._prepare(built, slices.encode) if built and self._prepare is not None else built
                if in_flight is not None:
                    written, in_flight = await in_flight, None
                    if not written:
                        return
                if batch:
                    in_flight = asyncio.create_task(self._write(batch))
                    await asyncio.sleep(0)  # let it send its statement before the next batch is built
        finally:
            if in_flight is not None and not in_flight.done():
                in_flight.cancel()

    def _linger_left(self) -> float:
        """Seconds to wait for more spans before taking a partial batch; 0 when it is time.

        Under steady traffic the queue is never empty, and taking whatever is there at once
        writes a batch per few calls. What a batch costs PostgreSQL is mostly per batch (the
        statement, its commit, the rollup rows it updates): stored by 5, the benchmark's short
        calls cost 214 µs of database CPU each; by 20, 95 µs; by 100, 57 µs; by 500, 54 µs.
        So a partial batch is taken at most once per flush interval; a full batch goes at once,
        and so does the first call after a quiet interval. The search indexer, woken after each
        write, pays per batch too: at 750 calls/s, a 200 ms interval (150 spans a batch) instead
        of 50 ms (37) took the writer's PostgreSQL time per span from 75-83 to 49-58 µs, the
        indexer's from 29-33 to 17-19, and the process's own from 397 to 361.
        """
        if self._stopping or len(self._queue) >= self._batch_size:
            return 0.0
        return self._last_take + self._interval - time.monotonic()

    async def _write(self, batch: Sequence[Span]) -> bool:
        """Store a batch (or spill it); False when shutdown gives up on an unreachable database."""
        spill = self._spill
        if spill is not None and spill.has_pending():
            # A backlog is waiting: new spans queue up behind it, so replay keeps their order.
            await self._spill_batch(batch)
            await self._replay()
            return True
        while True:
            try:
                await self._insert(batch)
            except Exception as exc:  # noqa: BLE001 -- any failure of the injected inserter means "not written yet"
                self.counters.write_failures += 1
                if spill is not None:
                    log.warning("writing %d spans failed (%s); spilling them to disk", len(batch), _brief(exc))
                    await self._spill_batch(batch)
                    self._next_retry = time.monotonic() + self._backoff
                    return True
                log.warning("writing %d spans failed (%s); retrying in %.1fs", len(batch), _brief(exc), self._backoff)
                self._failures_while_stopping += self._stopping
                if self._failures_while_stopping > 3:
                    log.error("giving up on %d spans at shutdown: database unavailable", len(batch) + len(self._queue))
                    return False
                await asyncio.sleep(self._backoff)
                self._backoff = min(self._backoff * 2, _MAX_BACKOFF_S)
                continue
            self.counters.written += len(batch)
            self._backoff = 0.1
            return True

    async def _spill_batch(self, batch: Sequence[Span]) -> None:
        assert self._spill is not None
        dropped = await asyncio.to_thread(self._spill.append, batch)
        self.counters.spilled += len(batch) - dropped
        if dropped:
            self.counters.dropped += dropped
            log.error("spill is full (%d bytes): dropped %d spans", self._spill.size, dropped)

    async def _replay(self) -> None:
        """Write spilled segments back, oldest first, when the database answers again."""
        spill = self._spill
        if spill is None or time.monotonic() < self._next_retry:
            return
        spill.seal()
        for segment in spill.segments():
            spans = await asyncio.to_thread(spill.read, segment)
            try:
                for start in range(0, len(spans), self._batch_size):
                    await self._insert(spans[start : start + self._batch_size])
            except Exception as exc:  # noqa: BLE001 -- still down: try again later
                self.counters.write_failures += 1
                self._backoff = min(self._backoff * 2, _MAX_BACKOFF_S)
                self._next_retry = time.monotonic() + self._backoff
                log.info("database still unavailable (%s); %d bytes stay spilled", _brief(exc), spill.size)
                return
            spill.remove(segment)
            self.counters.replayed += len(spans)
            self.counters.written += len(spans)
        self._backoff = 0.1
        log.info("replayed the spilled spans; the spill is empty")

    async def _take_batch(self, slice_size: int) -> list[Span]:
        batch: list[Span] = []
        while self._queue and len(batch) < self._batch_size:
            if batch and len(batch) % slice_size == 0:
                await asyncio.sleep(0)
            exchange = self._queue.popleft()
            self._queued_bytes -= exchange.captured_bytes + len(exchange.request_body)
            try:
                span = await self._build(exchange)
            except Exception as exc:  # a parser bug must cost the details of one span, never the span
                self.counters.capture_failed += 1
                log.exception(
                    "could not parse the call to %s %s; storing it unparsed", exchange.upstream, exchange.path
                )
                span = fallback_span(exchange, exc)
            batch.append(span)
            if self._observe is not None:
                self._observe(span)
        return batch

    async def _build(self, exchange: Exchange) -> Span:
        build = functools.partial(
            build_span, exchange, estimate_tokens=self._estimate_tokens, guardrails=self._guardrails
        )
        try:
            return build(load_tokenizer=False)
        except TokenizerNotLoaded as missing:
            # The first call without vendor usage: the vocabulary (~0.3 s) loads off the event loop.
            await asyncio.to_thread(get_encoding, missing.encoding)
            return build(load_tokenizer=True)


def _brief(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:200]
