"""A transport wrapper that sends the writes of one event-loop turn as one.

uvicorn writes a response's head and its body separately, so an answer relayed whole costs
two `send` calls, and on loopback or a VPC each send is also a packet and a wake-up for the
peer: a third of the proxy's CPU went to socket writes. Here a write is held until the
current turn of the loop ends (`call_soon`), and whatever else was written meanwhile (the
body that follows the head, the last chunk's terminator) goes out with it. Nothing waits
longer than that turn: a stream's head is sent before its first event arrives, and each
event as it comes.
"""

from __future__ import annotations

import asyncio
from typing import Any

# Past this much, send at once: the join would copy a large body for nothing.
_HOLD_AT_MOST = 64 * 1024


class CoalescingTransport:
    """Everything but `write`, `close` and `abort` is the wrapped transport's own."""

    __slots__ = ("_held", "_held_bytes", "_loop", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop):
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None
        self._held_bytes = 0

    def write(self, data: bytes) -> None:
        if self._held is None:
            if len(data) >= _HOLD_AT_MOST:
                self._transport.write(data)
                return
            self._held, self._held_bytes = [data], len(data)
            self._loop.call_soon(self.flush)
            return
        self._held.append(data)
        self._held_bytes += len(data)
        if self._held_bytes >= _HOLD_AT_MOST:
            self.flush()

    def writelines(self, chunks: Any) -> None:
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        held, self._held = self._held, None
        if not held or self._transport.is_closing():
            return
        self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + (self._held_bytes if self._held else 0)

    def close(self) -> None:
        self.flush()  # close() sends what was written before it; only abort() discards
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)
