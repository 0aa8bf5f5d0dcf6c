"""A transport wrapper that sends a response's head together with what follows it.

uvicorn writes a response's head and its body separately, so an answer relayed whole costs
two `send` calls, and on loopback or a VPC each send is also a packet and a wake-up for the
peer: a third of the proxy's CPU went to socket writes. Here a write is held back, and the
next write goes out with it at once (the body after the head: one send). A write nothing
follows within the current turn of the event loop is sent when the turn ends (`call_soon`),
so nothing waits longer than that: a stream's head leaves before its first event arrives.
"""

from __future__ import annotations

import asyncio
from typing import Any

# Past this much, send at once: the join would copy a large body for nothing.
_HOLD_AT_MOST = 64 * 1024


class CoalescingTransport:
    """Everything but `write`, `close` and `abort` is the wrapped transport's own."""

    __slots__ = ("_held", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._held: bytes | None = None  # at most one write waits

    def write(self, data: bytes) -> None:
        held = self._held
        if len(data) >= _HOLD_AT_MOST:
            if held is not None:
                self._held = None
                self._transport.write(held)
            self._transport.write(data)
        elif held is not None:
            self._held = None
            self._transport.write(held + data)
        else:
            self._held = data
            self._loop.call_soon(self.flush)

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + len(self._held or b"")

    def close(self) -> None:
        self.flush()  # close() sends what was written before it; only abort() discards
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
