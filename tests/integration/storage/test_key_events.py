"""The key change listener against a real PostgreSQL: heard at once, and bounded when it is lost.

The listener reaches the database through a relay this test controls, so the connection can
be frozen (a partition: no bytes, no FIN) while the pool, which revokes, still gets through.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import asyncpg
import pytest

from glassgate.proxy.client_keys import ClientIdentity
from glassgate.storage import db, keys
from glassgate.storage.key_cache import APPLICATION_NAME, KeyCache, KeyEvents
from glassgate.storage.keys import CachedKeyVerifier

# Also the listener's connect timeout. Under a loaded CI machine 0.2 s was short enough for a
# healthy heartbeat to time out now and then, adding a reconnect the tests did not expect.
HEARTBEAT_S = 0.5
FALLBACK_TTL_S = 3.0


class Relay:
    """TCP on loopback → PostgreSQL's unix socket; `freeze()` holds every byte, `thaw()` lets them go."""

    def __init__(self, socket_path: str) -> None:
        self.socket_path = socket_path
        self.thawed = asyncio.Event()
        self.thawed.set()
        self.server: asyncio.Server | None = None
        self.accepted = 0
        self.held = 0  # reads held back by a freeze

    async def start(self) -> int:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    def freeze(self) -> None:
        self.thawed.clear()

    def thaw(self) -> None:
        self.thawed.set()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        await self.thawed.wait()
        try:
            up_reader, up_writer = await asyncio.open_unix_connection(self.socket_path)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer))

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                if not self.thawed.is_set():
                    self.held += 1
                await self.thawed.wait()
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()


@dataclass
class Setup:
    pool: asyncpg.Pool
    events: KeyEvents
    verifier: CachedKeyVerifier
    relay: Relay


def through_relay(database_url: str, port: int) -> str:
    parts = urlsplit(database_url)
    return f"postgresql://postgres@127.0.0.1:{port}{parts.path}"


def socket_of(database_url: str) -> str:
    return parse_qs(urlsplit(database_url).query)["host"][0] + "/.s.PGSQL.5432"


@pytest.fixture
async def setup(database_url: str) -> AsyncIterator[Setup]:
    relay = Relay(socket_of(database_url))
    port = await relay.start()
    events = KeyEvents(through_relay(database_url, port), heartbeat_s=HEARTBEAT_S, max_backoff_s=0.2)
    cache = KeyCache[ClientIdentity]("key", fallback_ttl_s=FALLBACK_TTL_S, listening_ttl_s=300.0)
    verifier = CachedKeyVerifier(events, cache)
    pool = await db.create_pool(database_url)
    verifier.connect(pool)
    events.start()
    try:
        await until(lambda: events.listening_since is not None, within_s=10)
        yield Setup(pool, events, verifier, relay)
    finally:
        relay.thaw()
        await events.stop()
        await relay.close()
        await pool.close()


async def until(condition: Callable[[], bool], within_s: float) -> float:
    started = time.monotonic()
    while not condition():
        assert time.monotonic() - started < within_s, "condition not met in time"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def refused_after(verifier: CachedKeyVerifier, key: str, within_s: float) -> float:
    started = time.monotonic()
    while await verifier.verify(key) is not None:
        assert time.monotonic() - started < within_s, f"the revoked key still works after {within_s} s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def test_a_revocation_is_heard_at_once(setup: Setup) -> None:
    issued = await keys.create_key(setup.pool, "team-a")
    assert await setup.verifier.verify(issued.key) == ClientIdentity(issued.key_id, "team-a")
    await keys.revoke_key(setup.pool, issued.key_id)
    # Well inside the fallback TTL: only the NOTIFY can explain it.
    assert await refused_after(setup.verifier, issued.key, within_s=FALLBACK_TTL_S / 2) < 1.0


async def test_the_revoking_replica_refuses_the_key_before_its_own_notify_returns(setup: Setup) -> None:
    issued = await keys.create_key(setup.pool, "team-a")
    assert await setup.verifier.verify(issued.key) is not None
    setup.relay.freeze()  # this replica's listener hears nothing from now on
    assert await keys.revoke_key(setup.pool, issued.key_id, setup.events)
    assert await setup.verifier.verify(issued.key) is None, "refused as soon as the revocation is answered"


async def created_and_cached(setup: Setup) -> keys.IssuedKey:
    """A new key, verified once its creation's own NOTIFY is heard: heard during the lookup, that
    NOTIFY would keep the answer out of the cache (it may postdate what the lookup read), and
    the key would then be refused at once, by a lookup, rather than by the path a test means."""
    heard: list[str] = []
    setup.events.subscribe(keys.EVENT_KIND, heard.append)
    issued = await keys.create_key(setup.pool, "team-a")
    await until(lambda: keys.hash_key(issued.key) in heard, within_s=5)
    assert await setup.verifier.verify(issued.key) is not None
    return issued


async def test_a_silently_dead_listener_falls_back_to_the_ttl_then_reconnects(setup: Setup) -> None:
    issued = await created_and_cached(setup)
    setup.relay.freeze()  # the listener's connection now says nothing, and never closes
    await keys.revoke_key(setup.pool, issued.key_id)  # its NOTIFY is stuck in the relay
    bound = 2 * HEARTBEAT_S + FALLBACK_TTL_S
    elapsed = await refused_after(setup.verifier, issued.key, within_s=bound + 1.0)
    assert setup.events.listening_since is None, "the heartbeat noticed the dead connection"
    assert elapsed <= bound + 1.0

    setup.relay.thaw()
    await until(lambda: setup.events.listening_since is not None, within_s=10)
    assert setup.events.connections >= 2, "reconnected (a slow heartbeat under load may add another)"
    second = await keys.create_key(setup.pool, "team-a")
    assert await setup.verifier.verify(second.key) is not None
    await keys.revoke_key(setup.pool, second.key_id)
    assert await refused_after(setup.verifier, second.key, within_s=FALLBACK_TTL_S / 2) < 1.0, "heard again"


async def test_a_closed_listener_connection_is_noticed_at_once_and_replaced(setup: Setup) -> None:
    async with setup.pool.acquire() as connection:
        terminated = await connection.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE application_name = $1 AND datname = current_database()",  # the server is shared
            APPLICATION_NAME,
        )
    assert terminated == 1
    await until(lambda: setup.events.listening_since is None or setup.events.connections >= 2, within_s=2)
    await until(lambda: setup.events.listening_since is not None and setup.events.connections >= 2, within_s=10)
    issued = await keys.create_key(setup.pool, "team-a")
    assert await setup.verifier.verify(issued.key) is not None
    await keys.revoke_key(setup.pool, issued.key_id)
    assert await refused_after(setup.verifier, issued.key, within_s=FALLBACK_TTL_S / 2) < 1.0


async def test_stopping_during_a_heartbeat_leaves_no_unread_error(setup: Setup) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    try:
        setup.relay.freeze()
        await until(lambda: setup.relay.held > 0, within_s=5 * HEARTBEAT_S)  # the probe is in flight
        await setup.events.stop()  # terminates the connection under the pending probe
        await asyncio.sleep(0.1)
        gc.collect()  # an unread task error is reported when the task is collected
    finally:
        loop.set_exception_handler(None)
    assert reported == []


async def test_an_unreachable_database_at_start_is_retried(database_url: str) -> None:
    relay = Relay(socket_of(database_url))
    port = await relay.start()
    relay.freeze()  # connections accepted, never answered: the connect times out
    events = KeyEvents(through_relay(database_url, port), heartbeat_s=HEARTBEAT_S, max_backoff_s=0.2)
    events.start()
    try:
        await until(lambda: relay.accepted >= 2, within_s=10)
        assert events.listening_since is None
        relay.thaw()
        await until(lambda: events.listening_since is not None, within_s=10)
    finally:
        await events.stop()
        await relay.close()
