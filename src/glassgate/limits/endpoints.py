"""Where a command goes: one Redis, or the node of a Redis Cluster that serves its keys' hash slot.

Commands arrive encoded (see plans) and go out on redis-py's connections, which connect,
authenticate, speak TLS and parse the replies (in C with hiredis). Around them only what a check
needs, kept thin because it runs on every proxied call: a free list of connections instead of
redis-py's pools, and no socket timeout of their own (each call to Redis runs under the store's
one asyncio timeout). Errors are left to the store, which turns them into `LimitsUnavailable`.

In a cluster, redis-py's `RedisCluster` reads the slot map (CLUSTER SLOTS) and keeps a connection
list per node; commands go straight to the node that serves their slot. A MOVED reply (the slot
has a new owner: resharding, failover) is followed at once and the map is read again before the
next command; an ASK reply (the slot is half-way through moving) is followed for this command
only. A TRYAGAIN reply (the slot is moving, and the script's keys are some here, some there) is
tried again a few times, a few milliseconds apart, then left to the store: it concerns one slot
for a moment, not the cluster. After any other failure the map is read again before the next
command, as the node may be gone.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import urlsplit

from redis.asyncio import ConnectionPool
from redis.asyncio.cluster import ClusterNode, RedisCluster
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import AskError, ClusterError, MovedError, NoScriptError, TryAgainError

from glassgate.limits.resp import command

_ASKING = command(b"ASKING")
_MAX_REDIRECTS = 3
_TRY_AGAIN_TIMES = 4
_TRY_AGAIN_AFTER_S = 0.005


class Endpoint(Protocol):
    async def send(self, slot: int, parts: Sequence[bytes]) -> Any:
        """One command (its encoded parts, in order) to the server of `slot`; its reply."""

    async def send_to_primaries(self, parts: Sequence[bytes]) -> None:
        """One command to every primary (loading the scripts)."""

    async def aclose(self) -> None: ...


def connect(url: str, *, cluster: bool, connect_timeout_s: float, max_connections: int) -> Endpoint:
    """Build (without connecting) the endpoint a URL names."""
    if cluster:
        return ClusterRedis(url, connect_timeout_s, max_connections)
    return SingleRedis(url, connect_timeout_s, max_connections)


class SingleRedis:
    """A standalone Redis, or the primary endpoint of a replicated one (ElastiCache cluster mode off)."""

    def __init__(self, url: str, connect_timeout_s: float, max_connections: int) -> None:
        # The pool only builds connections from the URL (TLS, credentials, database); handing them
        # out is done here, without its lock, health checks and per-call bookkeeping.
        self._factory = ConnectionPool.from_url(
            url, socket_connect_timeout=connect_timeout_s, socket_timeout=None, retry=Retry(NoBackoff(), 0)
        )
        self._free: list[AbstractConnection] = []
        self._made: list[AbstractConnection] = []
        # Past this many commands at once, the next waits for a connection (within its timeout).
        self._room = asyncio.Semaphore(max_connections)

    async def send(self, slot: int, parts: Sequence[bytes]) -> Any:
        async with self._room:
            connection = self._free.pop() if self._free else self._new()
            try:
                return await _exchange(connection, parts)
            finally:
                # After an error redis-py has closed it: it reconnects when next used.
                self._free.append(connection)

    async def send_to_primaries(self, parts: Sequence[bytes]) -> None:
        await self.send(0, parts)

    async def aclose(self) -> None:
        await asyncio.gather(*(connection.disconnect() for connection in self._made))

    def _new(self) -> AbstractConnection:
        connection: AbstractConnection = self._factory.make_connection()  # type: ignore[no-untyped-call]  # unannotated in redis-py
        self._made.append(connection)
        return connection


class ClusterRedis:
    """A Redis Cluster (ElastiCache cluster mode on) found through one of its endpoints."""

    def __init__(self, url: str, connect_timeout_s: float, max_connections: int) -> None:
        self._cluster = RedisCluster.from_url(
            url,
            max_connections=max_connections,
            socket_connect_timeout=connect_timeout_s,
            socket_timeout=None,
            retry=Retry(NoBackoff(), 0),
            # A map with a node missing still routes the other slots; the cluster answers for the rest.
            require_full_coverage=False,
            # A DNS name (ElastiCache's configuration endpoint) always leads to live nodes: the map
            # is read through it. An address is one node that may die: then through any node seen.
            dynamic_startup_nodes=_is_address(urlsplit(url).hostname or ""),
        )
        self._nodes = self._cluster.nodes_manager
        # At most this many commands at once in all: no node is ever asked for more connections.
        self._room = asyncio.Semaphore(max_connections)
        self._stale = True  # the slot map must be read before the next command

    async def send(self, slot: int, parts: Sequence[bytes]) -> Any:
        async with self._room:
            try:
                if self._stale:
                    await self._read_slot_map()
                return await self._follow_redirects(slot, parts)
            except (NoScriptError, TryAgainError):
                raise  # about the script, or one slot's move: not the cluster's map
            except BaseException:
                self._stale = True
                raise

    async def _follow_redirects(self, slot: int, parts: Sequence[bytes]) -> Any:
        node, asking = self._nodes.get_node_from_slot(slot), False
        redirects = tries = 0
        while True:
            try:
                return await _on(node, parts, asking=asking)
            except MovedError as moved:
                node, asking = await self._node_at(moved.host, moved.port), False
                self._stale = True
            except AskError as ask:
                node, asking = await self._node_at(ask.host, ask.port), True
            except TryAgainError:
                # The slot is moving and this script's keys are on both sides of the move: no node
                # may run it until the move ends (usually milliseconds away).
                tries += 1
                if tries > _TRY_AGAIN_TIMES:
                    raise
                await asyncio.sleep(_TRY_AGAIN_AFTER_S)
                node, asking, redirects = self._nodes.get_node_from_slot(slot), False, 0
                continue
            redirects += 1
            if redirects > _MAX_REDIRECTS:
                raise ClusterError(f"slot {slot}: still redirected after {_MAX_REDIRECTS} redirects")

    async def send_to_primaries(self, parts: Sequence[bytes]) -> None:
        if self._stale:
            await self._read_slot_map()
        for node in self._cluster.get_primaries():
            await _on(node, parts, asking=False)

    async def aclose(self) -> None:
        await self._nodes.aclose()
        await self._nodes.aclose("startup_nodes")

    async def _read_slot_map(self) -> None:
        # CLUSTER SLOTS only (a few ms): not RedisCluster.initialize, which also loads the server's
        # whole command table (~30 ms) for routing that these scripts do not need.
        await self._nodes.initialize()
        self._stale = False

    async def _node_at(self, host: str, port: int) -> ClusterNode:
        node = self._cluster.get_node(host, port)
        if node is None:  # a node added since the map was read
            await self._read_slot_map()
            node = self._cluster.get_node(host, port)
        if node is None:
            raise ClusterError(f"redirected to {host}:{port}, which the cluster does not list")
        return node


async def _on(node: ClusterNode, parts: Sequence[bytes], *, asking: bool) -> Any:
    connection = node.acquire_connection()
    try:
        await node.disconnect_if_needed(connection)  # marked when the slot map was read again
        if asking:
            await _exchange(connection, [_ASKING])
        return await _exchange(connection, parts)
    finally:
        node.release(connection)


async def _exchange(connection: AbstractConnection, parts: Sequence[bytes]) -> Any:
    if connection.is_connected and await connection.can_read():
        # Bytes or an end of file on an idle connection: the server closed it (restart, failover,
        # idle timeout). Start afresh rather than fail a call over it.
        await connection.disconnect()
    await connection.send_packed_command(parts, check_health=False)
    return await connection.read_response()


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True
