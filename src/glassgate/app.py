"""`create_app(settings)`: the whole request pipeline, visible in one place.

    /healthz, /readyz        answered here, never touching the database (/readyz: 503 while
                             starting and once SIGTERM starts the drain)
    /metrics                 Prometheus text, from counters the span writer keeps
    /v1/traces               OTLP/HTTP in: spans from instrumented apps, into the same store
    /api/...                 management REST API (FastAPI), admin token required
    /, /ui, /assets          the web app (webapp.py); / stays a JSON index for non-browsers
    /{upstream}/{rest}       data plane: Forwarder → upstream, exchange → SpanWriter → PostgreSQL

Daemons started by the lifespan: the database pool, partition maintenance, the span writer,
the upstream clients, the search indexer (storage/search_indexer.py: words of new spans), the
embedding worker (embeddings/worker.py: vectors for new spans), the key change listener
(storage/key_cache.py: revocations heard from every replica).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import asdict
from typing import TYPE_CHECKING

import asyncpg

from glassgate.api.app import create_api
from glassgate.api.otlp_receiver import OtlpReceiver
from glassgate.asgi import Receive, Scope, Send, send_json, send_response
from glassgate.config import RESERVED_SEGMENTS, Settings
from glassgate.embeddings import embedder_for
from glassgate.embeddings.worker import EmbeddingWorker
from glassgate.evals.jobs import Worker, evaluation_worker
from glassgate.guardrails.engine import GuardrailEngine
from glassgate.guardrails.policy import DEFAULT_POLICIES
from glassgate.local_secrets import resolve_admin_token, resolve_secret_key
from glassgate.proxy.client_auth import ClientAuthenticator
from glassgate.proxy.forward import Forwarder
from glassgate.proxy.routes import PathRejected, split_route
from glassgate.proxy.upstream import UpstreamPool
from glassgate.storage import db
from glassgate.storage.aws_keys import CachedAwsKeyStore, cipher_for
from glassgate.storage.key_cache import KeyEvents
from glassgate.storage.keys import CachedKeyVerifier
from glassgate.storage.partitions import Maintainer
from glassgate.storage.search_indexer import SearchIndexer
from glassgate.storage.spans import encode_in_slices, insert_spans
from glassgate.tracing import pricing, tokens
from glassgate.tracing.metrics import CONTENT_TYPE, Metrics
from glassgate.tracing.otlp_out import OtlpExporter
from glassgate.tracing.span import Span
from glassgate.tracing.spill import SpillStore
from glassgate.tracing.writer import SpanWriter
from glassgate.webapp import SEGMENTS as WEBAPP_SEGMENTS
from glassgate.webapp import WebApp, wants_html

if TYPE_CHECKING:
    from glassgate.limits import Limiter

log = logging.getLogger(__name__)


class Glassgate:
    """The ASGI application. Build it with `create_app`."""

    def __init__(self, settings: Settings) -> None:
        if settings.database_url is None:
            raise ValueError("create_app needs settings.database_url (the CLI starts the embedded database)")
        self.settings = settings
        self.database_url = settings.database_url
        admin_token, _ = resolve_admin_token(settings)
        self.api = create_api(
            admin_token, upstreams=settings.upstreams, allow_first_user_setup=bool(settings.first_user_setup)
        )
        self.webapp = WebApp()
        self.upstreams = UpstreamPool(settings.upstreams, settings.proxy)
        self.key_events = KeyEvents(settings.database_url)  # revocations heard from every replica
        self.api.state.key_events = self.key_events  # and this replica's own, told at once
        self.api.state.minute_rollup_days = settings.tracing.minute_rollup_days  # charts before it read hours
        self.keys = CachedKeyVerifier(self.key_events)
        self.aws_keys = CachedAwsKeyStore(cipher_for(resolve_secret_key(settings)), self.key_events)
        self.metrics = Metrics()
        spill_bytes = settings.tracing.spill_max_bytes
        spill = SpillStore(settings.data_dir / "spill", spill_bytes) if spill_bytes else None
        self.exporter = OtlpExporter(settings.otlp) if settings.otlp.endpoint else None
        policies = settings.guardrails if settings.guardrails is not None else DEFAULT_POLICIES
        self.guardrails = GuardrailEngine(policies)
        self.writer = SpanWriter(
            self._insert,
            settings.tracing,
            observe=self._observe,
            spill=spill,
            prepare=encode_in_slices,
            guardrails=self.guardrails,
        )
        self.metrics.watch_writer(lambda: float(self.writer.depth), lambda: asdict(self.writer.counters))
        authenticator = ClientAuthenticator(self.keys, self.aws_keys)
        self.otlp_receiver = OtlpReceiver(admin_token, self.keys, self._insert)
        # Rate limits and budgets (limits/): only with rules; then reserved before forwarding,
        # settled in _observe with each span's real usage.
        self.limiter: Limiter | None = None
        if settings.limits.rules and settings.redis_url:
            from glassgate.limits import Limiter  # here: redis-py costs ~24 MB of memory unused without rules

            self.limiter = Limiter(settings.limits, settings.redis_url, pricing.worst_case_usd)
            self.metrics.watch_limits(self.limiter)
        self.forwarder = Forwarder(
            self.upstreams,
            self.writer,
            authenticator,
            settings.proxy,
            settings.tracing,
            self.guardrails,
            limits=self.limiter,
        )
        self.maintainer: Maintainer | None = None
        self.embedder = embedder_for(settings)  # None when embeddings are off
        self.api.state.embedder = self.embedder
        self.embedding_worker: EmbeddingWorker | None = None
        self.eval_worker: Worker | None = None
        self.search_indexer: SearchIndexer | None = None
        self.writer_pool: asyncpg.Pool | None = None
        self.job_pools: list[asyncpg.Pool] = []  # the search indexer's, the embedding worker's
        self.metrics.watch_search_indexer(
            lambda: asdict(self.search_indexer.counters) if self.search_indexer is not None else {}
        )
        self.ready = False
        self.draining = False  # set by begin_drain(): /readyz answers 503 while calls still run

    def _observe(self, span: Span) -> None:
        self.metrics.observe(span)
        if self.exporter is not None:
            self.exporter.submit(span)
        if self.limiter is not None:
            self.limiter.settle(span)

    async def _insert(self, spans: Sequence[Span]) -> None:
        # A database that hangs (rather than refusing) must not hold spans in memory until the
        # driver's own timeout: past this bound the writer treats the batch as failed and spills
        # it; if the insert did commit after all, the replay finds the spans there and skips them.
        assert self.writer_pool is not None, "spans are written only once started"
        insert = asyncio.ensure_future(insert_spans(self.writer_pool, spans))
        done, _ = await asyncio.wait({insert}, timeout=self.settings.tracing.write_timeout_s)
        if not done:
            # Cancelling a query makes asyncpg ask the (hung) server to cancel it over a new
            # connection and wait for that, up to its own 30 s: the write is given up on now
            # and the clean-up left to finish on its own.
            insert.cancel()
            insert.add_done_callback(_consume_outcome)
            raise TimeoutError(f"the insert took longer than {self.settings.tracing.write_timeout_s} s")
        insert.result()
        if self.search_indexer is not None:
            self.search_indexer.wake()  # their words: searchable within milliseconds, not at the next look

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            await self.api(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
        try:
            route = split_route(raw_path)
        except PathRejected as exc:
            await send_json(send, 400, {"error": {"message": str(exc), "type": "invalid_request", "code": "bad_path"}})
            return
        if route is None:
            if wants_html(scope):
                await self.webapp(scope, receive, send)
            else:
                await send_json(send, 200, {"service": "glassgate", "api": "/api/v1", "docs": "/api/docs", "ui": "/ui"})
        elif route.upstream in WEBAPP_SEGMENTS:
            await self.webapp(scope, receive, send)
        elif route.upstream == "healthz":
            await send_json(send, 200, {"status": "ok"})
        elif route.upstream == "metrics":
            await send_response(send, 200, self.metrics.render(), CONTENT_TYPE.encode())
        elif route.upstream == "v1" and route.rest == b"/traces":
            await self.otlp_receiver(scope, receive, send)
        elif route.upstream == "readyz":
            ready = self.ready and not self.draining
            status = "ready" if ready else "draining" if self.draining else "starting"
            await send_json(send, 200 if ready else 503, {"status": status})
        elif route.upstream in RESERVED_SEGMENTS:
            await self.api(scope, receive, send)
        else:
            await self.forwarder.handle(scope, receive, send, route)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001 -- reported to the server, which exits non-zero
                    log.error("startup failed: %s", exc)
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        pool = await db.create_pool(self.database_url)
        self.api.state.pool = pool
        # One batch at a time from the writer, plus OTLP exports stored as they arrive.
        self.writer_pool = await db.create_pool(self.database_url, for_writes=True, max_size=4)
        self.keys.connect(pool)
        self.aws_keys.connect(pool)
        self.key_events.start()
        await self.upstreams.open()
        if self.limiter is not None:
            await self.limiter.open()
        # Spans are built on this event loop: the price table must not load at the first one.
        await asyncio.to_thread(pricing.warm_up)
        if self.settings.tracing.estimate_tokens and self.settings.tracing.preload_tokenizer:
            # Memory flat from the start (no 46 MB step at the first call without vendor usage).
            await asyncio.to_thread(tokens.get_encoding, "o200k_base")
        self.maintainer = Maintainer(
            pool, self.settings.tracing.retention_days, minute_rollup_days=self.settings.tracing.minute_rollup_days
        )
        self.maintainer.start()
        self.writer.start()
        tracing = self.settings.tracing
        # The background jobs run one statement at a time, each on a connection of its own: an API
        # query never waits for theirs, and pg_stat_activity names which job a query belongs to.
        self.search_indexer = SearchIndexer(
            await self._job_pool(db.INDEXER_APPLICATION_NAME),
            interval_s=tracing.search_interval_s,
            max_per_s=tracing.search_max_per_s,
        )
        self.search_indexer.start()
        if self.embedder is not None:
            embeddings = self.settings.embeddings
            self.embedding_worker = EmbeddingWorker(
                await self._job_pool(db.EMBEDDINGS_APPLICATION_NAME),
                self.embedder,
                batch_size=embeddings.batch_size,
                interval_s=embeddings.interval_s,
                max_per_s=embeddings.max_per_s,
            )
            self.embedding_worker.start()
        if self.settings.evals.worker:
            self.eval_worker = evaluation_worker(pool, self.settings)
            self.eval_worker.start()
        if self.exporter is not None:
            self.exporter.start()
        self.ready = True

    async def _job_pool(self, name: str) -> asyncpg.Pool:
        pool = await db.create_pool(self.database_url, max_size=1, name=name)
        self.job_pools.append(pool)
        return pool

    def begin_drain(self) -> None:
        """Stop looking ready (SIGTERM): load balancers send elsewhere while calls in flight finish.

        Only sets a flag, so a signal handler may call it; the server stops accepting
        connections on its own schedule (cli/drain.py), then the lifespan runs `shutdown`.
        """
        self.draining = True

    async def shutdown(self) -> None:
        self.ready = False
        self.draining = True
        if self.search_indexer is not None:
            await self.search_indexer.stop()  # what it leaves queued, the next replica to start indexes
        if self.embedding_worker is not None:
            await self.embedding_worker.stop()
        if self.eval_worker is not None:
            await self.eval_worker.stop()  # before the writer: its judges' spans are still written
        await self.forwarder.close()  # remote flag checks still running add their findings first
        await self.writer.stop()
        if self.limiter is not None:
            await self.limiter.close()  # after the writer: its last spans settle their reservations
        if self.maintainer is not None:
            await self.maintainer.stop()
        if self.exporter is not None:
            await self.exporter.stop()
        await self.upstreams.close()
        await self.key_events.stop()
        pool = getattr(self.api.state, "pool", None)
        if pool is not None:
            await pool.close()
        if self.writer_pool is not None:
            await self.writer_pool.close()
        for job_pool in self.job_pools:
            await job_pool.close()
        counters = self.writer.counters
        log.info(
            "span writer: %d queued, %d written, %d dropped, %d capture failures",
            counters.queued,
            counters.written,
            counters.dropped,
            counters.capture_failed,
        )


def _consume_outcome(task: asyncio.Future[int]) -> None:
    """Retrieve an abandoned insert's outcome so asyncio does not report it as never retrieved."""
    if not task.cancelled():
        task.exception()


def create_app(settings: Settings) -> Glassgate:
    """Build the application; nothing connects until the server's lifespan starts it."""
    return Glassgate(settings)
