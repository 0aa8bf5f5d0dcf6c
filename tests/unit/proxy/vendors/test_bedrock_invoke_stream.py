"""Unit tests for InvokeModelWithResponseStream: each family's chunks assembled, errors, odd shapes."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from glassgate.proxy.vendors import CallSummary, Usage
from glassgate.proxy.vendors.bedrock import BedrockAdapter
from tests.fakes import eventstream as es
from tests.unit.proxy.vendors.bedrock_samples import (
    ANTHROPIC_MESSAGE,
    ANTHROPIC_REQUEST,
    ANTHROPIC_STREAM,
    ARN_PATH,
    CLAUDE_PATH,
    COHERE_REQUEST,
    COHERE_STREAM,
    EVENT_STREAM,
    LLAMA_REQUEST,
    LLAMA_RESPONSE,
    LLAMA_STREAM,
    METRICS,
    METRICS_KEY,
    MISTRAL_CHAT_REQUEST,
    MISTRAL_CHAT_STREAM,
    MISTRAL_REQUEST,
    MISTRAL_RESPONSE,
    MISTRAL_STREAM,
    NOVA_REQUEST,
    NOVA_RESPONSE,
    NOVA_STREAM,
    OPENAI_RESPONSE,
    OPENAI_STREAM,
    TITAN_REQUEST,
    TITAN_RESPONSE,
    TITAN_STREAM,
    bedrock_call,
    invoke_call,
    invoke_stream_call,
    mutations,
    with_metrics,
)

ADAPTER = BedrockAdapter()
FROM_METRICS = Usage(input_tokens=12, output_tokens=6)
LATENCIES = {"bedrock.invocation_latency_ms": 321, "bedrock.first_byte_latency_ms": 123}
WEATHER_TOOL = {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}}


def summarize_stream(model_path: str, request: Any, chunks: list[Any]) -> CallSummary:
    return ADAPTER.summarize(invoke_stream_call(model_path, request, chunks))


def without_metrics(response: Any) -> Any:
    return {key: value for key, value in response.items() if key != METRICS_KEY}


ANTHROPIC_ASSEMBLED = {
    **{key: value for key, value in ANTHROPIC_MESSAGE.items() if key not in ("content", "usage", "stop_reason")},
    "stop_reason": "tool_use",
    "usage": {"input_tokens": 12, "output_tokens": 6, "cache_read_input_tokens": 4, "cache_creation_input_tokens": 2},
    "content": [
        {"type": "thinking", "thinking": "Greeting.", "signature": "EqQB"},
        {"type": "text", "text": "Hello"},
        WEATHER_TOOL,
    ],
}
NOVA_ASSEMBLED = {
    "output": {
        "message": {
            "role": "assistant",
            "content": [
                {"text": "Hello"},
                {"toolUse": {"toolUseId": "t1", "name": "get_weather", "input": {"city": "Paris"}}},
            ],
        }
    },
    "stopReason": "tool_use",
    "usage": {"inputTokens": 12, "outputTokens": 6, "cacheReadInputTokenCount": 4},
    "metrics": {},
    "trace": {},
}
OPENAI_ASSEMBLED = {
    "id": "c1",
    "model": "gpt-oss-20b",
    "choices": [
        {
            "index": 0,
            "message": {
                "role": "assistant",
                "content": "Hi",
                "reasoning": "Think.",
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"P"}'},
                    }
                ],
            },
            "finish_reason": "tool_calls",
        }
    ],
}

STREAM_CASES = [
    # family, model path, request, chunks, assembled (without metrics), usage, finish, first content chunk
    (
        "anthropic",
        CLAUDE_PATH,
        ANTHROPIC_REQUEST,
        ANTHROPIC_STREAM,
        ANTHROPIC_ASSEMBLED,
        Usage(18, 6, 4, 2),
        "tool_use",
        2,
    ),
    ("nova", "amazon.nova-lite-v1%3A0", NOVA_REQUEST, NOVA_STREAM, NOVA_ASSEMBLED, Usage(16, 6, 4), "tool_use", 1),
    (
        "titan",
        "amazon.titan-text-express-v1",
        TITAN_REQUEST,
        TITAN_STREAM,
        {"inputTextTokenCount": 3, "results": [{"tokenCount": 6, "outputText": "Hello", "completionReason": "FINISH"}]},
        Usage(3, 6),
        "FINISH",
        0,
    ),
    (
        "llama",
        "meta.llama3-8b-instruct-v1%3A0",
        LLAMA_REQUEST,
        LLAMA_STREAM,
        {"generation": "Hello", "prompt_token_count": 17, "generation_token_count": 6, "stop_reason": "stop"},
        Usage(17, 6),
        "stop",
        0,
    ),
    (
        "mistral",
        "mistral.mistral-7b-instruct-v0%3A2",
        MISTRAL_REQUEST,
        MISTRAL_STREAM,
        {"outputs": [{"text": "Hello", "stop_reason": "stop"}]},
        FROM_METRICS,
        "stop",
        0,
    ),
    (
        "mistral",
        "mistral.mistral-large-2407-v1%3A0",
        MISTRAL_CHAT_REQUEST,
        MISTRAL_CHAT_STREAM,
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello"}, "stop_reason": "stop"}]},
        FROM_METRICS,
        "stop",
        0,
    ),
    (
        "cohere",
        "cohere.command-r-v1%3A0",
        COHERE_REQUEST,
        COHERE_STREAM,
        {"text": "Hello", "finish_reason": "COMPLETE", "response_id": "r-1", "generation_id": "g-1"},
        FROM_METRICS,
        "COMPLETE",
        1,
    ),
    (
        "openai",
        "openai.gpt-oss-20b-1%3A0",
        MISTRAL_CHAT_REQUEST,
        OPENAI_STREAM,
        OPENAI_ASSEMBLED,
        FROM_METRICS,
        "tool_calls",
        1,
    ),
]


@pytest.mark.parametrize(
    ("family", "model_path", "request_body", "chunks", "assembled", "usage", "finish", "first"), STREAM_CASES
)
def test_each_family_stream_is_assembled(
    family: str,
    model_path: str,
    request_body: Any,
    chunks: list[Any],
    assembled: Any,
    usage: Usage,
    finish: str,
    first: int,
) -> None:
    summary = summarize_stream(model_path, request_body, chunks)
    assert (summary.operation, summary.streamed) == ("invoke_stream", True)
    assert summary.attributes == {"bedrock.model_family": family, **LATENCIES}
    assert without_metrics(summary.response_json) == assembled
    assert summary.response_json[METRICS_KEY]["invocationLatency"] == 321
    assert summary.usage == usage
    assert summary.finish_reason == finish
    assert summary.first_content_chunk == first
    assert summary.error is None


def test_an_invoke_stream_split_at_every_byte_gives_the_same_answer() -> None:
    chunks = [ANTHROPIC_STREAM[0], *ANTHROPIC_STREAM[5:]]  # text and tool blocks; no thinking, for speed
    frames = [es.chunk(chunk) for chunk in chunks]
    data = b"".join(frames)
    path = f"/model/{CLAUDE_PATH}/invoke-with-response-stream"
    whole = ADAPTER.summarize(bedrock_call(path, [data], content_type=EVENT_STREAM))
    assert whole.response_json["content"] == [{"type": "text", "text": "Hello"}, WEATHER_TOOL]
    for cut in range(1, len(data)):
        summary = ADAPTER.summarize(bedrock_call(path, [data[:cut], data[cut:]], content_type=EVENT_STREAM))
        assert summary.response_json == whole.response_json, cut
        assert summary.usage == Usage(18, 6, 4, 2) and summary.error is None
    one_byte = ADAPTER.summarize(bedrock_call(path, [bytes([byte]) for byte in data], content_type=EVENT_STREAM))
    assert one_byte.first_content_chunk == len(b"".join(frames[:3])) - 1  # the first text delta's last byte


def test_stream_body_counts_come_before_invocation_metrics() -> None:
    assert summarize_stream("meta.llama3-8b-instruct-v1%3A0", LLAMA_REQUEST, LLAMA_STREAM).usage == Usage(17, 6)
    no_counts = [{key: value for key, value in chunk.items() if "count" not in key} for chunk in LLAMA_STREAM]
    assert summarize_stream("meta.llama3-8b-instruct-v1%3A0", LLAMA_REQUEST, no_counts).usage == FROM_METRICS


def test_invocation_metrics_cache_counts_are_added_to_the_input() -> None:
    chunks = [
        *MISTRAL_STREAM[:-1],
        with_metrics(MISTRAL_STREAM[-1], cacheReadInputTokenCount=4, cacheWriteInputTokenCount=2),
    ]
    summary = summarize_stream("mistral.mistral-7b-instruct-v0%3A2", MISTRAL_REQUEST, chunks)
    assert summary.usage == Usage(input_tokens=18, output_tokens=6, cached_tokens=4, cache_write_tokens=2)


def test_an_arn_stream_with_an_opaque_request_is_recognised_by_its_chunks() -> None:
    summary = summarize_stream(ARN_PATH, {"prompt": "Hi", "max_tokens": 9}, COHERE_STREAM)
    assert summary.attributes["bedrock.model_family"] == "cohere"
    assert summary.response_json["text"] == "Hello"


def test_old_cohere_generations_stream() -> None:
    chunks = [
        {"generations": [{"text": "Hel"}]},
        with_metrics({"generations": [{"text": "lo", "finish_reason": "COMPLETE"}]}),
    ]
    summary = summarize_stream("cohere.command-text-v14", {"prompt": "Hi", "max_tokens": 9}, chunks)
    assert without_metrics(summary.response_json) == {"generations": [{"text": "Hello", "finish_reason": "COMPLETE"}]}
    assert summary.finish_reason == "COMPLETE" and summary.usage == FROM_METRICS


def test_an_unknown_family_stream_keeps_its_chunks() -> None:
    chunks = [{"piece": "a"}, with_metrics({"piece": "b"})]
    summary = summarize_stream("writer.palmyra-x5-v1%3A0", {"input": "Hi"}, chunks)
    assert summary.attributes["bedrock.model_family"] == "unknown"
    assert summary.response_json["chunks"] == chunks
    assert summary.first_content_chunk == 0 and summary.usage == FROM_METRICS


def test_a_stream_without_content_has_no_first_content() -> None:
    summary = summarize_stream(CLAUDE_PATH, ANTHROPIC_REQUEST, [ANTHROPIC_STREAM[0], ANTHROPIC_STREAM[-1]])
    assert summary.first_content_chunk is None
    assert summary.response_json["content"] == [] and summary.usage.input_tokens == 18


def test_anthropic_block_variants() -> None:
    chunks = [
        {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": "no start"}},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "server_tool_use", "id": "s", "name": "web"},
        },
        {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"q": '}},
        {"type": "content_block_start", "index": 2, "content_block": {"type": "text", "text": "", "citations": None}},
        {
            "type": "content_block_delta",
            "index": 2,
            "delta": {"type": "citations_delta", "citation": {"cited_text": "x"}},
        },
        {
            "type": "content_block_start",
            "index": 3,
            "content_block": {"type": "tool_use", "id": "t", "name": "n", "input": {}},
        },
    ]
    summary = summarize_stream(CLAUDE_PATH, ANTHROPIC_REQUEST, chunks)
    assert summary.response_json["content"] == [
        {"type": "text", "text": "no start"},
        {"type": "server_tool_use", "id": "s", "name": "web", "input": '{"q": '},  # cut JSON kept as text
        {"type": "text", "text": "", "citations": [{"cited_text": "x"}]},
        {"type": "tool_use", "id": "t", "name": "n", "input": {}},
    ]


def test_an_anthropic_error_chunk_is_an_error() -> None:
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    summary = summarize_stream(CLAUDE_PATH, ANTHROPIC_REQUEST, [*ANTHROPIC_STREAM[:7], error])
    assert (summary.error, summary.error_type) == ("Overloaded", "overloaded_error")


def test_an_exception_mid_invoke_stream_is_recorded() -> None:
    frames = [es.chunk(chunk) for chunk in ANTHROPIC_STREAM[:8]]
    frames.append(es.exception("modelStreamErrorException", "The model stopped"))
    path = f"/model/{CLAUDE_PATH}/invoke-with-response-stream"
    summary = ADAPTER.summarize(bedrock_call(path, frames, content_type=EVENT_STREAM))
    assert (summary.error, summary.error_type) == ("The model stopped", "modelStreamErrorException")
    assert summary.response_json["content"][1] == {"type": "text", "text": "Hello"}
    # message_start's input counts; its output_tokens (1) is a placeholder only message_delta
    # replaces, so the output's count is left unknown (capture estimates it, marked so).
    assert summary.usage == Usage(18, None, 4, 2)


def test_a_corrupt_invoke_frame_is_an_error_not_an_exception() -> None:
    frames = [es.chunk(chunk) for chunk in TITAN_STREAM]
    damaged = bytearray(frames[1])
    damaged[20] ^= 0x01
    path = "/model/amazon.titan-text-express-v1/invoke-with-response-stream"
    summary = ADAPTER.summarize(bedrock_call(path, [frames[0], bytes(damaged), frames[2]], content_type=EVENT_STREAM))
    assert (summary.error, summary.error_type) == ("corrupt event-stream frame", "corrupt_event_stream")
    assert summary.response_json["results"][0]["outputText"] == "Hel"


def _envelope(payload: bytes) -> bytes:
    return (
        es.event("chunk", json.loads(payload))
        if payload.startswith(b"{")
        else es.message({":event-type": "chunk"}, payload)
    )


@pytest.mark.parametrize(
    "envelope",
    [
        _envelope(b'{"bytes": "not base64!!"}'),
        _envelope(json.dumps({"bytes": base64.b64encode(b"not json").decode()}).encode()),
        _envelope(json.dumps({"bytes": base64.b64encode(b"[1, 2]").decode()}).encode()),
        _envelope(b'{"bytes": 5}'),
        _envelope(b'{"p": "only padding"}'),
        _envelope(b"not json"),
    ],
)
def test_malformed_chunk_envelopes_are_skipped_and_counted(envelope: bytes) -> None:
    frames = [es.chunk(LLAMA_STREAM[0]), envelope, es.chunk(LLAMA_STREAM[1])]
    path = "/model/meta.llama3-8b-instruct-v1%3A0/invoke-with-response-stream"
    summary = ADAPTER.summarize(bedrock_call(path, frames, content_type=EVENT_STREAM))
    assert summary.response_json["generation"] == "Hello"
    assert summary.attributes["bedrock.malformed_events"] == 1 and summary.error is None


# --- odd shapes never raise --------------------------------------------------------------------------

NON_STREAM = [
    (CLAUDE_PATH, ANTHROPIC_REQUEST, ANTHROPIC_MESSAGE),
    ("amazon.nova-lite-v1%3A0", NOVA_REQUEST, NOVA_RESPONSE),
    ("amazon.titan-text-express-v1", TITAN_REQUEST, TITAN_RESPONSE),
    ("meta.llama3-8b-instruct-v1%3A0", LLAMA_REQUEST, LLAMA_RESPONSE),
    ("mistral.mistral-7b-instruct-v0%3A2", MISTRAL_REQUEST, MISTRAL_RESPONSE),
    ("openai.gpt-oss-20b-1%3A0", MISTRAL_CHAT_REQUEST, OPENAI_RESPONSE),
    (ARN_PATH, {}, {"embedding": [0.1, 0.2], "inputTextTokenCount": 2}),
]


@pytest.mark.parametrize(("model_path", "request_body", "response"), NON_STREAM)
def test_odd_non_stream_bodies_never_raise(model_path: str, request_body: Any, response: Any) -> None:
    for odd in mutations(response, 3):
        summary = ADAPTER.summarize(invoke_call(model_path, request_body, odd))
        assert summary.operation == "invoke" and summary.error is None
    for odd_request in [None, [], "x", *mutations(request_body, 1)]:
        ADAPTER.summarize(invoke_call(ARN_PATH, odd_request, response))


@pytest.mark.parametrize(
    ("model_path", "request_body", "chunks"), [(case[1], case[2], case[3]) for case in STREAM_CASES]
)
def test_odd_stream_chunks_never_raise(model_path: str, request_body: Any, chunks: list[Any]) -> None:
    for odd in mutations(chunks, 3):
        chunk_dicts = [chunk for chunk in odd if isinstance(chunk, dict)]
        summary = summarize_stream(model_path, request_body, chunk_dicts)
        assert summary.operation == "invoke_stream" and isinstance(summary.response_json, dict)
    summarize_stream(ARN_PATH, None, chunks)


def test_metrics_that_are_not_numbers_are_ignored() -> None:
    chunks = [
        *TITAN_STREAM[:-1],
        {**TITAN_STREAM[-1], METRICS_KEY: {**METRICS, "inputTokenCount": "12", "invocationLatency": None}},
    ]
    summary = summarize_stream("amazon.titan-text-express-v1", TITAN_REQUEST, chunks)
    assert summary.attributes == {"bedrock.model_family": "titan", "bedrock.first_byte_latency_ms": 123}
