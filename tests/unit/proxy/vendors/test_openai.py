"""Unit tests for the OpenAI adapter (`vendors.openai`, `vendors.openai_stream`): summaries from wire bytes."""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

import orjson
import pytest

from glassgate.proxy.vendors import CallSummary, Usage, get_adapter, registered_vendors
from glassgate.proxy.vendors.openai import (
    OpenAIAdapter,
    error_from,
    finish_reason_of,
    openai_error_body,
    operation_for,
    shrink_embeddings,
    usage_from,
)
from glassgate.proxy.vendors.openai_stream import assemble_chat, assemble_responses
from tests.unit.proxy.vendors.wire_samples import (
    OPENAI_CHAT_STREAM,
    RESPONSES_FINAL,
    RESPONSES_STREAM,
    chunk,
    json_call,
    responses_object,
    sse,
    typed,
    wire_call,
)

ADAPTER = OpenAIAdapter()
CHAT = "/v1/chat/completions"
RESPONSES = "/v1/responses"
CHAT_REQUEST = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}], "stream": True}
FULL_USAGE = Usage(input_tokens=12, output_tokens=6, cached_tokens=4, reasoning_tokens=2)


def summarize(path: str, chunks: list[bytes], **kwargs: Any) -> CallSummary:
    return ADAPTER.summarize(wire_call(path, chunks, **kwargs))


def message_of(summary: CallSummary, index: int = 0) -> dict[str, Any]:
    message: dict[str, Any] = summary.response_json["choices"][index]["message"]
    return message


# --- operation detection and helpers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "operation"),
    [
        ("POST", "/v1/chat/completions", "chat"),
        ("POST", "/v1/chat/completions/", "chat"),
        ("POST", "/openai/deployments/d/chat/completions", "chat"),
        ("POST", "/v1/responses", "responses"),
        ("POST", "/v1/embeddings", "embeddings"),
        ("POST", "/v1/completions", "completions"),
        ("GET", "/v1/chat/completions", "generic"),
        ("GET", "/v1/responses/resp_1", "generic"),
        ("POST", "/v1/responses/resp_1/cancel", "generic"),
        ("GET", "/v1/models", "generic"),
        ("POST", "/v1/files", "generic"),
        ("POST", "/v1/audio/speech", "generic"),
    ],
)
def test_operation_for(method: str, path: str, operation: str) -> None:
    assert operation_for(method, path) == operation


def test_usage_from_chat_maps_details() -> None:
    usage = {
        "prompt_tokens": 12,
        "completion_tokens": 6,
        "total_tokens": 18,
        "prompt_tokens_details": {"cached_tokens": 4},
        "completion_tokens_details": {"reasoning_tokens": 2},
    }
    assert usage_from("chat", usage) == FULL_USAGE


def test_usage_from_responses_maps_details() -> None:
    usage = {
        "input_tokens": 12,
        "input_tokens_details": {"cached_tokens": 4},
        "output_tokens": 6,
        "output_tokens_details": {"reasoning_tokens": 2},
    }
    assert usage_from("responses", usage) == FULL_USAGE
    assert usage_from("generic", usage) == FULL_USAGE  # recognised by its field names


def test_usage_from_embeddings_reports_zero_output() -> None:
    assert usage_from("embeddings", {"prompt_tokens": 3, "total_tokens": 3}) == Usage(input_tokens=3, output_tokens=0)


def test_usage_from_chat_without_completion_tokens_is_unknown() -> None:
    assert usage_from("chat", {"prompt_tokens": 3}) == Usage(input_tokens=3, output_tokens=None)


@pytest.mark.parametrize("usage", [None, [], "12", 12])
def test_usage_from_non_object_is_empty(usage: object) -> None:
    assert usage_from("chat", usage) == Usage()


def test_usage_from_ignores_non_integers() -> None:
    usage = {"prompt_tokens": True, "completion_tokens": "6", "prompt_tokens_details": {"cached_tokens": 1.5}}
    assert usage_from("chat", usage) == Usage()


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error": {"message": "Rate limit", "type": "requests", "code": "rate_limit_exceeded"}},
            ("Rate limit", "rate_limit_exceeded"),
        ),
        (
            {"error": {"message": "Bad", "type": "invalid_request_error", "code": None}},
            ("Bad", "invalid_request_error"),
        ),
        ({"error": {"type": "server_error"}}, ("error", "server_error")),
        ({"error": "plain text"}, ("plain text", None)),
        ({"error": None}, (None, None)),
        ({"detail": "x"}, (None, None)),
        ("not an object", (None, None)),
        (None, (None, None)),
    ],
)
def test_error_from(body: object, expected: tuple[str | None, str | None]) -> None:
    assert error_from(body) == expected


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ({"status": "completed", "output": [{"type": "message"}]}, "completed"),
        ({"status": "completed", "output": [{"type": "message"}, {"type": "function_call"}]}, "tool_calls"),
        ({"status": "incomplete", "incomplete_details": {"reason": "max_output_tokens"}}, "max_output_tokens"),
        ({"status": "failed"}, "failed"),
        ({"output": []}, None),
        ("text", None),
    ],
)
def test_finish_reason_of_responses(response: object, reason: str | None) -> None:
    assert finish_reason_of("responses", response) == reason


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        ({"choices": [{"finish_reason": "length"}]}, "length"),
        ({"choices": [{"finish_reason": None}]}, None),
        ({"choices": []}, None),
        ({"choices": ["odd"]}, None),
        ({}, None),
        (None, None),
    ],
)
def test_finish_reason_of_chat(response: object, reason: str | None) -> None:
    assert finish_reason_of("chat", response) == reason


def test_shrink_embeddings_describes_vectors() -> None:
    packed = base64.b64encode(struct.pack("<5f", 0.1, 0.2, 0.3, 0.4, 0.5)).decode()
    response: dict[str, Any] = {
        "object": "list",
        "data": [
            {"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 0.125]},
            {"object": "embedding", "index": 1, "embedding": packed},
            {"object": "embedding", "index": 2, "embedding": None},
            {"object": "other"},
        ],
        "model": "text-embedding-3-small",
    }
    shrunk = shrink_embeddings(response)
    assert [item.get("embedding") for item in shrunk["data"]] == [
        "<float vector, 3 dims>",
        "<base64 float32 vector, 5 dims>",
        "<vector>",
        None,
    ]
    assert shrunk["model"] == "text-embedding-3-small"
    assert response["data"][0]["embedding"] == [0.25, -0.5, 0.125]  # the input is not modified


@pytest.mark.parametrize("dims", [1, 2, 3, 256, 1536])
def test_shrink_embeddings_base64_dimension_count(dims: int) -> None:
    packed = base64.b64encode(struct.pack(f"<{dims}f", *([0.5] * dims))).decode()
    shrunk = shrink_embeddings({"data": [{"embedding": packed}]})
    assert shrunk["data"][0]["embedding"] == f"<base64 float32 vector, {dims} dims>"


def test_adapter_registration() -> None:
    assert get_adapter("openai").name == "openai"
    assert {"openai", "azure", "anthropic"} <= set(registered_vendors())
    with pytest.raises(KeyError):
        get_adapter("no-such-vendor")


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (400, "invalid_request_error"),
        (401, "authentication_error"),
        (404, "invalid_request_error"),
        (502, "server_error"),
    ],
)
def test_error_body_has_the_openai_shape(status: int, kind: str) -> None:
    body, content_type = ADAPTER.error_body(status, "no such upstream", "glassgate_error")
    assert content_type == b"application/json"
    assert json.loads(body) == {
        "error": {"message": "no such upstream", "type": kind, "param": None, "code": "glassgate_error"}
    }


# --- non-streamed calls -----------------------------------------------------------------------


def test_non_streamed_chat() -> None:
    response = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello there!"}}],
        "usage": {
            "prompt_tokens": 12,
            "completion_tokens": 6,
            "prompt_tokens_details": {"cached_tokens": 4},
            "completion_tokens_details": {"reasoning_tokens": 2},
        },
    }
    summary = ADAPTER.summarize(json_call(CHAT, response, request={"model": "gpt-4o-mini", "messages": []}))
    assert summary.operation == "chat"
    assert summary.model == "gpt-4o-mini"
    assert summary.response_model == "gpt-4o-mini-2024-07-18"
    assert summary.streamed is False
    assert summary.usage == FULL_USAGE
    assert summary.finish_reason == "stop"
    assert summary.first_content_chunk == 0
    assert summary.error is None
    assert summary.request_json == {"model": "gpt-4o-mini", "messages": []}
    assert summary.response_json == response


def test_non_streamed_responses() -> None:
    summary = ADAPTER.summarize(json_call(RESPONSES, RESPONSES_FINAL, request={"model": "gpt-4.1-mini", "input": "Hi"}))
    assert summary.operation == "responses"
    assert summary.usage == FULL_USAGE
    assert summary.finish_reason == "completed"
    assert summary.response_model == "gpt-4.1-mini"


def test_embeddings_are_shrunk_and_usage_kept() -> None:
    response = {
        "object": "list",
        "data": [{"object": "embedding", "index": 0, "embedding": [0.25, -0.5, 0.125, 1.0]}],
        "model": "text-embedding-3-small",
        "usage": {"prompt_tokens": 3, "total_tokens": 3},
    }
    summary = ADAPTER.summarize(
        json_call("/v1/embeddings", response, request={"model": "text-embedding-3-small", "input": "x"})
    )
    assert summary.operation == "embeddings"
    assert summary.usage == Usage(input_tokens=3, output_tokens=0)
    assert summary.response_json["data"][0]["embedding"] == "<float vector, 4 dims>"
    assert summary.response_json["usage"] == {"prompt_tokens": 3, "total_tokens": 3}


def test_http_error_with_openai_error_body() -> None:
    body = {
        "error": {"message": "Rate limit reached", "type": "requests", "param": None, "code": "rate_limit_exceeded"}
    }
    summary = ADAPTER.summarize(json_call(CHAT, body, request=CHAT_REQUEST, status=429))
    assert summary.error == "Rate limit reached"
    assert summary.error_type == "rate_limit_exceeded"
    assert summary.first_content_chunk is None
    assert summary.finish_reason is None


def test_http_error_without_json_body() -> None:
    summary = ADAPTER.summarize(json_call(CHAT, b"<html>Bad Gateway</html>", request=CHAT_REQUEST, status=502))
    assert summary.error == "HTTP 502"
    assert summary.error_type is None
    assert summary.response_json is None


def test_generic_call_is_not_interpreted() -> None:
    summary = ADAPTER.summarize(json_call("/v1/models", {"data": [{"id": "gpt-4o"}]}, request=None))
    assert summary.operation == "generic"
    assert summary.first_content_chunk is None
    assert summary.model is None
    assert summary.response_json == {"data": [{"id": "gpt-4o"}]}


@pytest.mark.parametrize("request_body", [b"not json", b'{"model": 5}', b'["model"]', b""])
def test_request_without_usable_model(request_body: bytes) -> None:
    summary = ADAPTER.summarize(json_call(CHAT, {"choices": []}, request=request_body))
    assert summary.model is None


def test_malformed_response_json_never_raises() -> None:
    summary = ADAPTER.summarize(json_call(CHAT, b'{"choices": [', request=CHAT_REQUEST))
    assert summary.response_json is None
    assert summary.usage == Usage()
    assert summary.finish_reason is None


def test_no_response_at_all() -> None:
    summary = ADAPTER.summarize(wire_call(CHAT, [], request=CHAT_REQUEST, status=0, content_type=""))
    assert summary.response_json is None
    assert summary.first_content_chunk is None
    assert summary.error is None


# --- Chat Completions streams -----------------------------------------------------------------


def test_chat_stream_from_appendix_b() -> None:
    summary = summarize(CHAT, OPENAI_CHAT_STREAM, request={**CHAT_REQUEST, "stream_options": {"include_usage": True}})
    assert summary.streamed is True
    assert summary.model == "gpt-4o-mini"
    assert summary.response_model == "gpt-4o-mini"
    assert summary.usage == FULL_USAGE
    assert summary.first_content_chunk == 1  # the "Hel" chunk; the role chunk has empty content
    assert summary.finish_reason == "stop"
    assert summary.error is None
    response = summary.response_json
    assert response["object"] == "chat.completion"
    assert response["id"] == "chatcmpl-abc123"
    assert response["system_fingerprint"] == "fp_dummy"
    assert response["service_tier"] == "default"
    assert response["choices"] == [
        {"index": 0, "message": {"role": "assistant", "content": "Hello there!"}, "finish_reason": "stop"}
    ]


def test_chat_stream_split_at_every_size_gives_the_same_answer() -> None:
    stream = b"".join(OPENAI_CHAT_STREAM)
    for size in (1, 2, 7, 64, 333, len(stream)):
        pieces = [stream[start : start + size] for start in range(0, len(stream), size)]
        summary = summarize(CHAT, pieces, request=CHAT_REQUEST)
        assert message_of(summary)["content"] == "Hello there!", size
        assert summary.usage == FULL_USAGE, size
        blank_line = stream.index(b"\n\n", stream.index(b'"Hel"')) + 1  # the byte that completes the event
        assert summary.first_content_chunk == blank_line // size, size


def test_chat_stream_without_usage_reports_no_tokens() -> None:
    chunks = [
        chunk([{"index": 0, "delta": {"role": "assistant", "content": ""}}]),
        chunk([{"index": 0, "delta": {"content": "Hi"}}]),
        chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
        b"data: [DONE]\n\n",
    ]
    summary = summarize(CHAT, chunks, request=CHAT_REQUEST)
    assert summary.usage == Usage()
    assert message_of(summary)["content"] == "Hi"


def test_tool_call_arguments_are_joined_per_index() -> None:
    def call(index: int, **fields: Any) -> bytes:
        return chunk([{"index": 0, "delta": {"tool_calls": [{"index": index, **fields}]}, "finish_reason": None}])

    chunks = [
        chunk([{"index": 0, "delta": {"role": "assistant", "content": None}}]),
        call(0, id="call_a", type="function", function={"name": "get_weather", "arguments": ""}),
        call(1, id="call_b", type="function", function={"name": "get_time", "arguments": ""}),
        call(0, function={"arguments": '{"ci'}),
        call(1, function={"arguments": '{"tz": '}),
        call(0, function={"arguments": 'ty": "Pa'}),
        call(1, function={"arguments": '"CET"}'}),
        call(0, function={"arguments": 'ris"}'}),
        chunk([{"index": 0, "delta": {}, "finish_reason": "tool_calls"}]),
        b"data: [DONE]\n\n",
    ]
    summary = summarize(CHAT, chunks, request=CHAT_REQUEST)
    message = message_of(summary)
    assert message["content"] is None
    assert message["tool_calls"] == [
        {"id": "call_a", "type": "function", "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'}},
        {"id": "call_b", "type": "function", "function": {"name": "get_time", "arguments": '{"tz": "CET"}'}},
    ]
    assert json.loads(message["tool_calls"][0]["function"]["arguments"]) == {"city": "Paris"}
    assert summary.finish_reason == "tool_calls"
    assert summary.first_content_chunk == 1


def test_n_greater_than_one_keeps_choices_apart() -> None:
    chunks = [chunk([{"index": i, "delta": {"role": "assistant", "content": ""}}]) for i in (0, 1)]
    for piece in ("Hel", "lo"):
        chunks += [
            chunk([{"index": 1, "delta": {"content": piece.upper()}}]),
            chunk([{"index": 0, "delta": {"content": piece}}]),
        ]
    chunks += [
        chunk([{"index": 1, "delta": {}, "finish_reason": "length"}]),
        chunk([{"index": 0, "delta": {}, "finish_reason": "stop"}]),
    ]
    summary = summarize(CHAT, chunks, request={**CHAT_REQUEST, "n": 2})
    choices = summary.response_json["choices"]
    assert [choice["index"] for choice in choices] == [0, 1]
    assert [choice["message"]["content"] for choice in choices] == ["Hello", "HELLO"]
    assert [choice["finish_reason"] for choice in choices] == ["stop", "length"]
    assert summary.finish_reason == "stop"
    assert summary.first_content_chunk == 2


def test_refusal_and_reasoning_content_are_joined() -> None:
    chunks = [
        chunk([{"index": 0, "delta": {"reasoning_content": "Think"}}]),
        chunk([{"index": 0, "delta": {"reasoning_content": "ing"}}]),
        chunk([{"index": 0, "delta": {"refusal": "I can't"}}]),
        chunk([{"index": 0, "delta": {"refusal": " help."}}]),
    ]
    message = message_of(summarize(CHAT, chunks))
    assert message["reasoning_content"] == "Thinking"
    assert message["refusal"] == "I can't help."
    assert message["content"] is None


def test_logprobs_chunks_are_kept() -> None:
    logprobs = {"content": [{"token": "Hi", "logprob": -0.1}]}
    summary = summarize(CHAT, [chunk([{"index": 0, "delta": {"content": "Hi"}, "logprobs": logprobs}])])
    assert summary.response_json["choices"][0]["logprobs_chunks"] == [logprobs]


def test_error_inside_a_200_stream() -> None:
    chunks = [
        chunk([{"index": 0, "delta": {"content": "Hel"}}]),
        sse({"error": {"message": "The server had an error", "type": "server_error", "param": None, "code": None}}),
    ]
    summary = summarize(CHAT, chunks, request=CHAT_REQUEST)
    assert summary.error == "The server had an error"
    assert summary.error_type == "server_error"
    assert message_of(summary)["content"] == "Hel"


def test_error_inside_stream_without_message() -> None:
    summary = summarize(CHAT, [sse({"error": {"code": "overloaded"}})])
    assert summary.error == "error in stream"
    assert summary.error_type == "overloaded"


def test_stream_cut_before_the_end() -> None:
    summary = summarize(CHAT, [*OPENAI_CHAT_STREAM[:3], OPENAI_CHAT_STREAM[3][:40]], request=CHAT_REQUEST)
    assert message_of(summary)["content"] == "Hello "
    assert summary.finish_reason is None
    assert summary.usage == Usage()
    assert summary.error is None


def test_malformed_stream_events_are_skipped() -> None:
    chunks = [
        b"data: {not json}\n\n",
        b"data: [1, 2]\n\n",
        b'data: "text"\n\n',
        chunk([{"index": 0, "delta": "oops"}, "not a choice", {"index": 0, "delta": {"content": "ok"}}]),
        b": comment\n\n",
        b"data: [DONE]\n\n",
    ]
    summary = summarize(CHAT, chunks)
    assert message_of(summary)["content"] == "ok"
    assert summary.first_content_chunk == 3


def test_empty_stream() -> None:
    summary = summarize(CHAT, [])
    assert summary.response_json == {"object": "chat.completion", "choices": []}
    assert summary.first_content_chunk is None
    assert summary.finish_reason is None


def test_legacy_completions_stream() -> None:
    def text_chunk(text: str, finish: str | None = None) -> bytes:
        choice = {"text": text, "index": 0, "logprobs": None, "finish_reason": finish}
        return sse(
            {"id": "cmpl-1", "object": "text_completion", "model": "gpt-3.5-turbo-instruct", "choices": [choice]}
        )

    chunks = [text_chunk(""), text_chunk("Hel"), text_chunk("lo"), text_chunk("", "length"), b"data: [DONE]\n\n"]
    summary = summarize("/v1/completions", chunks, request={"model": "gpt-3.5-turbo-instruct", "prompt": "x"})
    assert summary.operation == "completions"
    assert summary.response_json["object"] == "text_completion"
    assert summary.response_json["choices"] == [{"index": 0, "text": "Hello", "finish_reason": "length"}]
    assert summary.first_content_chunk == 1
    assert summary.finish_reason == "length"


MALFORMED_CHAT_STREAMS = [
    pytest.param(
        [chunk([{"index": 0, "delta": {"content": "a"}}]), chunk([{"index": None, "delta": {"content": "b"}}])],
        id="index-null",
    ),
    pytest.param([chunk([{"index": 0, "delta": {}}]), chunk([{"index": "1", "delta": {}}])], id="index-string"),
    pytest.param([chunk([{"index": [], "delta": {}}])], id="index-unhashable"),
    pytest.param([sse({"choices": 5})], id="choices-number"),
    pytest.param([chunk([{"index": 0, "delta": {"tool_calls": 7}}])], id="tool-calls-number"),
    pytest.param(
        [chunk([{"index": 0, "delta": {"tool_calls": [{"index": 0, "function": {"name": 5}}]}}])], id="name-number"
    ),
]


@pytest.mark.parametrize("chunks", MALFORMED_CHAT_STREAMS)
def test_unexpected_shapes_in_chat_stream_never_raise(chunks: list[bytes]) -> None:
    summary = summarize(CHAT, chunks)
    assert summary.operation == "chat"


@pytest.mark.parametrize(
    ("path", "body"),
    [(CHAT, b'{"choices": {"a": 1}}'), (CHAT, b'{"choices": 5}'), (RESPONSES, b'{"output": 5}')],
    ids=["choices-object", "choices-number", "output-number"],
)
def test_unexpected_shapes_in_json_response_never_raise(path: str, body: bytes) -> None:
    summary = ADAPTER.summarize(json_call(path, body))
    assert summary.finish_reason is None


# --- Responses streams ------------------------------------------------------------------------


def test_responses_stream_from_appendix_b() -> None:
    summary = summarize(RESPONSES, RESPONSES_STREAM, request={"model": "gpt-4.1-mini", "input": "Hi", "stream": True})
    assert summary.operation == "responses"
    assert summary.streamed is True
    assert summary.response_json == RESPONSES_FINAL
    assert summary.usage == FULL_USAGE
    assert summary.first_content_chunk == 4
    assert summary.finish_reason == "completed"
    assert summary.response_model == "gpt-4.1-mini"
    assert summary.error is None


def test_responses_stream_with_trailing_done_and_one_chunk() -> None:
    summary = summarize(RESPONSES, [b"".join([*RESPONSES_STREAM, b"data: [DONE]\n\n"])])
    assert summary.response_json == RESPONSES_FINAL
    assert summary.first_content_chunk == 0


def test_responses_event_type_from_event_line_when_data_has_none() -> None:
    chunks = [
        b'event: response.output_text.delta\ndata: {"delta": "Hi"}\n\n',
        b'event: response.completed\ndata: {"response": {"status": "completed", "output": []}}\n\n',
    ]
    summary = summarize(RESPONSES, chunks)
    assert summary.first_content_chunk == 0
    assert summary.response_json == {"status": "completed", "output": []}


def test_responses_stream_cut_before_terminal_event_joins_text() -> None:
    summary = summarize(RESPONSES, RESPONSES_STREAM[:6])
    assert summary.response_json["status"] == "in_progress"
    assert summary.response_json["id"] == "resp_abc123"
    assert summary.response_json["output"] == [
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Hello "}]}
    ]
    assert summary.usage == Usage()
    assert summary.finish_reason == "in_progress"
    assert summary.error is None


def test_responses_incomplete() -> None:
    incomplete = {**responses_object("incomplete", [], {"input_tokens": 5, "output_tokens": 16})}
    incomplete["incomplete_details"] = {"reason": "max_output_tokens"}
    chunks = [*RESPONSES_STREAM[:5], typed("response.incomplete", 5, response=incomplete)]
    summary = summarize(RESPONSES, chunks)
    assert summary.finish_reason == "max_output_tokens"
    assert summary.usage == Usage(input_tokens=5, output_tokens=16)
    assert summary.response_json["output"] == []  # terminal object kept as sent
    assert summary.error is None


def test_responses_failed() -> None:
    failed = responses_object("failed", [], None)
    failed["error"] = {"code": "server_error", "message": "The model crashed"}
    summary = summarize(RESPONSES, [*RESPONSES_STREAM[:2], typed("response.failed", 2, response=failed)])
    assert summary.error == "The model crashed"
    assert summary.error_type == "server_error"
    assert summary.finish_reason == "failed"


def test_responses_failed_without_error_details() -> None:
    summary = summarize(RESPONSES, [typed("response.failed", 0, response={"status": "failed", "error": None})])
    assert summary.error == "response failed"
    assert summary.error_type == "response_failed"


def test_responses_error_event() -> None:
    chunks = [*RESPONSES_STREAM[:5], typed("error", 5, code="rate_limit_exceeded", message="Slow down", param=None)]
    summary = summarize(RESPONSES, chunks)
    assert summary.error == "Slow down"
    assert summary.error_type == "rate_limit_exceeded"
    assert summary.first_content_chunk == 4


def test_responses_function_call_stream() -> None:
    item = {"type": "function_call", "id": "fc_1", "call_id": "call_1", "name": "get_weather", "arguments": ""}
    done = {**item, "arguments": '{"city": "Paris"}', "status": "completed"}
    chunks = [
        typed("response.created", 0, response=responses_object("in_progress", [], None)),
        typed("response.output_item.added", 1, output_index=0, item=item),
        typed("response.function_call_arguments.delta", 2, item_id="fc_1", output_index=0, delta='{"city": '),
        typed("response.function_call_arguments.delta", 3, item_id="fc_1", output_index=0, delta='"Paris"}'),
        typed("response.completed", 4, response=responses_object("completed", [done], None)),
    ]
    summary = summarize(RESPONSES, chunks)
    assert summary.first_content_chunk == 2
    assert summary.finish_reason == "tool_calls"
    assert summary.response_json["output"] == [done]


def test_responses_refusal_delta_counts_as_content() -> None:
    chunks = [
        typed("response.created", 0, response={"status": "in_progress"}),
        typed("response.refusal.delta", 1, delta="No"),
    ]
    assert summarize(RESPONSES, chunks).first_content_chunk == 1


def test_assemble_responses_ignores_garbage() -> None:
    result = assemble_responses([b"data: {oops\n\n", b"data: 3\n\n", b"data: [DONE]\n\n"])
    assert result.response == {}
    assert result.first_content_chunk is None
    assert result.error is None


def test_assemble_chat_direct_text_completion_flag() -> None:
    result = assemble_chat([sse({"choices": [{"index": 0, "text": "x"}]})], text_completion=True)
    assert result.response == {
        "object": "text_completion",
        "choices": [{"index": 0, "text": "x", "finish_reason": None}],
    }
    assert result.first_content_chunk == 0


@pytest.mark.parametrize(
    ("status", "code", "kind"),
    [
        (401, "invalid_api_key", "authentication_error"),
        (429, "rate_limit_exceeded", "requests"),
        (429, "insufficient_quota", "insufficient_quota"),
        (413, "body_too_large", "invalid_request_error"),
        (502, "upstream_unavailable", "server_error"),
    ],
)
def test_glassgate_errors_carry_the_type_openai_gives_that_status(status: int, code: str, kind: str) -> None:
    body, content_type = openai_error_body(status, "message", code)
    assert content_type == b"application/json"
    assert orjson.loads(body) == {"error": {"message": "message", "type": kind, "param": None, "code": code}}
