"""Bedrock wire samples for the adapter tests: bodies from wire-formats.md §3.2-3.3 and Appendix A.

Requests are the captured SDK bodies; responses and stream chunks follow the documented shapes.
Streams are built as event-stream frames with the fake encoder, one frame per chunk.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from glassgate.proxy.vendors.base import WireCall
from tests.fakes import eventstream as es

EVENT_STREAM = "application/vnd.amazon.eventstream"
JSON = "application/json"
CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0"
CLAUDE_PATH = "anthropic.claude-3-5-sonnet-20241022-v2%3A0"  # boto3 percent-encodes the colon
ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123xyz"
ARN_PATH = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc123xyz"
METRICS = {"inputTokenCount": 12, "outputTokenCount": 6, "invocationLatency": 321, "firstByteLatency": 123}
METRICS_KEY = "amazon-bedrock-invocationMetrics"


def encode_body(value: Any) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else json.dumps(value).encode()


def bedrock_call(
    path: str,
    chunks: Sequence[bytes],
    *,
    request: Any = None,
    status: int = 200,
    content_type: str = JSON,
    headers: Mapping[str, str] | None = None,
    method: str = "POST",
) -> WireCall:
    return WireCall(
        method=method,
        path=path,
        query="",
        request_body=encode_body(request),
        status=status,
        content_type=content_type,
        chunks=list(chunks),
        response_headers=dict(headers or {}),
    )


def invoke_call(model_path: str, request: Any, response: Any, **kwargs: Any) -> WireCall:
    return bedrock_call(f"/model/{model_path}/invoke", [encode_body(response)], request=request, **kwargs)


def invoke_stream_call(model_path: str, request: Any, chunks: Sequence[Any], **kwargs: Any) -> WireCall:
    frames = [es.chunk(chunk) for chunk in chunks]
    path = f"/model/{model_path}/invoke-with-response-stream"
    return bedrock_call(path, frames, request=request, content_type=EVENT_STREAM, **kwargs)


def converse_stream_call(model_path: str, frames: Sequence[bytes], **kwargs: Any) -> WireCall:
    path = f"/model/{model_path}/converse-stream"
    return bedrock_call(path, frames, content_type=EVENT_STREAM, **kwargs)


# Odd values for the "never raise" tests: wrong types, empty containers, nested nonsense.
WEIRD: list[Any] = [None, 0, -1, True, 1.5, "x", "", [], {}, [None], [1, "a"], {"a": None}, {"index": "0"}]


def mutations(value: Any, depth: int) -> Iterator[Any]:
    """Copies of a JSON value with one member (down to `depth` levels) replaced by each odd value."""
    if depth == 0:
        return
    members = (
        list(value.items()) if isinstance(value, dict) else list(enumerate(value)) if isinstance(value, list) else []
    )
    for key, item in members:
        for replacement in [*WEIRD, *mutations(item, depth - 1)]:
            if isinstance(value, dict):
                yield {**value, key: replacement}
            else:
                yield [*value[:key], replacement, *value[key + 1 :]]


def with_metrics(chunk: dict[str, Any], **extra: int) -> dict[str, Any]:
    return {**chunk, METRICS_KEY: {**METRICS, **extra}}


# --- requests (Appendix A) -------------------------------------------------------------------------

ANTHROPIC_REQUEST = {
    "anthropic_version": "bedrock-2023-05-31",
    "max_tokens": 64,
    "system": "Be brief.",
    "messages": [{"role": "user", "content": "Hi"}],
}
NOVA_REQUEST = {
    "schemaVersion": "messages-v1",
    "system": [{"text": "Be brief."}],
    "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
    "inferenceConfig": {"maxTokens": 64},
}
TITAN_REQUEST = {"inputText": "Hi", "textGenerationConfig": {"maxTokenCount": 64, "temperature": 0.2}}
LLAMA_REQUEST = {
    "prompt": "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\nHi<|eot_id|>"
    "<|start_header_id|>assistant<|end_header_id|>\n",
    "max_gen_len": 64,
    "temperature": 0.2,
}
MISTRAL_REQUEST = {"prompt": "<s>[INST] Hi [/INST]", "max_tokens": 64}
MISTRAL_CHAT_REQUEST = {"messages": [{"role": "user", "content": "Hi"}], "max_tokens": 64}
COHERE_REQUEST = {"message": "Hi", "chat_history": [], "max_tokens": 64}
CONVERSE_REQUEST = {
    "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
    "system": [{"text": "Be brief."}],
    "inferenceConfig": {"maxTokens": 64, "temperature": 0.2},
}

# --- non-stream responses (§3.2) --------------------------------------------------------------------

ANTHROPIC_MESSAGE = {
    "id": "msg_bdrk_01",
    "type": "message",
    "role": "assistant",
    "model": "claude-3-5-sonnet-20241022",
    "content": [{"type": "text", "text": "Hello there!"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {"input_tokens": 12, "output_tokens": 6, "cache_read_input_tokens": 4, "cache_creation_input_tokens": 2},
}
NOVA_RESPONSE = {
    "output": {"message": {"role": "assistant", "content": [{"text": "Hello there!"}]}},
    "stopReason": "end_turn",
    "usage": {
        "inputTokens": 12,
        "outputTokens": 6,
        "totalTokens": 18,
        "cacheReadInputTokenCount": 4,
        "cacheWriteInputTokenCount": 0,
    },
}
TITAN_RESPONSE = {
    "inputTextTokenCount": 3,
    "results": [{"tokenCount": 6, "outputText": "Hello there!", "completionReason": "FINISH"}],
}
LLAMA_RESPONSE = {
    "generation": "Hello there!",
    "prompt_token_count": 17,
    "generation_token_count": 6,
    "stop_reason": "stop",
}
MISTRAL_RESPONSE = {"outputs": [{"text": "Hello there!", "stop_reason": "stop"}]}
MISTRAL_CHAT_RESPONSE = {
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there!"}, "finish_reason": "stop"}]
}
COHERE_RESPONSE = {
    "response_id": "r-1",
    "text": "Hello there!",
    "generation_id": "g-1",
    "chat_history": [{"role": "USER", "message": "Hi"}, {"role": "CHATBOT", "message": "Hello there!"}],
    "finish_reason": "COMPLETE",
}
COHERE_OLD_RESPONSE = {"id": "x", "generations": [{"id": "g", "text": "Hello there!", "finish_reason": "COMPLETE"}]}
OPENAI_RESPONSE = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "openai.gpt-oss-20b-1:0",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there!"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
}
CONVERSE_RESPONSE = {
    "output": {
        "message": {
            "role": "assistant",
            "content": [
                {"text": "Let me check."},
                {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
            ],
        }
    },
    "stopReason": "tool_use",
    "usage": {
        "inputTokens": 12,
        "outputTokens": 6,
        "totalTokens": 18,
        "cacheReadInputTokens": 4,
        "cacheWriteInputTokens": 0,
    },
    "metrics": {"latencyMs": 321},
}

# --- ConverseStream events (§3.3), in the order the fake upstream sends them -----------------------

CONVERSE_USAGE = {
    "inputTokens": 12,
    "outputTokens": 6,
    "totalTokens": 18,
    "cacheReadInputTokens": 4,
    "cacheWriteInputTokens": 2,
}
CONVERSE_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("messageStart", {"role": "assistant", "p": "abcdefghijk"}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"text": "User greets."}}}),
    ("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"signature": "sig=="}}}),
    ("contentBlockStop", {"contentBlockIndex": 0}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "Hel"}, "p": "ab"}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "lo "}}),
    ("contentBlockDelta", {"contentBlockIndex": 1, "delta": {"text": "there!"}}),
    ("contentBlockStop", {"contentBlockIndex": 1}),
    (
        "contentBlockStart",
        {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather"}}},
    ),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": '{"ci'}}}),
    ("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": 'ty": "Paris"}'}}}),
    ("contentBlockStop", {"contentBlockIndex": 2}),
    ("messageStop", {"stopReason": "tool_use"}),
    ("metadata", {"usage": CONVERSE_USAGE, "metrics": {"latencyMs": 321}, "p": "abc"}),
]
CONVERSE_FRAMES = [es.event(kind, payload) for kind, payload in CONVERSE_EVENTS]
CONVERSE_ASSEMBLED_CONTENT = [
    {"reasoningContent": {"reasoningText": {"text": "User greets.", "signature": "sig=="}}},
    {"text": "Hello there!"},
    {"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}},
]

# --- invoke stream chunks (§3.2), the model's JSON inside each `chunk` event --------------------------

ANTHROPIC_STREAM: list[dict[str, Any]] = [
    {
        "type": "message_start",
        "message": {
            "id": "msg_bdrk_01",
            "type": "message",
            "role": "assistant",
            "model": "claude-3-5-sonnet-20241022",
            "content": [],
            "stop_reason": None,
            "stop_sequence": None,
            "usage": {
                "input_tokens": 12,
                "output_tokens": 1,
                "cache_read_input_tokens": 4,
                "cache_creation_input_tokens": 2,
            },
        },
    },
    {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": ""}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Greeting."}},
    {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "EqQB"}},
    {"type": "content_block_stop", "index": 0},
    {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hel"}},
    {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "lo"}},
    {"type": "content_block_stop", "index": 1},
    {
        "type": "content_block_start",
        "index": 2,
        "content_block": {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}},
    },
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": ""}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}},
    {"type": "content_block_delta", "index": 2, "delta": {"type": "input_json_delta", "partial_json": '"Paris"}'}},
    {"type": "content_block_stop", "index": 2},
    {
        "type": "message_delta",
        "delta": {"stop_reason": "tool_use", "stop_sequence": None},
        "usage": {"output_tokens": 6},
    },
    with_metrics({"type": "message_stop"}, cacheReadInputTokenCount=4, cacheWriteInputTokenCount=2),
]
NOVA_STREAM: list[dict[str, Any]] = [
    {"messageStart": {"role": "assistant"}},
    {"contentBlockDelta": {"delta": {"text": "Hel"}, "contentBlockIndex": 0}},
    {"contentBlockDelta": {"delta": {"text": "lo"}, "contentBlockIndex": 0}},
    {"contentBlockStop": {"contentBlockIndex": 0}},
    {"contentBlockStart": {"start": {"toolUse": {"toolUseId": "t1", "name": "get_weather"}}, "contentBlockIndex": 1}},
    {"contentBlockDelta": {"delta": {"toolUse": {"input": '{"city": "Paris"}'}}, "contentBlockIndex": 1}},
    {"contentBlockStop": {"contentBlockIndex": 1}},
    {"messageStop": {"stopReason": "tool_use"}},
    with_metrics(
        {
            "metadata": {
                "usage": {"inputTokens": 12, "outputTokens": 6, "cacheReadInputTokenCount": 4},
                "metrics": {},
                "trace": {},
            }
        }
    ),
]
TITAN_STREAM: list[dict[str, Any]] = [
    {
        "outputText": "Hel",
        "index": 0,
        "totalOutputTextTokenCount": 1,
        "completionReason": None,
        "inputTextTokenCount": 3,
    },
    {"outputText": "lo", "index": 0, "totalOutputTextTokenCount": 2, "completionReason": None},
    with_metrics({"outputText": "", "index": 0, "totalOutputTextTokenCount": 6, "completionReason": "FINISH"}),
]
LLAMA_STREAM: list[dict[str, Any]] = [
    {"generation": "Hel", "prompt_token_count": 17, "generation_token_count": 1, "stop_reason": None},
    {"generation": "lo", "prompt_token_count": None, "generation_token_count": 2, "stop_reason": None},
    with_metrics({"generation": "", "prompt_token_count": None, "generation_token_count": 6, "stop_reason": "stop"}),
]
MISTRAL_STREAM: list[dict[str, Any]] = [
    {"outputs": [{"text": "Hel", "stop_reason": None}]},
    {"outputs": [{"text": "lo", "stop_reason": None}]},
    with_metrics({"outputs": [{"text": "", "stop_reason": "stop"}]}),
]
MISTRAL_CHAT_STREAM: list[dict[str, Any]] = [
    {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hel"}, "stop_reason": None}]},
    {"choices": [{"index": 0, "message": {"role": "assistant", "content": "lo"}, "stop_reason": None}]},
    with_metrics({"choices": [{"index": 0, "message": {"role": "assistant", "content": ""}, "stop_reason": "stop"}]}),
]
COHERE_STREAM: list[dict[str, Any]] = [
    {"is_finished": False, "event_type": "stream-start", "generation_id": "g-1"},
    {"is_finished": False, "event_type": "text-generation", "text": "Hel"},
    {"is_finished": False, "event_type": "text-generation", "text": "lo"},
    with_metrics(
        {
            "is_finished": True,
            "event_type": "stream-end",
            "finish_reason": "COMPLETE",
            "response": {"response_id": "r-1", "text": "Hello", "generation_id": "g-1", "finish_reason": "COMPLETE"},
        }
    ),
]
OPENAI_STREAM: list[dict[str, Any]] = [
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "model": "gpt-oss-20b",
        "choices": [{"index": 0, "delta": {"role": "assistant"}}],
    },
    {"id": "c1", "choices": [{"index": 0, "delta": {"reasoning": "Think."}}]},
    {"id": "c1", "choices": [{"index": 0, "delta": {"content": "Hi"}}]},
    {
        "id": "c1",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "tool_calls": [
                        {"index": 0, "id": "call_1", "function": {"name": "get_weather", "arguments": '{"ci'}}
                    ]
                },
            }
        ],
    },
    {
        "id": "c1",
        "choices": [{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"arguments": 'ty":"P"}'}}]}}],
    },
    with_metrics({"id": "c1", "choices": [{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]}),
]
