"""Deterministic Anthropic Messages API answers in the exact wire format (wire-formats.md §4, §7).

Pure functions from the parsed request to the bytes to send: tests call them too, to know
exactly what the client must receive. JSON is compact, as api.anthropic.com writes it.
"""

from __future__ import annotations

import json
from typing import Any

SERVED_MODEL = "claude-haiku-4-5-20251001"
MESSAGE_ID = "msg_01FakeAbCdEf"
TOOL_ID = "toolu_01FakeWeather"
REQUEST_ID = "req_011FakeRequestId"
TEXT_PIECES = ["Hel", "lo ", "there!"]
TEXT = "".join(TEXT_PIECES)
TOOL_INPUT_PIECES = ['{"ci', 'ty": "Pa', 'ris"}']
TOOL_INPUT = {"city": "Paris"}
THINKING_PIECES = ["Let me ", "think."]
THINKING = "".join(THINKING_PIECES)
SIGNATURE = "EqQBCkYIBRgCKkBfakeSignature=="
REDACTED = "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpPfakeRedacted"
COUNTED_TOKENS = 15
# Cache reads and writes are counted APART from input_tokens (wire-formats.md §4.2), so the
# normalised prompt is 12 + 4 + 3 = 19 tokens.
INPUT, CACHE_READ, CACHE_WRITE, OUTPUT, THINKING_TOKENS = 12, 4, 3, 6, 2
NORMALISED_INPUT = INPUT + CACHE_READ + CACHE_WRITE


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def sse(kind: str, payload: dict[str, Any]) -> bytes:
    """One event: `event: T` then `data: {"type": T, …}` (the data repeats the type)."""
    return b"event: " + kind.encode() + b"\ndata: " + dumps({"type": kind, **payload}) + b"\n\n"


def usage(*, thinking: bool = False) -> dict[str, Any]:
    value: dict[str, Any] = {
        "input_tokens": INPUT,
        "cache_creation_input_tokens": CACHE_WRITE,
        "cache_read_input_tokens": CACHE_READ,
        "cache_creation": {"ephemeral_5m_input_tokens": CACHE_WRITE, "ephemeral_1h_input_tokens": 0},
        "output_tokens": OUTPUT,
        "service_tier": "standard",
    }
    if thinking:
        value["output_tokens_details"] = {"thinking_tokens": THINKING_TOKENS}
    return value


def answer_pieces(request: dict[str, Any]) -> list[str]:
    """A fixed answer, or for `echo*` models the last user text in 5-character pieces."""
    if not str(request.get("model") or "").startswith("echo"):
        return TEXT_PIECES
    said = TEXT
    for message in request.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            said = message["content"]
    return [said[start : start + 5] for start in range(0, len(said), 5)]


def content_blocks(request: dict[str, Any]) -> list[dict[str, Any]]:
    """The answer's blocks: thinking (when asked for), text, and a tool call (when tools are offered)."""
    blocks: list[dict[str, Any]] = []
    if request.get("thinking"):
        blocks.append({"type": "thinking", "thinking": THINKING, "signature": SIGNATURE})
        blocks.append({"type": "redacted_thinking", "data": REDACTED})
    blocks.append({"type": "text", "text": "".join(answer_pieces(request))})
    if request.get("tools"):
        blocks.append({"type": "tool_use", "id": TOOL_ID, "name": "get_weather", "input": TOOL_INPUT})
    return blocks


def stop_reason(request: dict[str, Any]) -> str:
    return "tool_use" if request.get("tools") else "end_turn"


def message(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": MESSAGE_ID,
        "type": "message",
        "role": "assistant",
        "model": SERVED_MODEL,
        "content": content_blocks(request),
        "stop_reason": stop_reason(request),
        "stop_sequence": None,
        "usage": usage(thinking=bool(request.get("thinking"))),
    }


def _block_events(index: int, block: dict[str, Any], text_pieces: list[str]) -> list[bytes]:
    """content_block_start (the block with empty fields), its deltas, content_block_stop."""
    kind = block["type"]
    deltas: list[dict[str, Any]] = []
    if kind == "text":
        opening: dict[str, Any] = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": piece} for piece in text_pieces]
    elif kind == "thinking":
        opening = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [{"type": "thinking_delta", "thinking": piece} for piece in THINKING_PIECES]
        deltas.append({"type": "signature_delta", "signature": SIGNATURE})
    elif kind == "tool_use":
        opening = {**block, "input": {}}
        deltas = [{"type": "input_json_delta", "partial_json": ""}]  # the API opens with an empty piece
        deltas += [{"type": "input_json_delta", "partial_json": piece} for piece in TOOL_INPUT_PIECES]
    else:
        opening = block  # redacted_thinking arrives whole, with no deltas
    events = [sse("content_block_start", {"index": index, "content_block": opening})]
    if index == 0:
        events.append(sse("ping", {}))  # the API pings early; clients must ignore it
    events += [sse("content_block_delta", {"index": index, "delta": delta}) for delta in deltas]
    events.append(sse("content_block_stop", {"index": index}))
    return events


def message_stream(request: dict[str, Any], *, text_pieces: list[str] | None = None) -> list[bytes]:
    """The events of §4.3 in order. `message_delta.usage` is cumulative and repeats the input and
    cache counts, so a parser that adds usage up instead of keeping the last value is caught."""
    thinking = bool(request.get("thinking"))
    final_usage = usage(thinking=thinking)
    start_usage = {**final_usage, "output_tokens": 1}
    start_usage.pop("output_tokens_details", None)
    head = {**message(request), "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    events = [sse("message_start", {"message": head})]
    for index, block in enumerate(content_blocks(request)):
        events += _block_events(index, block, text_pieces if text_pieces is not None else answer_pieces(request))
    delta_usage = {key: value for key, value in final_usage.items() if key not in ("cache_creation", "service_tier")}
    events.append(
        sse(
            "message_delta",
            {"delta": {"stop_reason": stop_reason(request), "stop_sequence": None}, "usage": delta_usage},
        )
    )
    events.append(sse("message_stop", {}))
    return events


def stream_error(message_text: str = "Overloaded") -> bytes:
    return sse("error", {"error": {"type": "overloaded_error", "message": message_text}})


def error(kind: str, message_text: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message_text}, "request_id": REQUEST_ID}


def count_tokens() -> dict[str, Any]:
    return {"input_tokens": COUNTED_TOKENS}


MODELS = {
    "data": [
        {"type": "model", "id": SERVED_MODEL, "display_name": "Claude Haiku 4.5", "created_at": "2025-10-01T00:00:00Z"}
    ],
    "has_more": False,
    "first_id": SERVED_MODEL,
    "last_id": SERVED_MODEL,
}
