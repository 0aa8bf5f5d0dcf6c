"""Text of OpenAI and Azure OpenAI bodies (wire-formats.md §1-2): what is scanned, what is not."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from glassgate.guardrails.text import Extraction, request_texts, response_texts, rewrite_strings
from glassgate.proxy.vendors import get_adapter
from tests.fakes import openai_fixtures as fake
from tests.unit.proxy.vendors.wire_samples import (
    AZURE_CHAT_STREAM,
    OPENAI_CHAT_STREAM,
    RESPONSES_STREAM,
    json_call,
    wire_call,
)

Row = tuple[tuple[str | int, ...], str, str]


def rows(extraction: Extraction) -> list[Row]:
    return [(field.path, field.role, field.text) for field in extraction.fields]


def assert_rewritable(raw: bytes, extraction: Extraction) -> None:
    """Every field is a string the rewrite can reach: replacing them all changes exactly them."""
    replacements = {field.path: f"<{index}>" for index, field in enumerate(extraction.fields)}
    expected: Any = orjson.loads(raw)
    for path, text in replacements.items():
        holder = expected
        for part in path[:-1]:
            holder = holder[part]
        holder[path[-1]] = text
    assert orjson.loads(rewrite_strings(raw, replacements)) == expected


# --- Chat Completions -----------------------------------------------------------------------------

# Appendix A.1, "openai chat non-stream", byte for byte.
SDK_CHAT = (
    b'{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi"}],'
    b'"max_completion_tokens":50,"temperature":0.2,"user":"u-42"}'
)

RICH_CHAT: dict[str, Any] = {
    "model": "gpt-4o",
    "messages": [
        {"role": "developer", "content": "Answer in French."},
        {"role": "system", "content": [{"type": "text", "text": "Never share emails."}]},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture? Mail me at ann@example.com"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                {"type": "file", "file": {"file_id": "file-abc"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "18 degrees, sunny"},
        {"role": "assistant", "content": None, "function_call": {"name": "lookup", "arguments": '{"q":"ann"}'}},
        {"role": "function", "name": "lookup", "content": "Ann, 42"},
        {"role": "assistant", "content": "", "refusal": "I can't help with that."},
        {"role": "user", "content": [{"type": "text", "text": "ok"}, {"type": "video_url", "video_url": {}}]},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather", "parameters": {}}}],
    "prediction": {"type": "content", "content": "Bonjour Ann"},
    "stream": True,
    "stream_options": {"include_usage": True},
}


def test_the_captured_sdk_chat_request() -> None:
    extraction = request_texts("openai", "/v1/chat/completions", orjson.loads(SDK_CHAT))
    assert rows(extraction) == [
        (("messages", 0, "content"), "system", "Be brief."),
        (("messages", 1, "content"), "user", "Hi"),
    ]
    assert extraction.skipped == []


def test_every_chat_message_shape() -> None:
    extraction = request_texts("openai", "/v1/chat/completions", RICH_CHAT)
    assert rows(extraction) == [
        (("messages", 0, "content"), "developer", "Answer in French."),
        (("messages", 1, "content", 0, "text"), "system", "Never share emails."),
        (("messages", 2, "content", 0, "text"), "user", "What is in this picture? Mail me at ann@example.com"),
        (("messages", 3, "tool_calls", 0, "function", "arguments"), "tool_arguments", '{"city":"Paris"}'),
        (("messages", 4, "content"), "tool", "18 degrees, sunny"),
        (("messages", 5, "function_call", "arguments"), "tool_arguments", '{"q":"ann"}'),
        (("messages", 6, "content"), "tool", "Ann, 42"),
        (("messages", 7, "refusal"), "assistant", "I can't help with that."),
        (("messages", 8, "content", 0, "text"), "user", "ok"),
        (("prediction", "content"), "other", "Bonjour Ann"),
    ]
    assert extraction.skipped == [
        "messages[2].content[1]: image_url part (image) not scanned",
        "messages[2].content[2]: input_audio part (audio) not scanned",
        "messages[2].content[3]: file part (file) not scanned",
        "messages[8].content[1]: content part of unknown type 'video_url' not scanned",
        "tools: tool definitions (names, descriptions, schemas) not scanned",
    ]
    assert_rewritable(json.dumps(RICH_CHAT).encode(), extraction)


@pytest.mark.parametrize(
    "path",
    [
        "/openai/deployments/my-gpt4o/chat/completions",
        "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21",
        "/openai/v1/chat/completions",
    ],
)
def test_azure_routes_read_the_same_chat_shape(path: str) -> None:
    body = {"model": "my-gpt4o", "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    assert rows(request_texts("azure", path, body)) == [(("messages", 0, "content"), "user", "Hi")]


def test_odd_chat_values_are_named_never_dropped() -> None:
    body = {"messages": [7, {"role": "wizard", "content": {"text": "x"}}, {"role": "user", "content": [None]}]}
    extraction = request_texts("openai", "/v1/chat/completions", body)
    assert extraction.fields == []
    assert extraction.skipped == [
        "messages[0]: number in place of a message; not scanned",
        "messages[1].content: expected text, found object; not scanned",
        "messages[2].content[0]: null in place of a content part; not scanned",
    ]
    assert request_texts("openai", "/v1/chat/completions", {"model": "x"}).skipped == [
        "messages: missing or not a list; no messages scanned"
    ]


def test_chat_answer() -> None:
    answer = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "content": "Hello there!",
                    "refusal": None,
                    "annotations": [],
                    "tool_calls": [
                        {"id": "call_1", "type": "function", "function": {"name": "w", "arguments": '{"city":"Paris"}'}}
                    ],
                },
            },
            {"index": 1, "message": {"role": "assistant", "content": None, "refusal": "I can't."}},
            {"index": 2, "message": {"role": "assistant", "audio": {"id": "a1", "data": "UklG", "transcript": "Hi!"}}},
        ],
        "usage": {"prompt_tokens": 12, "completion_tokens": 6, "total_tokens": 18},
    }
    extraction = response_texts("openai", "/v1/chat/completions", answer)
    assert rows(extraction) == [
        (("choices", 0, "message", "content"), "assistant", "Hello there!"),
        (("choices", 0, "message", "tool_calls", 0, "function", "arguments"), "tool_arguments", '{"city":"Paris"}'),
        (("choices", 1, "message", "refusal"), "assistant", "I can't."),
        (("choices", 2, "message", "audio", "transcript"), "assistant", "Hi!"),
    ]
    assert extraction.skipped == ["choices[2].message.audio.data: audio not scanned (its transcript is)"]


@pytest.mark.parametrize(
    ("vendor", "path", "stream"),
    [
        ("openai", "/v1/chat/completions", OPENAI_CHAT_STREAM),
        ("azure", "/openai/deployments/my-gpt4o/chat/completions", AZURE_CHAT_STREAM),
    ],
)
def test_streamed_chat_answers_are_read_once_assembled(vendor: str, path: str, stream: list[bytes]) -> None:
    summary = get_adapter(vendor).summarize(wire_call(path, stream))
    extraction = response_texts(vendor, path, summary.response_json)
    assert rows(extraction) == [(("choices", 0, "message", "content"), "assistant", "Hello there!")]
    assert extraction.skipped == []


def test_streamed_tool_call_arguments_are_read_once_assembled() -> None:
    request = {
        "model": "gpt-4o-mini",
        "stream": True,
        "messages": [{"role": "user", "content": "Weather?"}],
        "tools": [],
    }
    request["tools"] = [{"type": "function", "function": {"name": "get_weather", "parameters": {}}}]
    summary = get_adapter("openai").summarize(
        wire_call("/v1/chat/completions", fake.chat_stream(request, azure=False), request=request)
    )
    fields = response_texts("openai", "/v1/chat/completions", summary.response_json).fields
    assert [(f.role, f.text) for f in fields if f.role == "tool_arguments"] == [("tool_arguments", '{"city": "Paris"}')]


# --- Responses API --------------------------------------------------------------------------------

RESPONSES_REQUEST: dict[str, Any] = {
    "model": "gpt-4.1-mini",
    "instructions": "Be brief.",
    "input": [
        {"role": "developer", "content": "Use metric units."},
        {
            "type": "message",
            "role": "user",
            "content": [
                {"type": "input_text", "text": "Weather in Paris? I'm ann@example.com"},
                {"type": "input_image", "image_url": "https://example.com/a.png", "detail": "auto"},
                {"type": "input_file", "file_id": "file-1"},
            ],
        },
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "Checking."}]},
        {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need weather."}]},
        {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city":"Paris"}'},
        {"type": "function_call_output", "call_id": "call_1", "output": "18C"},
        {"type": "function_call_output", "call_id": "call_2", "output": [{"type": "input_text", "text": "rain"}]},
        {"type": "item_reference", "id": "msg_0"},
        {"type": "web_search_call", "id": "ws_1", "status": "completed"},
    ],
    "prompt": {"id": "pmpt_1", "variables": {"name": "Ann", "photo": {"type": "input_image", "file_id": "f"}}},
    "tools": [{"type": "function", "name": "get_weather", "parameters": {}}],
    "previous_response_id": "resp_0",
    "stream": True,
}


def test_the_captured_sdk_responses_requests() -> None:
    # Appendix A.2: "openai responses non-stream" and "openai responses stream"
    flat = request_texts(
        "openai", "/v1/responses", {"model": "gpt-4.1-mini", "input": "Hi", "instructions": "Be brief."}
    )
    assert rows(flat) == [(("instructions",), "system", "Be brief."), (("input",), "user", "Hi")]
    listed = request_texts(
        "openai", "/v1/responses", {"model": "m", "stream": True, "input": [{"role": "user", "content": "Hi"}]}
    )
    assert rows(listed) == [(("input", 0, "content"), "user", "Hi")]


def test_every_responses_input_item() -> None:
    extraction = request_texts("openai", "/v1/responses", RESPONSES_REQUEST)
    assert rows(extraction) == [
        (("instructions",), "system", "Be brief."),
        (("input", 0, "content"), "developer", "Use metric units."),
        (("input", 1, "content", 0, "text"), "user", "Weather in Paris? I'm ann@example.com"),
        (("input", 2, "content", 0, "text"), "assistant", "Checking."),
        (("input", 4, "arguments"), "tool_arguments", '{"city":"Paris"}'),
        (("input", 5, "output"), "tool_result", "18C"),
        (("input", 6, "output", 0, "text"), "tool_result", "rain"),
        (("prompt", "variables", "name"), "user", "Ann"),
    ]
    assert extraction.skipped == [
        "input[1].content[1]: input_image part (image) not scanned",
        "input[1].content[2]: input_file part (file) not scanned",
        "input[3]: reasoning item (replayed to the vendor unchanged) not scanned",
        "input[7]: item_reference (content held by the vendor) not scanned",
        "input[8]: 'web_search_call' item not scanned",
        "prompt.variables.photo: input_image part (image) not scanned",
        "previous_response_id: earlier turns held by the vendor not scanned",
        "tools: tool definitions (names, descriptions, schemas) not scanned",
    ]
    assert_rewritable(json.dumps(RESPONSES_REQUEST, indent=2).encode(), extraction)


@pytest.mark.parametrize("path", ["/openai/responses?api-version=2024-10-21", "/openai/v1/responses"])
def test_azure_responses_routes(path: str) -> None:
    assert rows(request_texts("azure", path, {"model": "my-gpt4o", "input": "Hi"})) == [(("input",), "user", "Hi")]


def test_responses_answer_items() -> None:
    answer = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "instructions": "Be brief.",
        "output": [
            {
                "type": "reasoning",
                "id": "rs_1",
                "summary": [{"type": "summary_text", "text": "Think."}],
                "encrypted_content": "gAAAA",
            },
            {
                "type": "message",
                "role": "assistant",
                "content": [
                    {"type": "output_text", "text": "Hello there!", "annotations": []},
                    {"type": "refusal", "refusal": "Not that."},
                ],
            },
            {"type": "function_call", "call_id": "c1", "name": "w", "arguments": '{"city":"Paris"}'},
            {"type": "mcp_call", "name": "lookup", "arguments": '{"q":1}', "output": "found"},
            {"type": "image_generation_call", "result": "iVBOR"},
        ],
    }
    extraction = response_texts("openai", "/v1/responses", answer)
    assert rows(extraction) == [
        (("output", 0, "summary", 0, "text"), "assistant", "Think."),
        (("output", 1, "content", 0, "text"), "assistant", "Hello there!"),
        (("output", 1, "content", 1, "refusal"), "assistant", "Not that."),
        (("output", 2, "arguments"), "tool_arguments", '{"city":"Paris"}'),
        (("output", 3, "arguments"), "tool_arguments", '{"q":1}'),
        (("output", 3, "output"), "tool_result", "found"),
    ]
    assert extraction.skipped == [
        "instructions: echo of the request's instructions not scanned",
        "output[0].encrypted_content: encrypted reasoning not scanned",
        "output[4]: 'image_generation_call' item not scanned",
    ]


def test_streamed_responses_answer_is_read_once_assembled() -> None:
    summary = get_adapter("openai").summarize(wire_call("/v1/responses", RESPONSES_STREAM))
    extraction = response_texts("openai", "/v1/responses", summary.response_json)
    assert rows(extraction) == [(("output", 0, "content", 0, "text"), "assistant", "Hello there!")]


# --- Embeddings and legacy Completions ------------------------------------------------------------


def test_embeddings_inputs_and_token_arrays() -> None:
    # Appendix A.2: "openai embeddings" and "azure embeddings (deployments)"
    one = request_texts("openai", "/v1/embeddings", {"model": "t", "input": "hello world", "encoding_format": "base64"})
    assert rows(one) == [(("input",), "prompt", "hello world")]
    many = request_texts("azure", "/openai/deployments/my-embed/embeddings", {"model": "my-embed", "input": ["a", "b"]})
    assert rows(many) == [(("input", 0), "prompt", "a"), (("input", 1), "prompt", "b")]
    tokens = request_texts("openai", "/v1/embeddings", {"model": "t", "input": [[1, 2, 3], [4]]})
    assert tokens.fields == []
    assert tokens.skipped == [
        "input[0]: token array (token ids, not text) not scanned",
        "input[1]: token array (token ids, not text) not scanned",
    ]
    assert request_texts("openai", "/v1/embeddings", {"model": "t", "input": [5, 6]}).skipped == [
        "input: token array (token ids, not text) not scanned"
    ]
    answer = (
        get_adapter("openai")
        .summarize(json_call("/v1/embeddings", fake.embeddings({"input": "hi", "model": "t"})))
        .response_json
    )
    assert response_texts("openai", "/v1/embeddings", answer).skipped == [
        "data: embedding vectors (no text) not scanned"
    ]


def test_legacy_completions() -> None:
    # Appendix A.2: "openai legacy completions"
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say hello", "max_tokens": 5}
    assert rows(request_texts("openai", "/v1/completions", body)) == [(("prompt",), "prompt", "Say hello")]
    listed = {"model": "m", "prompt": ["a", [1, 2]], "suffix": "end"}
    extraction = request_texts("openai", "/v1/completions", listed)
    assert rows(extraction) == [(("prompt", 0), "prompt", "a"), (("suffix",), "prompt", "end")]
    assert extraction.skipped == ["prompt[1]: token array (token ids, not text) not scanned"]
    answer = {"object": "text_completion", "choices": [{"text": "Hello!", "index": 0, "finish_reason": "stop"}]}
    assert rows(response_texts("openai", "/v1/completions", answer)) == [
        (("choices", 0, "text"), "assistant", "Hello!")
    ]
    streamed = (
        get_adapter("openai")
        .summarize(wire_call("/v1/completions", fake.completion_stream({"model": "m", "prompt": "x"})))
        .response_json
    )
    assert [f.text for f in response_texts("openai", "/v1/completions", streamed).fields] == [fake.TEXT]


def test_error_bodies_and_other_operations() -> None:
    error = fake.error(429, "Rate limit", "requests", "rate_limit_exceeded")
    assert response_texts("openai", "/v1/chat/completions", error).skipped == [
        "body: an error body (the vendor's message, not an answer) not scanned"
    ]
    moderation = request_texts("openai", "/v1/moderations", {"input": "some text", "model": "omni-moderation-latest"})
    assert rows(moderation) == [(("input",), "other", "some text")]
    assert moderation.skipped == [
        "body: openai operation at '/v1/moderations' not known: only strings under text-like keys scanned"
    ]
