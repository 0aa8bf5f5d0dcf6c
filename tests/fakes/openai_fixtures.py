"""Deterministic OpenAI and Azure OpenAI responses in the exact wire format (wire-formats.md §1, §2, §7).

Pure functions from the parsed request to the bytes to send: tests call them too, to know
exactly what the client must receive.
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

CREATED = 1735689600
SERVED_MODEL = "gpt-4o-mini-2024-07-18"
USAGE = {
    "prompt_tokens": 12,
    "completion_tokens": 6,
    "total_tokens": 18,
    "prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0},
    "completion_tokens_details": {"reasoning_tokens": 2, "audio_tokens": 0},
}
RESPONSES_USAGE = {
    "input_tokens": 12,
    "input_tokens_details": {"cached_tokens": 4},
    "output_tokens": 6,
    "output_tokens_details": {"reasoning_tokens": 2},
    "total_tokens": 18,
}
CHUNK_BASE = {"id": "chatcmpl-fake1", "object": "chat.completion.chunk", "created": CREATED, "model": SERVED_MODEL}
TEXT_PIECES = ["Hel", "lo ", "there!"]
TEXT = "".join(TEXT_PIECES)
TOOL_ARGUMENT_PIECES = ['{"ci', 'ty": "Pa', 'ris"}']
FILTER_OK = {
    "hate": {"filtered": False, "severity": "safe"},
    "self_harm": {"filtered": False, "severity": "safe"},
    "sexual": {"filtered": False, "severity": "safe"},
    "violence": {"filtered": False, "severity": "safe"},
}
PROMPT_FILTER = [
    {"prompt_index": 0, "content_filter_results": {**FILTER_OK, "jailbreak": {"filtered": False, "detected": False}}}
]


def answer_pieces(request: dict[str, Any]) -> list[str]:
    """The answer in stream pieces: a fixed text, or for `echo*` models the last user text
    (legacy completions: the prompt) repeated back in 5-character pieces (so tests choose what
    the model "writes")."""
    if not str(request.get("model") or "").startswith("echo"):
        return TEXT_PIECES
    said = request.get("input", request.get("prompt"))
    for message in request.get("messages") or []:
        if isinstance(message, dict) and message.get("role") == "user" and isinstance(message.get("content"), str):
            said = message["content"]
    text = said if isinstance(said, str) else TEXT
    return [text[start : start + 5] for start in range(0, len(text), 5)]


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def sse(payload: Any, event: str | None = None) -> bytes:
    head = f"event: {event}\n".encode() if event else b""
    data = payload if isinstance(payload, bytes) else dumps(payload)
    return head + b"data: " + data + b"\n\n"


def chat_completion(request: dict[str, Any], *, azure: bool) -> dict[str, Any]:
    choices = []
    for index in range(int(request.get("n") or 1)):
        text = "".join(answer_pieces(request))
        message: dict[str, Any] = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
        finish = "stop"
        if request.get("tools"):
            message["content"] = None
            message["tool_calls"] = [
                {
                    "id": f"call_{index}",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
                }
            ]
            finish = "tool_calls"
        choice: dict[str, Any] = {"index": index, "finish_reason": finish, "logprobs": None, "message": message}
        if azure:
            choice["content_filter_results"] = FILTER_OK
        choices.append(choice)
    body: dict[str, Any] = {
        "id": "chatcmpl-fake1",
        "object": "chat.completion",
        "created": CREATED,
        "model": SERVED_MODEL,
        "choices": choices,
        "usage": USAGE,
        "service_tier": "default",
        "system_fingerprint": "fp_fake",
    }
    if azure:
        body["prompt_filter_results"] = PROMPT_FILTER
    return body


def chat_stream(request: dict[str, Any], *, azure: bool) -> list[bytes]:
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
    usage_field = {"usage": None} if include_usage else {}
    base = CHUNK_BASE
    events: list[bytes] = []
    if azure:
        events.append(
            sse(
                {
                    "choices": [],
                    "created": 0,
                    "id": "",
                    "model": "",
                    "object": "",
                    "prompt_filter_results": PROMPT_FILTER,
                }
            )
        )
    n = int(request.get("n") or 1)
    extra: dict[str, Any] = {"content_filter_results": {}} if azure else {}
    for index in range(n):
        first_delta = {"role": "assistant", "content": "", "refusal": None}
        events.append(
            sse(
                {
                    **base,
                    "choices": [{"index": index, "delta": first_delta, "finish_reason": None, **extra}],
                    **usage_field,
                }
            )
        )
    if request.get("tools"):
        for index in range(n):
            opening = {
                "index": 0,
                "id": f"call_{index}",
                "type": "function",
                "function": {"name": "get_weather", "arguments": ""},
            }
            events.append(
                sse(
                    {
                        **base,
                        "choices": [{"index": index, "delta": {"tool_calls": [opening]}, "finish_reason": None}],
                        **usage_field,
                    }
                )
            )
            for piece in TOOL_ARGUMENT_PIECES:
                delta = {"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}
                events.append(
                    sse({**base, "choices": [{"index": index, "delta": delta, "finish_reason": None}], **usage_field})
                )
        finish = "tool_calls"
    else:
        for piece in answer_pieces(request):
            for index in range(n):
                filters = {"content_filter_results": FILTER_OK} if azure else {}
                events.append(
                    sse(
                        {
                            **base,
                            "choices": [
                                {"index": index, "delta": {"content": piece}, "finish_reason": None, **filters}
                            ],
                            **usage_field,
                        }
                    )
                )
        finish = "stop"
    for index in range(n):
        events.append(sse({**base, "choices": [{"index": index, "delta": {}, "finish_reason": finish}], **usage_field}))
    if include_usage:
        events.append(sse({**base, "choices": [], "usage": USAGE}))
    events.append(b"data: [DONE]\n\n")
    return events


def responses_object(request: dict[str, Any], status: str = "completed") -> dict[str, Any]:
    return {
        "id": "resp_fake1",
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": request.get("instructions"),
        "model": "gpt-4.1-mini-2025-04-14",
        "output": [
            {
                "id": "msg_fake1",
                "type": "message",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "".join(answer_pieces(request)), "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": RESPONSES_USAGE if status == "completed" else None,
    }


def responses_stream(request: dict[str, Any]) -> list[bytes]:
    final = responses_object(request)
    pending = {**responses_object(request, "in_progress"), "output": []}
    item = {"id": "msg_fake1", "type": "message", "status": "in_progress", "role": "assistant", "content": []}
    part = {"type": "output_text", "text": "", "annotations": []}
    steps: list[tuple[str, dict[str, Any]]] = [
        ("response.created", {"response": pending}),
        ("response.in_progress", {"response": pending}),
        ("response.output_item.added", {"output_index": 0, "item": item}),
        ("response.content_part.added", {"item_id": "msg_fake1", "output_index": 0, "content_index": 0, "part": part}),
    ]
    pieces = answer_pieces(request)
    text = "".join(pieces)
    for piece in pieces:
        steps.append(
            (
                "response.output_text.delta",
                {"item_id": "msg_fake1", "output_index": 0, "content_index": 0, "delta": piece},
            )
        )
    steps += [
        ("response.output_text.done", {"item_id": "msg_fake1", "output_index": 0, "content_index": 0, "text": text}),
        (
            "response.content_part.done",
            {"item_id": "msg_fake1", "output_index": 0, "content_index": 0, "part": {**part, "text": text}},
        ),
        ("response.output_item.done", {"output_index": 0, "item": final["output"][0]}),
        ("response.completed", {"response": final}),
    ]
    return [
        sse({"type": kind, "sequence_number": number, **fields}, event=kind)
        for number, (kind, fields) in enumerate(steps)
    ]


def embeddings(request: dict[str, Any]) -> dict[str, Any]:
    inputs = request.get("input")
    count = len(inputs) if isinstance(inputs, list) else 1
    vector = [0.25, -0.5, 0.125, 1.0]
    data = []
    for index in range(count):
        if request.get("encoding_format") == "base64":
            embedding: Any = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
        else:
            embedding = vector
        data.append({"object": "embedding", "index": index, "embedding": embedding})
    return {
        "object": "list",
        "data": data,
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 3, "total_tokens": 3},
    }


def completion(request: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "cmpl-fake1",
        "object": "text_completion",
        "created": CREATED,
        "model": "gpt-3.5-turbo-instruct",
        "choices": [{"text": "".join(answer_pieces(request)), "index": 0, "logprobs": None, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6},
    }


def completion_stream(request: dict[str, Any]) -> list[bytes]:
    """A legacy Completions stream; with `include_usage`, shaped as OpenAI shapes chat streams."""
    include_usage = bool((request.get("stream_options") or {}).get("include_usage"))
    usage_field = {"usage": None} if include_usage else {}
    base = {"id": "cmpl-fake1", "object": "text_completion", "created": CREATED, "model": "gpt-3.5-turbo-instruct"}
    pieces = [(piece, None) for piece in answer_pieces(request)] + [("", "stop")]
    events = [
        sse({**base, "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish}], **usage_field})
        for text, finish in pieces
    ]
    if include_usage:
        usage = {"prompt_tokens": 3, "completion_tokens": 3, "total_tokens": 6}
        events.append(sse({**base, "choices": [], "usage": usage}))
    events.append(b"data: [DONE]\n\n")
    return events


def error(status: int, message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}


AZURE_CONTENT_FILTER_ERROR = {
    "error": {
        "message": "The response was filtered due to the prompt triggering Azure OpenAI's content management policy.",
        "type": None,
        "param": "prompt",
        "code": "content_filter",
        "status": 400,
        "innererror": {
            "code": "ResponsibleAIPolicyViolation",
            "content_filter_result": {**FILTER_OK, "violence": {"filtered": True, "severity": "high"}},
        },
    }
}
