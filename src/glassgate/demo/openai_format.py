"""OpenAI's wire format for simulated answers: Chat Completions, Responses, Embeddings, errors.

Pure functions from a parsed request (and an `Answer`) to JSON values or SSE bytes, shaped as
wire-formats.md §1 describes: chat chunks with `"usage": null` and a final usage chunk when
the request sets `stream_options.include_usage`, then `data: [DONE]`; Responses events with
`sequence_number` ending at `response.completed`, with no `[DONE]`.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
import struct
from collections.abc import Iterator
from typing import Any

from glassgate.demo.answer import Answer, served_model
from glassgate.demo.catalog import count_tokens, reply

_FINGERPRINT = "fp_7d0d1f63b5"


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    return head + b"data: " + dumps(payload) + b"\n\n"


def _text_of(content: Any) -> str:
    """A message's text: a string, or the text parts of a list (`text`, `input_text`, `output_text`)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
    return ""


def _prompt_tokens(texts: Iterator[str], extra: Any) -> int:
    count = 3
    for text in texts:
        count += 4 + count_tokens(text)
    return count + (count_tokens(json.dumps(extra)) if extra else 0)


def chat_answer(request: dict[str, Any]) -> Answer:
    messages = [message for message in request.get("messages") or [] if isinstance(message, dict)]
    users = [_text_of(message.get("content")) for message in messages if message.get("role") == "user"]
    tool_result = bool(messages) and messages[-1].get("role") == "tool"
    answer = reply(users[-1] if users else "", tools_offered=bool(request.get("tools")), tool_result_given=tool_result)
    tokens = _prompt_tokens((_text_of(message.get("content")) for message in messages), request.get("tools"))
    # OpenAI caches prompt prefixes from 1,024 tokens, in steps of 128: a later turn finds its history.
    cached = (tokens - 128) // 128 * 128 if tokens >= 1024 and len(messages) > 2 else 0
    return Answer(served_model(str(request.get("model") or "")), answer, tokens, cached_tokens=cached)


def _chat_usage(answer: Answer) -> dict[str, Any]:
    return {
        "prompt_tokens": answer.input_tokens,
        "completion_tokens": answer.output_tokens,
        "total_tokens": answer.input_tokens + answer.output_tokens,
        "prompt_tokens_details": {"cached_tokens": answer.cached_tokens, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def chat_completion(answer: Answer, completion_id: str) -> dict[str, Any]:
    call = answer.reply.tool_call
    message: dict[str, Any] = {"role": "assistant", "content": None, "refusal": None, "annotations": []}
    if call is None:
        message["content"] = answer.reply.text
    else:
        arguments = json.dumps(call.arguments)
        message["tool_calls"] = [
            {"id": call.openai_id, "type": "function", "function": {"name": call.name, "arguments": arguments}}
        ]
    finish = "stop" if call is None else "tool_calls"
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": answer.created,
        "model": answer.model,
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": _chat_usage(answer),
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }


def chat_stream(answer: Answer, completion_id: str, *, include_usage: bool) -> list[bytes]:
    head = {
        "id": completion_id,
        "object": "chat.completion.chunk",
        "created": answer.created,
        "model": answer.model,
        "service_tier": "default",
        "system_fingerprint": _FINGERPRINT,
    }
    usage_field: dict[str, Any] = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
        choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
        return sse({**head, "choices": [choice], **usage_field})

    events = [chunk({"role": "assistant", "content": "", "refusal": None})]
    call = answer.reply.tool_call
    if call is None:
        events += [chunk({"content": piece}) for piece in answer.text_pieces()]
    else:
        opening = {
            "index": 0,
            "id": call.openai_id,
            "type": "function",
            "function": {"name": call.name, "arguments": ""},
        }
        events.append(chunk({"tool_calls": [opening]}))
        for piece in _json_pieces(call.arguments):
            events.append(chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}))
    events.append(chunk({}, "stop" if call is None else "tool_calls"))
    if include_usage:
        events.append(sse({**head, "choices": [], "usage": _chat_usage(answer)}))
    events.append(b"data: [DONE]\n\n")
    return events


def _json_pieces(arguments: dict[str, Any], size: int = 6) -> list[str]:
    text = json.dumps(arguments)
    return [text[start : start + size] for start in range(0, len(text), size)]


def responses_answer(request: dict[str, Any]) -> Answer:
    items = request.get("input")
    if isinstance(items, str):
        items = [{"role": "user", "content": items}]
    items = [item for item in items or [] if isinstance(item, dict)]
    users = [_text_of(item.get("content")) for item in items if item.get("role") == "user"]
    tool_result = bool(items) and items[-1].get("type") == "function_call_output"
    answer = reply(users[-1] if users else "", tools_offered=bool(request.get("tools")), tool_result_given=tool_result)
    texts = [str(request.get("instructions") or ""), *(_text_of(item.get("content")) for item in items)]
    tokens = _prompt_tokens(iter(texts), request.get("tools"))
    return Answer(served_model(str(request.get("model") or "")), answer, tokens)


def _output_item(answer: Answer, item_id: str) -> dict[str, Any]:
    call = answer.reply.tool_call
    if call is not None:
        arguments = json.dumps(call.arguments)
        return {
            "id": item_id,
            "type": "function_call",
            "status": "completed",
            "arguments": arguments,
            "call_id": call.openai_id,
            "name": call.name,
        }
    text_part = {"type": "output_text", "text": answer.reply.text, "annotations": [], "logprobs": []}
    return {"id": item_id, "type": "message", "status": "completed", "role": "assistant", "content": [text_part]}


def response_object(
    request: dict[str, Any], answer: Answer, response_id: str, item_id: str, *, done: bool = True
) -> dict[str, Any]:
    return {
        "id": response_id,
        "object": "response",
        "created_at": answer.created,
        "status": "completed" if done else "in_progress",
        "background": False,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": answer.model,
        "output": [_output_item(answer, item_id)] if done else [],
        "parallel_tool_calls": True,
        "previous_response_id": request.get("previous_response_id"),
        "reasoning": {"effort": None, "summary": None},
        "store": request.get("store", True),
        "temperature": request.get("temperature", 1.0),
        "text": {"format": {"type": "text"}, "verbosity": "medium"},
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools") or [],
        "top_p": request.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": answer.input_tokens,
            "input_tokens_details": {"cached_tokens": answer.cached_tokens, "cache_write_tokens": 0},
            "output_tokens": answer.output_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": answer.input_tokens + answer.output_tokens,
        }
        if done
        else None,
        "user": None,
        "metadata": request.get("metadata") or {},
    }


def responses_stream(request: dict[str, Any], answer: Answer, response_id: str, item_id: str) -> list[bytes]:
    pending = response_object(request, answer, response_id, item_id, done=False)
    final = response_object(request, answer, response_id, item_id)
    item = final["output"][0]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": pending}),
        ("response.in_progress", {"response": pending}),
    ]
    at = {"item_id": item_id, "output_index": 0}
    if item["type"] == "function_call":
        steps.append(("response.output_item.added", {"output_index": 0, "item": {**item, "arguments": ""}}))
        assert answer.reply.tool_call is not None
        for piece in _json_pieces(answer.reply.tool_call.arguments):
            steps.append(("response.function_call_arguments.delta", {**at, "delta": piece}))
        steps.append(("response.function_call_arguments.done", {**at, "arguments": item["arguments"]}))
    else:
        text = answer.reply.text
        part = {"type": "output_text", "text": "", "annotations": [], "logprobs": []}
        steps.append(("response.output_item.added", {"output_index": 0, "item": {**item, "content": []}}))
        steps.append(("response.content_part.added", {**at, "content_index": 0, "part": part}))
        for piece in answer.text_pieces():
            steps.append(("response.output_text.delta", {**at, "content_index": 0, "delta": piece, "logprobs": []}))
        steps.append(("response.output_text.done", {**at, "content_index": 0, "text": text, "logprobs": []}))
        steps.append(("response.content_part.done", {**at, "content_index": 0, "part": {**part, "text": text}}))
    steps.append(("response.output_item.done", {"output_index": 0, "item": item}))
    steps.append(("response.completed", {"response": final}))
    return [
        sse({"type": kind, "sequence_number": number, **fields}, event=kind)
        for number, (kind, fields) in enumerate(steps)
    ]


def embeddings(request: dict[str, Any]) -> dict[str, Any]:
    """Unit vectors derived from each input's hash (the same text always embeds the same);
    base64 little-endian float32 when asked for, as the SDK asks by default."""
    inputs = request.get("input")
    texts = [str(text) for text in inputs] if isinstance(inputs, list) else [str(inputs or "")]
    model = str(request.get("model") or "text-embedding-3-small")
    size = int(request.get("dimensions") or (3072 if "large" in model else 1536))
    data = []
    for index, text in enumerate(texts):
        rng = random.Random(hashlib.sha256(text.encode()).digest())
        vector = [rng.gauss(0.0, 1.0) for _ in range(size)]
        norm = math.sqrt(sum(value * value for value in vector)) or 1.0
        vector = [round(value / norm, 7) for value in vector]
        embedding: Any = vector
        if request.get("encoding_format") == "base64":
            embedding = base64.b64encode(struct.pack(f"<{size}f", *vector)).decode()
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    tokens = sum(count_tokens(text) for text in texts)
    return {"object": "list", "data": data, "model": model, "usage": {"prompt_tokens": tokens, "total_tokens": tokens}}


def error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


def rate_limited(model: str) -> dict[str, Any]:
    message = (
        f"Rate limit reached for {model} in organization org-demo on requests per min (RPM): Limit 500, "
        "Used 500, Requested 1. Please try again in 120ms. Visit https://platform.openai.com/account/rate-limits "
        "to learn more."
    )
    return error(message, "requests", "rate_limit_exceeded")


SERVER_ERROR = error("The server had an error while processing your request. Sorry about that!", "server_error", None)
MISSING_KEY = error(
    "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer "
    "auth (i.e. Authorization: Bearer YOUR_KEY).",
    "invalid_request_error",
    None,
)


def stream_error() -> bytes:
    """What OpenAI sends when a stream fails after its 200: a data line holding an `error`."""
    return sse(SERVER_ERROR)


def responses_stream_error(sequence_number: int) -> bytes:
    """The Responses API's terminal `error` event."""
    value = {
        "type": "error",
        "sequence_number": sequence_number,
        "code": "server_error",
        "message": "The server had an error while processing your request. Sorry about that!",
        "param": None,
    }
    return sse(value, event="error")
