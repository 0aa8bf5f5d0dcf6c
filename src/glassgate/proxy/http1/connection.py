"""One upstream connection: an asyncio Protocol that writes requests and parses responses.

Each connection carries one exchange at a time (no pipelining) and moves through
    IDLE → AWAIT_HEAD (request written) → BODY (headers parsed) → DONE (body complete) → IDLE
or to CLOSED from any state. The parser (httptools/llhttp) is kept for the connection's
whole life: it resets itself between keep-alive messages.

The read timeout is one timer per connection, not one per read: every read only stamps
`_last_read`; the timer, when it fires, re-arms itself for the rest of the silence window,
and stops when no exchange is in flight. A busy connection therefore costs no timer work
per request at all.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Callable
from typing import cast

from httptools import HttpParserError, HttpParserUpgrade, HttpResponseParser

from glassgate.errors import UpstreamError, UpstreamTimeout, UpstreamUnavailable
from glassgate.proxy.http1.response import UpstreamReset, UpstreamResponse

# Up to this size the body goes out in the same write as the head: one syscall, one TCP
# segment. Larger bodies are written separately so they are not copied.
_COALESCE_BYTES = 64 * 1024
# A timer may fire this much early (libuv's clock has millisecond resolution).
_TIMER_SLACK_S = 0.002


class _State(enum.Enum):
    IDLE = enum.auto()
    AWAIT_HEAD = enum.auto()
    BODY = enum.auto()
    DONE = enum.auto()
    CLOSED = enum.auto()


IDLE, AWAIT_HEAD, BODY, DONE, CLOSED = _State


class StaleConnection(Exception):
    """A reused connection ended before a single byte of the response arrived (pool-internal)."""


class _Unexpected(Exception):
    """Raised inside a parser callback to stop parsing: the upstream sent what we did not ask for.

    The parser reports it as an HttpParserCallbackError with this exception as its context.
    """


class _SkipBody(Exception):
    """Raised after the headers of a HEAD response, whose Content-Length describes no body."""


class Connection(asyncio.Protocol):
    """One keep-alive connection. Created by the pool through `loop.create_connection`."""

    __slots__ = (
        "_interim",
        "_is_head",
        "_keep_alive",
        "_last_read",
        "_loop",
        "_lost",
        "_on_idle",
        "_on_lost",
        "_parser",
        "_raw_headers",
        "_read_timeout",
        "_received",
        "_response",
        "_skip_body",
        "_state",
        "_timer",
        "_transport",
        "_waiter",
        "_write_blocked",
        "counted",
        "idle_since",
        "paused",
        "requests",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        read_timeout: float,
        on_idle: Callable[[Connection], None],
        on_lost: Callable[[Connection], None],
    ) -> None:
        self._loop = loop
        self._read_timeout = read_timeout
        self._on_idle = on_idle  # the pool takes the connection back
        self._on_lost = on_lost  # the pool forgets the connection
        self._transport: asyncio.Transport | None = None
        self._parser = HttpResponseParser(self)
        self._state = IDLE
        self._waiter: asyncio.Future[UpstreamResponse] | None = None
        self._response: UpstreamResponse | None = None
        self._raw_headers: list[tuple[bytes, bytes]] = []
        self._is_head = False
        self._keep_alive = False
        self._interim = False
        self._skip_body = False
        self._received = False
        self._last_read = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._lost: asyncio.Future[None] | None = None
        self._write_blocked = False
        self.paused = False
        self.requests = 0  # requests written on this connection; more than 1 means reused
        self.idle_since = 0.0  # set by the pool
        self.counted = False  # holds one of the pool's max_connections slots

    # --- used by the pool --------------------------------------------------------------

    @property
    def usable(self) -> bool:
        transport = self._transport
        return self._state is IDLE and transport is not None and not transport.is_closing()

    def start(self, head: bytes, body: bytes, is_head: bool) -> asyncio.Future[UpstreamResponse]:
        """Write one request; the future resolves with the response once its headers are in.

        The future fails with StaleConnection, UpstreamUnavailable or UpstreamTimeout. A plain
        function, not a coroutine, so the pool awaits the future directly (one coroutine less
        per request). Whoever stops waiting on the future must call `abandon()`.
        """
        transport = self._transport
        if transport is None or self._state is not IDLE:
            raise StaleConnection
        loop = self._loop
        self._state = AWAIT_HEAD
        self._is_head = is_head
        self._received = False
        waiter: asyncio.Future[UpstreamResponse] = loop.create_future()
        self._waiter = waiter
        self._last_read = loop.time()
        if self._timer is None:
            self._timer = loop.call_later(self._read_timeout, self._check_silence)
        self.requests += 1
        if len(body) <= _COALESCE_BYTES:
            transport.write(head + body)
        else:
            transport.write(head)
            transport.write(body)
        return waiter

    def abandon(self) -> None:
        """The caller stopped waiting for the response (cancelled, or it failed): close."""
        self._waiter = None
        self.abort(UpstreamUnavailable("the request was abandoned"))

    def release(self, response: UpstreamResponse) -> None:
        """Called by `UpstreamResponse.release()`: back to the pool, or closed."""
        if self._response is not response:
            return
        self._response = None
        if self._state is not DONE or self._transport is None:
            self.abort(UpstreamReset("the response was released before the end of its body"))
        elif not self._keep_alive:
            self.close()
        else:
            if self.paused:
                self.resume()
            self._state = IDLE
            self._on_idle(self)

    def close(self) -> None:
        """Close gracefully (an idle connection, or one whose response is complete)."""
        self._state = CLOSED
        if self._transport is not None:
            self._transport.close()

    def abort(self, error: UpstreamError) -> None:
        """Close at once; a waiting request or unfinished body gets `error`."""
        self._fail(error)
        if self._transport is not None:
            self._transport.abort()

    async def wait_closed(self) -> None:
        if self._transport is None:
            return
        if self._lost is None:
            self._lost = self._loop.create_future()
        await self._lost

    # --- backpressure, called by the response --------------------------------------------

    def pause(self) -> None:
        if self._transport is not None:
            self.paused = True
            self._transport.pause_reading()

    def resume(self) -> None:
        if self._transport is not None and self.paused:
            self.paused = False
            self._last_read = self._loop.time()  # the silence was ours, not the upstream's
            self._transport.resume_reading()

    # --- asyncio.Protocol -----------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports implement asyncio.Transport without subclassing it.
        self._transport = cast(asyncio.Transport, transport)

    def pause_writing(self) -> None:
        self._write_blocked = True

    def resume_writing(self) -> None:
        # Until the request is written, the upstream's silence is not an answer overdue.
        self._write_blocked = False
        self._last_read = self._loop.time()

    def data_received(self, data: bytes) -> None:
        self._received = True
        self._last_read = self._loop.time()
        try:
            self._parser.feed_data(data)
        except HttpParserUpgrade as exc:
            self._reject(exc, "a protocol upgrade, which was not asked for")
        except HttpParserError as exc:
            if self._skip_body:
                # The HEAD response is complete; the aborted parser cannot go on, a new one can.
                self._skip_body = False
                self._parser = HttpResponseParser(self)
                return
            ours = exc.__context__
            self._reject(exc, str(ours) if isinstance(ours, _Unexpected) else str(exc))

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        state = self._state
        if state is AWAIT_HEAD:
            self._fail(self._lost_before_head())
        elif state is BODY:
            response = self._response
            if exc is None and response is not None and response._close_delimited():
                self._finish_message()
            else:
                self._fail(UpstreamReset("the upstream closed the connection before the end of the body"))
        self._state = CLOSED
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lost is not None and not self._lost.done():
            self._lost.set_result(None)
        self._on_lost(self)

    # --- httptools callbacks --------------------------------------------------------------

    def on_message_begin(self) -> None:
        if self._state is not AWAIT_HEAD:
            raise _Unexpected("bytes with no request waiting for them")
        self._raw_headers = []

    def on_header(self, name: bytes, value: bytes) -> None:
        self._raw_headers.append((name, value))

    def on_headers_complete(self) -> None:
        parser = self._parser
        status = parser.get_status_code()
        if status < 200:
            if status == 101:
                raise _Unexpected("101 Switching Protocols, which was not asked for")
            self._interim = True  # 100 Continue, 103 Early Hints: the real answer follows
            return
        # llhttp's verdict: false for `Connection: close`, for HTTP/1.0 without an explicit
        # `Connection: keep-alive`, and for bodies that only the end of the connection ends.
        self._keep_alive = parser.should_keep_alive()
        response = UpstreamResponse(self, self._loop, status, self._raw_headers)
        self._raw_headers = []  # trailers, if any, land here and are dropped
        self._response = response
        self._state = BODY
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(response)
        if self._is_head:
            self._finish_message()
            self._skip_body = True
            raise _SkipBody

    def on_body(self, body: bytes) -> None:
        if self._response is not None:
            self._response._feed(body)

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self._finish_message()

    # --- internals ------------------------------------------------------------------------

    def _finish_message(self) -> None:
        self._state = DONE
        if self._response is not None:
            self._response._finish()
        if not self._keep_alive and self._transport is not None:
            self._transport.close()  # nothing more will come; free the upstream's socket now

    def _lost_before_head(self) -> Exception:
        if self.requests > 1 and not self._received:
            return StaleConnection()
        return UpstreamUnavailable("the upstream closed the connection without answering")

    def _reject(self, problem: Exception, detail: str) -> None:
        """The upstream broke the protocol: fail what is in flight and drop the connection.

        `detail` is llhttp's reason (a fixed text such as "Invalid header value char") or
        ours, never bytes of the message, so no header value can leak into an error.
        """
        if self._state is DONE:
            self._keep_alive = False  # bytes after a complete response: never reuse
        error: UpstreamError
        if self._state is BODY:
            error = UpstreamReset(f"the upstream sent an invalid response body: {detail}")
        else:
            error = UpstreamUnavailable(f"the upstream sent an invalid response: {detail}")
        error.__cause__ = problem
        self.abort(error)

    def _fail(self, error: Exception) -> None:
        """End the exchange in flight (if any) with `error`; the connection is done for."""
        state, self._state = self._state, CLOSED
        if state is AWAIT_HEAD:
            waiter, self._waiter = self._waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_exception(error)
        elif state is BODY and self._response is not None and isinstance(error, UpstreamError):
            self._response._fail(error)

    def _check_silence(self) -> None:
        self._timer = None
        if self._state is not AWAIT_HEAD and self._state is not BODY:
            return  # nothing in flight: the next send re-arms the timer
        now = self._loop.time()
        if self.paused or self._write_blocked:
            # The caller is not reading, or the upstream has not read our request yet:
            # either way the silence is not the upstream's to answer for.
            self._last_read = now
        remaining = self._last_read + self._read_timeout - now
        if remaining > _TIMER_SLACK_S:
            self._timer = self._loop.call_later(remaining, self._check_silence)
            return
        waited = "the response headers" if self._state is AWAIT_HEAD else "more of the response body"
        self.abort(UpstreamTimeout(f"no data from the upstream for {self._read_timeout:g}s while waiting for {waited}"))
