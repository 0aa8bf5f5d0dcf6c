"""Key caches that every replica keeps fresh: PostgreSQL LISTEN/NOTIFY, with a TTL to fall back on.

Issuing or revoking a key (storage/keys.py, storage/aws_keys.py) sends a NOTIFY on the
channel `glassgate_keys` inside the transaction that makes the change, so the message goes
out exactly when the change commits. Each replica keeps one connection of its own (outside
the pool) LISTENing on that channel; `KeyEvents` hands each message to the caches, which
drop the entry it names. A revocation therefore reaches every replica in milliseconds.

The caches trust an entry for `listening_ttl_s` only if it was looked up while the listener
was connected (so any later change would have been heard). Otherwise, and for every entry
from the moment the listener is found lost, they trust it for `fallback_ttl_s` at most:

    revoked on one replica → refused on every other one
      listener connected            within a second (the NOTIFY's round trip)
      listener lost or reconnecting within FALLBACK_TTL_S (30 s)

The second bound holds because a lost listener is noticed within two heartbeats (10 s) even
when the connection dies silently (a heartbeat query that does not answer), which is less
than the fallback TTL. Unknown keys are cached `negative_ttl_s` (5 s) either way, so a key
inserted without a NOTIFY still starts working within seconds.

When the database cannot be reached at all, a known key keeps the last answer (the proxy
keeps serving through an outage); no revocation can be made in that state anyway, except
from a replica that still reaches the database while this one cannot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import asyncpg

from glassgate.background import cancel
from glassgate.storage import db

log = logging.getLogger(__name__)
CHANNEL = "glassgate_keys"
APPLICATION_NAME = "glassgate-key-events"  # how the listener shows in pg_stat_activity
FALLBACK_TTL_S = 30.0
LISTENING_TTL_S = 300.0
NEGATIVE_TTL_S = 5.0
HEARTBEAT_S = 5.0
_MAX_CACHED = 100_000
V = TypeVar("V")


async def notify(connection: asyncpg.Connection, kind: str, ident: str) -> None:
    """Announce a change to key `ident` of `kind` ("key", "aws"); sent when the transaction commits."""
    await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, f"{kind}:{ident}")


class KeyEvents:
    """One LISTEN connection per process, reconnected when lost; tells the caches what changed."""

    def __init__(
        self,
        database_url: str,
        *,
        heartbeat_s: float = HEARTBEAT_S,
        max_backoff_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._dsn = db.asyncpg_dsn(database_url)
        self._heartbeat_s = heartbeat_s
        self._max_backoff_s = max_backoff_s
        self._clock = clock
        self._subscribers: dict[str, list[Callable[[str], None]]] = {}
        self._task: asyncio.Task[None] | None = None
        self.listening_since: float | None = None  # clock() when LISTEN took effect; None while not listening
        self.connections = 0  # how many times the listener has connected (for tests and logs)

    def subscribe(self, kind: str, on_change: Callable[[str], None]) -> None:
        self._subscribers.setdefault(kind, []).append(on_change)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="glassgate-key-events")

    async def stop(self) -> None:
        await cancel(self._task)
        self._task = None
        self.listening_since = None

    async def _run(self) -> None:
        backoff = 0.25
        reported = False
        while True:
            try:
                connection = await asyncpg.connect(
                    self._dsn, timeout=self._heartbeat_s, server_settings={"application_name": APPLICATION_NAME}
                )
            except db.UNAVAILABLE as exc:
                if not reported:
                    log.warning("key change listener cannot connect (%s); caches use the %g s TTL", exc, FALLBACK_TTL_S)
                    reported = True
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                continue
            try:
                await self._listen(connection)
            finally:
                self.listening_since = None
                connection.terminate()
            log.warning("key change listener lost its connection; caches use the %g s TTL meanwhile", FALLBACK_TTL_S)
            reported, backoff = True, 0.25

    async def _listen(self, connection: asyncpg.Connection) -> None:
        """Return when the connection is lost: closed, or silent for a heartbeat."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        try:
            await connection.add_listener(CHANNEL, self._on_notification)
        except db.UNAVAILABLE:
            return
        self.listening_since = self._clock()
        self.connections += 1
        if self.connections > 1:
            log.info("key change listener reconnected")
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(lost.wait(), self._heartbeat_s)
                return
            # A connection can die without a FIN (a partition, a failover): ask it something.
            probe = asyncio.ensure_future(connection.fetchval("SELECT 1"))
            # Never cancelled: asyncpg would send the (unreachable) server a cancel request and
            # wait for it. Terminating the connection (the caller does, also when this task is
            # cancelled at shutdown) fails a pending probe at once; its error is read here.
            probe.add_done_callback(_consume)
            done, _ = await asyncio.wait({probe}, timeout=self._heartbeat_s)
            if not done or probe.exception() is not None:
                self.listening_since = None  # before anything else: the caches stop trusting at once
                return

    def announce(self, kind: str, ident: str) -> None:
        """Tell this process's caches of a change it made itself, once committed.

        Its own NOTIFY comes back too, but when, depends on the listener: the replica that
        revoked a key must refuse it from the moment the revocation is answered.
        """
        for on_change in self._subscribers.get(kind, []):
            on_change(ident)

    def _on_notification(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        kind, _, ident = payload.partition(":")
        self.announce(kind, ident)


def _consume(task: asyncio.Future[object]) -> None:
    if not task.cancelled():
        task.exception()


class KeyCache(Generic[V]):
    """Answers by key id, looked up on a miss; entries dropped when `KeyEvents` announces a change."""

    def __init__(
        self,
        kind: str,
        *,
        fallback_ttl_s: float = FALLBACK_TTL_S,
        listening_ttl_s: float = LISTENING_TTL_S,
        negative_ttl_s: float = NEGATIVE_TTL_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kind = kind
        self._fallback_ttl = fallback_ttl_s
        self._listening_ttl = listening_ttl_s
        self._negative_ttl = negative_ttl_s
        self._clock = clock
        self._events: KeyEvents | None = None
        self._entries: dict[str, tuple[V | None, float]] = {}  # ident → (answer, when its lookup started)
        self._last_change = -math.inf

    def listen(self, events: KeyEvents) -> None:
        self._events = events
        events.subscribe(self.kind, self.forget)

    def forget(self, ident: str) -> None:
        self._entries.pop(ident, None)
        self._last_change = self._clock()

    async def get(self, ident: str, lookup: Callable[[str], Awaitable[V | None]]) -> V | None:
        started = self._clock()
        cached = self._entries.get(ident)
        if cached is not None and self._fresh(cached, started):
            return cached[0]
        try:
            answer = await lookup(ident)
        except db.UNAVAILABLE as exc:
            log.warning("%s lookup failed (%s); using the cached answer", self.kind, type(exc).__name__)
            return cached[0] if cached is not None else None
        # A change announced while the lookup ran may postdate what it read: answer, don't keep.
        if self._last_change < started:
            if len(self._entries) >= _MAX_CACHED:
                self._entries.clear()
            self._entries[ident] = (answer, started)
        return answer

    def _fresh(self, entry: tuple[V | None, float], now: float) -> bool:
        answer, looked_up_at = entry
        if answer is None:
            ttl = self._negative_ttl
        else:
            since = self._events.listening_since if self._events is not None else None
            ttl = self._listening_ttl if since is not None and looked_up_at >= since else self._fallback_ttl
        return now - looked_up_at < ttl
