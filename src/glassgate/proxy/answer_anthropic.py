"""Anthropic Messages answer streams, guarded: over SSE, and inside Bedrock's invoke chunks.

Each content block is a channel: a text block's `text_delta`s, or a tool call's input, JSON
text in `input_json_delta.partial_json` fragments (`tool_use`, `server_tool_use`). A block
ends with `content_block_stop`: what it held goes out just before, in a delta of its kind.
Thinking is signed by the vendor and relayed as it came.
"""

from __future__ import annotations

from typing import Any

from glassgate.guardrails.answers import AnswerGuard
from glassgate.proxy.answer_events import BlockReader, Edit, Emit, Framing, loads, pushed
from glassgate.proxy.answer_sse import Dialect, SseFraming, sse_event

_DELTA = "content_block_delta"


class AnthropicBlocks(BlockReader):
    """The channels of Anthropic Messages events, read one parsed event at a time."""

    delta_kind = _DELTA

    @staticmethod
    def text_delta(index: int, text: str) -> dict[str, Any]:
        return {"type": _DELTA, "index": index, "delta": {"type": "text_delta", "text": text}}

    @staticmethod
    def call_delta(index: int, text: str) -> dict[str, Any]:
        return {"type": _DELTA, "index": index, "delta": {"type": "input_json_delta", "partial_json": text}}

    def event(self, payload: dict[str, Any], raw: bytes, framing: Framing) -> Emit:
        kind = payload.get("type")
        index = payload["index"] if isinstance(payload.get("index"), int) else 0
        delta = payload.get("delta")
        if kind == "content_block_stop":
            return self.stop(index, raw)
        if kind != _DELTA or not isinstance(delta, dict):
            return [(raw, raw)]
        edits: list[Edit] = []
        if delta.get("type") == "text_delta" and isinstance(delta.get("text"), str):
            pushed(self.text(index, ("content", index, "text")), delta, "text", edits)
        elif delta.get("type") == "input_json_delta" and isinstance(delta.get("partial_json"), str):
            pushed(self.call(index, ("content", index, "input"), json_text=False), delta, "partial_json", edits)
        else:
            return [(raw, raw)]
        return self.delta(index, edits, raw, payload, framing)


class AnthropicDialect(Dialect):
    marker = b"content_block_"

    def __init__(self, guard: AnswerGuard) -> None:
        super().__init__(guard)
        self.blocks = AnthropicBlocks(guard)

    def handle(self, name: str, data: bytes, block: bytes) -> Emit:
        payload = loads(data)
        if not isinstance(payload, dict):
            return [(block, block)]
        return self.blocks.event(payload, block, SseFraming(name or str(payload.get("type", "")), named=True))

    def finish(self) -> Emit:
        return self.blocks.finish()

    def error_event(self, message: str) -> bytes:
        return sse_event("error", {"type": "error", "error": {"type": "invalid_request_error", "message": message}})
