"""Block and redact inside a streamed answer, event by event, in the vendor's own format.

Only the events that may carry a channel are parsed and, when a channel's text changes,
re-serialised; every other event is relayed byte for byte. A channel is a piece of generated
text (a choice, a content block, an output item's part) or a tool call's arguments (JSON text
in fragments); each goes through a window (guardrails.answers, guardrails.arguments) that
holds back only the tail a match could still grow into; what is held is sent in a delta of the
same shape just before the event that ends the channel. A match of a `block` policy ends the
stream with the vendor's own error event, which the SDKs raise as an error.

- OpenAI / Azure Chat Completions and legacy Completions: answer_chat
- OpenAI Responses: answer_responses
- Anthropic Messages: answer_anthropic
- Bedrock ConverseStream and InvokeModel streams (AWS event-stream frames): answer_eventstream,
  with the invoke families that write plain text pieces (Titan, Llama, Mistral, Cohere) in
  answer_invoke

Every event comes out twice, (to the client, to the span): the same bytes unless this call
restores its request's placeholders (guardrails.answers), when the client's copy has the
values and the span's keeps the placeholders. Each copy is the raw event when its text did
not change, and is re-serialised only when it did.
"""

from __future__ import annotations

from typing import Protocol

from glassgate.guardrails.answers import AnswerGuard
from glassgate.proxy.answer_anthropic import AnthropicDialect
from glassgate.proxy.answer_chat import ChatDialect
from glassgate.proxy.answer_events import Pair
from glassgate.proxy.answer_eventstream import EventStreamAnswerGuard
from glassgate.proxy.answer_responses import ResponsesDialect
from glassgate.proxy.answer_sse import Dialect, parse_block
from glassgate.proxy.sse import complete_events_end, split_event_blocks
from glassgate.proxy.vendors.anthropic import operation_for as anthropic_operation
from glassgate.proxy.vendors.bedrock import route_of as bedrock_route_of
from glassgate.proxy.vendors.openai import operation_for as openai_operation


class StreamGuard(Protocol):
    ended: bool

    def feed(self, chunk: bytes) -> Pair:
        """(to relay to the client, to capture for the span) for one chunk of the answer."""
        ...

    def flush(self) -> Pair: ...


def stream_guard_for(vendor: str, path: str, guard: AnswerGuard) -> StreamGuard | None:
    """The guard for a call's streamed answer, or None when its format cannot be guarded."""
    if vendor == "bedrock":
        operation = bedrock_route_of(path.split("?", 1)[0]).operation
        if operation in ("converse_stream", "invoke_stream"):
            return EventStreamAnswerGuard(guard, invoke=operation == "invoke_stream")
        return None
    dialect = dialect_for(vendor, path, guard)
    return AnswerStreamGuard(dialect) if dialect is not None else None


def dialect_for(vendor: str, path: str, guard: AnswerGuard) -> Dialect | None:
    """The SSE dialect of a call, or None when its stream cannot be guarded."""
    route = path.split("?", 1)[0]
    if vendor in ("openai", "azure"):
        operation = openai_operation("POST", route)
        if operation == "chat":
            return ChatDialect(guard, legacy=False)
        if operation == "completions":
            return ChatDialect(guard, legacy=True)
        if operation == "responses":
            return ResponsesDialect(guard)
        return None
    if vendor == "anthropic" and anthropic_operation("POST", route) == "messages":
        return AnthropicDialect(guard)
    return None


class AnswerStreamGuard:
    """Feeds an SSE answer through a dialect: `feed` each chunk, relay what it returns; after
    `ended` is set (a block), relay nothing more and close the stream."""

    __slots__ = ("_dialect", "_pending", "ended")

    def __init__(self, dialect: Dialect) -> None:
        self._dialect = dialect
        self._pending = b""
        self.ended = False

    def feed(self, chunk: bytes) -> Pair:
        if self.ended:
            return b"", b""
        data = self._pending + chunk if self._pending else chunk
        end = complete_events_end(data)
        self._pending = data[end:]
        return self._relay(data[:end])

    def flush(self) -> Pair:
        if self.ended:
            return b"", b""
        rest, self._pending = self._pending, b""
        client, stored = self._relay(rest) if rest else (b"", b"")
        if self.ended:
            return client, stored
        tail = self._dialect.finish()
        if self._dialect.guard.blocked_by is not None:  # the last held text completed a match
            self.ended = True
            error = self._dialect.error_event(self._dialect.guard.blocked_by)
            return client + error, stored + error
        return client + b"".join(pair[0] for pair in tail), stored + b"".join(pair[1] for pair in tail)

    def _relay(self, ready: bytes) -> Pair:
        if not ready:
            return b"", b""
        dialect = self._dialect
        client: list[bytes] = []
        stored: list[bytes] = []
        for block in split_event_blocks(ready):
            if dialect.marker not in block and not block.rstrip().endswith(b"[DONE]"):
                client.append(block)
                stored.append(block)
                continue
            parsed = parse_block(block)
            emitted = dialect.handle(*parsed, block) if parsed is not None else [(block, block)]
            if dialect.guard.blocked_by is not None:
                error = dialect.error_event(dialect.guard.blocked_by)
                client.append(error)
                stored.append(error)
                self.ended = True
                break
            for to_client, to_span in emitted:
                client.append(to_client)
                stored.append(to_span)
        relayed = b"".join(client)
        return relayed, relayed if dialect.guard.restorer is None else b"".join(stored)
