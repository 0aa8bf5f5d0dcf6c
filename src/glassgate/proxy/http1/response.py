"""The response side the caller sees: status, raw headers, and the body as it arrives.

The connection pushes body chunks in (`_feed`), the caller pulls them out (`__anext__`). The
buffer between them is bounded by pausing the socket, so a caller that stops reading makes
the upstream wait instead of making the proxy's memory grow.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol

from glassgate.errors import UpstreamError

# Pause the socket above HIGH buffered bytes, resume below LOW. One socket read adds at most
# 256 KiB past HIGH (the size of uvloop's read buffer), so the buffer stays under ~512 KiB.
HIGH_WATER = 256 * 1024
LOW_WATER = 64 * 1024


class UpstreamReset(UpstreamError):
    """The upstream connection broke after the response headers, before the end of the body."""


class BodySource(Protocol):
    """What a response needs from the connection it came on."""

    paused: bool

    def pause(self) -> None: ...

    def resume(self) -> None: ...

    def release(self, response: UpstreamResponse) -> None: ...


class UpstreamResponse:
    """One response: `status`, `raw_headers` as received, and the body via `async for`.

    Call `release()` when done with it, in a `finally`: it returns the connection to the pool
    (when the body had fully arrived and the connection may be kept alive) or closes it.
    """

    __slots__ = ("_buffered", "_chunks", "_complete", "_error", "_loop", "_source", "_waiter", "raw_headers", "status")

    def __init__(
        self,
        source: BodySource,
        loop: asyncio.AbstractEventLoop,
        status: int,
        raw_headers: list[tuple[bytes, bytes]],
    ) -> None:
        self.status = status
        self.raw_headers = raw_headers
        self._source: BodySource | None = source
        self._loop = loop
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._complete = False
        self._error: UpstreamError | None = None
        self._waiter: asyncio.Future[None] | None = None

    def header(self, lowercase_name: str) -> str | None:
        """The first value of a header (name given in lower case), or None."""
        key = lowercase_name.encode("latin-1")
        for name, value in self.raw_headers:
            if name.lower() == key:
                return value.decode("latin-1")
        return None

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self

    def iter_chunks(self) -> AsyncIterator[bytes]:
        """The body chunks as they arrive (same as iterating the response itself)."""
        return self

    async def __anext__(self) -> bytes:
        chunks = self._chunks
        # Chunks already received are delivered before an error that came after them.
        while not chunks:
            if self._error is not None:
                raise self._error
            if self._complete:
                raise StopAsyncIteration
            waiter = self._waiter = self._loop.create_future()
            try:
                await waiter
            finally:
                self._waiter = None
        chunk = chunks.popleft()
        self._buffered -= len(chunk)
        source = self._source
        if source is not None and source.paused and self._buffered < LOW_WATER:
            source.resume()
        return chunk

    def release(self) -> None:
        """Give the connection back to the pool, or close it. Idempotent; never raises.

        The connection is reused when the whole body has arrived (read by the caller or not:
        either way the connection is at a clean message boundary) and the upstream allows
        keep-alive; otherwise it is closed at once. Chunks already received can still be read
        afterwards; a body that release cut short then ends in UpstreamReset.
        """
        source, self._source = self._source, None
        if source is None:
            return
        source.release(self)
        if not self._complete and self._error is None:
            self._error = UpstreamReset("the response was released before the end of its body")

    # The connection's side. Not for callers.

    def _feed(self, chunk: bytes) -> None:
        self._chunks.append(chunk)
        self._buffered += len(chunk)
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        if self._buffered > HIGH_WATER and self._source is not None and not self._source.paused:
            self._source.pause()

    def _finish(self) -> None:
        self._complete = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _fail(self, error: UpstreamError) -> None:
        if not self._complete and self._error is None:
            self._error = error
            self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _close_delimited(self) -> bool:
        """True when only the end of the connection ends this body (no length, not chunked)."""
        encoding = self.header("transfer-encoding")
        if encoding is not None:
            return not encoding.rstrip().lower().endswith("chunked")
        return self.header("content-length") is None
