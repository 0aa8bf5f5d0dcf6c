"""Fixtures for the HTTP client tests: raw servers, pools that close themselves, both event loops."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import uvloop

from glassgate.proxy.http1 import ConnectionPool
from tests.integration.proxy.rawserver import Handler, RawServer

StartServer = Callable[..., Awaitable[RawServer]]
MakePool = Callable[..., ConnectionPool]


def pytest_asyncio_loop_factories(config: pytest.Config, item: pytest.Item) -> dict[str, Callable[[], Any]]:
    """Every test here runs on asyncio's loop and on uvloop (what production runs)."""
    return {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.fixture
async def serve() -> AsyncIterator[StartServer]:
    """`await serve(handler, ssl_context=None)`: a started RawServer, closed after the test."""
    servers: list[RawServer] = []

    async def start(handler: Handler, ssl_context: ssl.SSLContext | None = None) -> RawServer:
        server = await RawServer(handler).start(ssl_context)
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def make_pool() -> AsyncIterator[MakePool]:
    """`make_pool(port, **overrides)`: a ConnectionPool to 127.0.0.1:port, closed after the test."""
    pools: list[ConnectionPool] = []

    def make(port: int, **overrides: Any) -> ConnectionPool:
        options: dict[str, Any] = {
            "scheme": "http",
            "host": "127.0.0.1",
            "connect_timeout": 5.0,
            "read_timeout": 5.0,
            "max_connections": 10,
        }
        options.update(overrides)
        pool = ConnectionPool(port=port, **options)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        await pool.close()
        # Every slot came back: no connection leaked, none is counted twice.
        assert (pool._open, pool._connections, pool._idle) == (0, set(), [])
