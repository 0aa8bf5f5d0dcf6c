"""The SSE side of a guarded answer stream: raw events in, one dialect per vendor format.

A dialect is handed only the events that may carry a channel (its `marker` bytes are in them)
and returns the events to relay for each; every other event goes through byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from glassgate.guardrails.answers import AnswerGuard
from glassgate.proxy.answer_events import Emit


def parse_block(block: bytes) -> tuple[str, bytes] | None:
    """(event name, data) of one raw SSE event with a single data line; None otherwise."""
    event, data, lines = "", None, block.splitlines()
    for line in lines:
        if line.startswith(b"data:"):
            if data is not None:
                return None
            data = line[5:].lstrip(b" ")
        elif line.startswith(b"event:"):
            event = line[6:].strip().decode("utf-8", "replace")
    return (event, data) if data is not None else None


def sse_event(name: str | None, payload: Any) -> bytes:
    head = f"event: {name}\n".encode() if name else b""
    return head + b"data: " + orjson.dumps(payload) + b"\n\n"


@dataclass(frozen=True, slots=True)
class SseFraming:
    """Events of a stream that names them (`event: …` lines, Anthropic, Responses) or does not
    (OpenAI chat: `data:` only)."""

    name: str | None
    named: bool

    def again(self, payload: Any) -> bytes:
        return sse_event(self.name, payload)

    def new(self, kind: str, payload: Any) -> bytes:
        return sse_event(kind if self.named else None, payload)


class Dialect:
    """One vendor's SSE answer: `handle` returns the events to relay for one event."""

    marker: bytes = b""  # an event without these bytes carries no channel and ends none

    def __init__(self, guard: AnswerGuard) -> None:
        self.guard = guard

    def handle(self, name: str, data: bytes, block: bytes) -> Emit:
        raise NotImplementedError

    def finish(self) -> Emit:
        """At the end of the stream: whatever is still held, in events of the vendor's shape."""
        return []

    def error_event(self, message: str) -> bytes:
        raise NotImplementedError
