"""uvicorn's httptools protocol with deadlines on what a client sends and reads, so that no
client can hold a connection (a socket, a task, an upstream connection) for as long as it likes.

uvicorn bounds only the idle time between two requests (`timeout_keep_alive`). A request
whose head or body arrives a byte at a time (a slow-loris), a connection that never sends
anything, and a client that stops reading its answer would each be held forever, and httptools
puts no cap on the size of a head. Here:

- the request line and headers must arrive within `head_timeout_s` of the connection opening
  or of the request's first byte, and in at most `max_head_bytes`: else the connection is
  closed (431 for an oversized head);
- the body must arrive in full within `body_timeout_s` of the headers: else 408 and close;
- a client that leaves its answer unread (the socket's send buffer full) for `body_timeout_s`
  is disconnected, which the relay records as a cancelled call.

Time spent while the server itself stopped reading (a pipelined request waiting its turn, or
the app not asking for more of the body yet) does not count against the client.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from glassgate.cli.coalesced_writes import CoalescingTransport

_HEAD_TOO_LARGE = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 32\r\nconnection: close\r\n\r\nRequest header fields too large\n"
)
_BODY_TOO_SLOW = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"content-length: 36\r\nconnection: close\r\n\r\nThe request body arrived too slowly\n"
)


class DeadlineProtocol(HttpToolsProtocol):
    """Use `with_deadlines()` for a subclass with other values."""

    head_timeout_s: ClassVar[float] = 10.0
    body_timeout_s: ClassVar[float] = 60.0
    max_head_bytes: ClassVar[int] = 64 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reading_head = True  # between requests, or a head under way
        self._reading_body = False
        self._head_bytes = 0
        # The deadline in force (loop time) and what happens at it; None: no deadline.
        self._deadline: float | None = None
        self._on_deadline: Callable[[], None] = self._head_expired
        self._timer: asyncio.TimerHandle | None = None  # wakes at or before the deadline
        self._write_stall: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Responses go out through it (head and body in one send); flow control, which only
        # pauses and resumes reading, keeps the transport itself.
        self.transport = CoalescingTransport(transport, self.loop)  # type: ignore[assignment]
        self._arm(self.head_timeout_s, self._head_expired)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if self._timer is not None:  # else it would keep this closed connection alive until it fires
            self._timer.cancel()
            self._timer = None
        if self._write_stall is not None:
            self._write_stall.cancel()
            self._write_stall = None
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._reading_head:
            if self._deadline is None:  # the first bytes after an idle keep-alive
                self._arm(self.head_timeout_s, self._head_expired)
            self._head_bytes += len(data)
        super().data_received(data)
        # Checked after parsing: a packet holding a whole head plus body bytes is no oversized head.
        if self._reading_head and self._head_bytes > self.max_head_bytes and not self.transport.is_closing():
            self.transport.write(_HEAD_TOO_LARGE)
            self.transport.close()

    def on_headers_complete(self) -> None:
        self._reading_head, self._reading_body = False, not self.parser.should_upgrade()
        if self._reading_body:
            self._arm(self.body_timeout_s, self._body_expired)
        else:
            self._disarm()  # an upgraded connection is another protocol's
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._reading_head, self._reading_body, self._head_bytes = True, False, 0
        self._disarm()  # the next head's deadline starts with its first byte
        super().on_message_complete()

    def pause_writing(self) -> None:
        super().pause_writing()
        if self._write_stall is None:
            self._write_stall = self.loop.call_later(self.body_timeout_s, self._write_stalled)

    def resume_writing(self) -> None:
        super().resume_writing()
        if self._write_stall is not None:
            self._write_stall.cancel()
            self._write_stall = None

    def _arm(self, seconds: float, callback: Callable[[], None]) -> None:
        # A request moves its deadline three times (head, body, none): a timer for each would
        # cost two timer starts and stops per request. Instead one timer per connection wakes
        # at or before the deadline and, when the deadline has moved on since, sleeps again
        # until it; on a busy keep-alive connection that is one wake-up per head timeout.
        self._deadline = deadline = self.loop.time() + seconds
        self._on_deadline = callback
        if self._timer is not None:
            if self._timer.when() <= deadline:
                return
            self._timer.cancel()
        self._timer = self.loop.call_at(deadline, self._wake)

    def _disarm(self) -> None:
        self._deadline = None  # a pending timer finds no deadline and stops

    def _wake(self) -> None:
        self._timer = None
        deadline = self._deadline
        if deadline is None:
            return
        if self.loop.time() < deadline:
            self._timer = self.loop.call_at(deadline, self._wake)
            return
        self._deadline = None
        self._on_deadline()

    def _head_expired(self) -> None:
        if self.flow is not None and self.flow.read_paused:  # a pipelined request waits its turn
            self._arm(self.head_timeout_s, self._head_expired)
        elif self._reading_head and not self.transport.is_closing():
            self.transport.close()

    def _body_expired(self) -> None:
        if self.flow is not None and self.flow.read_paused:  # the app has not asked for more yet
            self._arm(self.body_timeout_s, self._body_expired)
            return
        if not self._reading_body or self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_started:
            self.transport.write(_BODY_TOO_SLOW)
        self.transport.close()  # the app's next receive() returns http.disconnect

    def _write_stalled(self) -> None:
        self._write_stall = None
        if not self.transport.is_closing():
            self.transport.abort()  # close() would wait to flush what the client does not read


def with_deadlines(head_timeout_s: float, body_timeout_s: float) -> type[DeadlineProtocol]:
    """The protocol class for `uvicorn.run(http=...)`, with these deadlines."""
    return type(
        "DeadlineProtocol",
        (DeadlineProtocol,),
        {"head_timeout_s": head_timeout_s, "body_timeout_s": body_timeout_s},
    )
