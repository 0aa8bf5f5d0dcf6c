"""Bedrock Converse and ConverseStream (one format for every model), and Nova's invoke stream.

A ConverseStream is assembled into the shape of a Converse response, so a stored span looks
the same whether or not the client streamed. Amazon Nova's InvokeModel stream uses the same
events as JSON keys (`{"contentBlockDelta": {...}}`), so it reuses the assembler.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from glassgate.proxy.vendors.base import JSONValue, as_int, dig, loads_or_none
from glassgate.proxy.vendors.bedrock_common import Event, Parsed, append_to, converse_usage, read_stream, text_of

CONVERSE_EVENTS = (
    "messageStart",
    "contentBlockStart",
    "contentBlockDelta",
    "contentBlockStop",
    "messageStop",
    "metadata",
)
_MESSAGE_STOP_KEYS = ("stopReason", "additionalModelResponseFields")
_METADATA_KEYS = ("usage", "metrics", "trace", "performanceConfig", "serviceTier")


@dataclass(slots=True)
class _Block:
    """One content block while its deltas arrive."""

    text: list[str] = field(default_factory=list)
    tool: dict[str, Any] | None = None
    tool_input: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    signature: str | None = None
    redacted: JSONValue = None
    extra: dict[str, Any] = field(default_factory=dict)  # citations, images, tool results: kept as sent

    def add(self, delta: dict[str, Any]) -> None:
        for key, value in delta.items():
            if key == "text" and isinstance(value, str):
                self.text.append(value)
            elif key == "toolUse" and isinstance(dig(value, "input"), str):
                self.tool = self.tool if self.tool is not None else {}
                self.tool_input.append(value["input"])
            elif key == "reasoningContent" and isinstance(value, dict):
                self._add_reasoning(value)
            else:
                append_to(self.extra, key, value)

    def _add_reasoning(self, delta: dict[str, Any]) -> None:
        if isinstance(delta.get("text"), str):
            self.reasoning.append(delta["text"])
        if isinstance(delta.get("signature"), str):
            self.signature = delta["signature"]
        if "redactedContent" in delta:
            self.redacted = delta["redactedContent"]

    def finish(self) -> dict[str, Any]:
        block: dict[str, Any] = {}
        if self.text:
            block["text"] = "".join(self.text)
        if self.tool is not None:
            block["toolUse"] = {**self.tool, "input": _tool_input(self.tool_input)}
        if self.reasoning or self.signature is not None:
            reasoning_text: dict[str, Any] = {"text": "".join(self.reasoning)}
            if self.signature is not None:
                reasoning_text["signature"] = self.signature
            block["reasoningContent"] = {"reasoningText": reasoning_text}
        if self.redacted is not None:
            block.setdefault("reasoningContent", {})["redactedContent"] = self.redacted
        block.update(self.extra)
        return block or {"text": ""}


def _tool_input(pieces: list[str]) -> JSONValue:
    """The tool input as an object, as in a Converse response; the raw text if it is not JSON."""
    joined = "".join(pieces)
    if not joined:
        return {}
    parsed = loads_or_none(joined)
    return parsed if parsed is not None else joined


class ConverseAssembler:
    """Fold ConverseStream events into one Converse-shaped response."""

    def __init__(self) -> None:
        self.role = "assistant"
        self.blocks: dict[int, _Block] = {}
        self.top: dict[str, Any] = {}
        self.first_content_chunk: int | None = None

    def _block(self, payload: dict[str, Any]) -> _Block:
        index = as_int(payload.get("contentBlockIndex"))
        index = index if index is not None else max(self.blocks, default=-1) + 1
        return self.blocks.setdefault(index, _Block())

    def feed(self, chunk_index: int, kind: str, payload: dict[str, Any]) -> None:
        if kind == "messageStart":
            self.role = text_of(payload.get("role")) or self.role
        elif kind == "contentBlockStart":
            start = payload.get("start")
            tool = dig(start, "toolUse")
            block = self._block(payload)
            if isinstance(tool, dict):
                block.tool = {key: tool[key] for key in ("toolUseId", "name") if key in tool}
            elif isinstance(start, dict):
                block.extra.update(start)
        elif kind == "contentBlockDelta":
            delta = payload.get("delta")
            if isinstance(delta, dict):
                self._block(payload).add(delta)
            if self.first_content_chunk is None:
                self.first_content_chunk = chunk_index  # table 0.2: the first contentBlockDelta
        elif kind in ("messageStop", "metadata"):
            keys = _MESSAGE_STOP_KEYS if kind == "messageStop" else _METADATA_KEYS
            self.top.update({key: payload[key] for key in keys if key in payload})

    def feed_nova_chunk(self, chunk_index: int, chunk: dict[str, Any]) -> None:
        """A Nova invoke-stream chunk: the event type is the key."""
        for kind in CONVERSE_EVENTS:
            if isinstance(chunk.get(kind), dict):
                self.feed(chunk_index, kind, chunk[kind])

    def response(self) -> dict[str, Any]:
        content = [self.blocks[index].finish() for index in sorted(self.blocks)]
        return {"output": {"message": {"role": self.role, "content": content}}, **self.top}


def finish_converse(parsed: Parsed) -> None:
    """Usage, stop reason and latency from a Converse-shaped response (streamed or not)."""
    response = parsed.response
    parsed.usage = converse_usage(dig(response, "usage"))
    parsed.finish_reason = text_of(dig(response, "stopReason"))
    latency = as_int(dig(response, "metrics", "latencyMs"))
    if latency is not None:
        parsed.attributes["bedrock.latency_ms"] = latency


def parse_converse(body: bytes, parsed: Parsed) -> None:
    parsed.response = loads_or_none(body) if body else None
    parsed.first_content_chunk = 0 if body else None  # a whole JSON answer: its first byte is its first content
    finish_converse(parsed)


def parse_converse_stream(chunks: Sequence[bytes], parsed: Parsed) -> None:
    events: list[Event] = read_stream(chunks, parsed, invoke=False)
    assembler = ConverseAssembler()
    for chunk_index, kind, payload in events:
        assembler.feed(chunk_index, kind, payload)
    parsed.response = assembler.response()
    parsed.first_content_chunk = assembler.first_content_chunk
    finish_converse(parsed)
