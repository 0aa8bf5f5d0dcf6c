"""Anthropic's Messages API wire format for simulated answers (wire-formats.md §4).

Pure functions. The stream follows the real event order: `message_start` (input and cache
counts, `output_tokens: 1`), per block `content_block_start` → deltas → `content_block_stop`
(a `ping` after the first start), `message_delta` with the cumulative usage, `message_stop`.
Cache tokens are reported apart from `input_tokens`, as the API does.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from glassgate.demo.answer import Answer, served_model
from glassgate.demo.catalog import count_tokens, reply


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def sse(kind: str, payload: dict[str, Any]) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + dumps({"type": kind, **payload}) + b"\n\n"


def _texts(content: Any) -> Iterator[str]:
    if isinstance(content, str):
        yield content
    elif isinstance(content, list):
        for block in content:
            if isinstance(block, dict):
                if block.get("type") == "text":
                    yield str(block.get("text", ""))
                elif block.get("type") == "tool_result":
                    yield from _texts(block.get("content"))
                elif block.get("type") == "tool_use":
                    yield json.dumps(block.get("input"))


def _has_cache_control(system: Any) -> bool:
    return isinstance(system, list) and any(isinstance(block, dict) and block.get("cache_control") for block in system)


def answer_for(request: dict[str, Any], seen_prefixes: set[str]) -> Answer:
    """The answer to a Messages request. A `system` marked with `cache_control` is written to the
    cache the first time (its text added to `seen_prefixes`) and read from it afterwards."""
    messages = [message for message in request.get("messages") or [] if isinstance(message, dict)]
    user_texts = [
        str(block.get("text", ""))
        for message in messages
        if message.get("role") == "user"
        for block in _blocks(message)
        if block.get("type") == "text"
    ]
    last = _blocks(messages[-1]) if messages else []
    tool_result = any(block.get("type") == "tool_result" for block in last)
    answer = reply(
        user_texts[-1] if user_texts else "", tools_offered=bool(request.get("tools")), tool_result_given=tool_result
    )
    system = request.get("system")
    system_tokens = sum(count_tokens(text) for text in _texts(system)) if system else 0
    tokens = (
        3
        + system_tokens
        + sum(4 + count_tokens(text) for message in messages for text in _texts(message.get("content")))
    )
    if request.get("tools"):
        tokens += 250 + count_tokens(json.dumps(request["tools"]))  # Claude's tool-use system prompt
    cache_read = cache_write = 0
    if _has_cache_control(system):
        key = json.dumps(system, sort_keys=True)
        if key in seen_prefixes:
            cache_read = system_tokens
        else:
            seen_prefixes.add(key)
            cache_write = system_tokens
    model = served_model(str(request.get("model") or ""))
    return Answer(model, answer, tokens, cached_tokens=cache_read, cache_write_tokens=cache_write)


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [block for block in content or [] if isinstance(block, dict)]


def _usage(answer: Answer, output_tokens: int) -> dict[str, Any]:
    return {
        "input_tokens": answer.input_tokens - answer.cached_tokens - answer.cache_write_tokens,
        "cache_creation_input_tokens": answer.cache_write_tokens,
        "cache_read_input_tokens": answer.cached_tokens,
        "cache_creation": {"ephemeral_5m_input_tokens": answer.cache_write_tokens, "ephemeral_1h_input_tokens": 0},
        "output_tokens": output_tokens,
        "service_tier": "standard",
    }


def _content(answer: Answer) -> list[dict[str, Any]]:
    blocks: list[dict[str, Any]] = []
    if answer.reply.text:
        blocks.append({"type": "text", "text": answer.reply.text})
    call = answer.reply.tool_call
    if call is not None:
        blocks.append({"type": "tool_use", "id": call.anthropic_id, "name": call.name, "input": call.arguments})
    return blocks


def _stop_reason(answer: Answer) -> str:
    return "end_turn" if answer.reply.tool_call is None else "tool_use"


def message(answer: Answer, message_id: str) -> dict[str, Any]:
    return {
        "id": message_id,
        "type": "message",
        "role": "assistant",
        "model": answer.model,
        "content": _content(answer),
        "stop_reason": _stop_reason(answer),
        "stop_sequence": None,
        "usage": _usage(answer, answer.output_tokens),
    }


def message_stream(answer: Answer, message_id: str) -> list[bytes]:
    head = {**message(answer, message_id), "content": [], "stop_reason": None, "usage": _usage(answer, 1)}
    events = [sse("message_start", {"message": head})]
    for index, block in enumerate(_content(answer)):
        if block["type"] == "text":
            opening: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": piece} for piece in answer.text_pieces()]
        else:
            opening = {**block, "input": {}}
            text = json.dumps(block["input"])
            deltas = [{"type": "input_json_delta", "partial_json": ""}]  # the API opens with an empty piece
            deltas += [{"type": "input_json_delta", "partial_json": text[at : at + 8]} for at in range(0, len(text), 8)]
        events.append(sse("content_block_start", {"index": index, "content_block": opening}))
        if index == 0:
            events.append(sse("ping", {}))
        events += [sse("content_block_delta", {"index": index, "delta": delta}) for delta in deltas]
        events.append(sse("content_block_stop", {"index": index}))
    final = {"output_tokens": answer.output_tokens}
    events.append(
        sse("message_delta", {"delta": {"stop_reason": _stop_reason(answer), "stop_sequence": None}, "usage": final})
    )
    events.append(sse("message_stop", {}))
    return events


def error(kind: str, text: str, request_id: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": text}, "request_id": request_id}


RATE_LIMITED = (
    "This request would exceed the rate limit for your organization of 50 requests per minute. For details, "
    "refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage."
)


def stream_error() -> bytes:
    """The API ends a failing stream with an error event (no message_delta, no message_stop)."""
    return sse("error", {"error": {"type": "overloaded_error", "message": "Overloaded"}})
