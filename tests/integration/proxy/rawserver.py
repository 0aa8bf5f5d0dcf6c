"""A loopback HTTP server for client tests: it answers with exactly the bytes a test scripts.

Each accepted connection runs the test's handler with a `Peer`: read one request (head and
Content-Length body), write raw bytes, in pieces if asked, then close, reset or wait. The
server records what it saw (connections, raw requests, open-connection high-water mark), and
`close()` ends every handler and transport so no ResourceWarning leaks into the next test.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
import struct
from collections.abc import Awaitable, Callable

Handler = Callable[["Peer"], Awaitable[None]]


class Peer:
    """The server's end of one accepted connection."""

    def __init__(self, server: RawServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, index: int):
        self.server = server
        self.reader = reader
        self.writer = writer
        self.index = index  # 0 for the first connection the server accepted
        self.requests: list[bytes] = []

    async def read_request(self) -> bytes:
        """One request, head and body, as received; b"" when the client closed instead."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return b""
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        request = head + await self.reader.readexactly(length)
        self.requests.append(request)
        self.server.requests.append(request)
        return request

    async def send(self, *parts: bytes, pause: float = 0.0) -> None:
        """Write each part and flush it; with `pause`, wait that long between parts."""
        for index, part in enumerate(parts):
            if index and pause:
                await asyncio.sleep(pause)
            self.writer.write(part)
            await self.writer.drain()

    async def wait_eof(self) -> bool:
        """Wait until the client closes; True if it did (rather than resetting)."""
        try:
            return await self.reader.read() == b""
        except ConnectionError:
            return False

    def reset(self) -> None:
        """Drop the connection with a TCP RST instead of a FIN."""
        sock = self.writer.get_extra_info("socket")
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.writer.transport.abort()


class RawServer:
    """A listening socket on 127.0.0.1 running `handler` for each connection."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.connections = 0
        self.open_now = 0
        self.max_open = 0
        self.requests: list[bytes] = []
        self.peers: list[Peer] = []
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: list[asyncio.StreamWriter] = []

    async def start(self, ssl_context: ssl.SSLContext | None = None) -> RawServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0, ssl=ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.append(writer)
        peer = Peer(self, reader, writer, self.connections)
        self.peers.append(peer)
        self.connections += 1
        self.open_now += 1
        self.max_open = max(self.max_open, self.open_now)
        try:
            await self.handler(peer)
        except ConnectionError:
            pass  # the client went away first: part of several tests
        finally:
            self.open_now -= 1
            writer.close()
            self._tasks.discard(task)

    async def close(self) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        for writer in self._writers:
            # A transport its handler already closed has let go of its loop: aborting it again raises.
            if not writer.transport.is_closing():
                writer.transport.abort()
        await self._server.wait_closed()
        await asyncio.sleep(0)  # let the aborted transports run their connection_lost


def ok(body: bytes = b"ok", *extra: bytes, status: bytes = b"200 OK") -> bytes:
    """A complete HTTP/1.1 response with Content-Length, extra header lines included as given."""
    head = b"HTTP/1.1 " + status + b"\r\n" + b"".join(line + b"\r\n" for line in extra)
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def answering(*responses: bytes) -> Handler:
    """Answer each request on a connection with the next response, in turn, until the client closes."""

    async def handler(peer: Peer) -> None:
        index = 0
        while await peer.read_request():
            await peer.send(responses[index % len(responses)])
            index += 1

    return handler


def free_port() -> int:
    with contextlib.closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
