"""Wire bytes for the vendor adapter tests, from wire-formats.md Appendix B (long lines completed).

Each list holds one SSE event per chunk, exactly as the fake upstream emitted them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from glassgate.proxy.vendors.base import WireCall

SSE = "text/event-stream; charset=utf-8"
JSON = "application/json"

_USAGE = (
    b'"usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18, '
    b'"prompt_tokens_details": {"cached_tokens": 4, "audio_tokens": 0}, '
    b'"completion_tokens_details": {"reasoning_tokens": 2, "audio_tokens": 0, '
    b'"accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0}}'
)
_OPENAI_HEAD = (
    b'data: {"id": "chatcmpl-abc123", "object": "chat.completion.chunk", "created": 1735689600, '
    b'"model": "gpt-4o-mini", "system_fingerprint": "fp_dummy", "service_tier": "default", '
)

# "openai chat stream include_usage"
OPENAI_CHAT_STREAM: list[bytes] = [
    _OPENAI_HEAD + b'"choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null}, '
    b'"logprobs": null, "finish_reason": null}], "usage": null}\n\n',
    _OPENAI_HEAD + b'"choices": [{"index": 0, "delta": {"content": "Hel"}, "logprobs": null, "finish_reason": null}], '
    b'"usage": null}\n\n',
    _OPENAI_HEAD + b'"choices": [{"index": 0, "delta": {"content": "lo "}, "logprobs": null, "finish_reason": null}], '
    b'"usage": null}\n\n',
    _OPENAI_HEAD
    + b'"choices": [{"index": 0, "delta": {"content": "there!"}, "logprobs": null, "finish_reason": null}], '
    b'"usage": null}\n\n',
    _OPENAI_HEAD
    + b'"choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}], "usage": null}\n\n',
    _OPENAI_HEAD + b'"choices": [], ' + _USAGE + b"}\n\n",
    b"data: [DONE]\n\n",
]

_SAFE = b'{"filtered": false, "severity": "safe"}'
_AZURE_HEAD = (
    b'data: {"id": "chatcmpl-abc123", "object": "chat.completion.chunk", "created": 1735689600, '
    b'"model": "my-gpt4o", "system_fingerprint": "fp_dummy", '
)

# "azure chat stream"
AZURE_CHAT_STREAM: list[bytes] = [
    b'data: {"choices": [], "created": 0, "id": "", "model": "", "object": "", "prompt_filter_results": '
    b'[{"prompt_index": 0, "content_filter_results": {"hate": ' + _SAFE + b', "jailbreak": '
    b'{"filtered": false, "detected": false}, "self_harm": '
    + _SAFE
    + b', "sexual": '
    + _SAFE
    + b', "violence": '
    + _SAFE
    + b"}}]}\n\n",
    _AZURE_HEAD + b'"choices": [{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null}, '
    b'"logprobs": null, "finish_reason": null, "content_filter_results": {}}]}\n\n',
    _AZURE_HEAD + b'"choices": [{"index": 0, "delta": {"content": "Hel"}, "logprobs": null, "finish_reason": null, '
    b'"content_filter_results": {}}]}\n\n',
    _AZURE_HEAD + b'"choices": [{"index": 0, "delta": {"content": "lo "}, "logprobs": null, "finish_reason": null, '
    b'"content_filter_results": {}}]}\n\n',
    _AZURE_HEAD + b'"choices": [{"index": 0, "delta": {"content": "there!"}, "logprobs": null, "finish_reason": null, '
    b'"content_filter_results": {"hate": ' + _SAFE + b', "self_harm": ' + _SAFE + b', "sexual": ' + _SAFE + b", "
    b'"violence": ' + _SAFE + b"}}]}\n\n",
    _AZURE_HEAD + b'"choices": [{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop", '
    b'"content_filter_results": {}}]}\n\n',
    b"data: [DONE]\n\n",
]


def responses_object(status: str, output: list[dict[str, Any]], usage: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "id": "resp_abc123",
        "object": "response",
        "created_at": 1735689600,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "instructions": None,
        "max_output_tokens": None,
        "model": "gpt-4.1-mini",
        "output": output,
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": None, "summary": None},
        "store": True,
        "temperature": 1.0,
        "usage": usage,
    }


RESPONSES_USAGE = {
    "input_tokens": 12,
    "input_tokens_details": {"cached_tokens": 4},
    "output_tokens": 6,
    "output_tokens_details": {"reasoning_tokens": 2},
    "total_tokens": 18,
}
MESSAGE_ITEM = {
    "id": "msg_abc123",
    "type": "message",
    "status": "completed",
    "role": "assistant",
    "content": [{"type": "output_text", "text": "Hello there!", "annotations": []}],
}
RESPONSES_FINAL = responses_object("completed", [MESSAGE_ITEM], RESPONSES_USAGE)


def sse(payload: Any, event: str | None = None) -> bytes:
    """One event as Python's json.dumps writes it (the separators seen in Appendix B)."""
    head = f"event: {event}\n".encode() if event else b""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return head + b"data: " + data + b"\n\n"


def typed(kind: str, number: int, **fields: Any) -> bytes:
    return sse({"type": kind, "sequence_number": number, **fields}, event=kind)


_PENDING = responses_object("in_progress", [], None)
_DELTA = {"item_id": "msg_abc123", "output_index": 0, "content_index": 0}

# "openai responses stream": response.created ... response.completed (index 4 is the first delta)
RESPONSES_STREAM: list[bytes] = [
    typed("response.created", 0, response=_PENDING),
    typed("response.in_progress", 1, response=_PENDING),
    typed(
        "response.output_item.added",
        2,
        output_index=0,
        item={"id": "msg_abc123", "type": "message", "status": "in_progress", "role": "assistant", "content": []},
    ),
    typed("response.content_part.added", 3, **_DELTA, part={"type": "output_text", "text": "", "annotations": []}),
    typed("response.output_text.delta", 4, **_DELTA, delta="Hel", logprobs=[]),
    typed("response.output_text.delta", 5, **_DELTA, delta="lo ", logprobs=[]),
    typed("response.output_text.delta", 6, **_DELTA, delta="there!", logprobs=[]),
    typed("response.output_text.done", 7, **_DELTA, text="Hello there!", logprobs=[]),
    typed(
        "response.content_part.done",
        8,
        **_DELTA,
        part={"type": "output_text", "text": "Hello there!", "annotations": []},
    ),
    typed("response.output_item.done", 9, output_index=0, item=MESSAGE_ITEM),
    typed("response.completed", 10, response=RESPONSES_FINAL),
]


def chunk(choices: list[Any], **extra: Any) -> bytes:
    """One `chat.completion.chunk` event."""
    return sse(
        {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": choices, **extra}
    )


def wire_call(
    path: str,
    chunks: Sequence[bytes],
    *,
    request: Any = None,
    status: int = 200,
    content_type: str = SSE,
    method: str = "POST",
    query: str = "",
) -> WireCall:
    if request is None:
        body = b""
    elif isinstance(request, bytes):
        body = request
    else:
        body = json.dumps(request).encode()
    return WireCall(
        method=method,
        path=path,
        query=query,
        request_body=body,
        status=status,
        content_type=content_type,
        chunks=list(chunks),
    )


def json_call(path: str, response: Any, *, request: Any = None, status: int = 200, query: str = "") -> WireCall:
    body = response if isinstance(response, bytes) else json.dumps(response).encode()
    return wire_call(path, [body], request=request, status=status, content_type=JSON, query=query)
