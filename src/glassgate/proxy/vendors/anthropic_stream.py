"""Assemble an Anthropic Messages SSE stream into one value shaped like the non-streamed `Message`.

The order on the wire (wire-formats.md §4.3): `message_start`, then per content block
`content_block_start`, `content_block_delta`…, `content_block_stop`, then `message_delta`
(stop reason and CUMULATIVE usage) and `message_stop`; `ping` may come at any time and an
`event: error` may arrive inside a 200 stream. The assembler is forgiving: events in an odd
order, unknown event or delta types and malformed JSON are skipped or tolerated, never raised.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from glassgate.proxy.sse import parse_events
from glassgate.proxy.vendors.base import JSONValue, loads_or_none

# Which block field each string delta extends. `signature` is replaced, not joined: the
# vendor sends it whole, and the SDK's own accumulator overwrites it too.
_JOINED_FIELDS = {"text_delta": "text", "thinking_delta": "thinking"}
# The block a delta implies when its `content_block_start` never arrived (a damaged stream).
_IMPLIED_BLOCKS: dict[str, dict[str, Any]] = {
    "text_delta": {"type": "text", "text": ""},
    "citations_delta": {"type": "text", "text": ""},
    "thinking_delta": {"type": "thinking", "thinking": "", "signature": ""},
    "signature_delta": {"type": "thinking", "thinking": "", "signature": ""},
    "input_json_delta": {"type": "tool_use", "input": {}},
}


@dataclass
class MessageStreamResult:
    """The assembled `Message` plus what only the stream tells: first content and errors."""

    response: dict[str, Any] = field(default_factory=dict)
    first_content_chunk: int | None = None
    error: str | None = None
    error_type: str | None = None


def settled_usage(usage: dict[str, Any], *, final: bool) -> dict[str, Any]:
    """A stream's usage as stored. `message_start` gives the final input and cache counts but
    an output_tokens (1) that is a placeholder: only `message_delta` (`final`) counts the answer.
    Without one, the output's count is left out, for capture to estimate and mark as estimated."""
    return usage if final else {key: value for key, value in usage.items() if key != "output_tokens"}


def error_of(payload: JSONValue) -> tuple[str | None, str | None]:
    """(message, type) from `{"type": "error", "error": {"type", "message"}}`, tolerating variations."""
    error = payload.get("error") if isinstance(payload, dict) else None
    if isinstance(error, dict):
        kind = error.get("type")
        return str(error.get("message") or kind or "error"), str(kind) if kind else None
    if isinstance(error, str) and error:
        return error, None
    return None, None


class _Assembler:
    def __init__(self) -> None:
        self.message: dict[str, Any] = {}
        self.usage: dict[str, Any] = {}
        self.blocks: dict[int, dict[str, Any]] = {}
        self.json_parts: dict[int, list[str]] = {}
        self.result = MessageStreamResult()
        self.final_usage = False  # a message_delta brought the usage: the count of the whole answer

    def feed(self, kind: str, payload: dict[str, Any], chunk_index: int) -> None:
        if kind == "message_start":
            self._start(payload.get("message"))
        elif kind == "content_block_start":
            index, block = payload.get("index"), payload.get("content_block")
            if isinstance(index, int) and isinstance(block, dict):
                # A copy: the assembled value must not alias the parsed event.
                self.blocks[index] = dict(block)
        elif kind == "content_block_delta":
            if self._delta(payload.get("index"), payload.get("delta")) and self.result.first_content_chunk is None:
                self.result.first_content_chunk = chunk_index
        elif kind == "message_delta":
            self._message_delta(payload)
        elif kind == "error":
            message, error_type = error_of(payload)
            self.result.error = message or "error in stream"
            self.result.error_type = error_type
        # ping, content_block_stop, message_stop and unknown events carry nothing to keep.

    def _start(self, message: JSONValue) -> None:
        if not isinstance(message, dict):
            return
        self.message = {key: value for key, value in message.items() if key not in ("content", "usage")}
        usage = message.get("usage")
        if isinstance(usage, dict):
            self._merge_usage(usage)

    def _merge_usage(self, usage: dict[str, Any]) -> None:
        # `message_delta.usage` is cumulative: the last value of each field wins. Adding
        # them up would double count. A null means "not repeated here", not zero, so it
        # must not erase the value `message_start` gave.
        for key, value in usage.items():
            if value is not None or key not in self.usage:
                self.usage[key] = value

    def _delta(self, index: JSONValue, delta: JSONValue) -> bool:
        """Fold one delta into its block; True when it was a content delta (the TTFT anchor)."""
        if not isinstance(index, int) or not isinstance(delta, dict):
            return False
        kind = delta.get("type")
        kind = kind if isinstance(kind, str) else ""
        block = self.blocks.get(index)
        if block is None:
            block = self.blocks[index] = dict(_IMPLIED_BLOCKS.get(kind, {"type": "unknown"}))
        if kind in _JOINED_FIELDS:
            name = _JOINED_FIELDS[kind]
            piece = delta.get(name)
            if isinstance(piece, str):
                previous = block.get(name)
                block[name] = (previous if isinstance(previous, str) else "") + piece
        elif kind == "signature_delta":
            if isinstance(delta.get("signature"), str):
                block["signature"] = delta["signature"]
        elif kind == "input_json_delta":
            piece = delta.get("partial_json")
            if isinstance(piece, str):
                self.json_parts.setdefault(index, []).append(piece)
        elif kind == "citations_delta":
            citations = block.get("citations")
            block["citations"] = [*(citations if isinstance(citations, list) else []), delta.get("citation")]
        return True

    def _message_delta(self, payload: dict[str, Any]) -> None:
        delta = payload.get("delta")
        if isinstance(delta, dict):
            for key, value in delta.items():
                # stop_reason, stop_sequence, stop_details, container…: a later null never
                # erases a value already known.
                if value is not None or key not in self.message:
                    self.message[key] = value
        usage = payload.get("usage")
        if isinstance(usage, dict):
            self._merge_usage(usage)
            self.final_usage = True

    def finish(self) -> MessageStreamResult:
        for index, parts in self.json_parts.items():
            joined = "".join(parts)
            # An empty input stream means "no arguments"; text that does not parse (a stream
            # cut mid-argument) is kept raw so the trace still shows what arrived.
            parsed = loads_or_none(joined) if joined else {}
            self.blocks[index]["input"] = parsed if parsed is not None or joined == "null" else joined
        if self.message or self.blocks or self.usage:
            response = dict(self.message)
            response["content"] = [self.blocks[index] for index in sorted(self.blocks)]
            usage = settled_usage(self.usage, final=self.final_usage)
            if usage:
                response["usage"] = usage
            self.result.response = response
        return self.result


def assemble_messages(chunks: Sequence[bytes]) -> MessageStreamResult:
    """Join a Messages stream's events into one `Message`-shaped value."""
    assembler = _Assembler()
    for event in parse_events(chunks):
        payload = loads_or_none(event.data)
        if event.event == "error":
            # The SDKs raise on the event name alone, whatever the data holds; so do we.
            fallback = event.data.strip()[:500] or "error in stream"
            assembler.feed("error", payload if isinstance(payload, dict) else {"error": fallback}, event.index)
            continue
        if not isinstance(payload, dict):
            continue
        # The data's `type` and the `event:` line agree on the wire; prefer the data, and
        # fall back to the event name for payloads without a type.
        kind = payload.get("type")
        kind = kind if isinstance(kind, str) and kind else event.event
        assembler.feed(kind, payload, event.index)
    return assembler.finish()
