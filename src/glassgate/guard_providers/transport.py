"""The providers' HTTP: one POST of JSON, its whole answer read back, over the proxy's own client.

The client is `glassgate.proxy.http1` (keep-alive pools, no decompression, the target sent
byte for byte, which SigV4 needs). A provider's pool to its service opens on the first check;
a judge uses its upstream's pool, which the proxy already holds. Every failure comes out as
`ProviderError`, with the status and the service's error code but never a header value.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from typing import TypeVar

import orjson
from yarl import URL

from glassgate.errors import UpstreamError, UpstreamTimeout
from glassgate.guard_providers.base import Pool, PoolFactory, ProviderError
from glassgate.proxy.http1 import ConnectionPool
from glassgate.proxy.http1.wire import host_header

MAX_ANSWER_BYTES = 1024 * 1024  # a verdict is small; more is not an answer to our question
_CONNECTIONS = 64

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def header(self, name: str) -> str | None:
        wanted = name.lower().encode()
        return next((value.decode("latin-1") for key, value in self.headers if key.lower() == wanted), None)

    def json(self, what: str) -> object:
        try:
            return orjson.loads(self.body)
        except orjson.JSONDecodeError:
            raise ProviderError(f"{what} answered HTTP {self.status} with a body that is not JSON") from None


class Service:
    """One remote origin (`https://host[:port]` plus a base path), pooled, opened on first use."""

    def __init__(self, url: str, timeout_s: float, open_pool: PoolFactory | None = None) -> None:
        parsed = URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"{url!r} is not an absolute http(s) URL")
        self.scheme = parsed.scheme
        self.host = parsed.host
        self.port = parsed.port or (443 if parsed.scheme == "https" else 80)
        self.host_header = host_header(self.scheme, self.host, self.port)
        self.base_path = parsed.raw_path.rstrip("/")
        self._timeout_s = timeout_s
        self._open_pool = open_pool or _connection_pool
        self._pool: Pool | None = None

    @property
    def pool(self) -> Pool:
        if self._pool is None:
            self._pool = self._open_pool(self.scheme, self.host, self.port, self._timeout_s)
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None


def _connection_pool(scheme: str, host: str, port: int, timeout_s: float) -> Pool:
    return ConnectionPool(
        scheme, host, port, connect_timeout=timeout_s, read_timeout=timeout_s, max_connections=_CONNECTIONS
    )


async def post(pool: Pool, target: str, headers: list[tuple[str, str]], body: bytes, what: str) -> Answer:
    """POST `body` and read the whole answer; ProviderError when the service cannot be heard."""
    try:
        response = await pool.request("POST", target, headers, body)
    except UpstreamTimeout:
        raise ProviderError(f"{what} did not answer in time") from None
    except UpstreamError as exc:
        raise ProviderError(f"{what} could not be reached: {exc}") from None
    except ValueError:  # a header the client refuses to send (CR/LF): a config problem
        raise ProviderError(f"{what}: the request cannot be sent as configured") from None
    try:
        pieces, size = [], 0
        async for chunk in response:
            size += len(chunk)
            if size > MAX_ANSWER_BYTES:
                raise ProviderError(f"{what} answered with more than {MAX_ANSWER_BYTES} bytes")
            pieces.append(chunk)
    except UpstreamError as exc:
        raise ProviderError(f"{what}: the answer broke off ({type(exc).__name__})") from None
    finally:
        response.release()
    return Answer(response.status, response.raw_headers, b"".join(pieces))


async def all_or_first_error(calls: Sequence[Awaitable[T]]) -> list[T]:
    """Every call's result in order; at the first failure the others are cancelled and it is raised."""
    tasks = [asyncio.ensure_future(call) for call in calls]
    for task in tasks:
        task.add_done_callback(_retrieve)  # a late failure of a cancelled sibling is not "never retrieved"
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    finally:
        for task in tasks:
            if not task.done():
                task.cancel()
    failures = [task.exception() for task in tasks if task.done() and not task.cancelled()]
    first = next((failure for failure in failures if failure is not None), None)
    if first is not None:
        raise first
    return [task.result() for task in tasks]


def _retrieve(task: asyncio.Future[T]) -> None:
    if not task.cancelled():
        task.exception()
