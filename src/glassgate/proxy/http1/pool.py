"""Keep-alive connections to one origin, at most `max_connections` of them.

Idle connections are a LIFO stack: the most recently used one is the most likely to still be
open on the upstream's side, and the ones at the bottom age out (60 s) so a quiet period
gives sockets back. When every slot is busy, requests queue FIFO; a released connection is
handed straight to the oldest waiter, a closed one passes its slot on.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque

from glassgate.errors import UpstreamTimeout, UpstreamUnavailable
from glassgate.proxy.http1.connection import Connection, StaleConnection
from glassgate.proxy.http1.response import UpstreamReset, UpstreamResponse
from glassgate.proxy.http1.wire import encode_head, host_header

# Shorter than the common server-side keep-alive timeouts would be safer still, but the
# stale-connection retry covers the race, and a longer life saves TLS handshakes.
IDLE_TIMEOUT_S = 60.0
_CLOSE_WAIT_S = 1.0


class ConnectionPool:
    """An HTTP/1.1 client for one upstream origin (`scheme://host:port`)."""

    def __init__(
        self,
        scheme: str,
        host: str,
        port: int,
        *,
        connect_timeout: float,
        read_timeout: float,
        max_connections: int,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        if scheme not in ("http", "https"):
            raise ValueError(f"unsupported scheme {scheme!r}: expected 'http' or 'https'")
        if scheme == "http" and ssl_context is not None:
            raise ValueError("an ssl_context needs the https scheme")
        if max_connections < 1:
            raise ValueError("max_connections must be at least 1")
        self._host = host
        self._port = port
        self._ssl = (ssl_context or ssl.create_default_context()) if scheme == "https" else None
        self._host_header = host_header(scheme, host, port)
        self._connect_timeout = connect_timeout
        self._read_timeout = read_timeout
        self._max = max_connections
        self._open = 0  # connections holding a slot, connecting ones included
        self._connections: set[Connection] = set()
        self._idle: list[Connection] = []  # oldest first: pushed and popped at the end
        self._waiters: deque[asyncio.Future[Connection | None]] = deque()
        self._sweeper: asyncio.TimerHandle | None = None
        self._closed = False

    async def request(self, method: str, target: str, headers: list[tuple[str, str]], body: bytes) -> UpstreamResponse:
        """Send one request and return once its response headers have arrived.

        `target` is sent byte for byte; `headers` are sent as given, in order, after a Host
        header if they have none; Content-Length follows when there is a body (or the
        method is POST, PUT or PATCH). Raises UpstreamUnavailable, UpstreamTimeout, or
        ValueError for a head that cannot be sent safely (see `wire.encode_head`).
        """
        if self._closed:
            raise UpstreamUnavailable("the upstream connection pool is closed")
        head = encode_head(method, target, headers, len(body), self._host_header)
        is_head = method == "HEAD"
        # The hot path, inlined: an idle connection, one write, one await.
        connection = self._pop_idle() if self._idle else None
        if connection is None:
            connection = await self._acquire(fresh=False)
        try:
            return await connection.start(head, body, is_head)
        except StaleConnection:
            pass
        except BaseException:
            connection.abandon()
            raise
        # A reused connection closed before one byte of the answer: the upstream closed it
        # while it sat idle (keep-alive timeout, restart) and our request crossed the FIN.
        # It never processed the request, which is why resending is safe even for a POST.
        # A server that crashes mid-request also fits this pattern; that rare double
        # delivery is the price every keep-alive client (aiohttp, urllib3, Go) pays too.
        # The retry goes on a brand-new connection, never on another idle one.
        connection = await self._acquire(fresh=True)
        try:
            return await connection.start(head, body, is_head)
        except StaleConnection:  # cannot happen on a fresh connection; kept for safety
            raise UpstreamUnavailable("the upstream closed the connection without answering") from None
        except BaseException:
            connection.abandon()
            raise

    async def close(self) -> None:
        """Close every connection now; requests in flight fail, queued ones too."""
        if self._closed:
            return
        self._closed = True
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(UpstreamUnavailable("the upstream connection pool was closed"))
        self._idle.clear()
        connections = list(self._connections)
        for connection in connections:
            connection.abort(UpstreamReset("the upstream connection pool was closed"))
        if connections:
            # Aborted transports close on the next loop iterations; wait so none outlives the pool.
            closing = [asyncio.ensure_future(connection.wait_closed()) for connection in connections]
            _, stuck = await asyncio.wait(closing, timeout=_CLOSE_WAIT_S)
            for task in stuck:
                task.cancel()

    # --- slots and connections ------------------------------------------------------------

    async def _acquire(self, *, fresh: bool) -> Connection:
        """A connection ready to send: an idle one (unless `fresh`), a new one, or one handed over."""
        while True:
            if not fresh and self._idle:
                idle = self._pop_idle()
                if idle is not None:
                    return idle
            if self._open < self._max:
                self._open += 1
                break
            handed = await self._wait_turn()
            if handed is None:
                break  # a slot was reserved for us
            if not fresh and handed.usable:
                return handed
            if handed.counted:
                # Take over its slot: the connection goes, we connect anew in its place.
                self._forget_quietly(handed)
                handed.close()
                break
            # It died after being handed over and its slot went to someone else: queue again.
        return await self._connect_reserved()

    def _pop_idle(self) -> Connection | None:
        now = time.monotonic()
        idle = self._idle
        while idle:
            connection = idle.pop()
            if now - connection.idle_since < IDLE_TIMEOUT_S and connection.usable:
                return connection
            connection.close()
        return None

    async def _wait_turn(self) -> Connection | None:
        """Queue for a slot: a released connection, or None for a free slot (already counted)."""
        if self._closed:
            raise UpstreamUnavailable("the upstream connection pool is closed")
        waiter: asyncio.Future[Connection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # Handed something just as we were cancelled: pass it on rather than leak it.
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                handed = waiter.result()
                if handed is None:
                    self._open -= 1
                    self._wake_one()
                else:
                    self._take_back(handed)
            raise

    async def _connect_reserved(self) -> Connection:
        """Connect within a slot already counted in `_open`; give the slot back on failure."""
        try:
            connection = await self._connect()
        except BaseException:
            self._open -= 1
            self._wake_one()
            raise
        if not connection.usable or self._closed:
            # Closed by the upstream (or by us) before we could use it.
            connection.abort(UpstreamUnavailable("the connection closed as soon as it opened"))
            self._open -= 1
            self._wake_one()
            raise UpstreamUnavailable("the upstream closed the connection as soon as it opened")
        connection.counted = True
        self._connections.add(connection)
        return connection

    async def _connect(self) -> Connection:
        loop = asyncio.get_running_loop()
        where = f"{self._host}:{self._port}"
        try:
            async with asyncio.timeout(self._connect_timeout):
                _, connection = await loop.create_connection(
                    lambda: Connection(loop, self._read_timeout, self._take_back, self._forget),
                    self._host,
                    self._port,
                    ssl=self._ssl,
                    server_hostname=self._host if self._ssl is not None else None,
                )
        except TimeoutError:
            raise UpstreamTimeout(f"connecting to {where} timed out after {self._connect_timeout:g}s") from None
        except ssl.SSLCertVerificationError as exc:
            raise UpstreamUnavailable(f"TLS certificate of {where} rejected: {exc.verify_message}") from exc
        except ssl.SSLError as exc:
            raise UpstreamUnavailable(f"TLS handshake with {where} failed: {exc.reason or exc}") from exc
        except OSError as exc:
            reason = exc.strerror or str(exc)[:200] or type(exc).__name__  # OS text: no request data in it
            raise UpstreamUnavailable(f"cannot connect to {where}: {reason}") from exc
        return connection

    def _take_back(self, connection: Connection) -> None:
        """A connection is free again: to the oldest waiter, else onto the idle stack."""
        if self._closed:
            connection.close()
            return
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(IDLE_TIMEOUT_S, self._sweep)

    def _forget(self, connection: Connection) -> None:
        """A connection closed: drop it and pass its slot to the oldest waiter."""
        if self._forget_quietly(connection):
            self._open -= 1
            self._wake_one()

    def _forget_quietly(self, connection: Connection) -> bool:
        """Stop tracking a connection; True if it held a slot (which the caller now owns)."""
        if not connection.counted:
            return False
        connection.counted = False
        self._connections.discard(connection)
        if connection in self._idle:
            self._idle.remove(connection)
        return True

    def _wake_one(self) -> None:
        while self._waiters and self._open < self._max:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self._open += 1
                waiter.set_result(None)
                return

    def _sweep(self) -> None:
        """Close connections idle for IDLE_TIMEOUT_S; they are at the bottom of the stack."""
        self._sweeper = None
        now = time.monotonic()
        idle = self._idle
        while idle and now - idle[0].idle_since >= IDLE_TIMEOUT_S:
            idle.pop(0).close()
        if idle:
            self._sweeper = asyncio.get_running_loop().call_later(
                max(1.0, idle[0].idle_since + IDLE_TIMEOUT_S - now), self._sweep
            )
