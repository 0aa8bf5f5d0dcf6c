"""The neutral conversation view of a call, for every format the adapters record.

Bodies are the shapes of wire-formats.md and the fake vendors; streamed answers go through the
real adapters first, so the view reads exactly what a span stores.
"""

from __future__ import annotations

import base64
import copy
import json
import random
from typing import Any

import orjson
import pytest

from glassgate.proxy.vendors import WireCall, get_adapter
from glassgate.tracing.conversation import conversation_of
from glassgate.tracing.conversation.bedrock import prompt_turns
from tests.fakes import anthropic_fixtures as anthropic_fake
from tests.fakes import bedrock_fixtures as bedrock_fake
from tests.fakes import openai_fixtures as openai_fake

PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + bytes(3000)).decode()
RAW_PNG = base64.b64encode(b"\x89PNG" + bytes(3000)).decode()


def stored(vendor: str, path: str, request: dict[str, Any], chunks: list[bytes], content_type: str) -> dict[str, Any]:
    """What a span stores for the call, read back as a conversation."""
    call = WireCall(
        method="POST",
        path=path,
        query="",
        request_body=orjson.dumps(request),
        status=200,
        content_type=content_type,
        chunks=chunks,
    )
    summary = get_adapter(vendor).summarize(call)
    return conversation_of(vendor, summary.operation, summary.request_json, summary.response_json, model=summary.model)


def whole(vendor: str, path: str, request: dict[str, Any], response: dict[str, Any]) -> dict[str, Any]:
    return stored(vendor, path, request, [orjson.dumps(response)], "application/json")


def parts(message: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [part for part in message["parts"] if part["type"] == kind]


def texts(messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(message["role"], part["text"]) for message in messages for part in parts(message, "text")]


# --- OpenAI and Azure -------------------------------------------------------------------------

CHAT_REQUEST: dict[str, Any] = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "developer", "content": "Be brief."},
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "What is in this picture, and the weather in Paris?"},
                {"type": "image_url", "image_url": {"url": PNG, "detail": "low"}},
            ],
        },
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "call_0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city":"Paris"}'},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "call_0", "content": "18°C, sunny"},
    ],
    "tools": [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }
    ],
    "max_completion_tokens": 50,
    "temperature": 0.2,
    "n": 2,
    "stop": "\n\n",
    "user": "u-42",
}


def test_chat_with_an_image_a_tool_round_and_two_choices() -> None:
    view = whole("openai", "/v1/chat/completions", CHAT_REQUEST, openai_fake.chat_completion({"n": 2}, azure=False))
    assert [message["role"] for message in view["messages"]] == ["system", "user", "assistant", "tool"]
    assert view["messages"][0]["parts"] == [{"type": "text", "text": "Be brief."}]
    [picture] = parts(view["messages"][1], "image")
    assert picture["media_type"] == "image/png" and picture["url"] is None
    assert "kB" in picture["detail"]
    assert RAW_PNG[:200] not in json.dumps(view), "image bytes never reach the view"
    assert parts(view["messages"][2], "tool_call") == [
        {"type": "tool_call", "id": "call_0", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    assert view["messages"][3]["parts"] == [
        {"type": "tool_result", "tool_call_id": "call_0", "content": "18°C, sunny", "is_error": False}
    ]
    assert [(answer["choice"], answer["finish_reason"]) for answer in view["output"]] == [(0, "stop"), (1, "stop")]
    assert texts(view["output"]) == [("assistant", openai_fake.TEXT)] * 2
    assert view["tools"] == [
        {
            "name": "get_weather",
            "description": "Weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    assert view["parameters"] == {
        "model": "gpt-4o-mini",
        "temperature": 0.2,
        "max_tokens": 50,
        "n": 2,
        "stop": ["\n\n"],
        "user": "u-42",
    }
    assert view["format"] == "openai.chat" and view["warnings"] == []


def test_a_streamed_tool_call_reads_as_assembled() -> None:
    request = {"model": "gpt-4o-mini", "stream": True, "messages": [{"role": "user", "content": "Weather Paris?"}]}
    request["tools"] = CHAT_REQUEST["tools"]
    view = stored(
        "openai",
        "/v1/chat/completions",
        request,
        openai_fake.chat_stream(request, azure=False),
        "text/event-stream",
    )
    [answer] = view["output"]
    assert answer["parts"] == [
        {"type": "tool_call", "id": "call_0", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]
    assert answer["finish_reason"] == "tool_calls"
    assert view["parameters"]["stream"] is True


def test_azure_reads_as_openai_with_its_deployment() -> None:
    request = {"messages": [{"role": "user", "content": "Hi"}]}
    view = stored(
        "azure",
        "/openai/deployments/my-gpt4o/chat/completions",
        request,
        openai_fake.chat_stream(request, azure=True),
        "text/event-stream",
    )
    assert texts(view["messages"]) == [("user", "Hi")]
    assert texts(view["output"]) == [("assistant", openai_fake.TEXT)]
    assert view["parameters"]["model"] == "my-gpt4o", "the deployment, from the path"
    assert view["format"] == "azure.chat"


def test_responses_with_instructions_and_a_string_input() -> None:
    request = {"model": "gpt-4.1-mini", "input": "Hi", "instructions": "Be brief.", "max_output_tokens": 64}
    view = stored("openai", "/v1/responses", request, openai_fake.responses_stream(request), "text/event-stream")
    assert texts(view["messages"]) == [("system", "Be brief."), ("user", "Hi")]
    assert texts(view["output"]) == [("assistant", openai_fake.TEXT)]
    assert view["output"][0]["finish_reason"] == "completed"
    assert view["parameters"] == {"model": "gpt-4.1-mini", "max_tokens": 64}


def test_responses_items_function_calls_reasoning_and_outputs() -> None:
    request = {
        "model": "o4-mini",
        "previous_response_id": "resp_prev",
        "input": [
            {
                "role": "user",
                "content": [{"type": "input_text", "text": "Weather?"}, {"type": "input_image", "image_url": PNG}],
            },
            {"type": "reasoning", "id": "rs_1", "summary": [{"type": "summary_text", "text": "Need a tool."}]},
            {"type": "function_call", "call_id": "call_1", "name": "get_weather", "arguments": '{"city": "Paris"}'},
            {"type": "function_call", "call_id": "call_2", "name": "get_weather", "arguments": '{"city": "Rome"}'},
            {"type": "function_call_output", "call_id": "call_1", "output": "18°C"},
            {"type": "function_call_output", "call_id": "call_2", "output": "21°C"},
            {"type": "item_reference", "id": "msg_old"},
        ],
        "tools": [
            {"type": "function", "name": "get_weather", "parameters": {"type": "object"}},
            {"type": "web_search"},
        ],
        "reasoning": {"effort": "low"},
    }
    response = {
        "id": "resp_1",
        "object": "response",
        "status": "completed",
        "output": [
            {"type": "reasoning", "id": "rs_2", "summary": [], "encrypted_content": "gAAAA"},
            {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"query": "Paris weather"}},
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Paris 18°C, Rome 21°C.", "annotations": []}],
            },
        ],
    }
    view = whole("openai", "/v1/responses", request, response)
    assert [message["role"] for message in view["messages"]] == ["user", "assistant", "tool"]
    assistant, tool = view["messages"][1], view["messages"][2]
    assert [part["type"] for part in assistant["parts"]] == ["reasoning", "tool_call", "tool_call"]
    assert assistant["parts"][0]["text"] == "Need a tool."
    assert [part["tool_call_id"] for part in tool["parts"]] == ["call_1", "call_2"]
    [answer] = view["output"]
    assert [part["type"] for part in answer["parts"]] == ["reasoning", "tool_call", "text"]
    assert answer["parts"][0] == {"type": "reasoning", "text": "", "redacted": True}
    assert answer["parts"][1]["name"] == "web_search"
    assert [tool["name"] for tool in view["tools"]] == ["get_weather", "web_search"]
    assert view["parameters"]["reasoning"] == {"effort": "low"}
    assert any("previous_response_id" in warning for warning in view["warnings"])
    assert any("msg_old" in warning for warning in view["warnings"])


def test_responses_function_call_answer_finishes_with_tool_calls() -> None:
    response = {
        "status": "completed",
        "output": [{"type": "function_call", "call_id": "c", "name": "f", "arguments": "not json"}],
    }
    view = whole("openai", "/v1/responses", {"input": [{"role": "user", "content": "x"}]}, response)
    assert view["output"][0]["finish_reason"] == "tool_calls"
    assert view["output"][0]["parts"][0]["arguments"] == "not json", "arguments that are not JSON stay text"


def test_legacy_completions_streamed() -> None:
    request = {"model": "gpt-3.5-turbo-instruct", "prompt": "Say hello", "max_tokens": 5, "stream": True}
    view = stored("openai", "/v1/completions", request, openai_fake.completion_stream(request), "text/event-stream")
    assert texts(view["messages"]) == [("user", "Say hello")]
    assert texts(view["output"]) == [("assistant", openai_fake.TEXT)]
    assert view["parameters"]["max_tokens"] == 5


def test_embeddings_show_inputs_only() -> None:
    request = {"model": "text-embedding-3-small", "input": ["a", "b"], "encoding_format": "base64"}
    view = whole("openai", "/v1/embeddings", request, openai_fake.embeddings(request))
    assert texts(view["messages"]) == [("user", "a"), ("user", "b")]
    assert len(view["messages"]) == 1, "one message, one part per input"
    assert view["output"] == []
    assert view["parameters"] == {"model": "text-embedding-3-small", "encoding_format": "base64"}
    tokens = whole("openai", "/v1/embeddings", {"input": [1, 2, 3]}, openai_fake.embeddings({}))
    assert texts(tokens["messages"]) == [("user", "<3 token ids>")]
    assert tokens["warnings"]


def test_an_error_answer_is_a_warning_not_an_output() -> None:
    error = openai_fake.error(429, "Rate limit reached", "requests", "rate_limit_exceeded")
    view = whole("openai", "/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi"}]}, error)
    assert view["output"] == []
    assert view["warnings"] == ["the call failed: Rate limit reached"]


# --- Anthropic ---------------------------------------------------------------------------------

ANTHROPIC_REQUEST: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "system": [{"type": "text", "text": "You are terse.", "cache_control": {"type": "ephemeral"}}],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "image", "source": {"type": "base64", "media_type": "image/jpeg", "data": RAW_PNG}},
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "Policy: 30 days."},
                },
                {"type": "text", "text": "Weather in Paris?"},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Use the tool.", "signature": "sig"},
                {"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {"city": "Paris"}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": [{"type": "text", "text": "18°C"}]},
                {"type": "text", "text": "And tomorrow?"},
            ],
        },
    ],
    "tools": [{"name": "get_weather", "description": "Weather", "input_schema": {"type": "object"}}],
    "thinking": {"type": "enabled", "budget_tokens": 512},
    "stop_sequences": ["END"],
    "top_k": 5,
}


def test_anthropic_blocks_and_tool_results_as_their_own_turn() -> None:
    view = whole("anthropic", "/v1/messages", ANTHROPIC_REQUEST, anthropic_fake.message(ANTHROPIC_REQUEST))
    assert [message["role"] for message in view["messages"]] == ["system", "user", "assistant", "tool", "user"]
    user = view["messages"][1]
    assert [part["type"] for part in user["parts"]] == ["image", "text", "text"]
    assert user["parts"][0]["media_type"] == "image/jpeg" and RAW_PNG[:100] not in json.dumps(view)
    assert user["parts"][1]["text"] == "Policy: 30 days.", "a text document is kept as text"
    assert view["messages"][2]["parts"] == [
        {"type": "reasoning", "text": "Use the tool.", "redacted": False},
        {"type": "tool_call", "id": "toolu_1", "name": "get_weather", "arguments": {"city": "Paris"}},
    ]
    assert view["messages"][3]["parts"] == [
        {"type": "tool_result", "tool_call_id": "toolu_1", "content": "18°C", "is_error": False}
    ]
    assert texts([view["messages"][4]]) == [("user", "And tomorrow?")]
    [answer] = view["output"]
    assert [part["type"] for part in answer["parts"]] == ["reasoning", "reasoning", "text", "tool_call"]
    assert answer["parts"][1]["redacted"] is True
    assert answer["finish_reason"] == "tool_use"
    assert view["parameters"] == {
        "model": "claude-sonnet-4-5",
        "max_tokens": 1024,
        "top_k": 5,
        "stop": ["END"],
        "thinking": {"type": "enabled", "budget_tokens": 512},
    }
    assert view["tools"] == [{"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}]


def test_anthropic_stream_and_a_string_system() -> None:
    request = {"model": "claude-sonnet-4-5", "max_tokens": 64, "system": "Be brief.", "stream": True}
    request["messages"] = [{"role": "user", "content": "Hi"}]
    view = stored("anthropic", "/v1/messages", request, anthropic_fake.message_stream(request), "text/event-stream")
    assert texts(view["messages"]) == [("system", "Be brief."), ("user", "Hi")]
    assert texts(view["output"]) == [("assistant", anthropic_fake.TEXT)]
    assert view["output"][0]["finish_reason"] == "end_turn"


def test_anthropic_error_body() -> None:
    view = whole("anthropic", "/v1/messages", {"messages": []}, anthropic_fake.error("overloaded_error", "Overloaded"))
    assert view["output"] == [] and "the call failed: Overloaded" in view["warnings"]


# --- Bedrock --------------------------------------------------------------------------------------

CONVERSE_REQUEST: dict[str, Any] = {
    "system": [{"text": "Be brief."}, {"cachePoint": {"type": "default"}}],
    "messages": [
        {
            "role": "user",
            "content": [{"text": "Weather here?"}, {"image": {"format": "png", "source": {"bytes": RAW_PNG}}}],
        },
        {
            "role": "assistant",
            "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": "get_weather", "input": {"city": "Paris"}}}],
        },
        {
            "role": "user",
            "content": [{"toolResult": {"toolUseId": "tooluse_1", "content": [{"json": {"celsius": 18}}]}}],
        },
    ],
    "inferenceConfig": {"maxTokens": 64, "temperature": 0.2, "stopSequences": ["END"]},
    "toolConfig": {
        "tools": [
            {"toolSpec": {"name": "get_weather", "description": "Weather", "inputSchema": {"json": {"type": "object"}}}}
        ]
    },
}


def test_converse_with_media_tools_and_parameters() -> None:
    path = "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse"
    view = whole("bedrock", path, CONVERSE_REQUEST, bedrock_fake.converse(CONVERSE_REQUEST))
    assert [message["role"] for message in view["messages"]] == ["system", "user", "assistant", "tool"]
    [picture] = parts(view["messages"][1], "image")
    assert picture["media_type"] == "image/png" and RAW_PNG[:100] not in json.dumps(view)
    assert parts(view["messages"][2], "tool_call")[0]["arguments"] == {"city": "Paris"}
    [result] = view["messages"][3]["parts"]
    assert result["tool_call_id"] == "tooluse_1" and json.loads(result["content"]) == {"celsius": 18}
    [answer] = view["output"]
    assert answer["parts"][0]["name"] == "get_weather" and answer["finish_reason"] == "tool_use"
    assert view["parameters"] == {
        "model": "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "max_tokens": 64,
        "temperature": 0.2,
        "stop": ["END"],
    }
    assert view["tools"] == [{"name": "get_weather", "description": "Weather", "parameters": {"type": "object"}}]
    assert view["format"] == "bedrock.converse"


def test_converse_stream_assembled() -> None:
    request = {
        "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
        "toolConfig": CONVERSE_REQUEST["toolConfig"],
    }
    path = "/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream"
    view = stored("bedrock", path, request, bedrock_fake.converse_stream(request), "application/vnd.amazon.eventstream")
    [answer] = view["output"]
    assert answer["parts"] == [
        {"type": "tool_call", "id": "tooluse_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    ]


INVOKE_CASES: list[tuple[str, dict[str, Any], list[tuple[str, str]], dict[str, Any]]] = [
    (
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        {
            "anthropic_version": "bedrock-2023-05-31",
            "max_tokens": 64,
            "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hi"}],
        },
        [("system", "Be brief."), ("user", "Hi")],
        {"max_tokens": 64, "anthropic_version": "bedrock-2023-05-31"},
    ),
    (
        "amazon.titan-text-express-v1",
        {"inputText": "Hi", "textGenerationConfig": {"maxTokenCount": 64, "temperature": 0.2}},
        [("user", "Hi")],
        {"max_tokens": 64, "temperature": 0.2},
    ),
    (
        "amazon.nova-lite-v1:0",
        {
            "schemaVersion": "messages-v1",
            "system": [{"text": "Be brief."}],
            "messages": [{"role": "user", "content": [{"text": "Hi"}]}],
            "inferenceConfig": {"maxTokens": 64},
        },
        [("system", "Be brief."), ("user", "Hi")],
        {"max_tokens": 64},
    ),
    (
        "meta.llama3-8b-instruct-v1:0",
        {
            "prompt": "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|>"
            "<|start_header_id|>user<|end_header_id|>\nHi<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n",
            "max_gen_len": 64,
            "temperature": 0.2,
        },
        [("system", "Be brief."), ("user", "Hi")],
        {"max_tokens": 64, "temperature": 0.2},
    ),
    (
        "mistral.mistral-7b-instruct-v0:2",
        {"prompt": "<s>[INST] Hi [/INST]", "max_tokens": 64},
        [("user", "Hi")],
        {"max_tokens": 64},
    ),
    (
        "cohere.command-r-v1:0",
        {
            "message": "Hi",
            "preamble": "Be brief.",
            "chat_history": [{"role": "USER", "message": "Hello"}, {"role": "CHATBOT", "message": "Hey"}],
            "max_tokens": 64,
        },
        [("system", "Be brief."), ("user", "Hello"), ("assistant", "Hey"), ("user", "Hi")],
        {"max_tokens": 64},
    ),
]


@pytest.mark.parametrize(("model", "request_body", "turns", "parameters"), INVOKE_CASES, ids=lambda v: str(v)[:20])
def test_invoke_families(
    model: str, request_body: dict[str, Any], turns: list[tuple[str, str]], parameters: dict[str, Any]
) -> None:
    answer, _ = bedrock_fake.invoke(model, request_body)
    view = whole("bedrock", f"/model/{model.replace(':', '%3A')}/invoke", request_body, answer)
    assert texts(view["messages"]) == turns
    assert texts(view["output"]) == [("assistant", bedrock_fake.TEXT)]
    assert view["parameters"] == {"model": model, **parameters}
    assert view["format"].startswith("bedrock.invoke."), view["format"]
    assert view["warnings"] == []


def test_invoke_stream_of_an_arn_reads_the_family_from_the_body() -> None:
    request = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    arn = "arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Aapplication-inference-profile%2Fabc"
    path = f"/model/{arn}/invoke-with-response-stream"
    view = stored(
        "bedrock", path, request, bedrock_fake.invoke_stream_anthropic(), "application/vnd.amazon.eventstream"
    )
    assert view["format"] == "bedrock.invoke.anthropic"
    assert texts(view["output"]) == [("assistant", bedrock_fake.TEXT)]


def test_invoke_embeddings_and_an_error() -> None:
    embed = whole(
        "bedrock",
        "/model/amazon.titan-embed-text-v2%3A0/invoke",
        {"inputText": "hello"},
        {"embedding": [0.1, 0.2], "inputTextTokenCount": 2},
    )
    assert texts(embed["messages"]) == [("user", "hello")] and embed["output"] == []
    call = WireCall(
        "POST",
        "/model/meta.llama3-8b-instruct-v1%3A0/invoke",
        "",
        b'{"prompt": "Hi"}',
        400,
        "",
        [b'{"message": "Malformed input request"}'],
    )
    summary = get_adapter("bedrock").summarize(call)
    view = conversation_of(
        "bedrock", summary.operation, summary.request_json, summary.response_json, model=summary.model
    )
    assert view["output"] == [] and view["warnings"] == ["the call failed: Malformed input request"]


def test_chat_templates_read_back_into_turns() -> None:
    llama2 = "<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHi [/INST] Hello! </s><s>[INST] Bye [/INST]"
    assert prompt_turns(llama2) == [("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"), ("user", "Bye")]
    assert prompt_turns("Just a prompt") == [("user", "Just a prompt")]


# --- generic, malformed, never raises ------------------------------------------------------------


def test_unknown_formats_fall_back_to_the_bodies() -> None:
    view = conversation_of("gemini", "generateContent", {"contents": [{"parts": [{"text": "Hi"}]}]}, "plain answer")
    assert view["format"] == "generic"
    assert json.loads(view["messages"][0]["parts"][0]["text"]) == {"contents": [{"parts": [{"text": "Hi"}]}]}
    assert view["output"][0]["parts"] == [{"type": "text", "text": "plain answer"}]
    assert view["warnings"]
    empty = conversation_of(None, "chat gpt-4o", None, None)
    assert empty["messages"] == [] and empty["warnings"] == ["no request or response body was stored"]


def test_text_bodies_of_a_known_format_are_shown_as_text() -> None:
    view = conversation_of("openai", "chat", "{not json", "partial answer\n[truncated]")
    assert view["messages"][0]["parts"][0]["text"] == "{not json"
    assert view["output"][0]["parts"][0]["text"].endswith("[truncated]")
    assert len(view["warnings"]) == 2


def test_malformed_pieces_are_left_out_with_warnings() -> None:
    request = {"messages": [42, {"role": "wizard", "content": [{"type": "hologram"}, 7]}, {"role": "user"}]}
    view = conversation_of("openai", "chat", request, {"choices": "nope"})
    assert view["messages"][0]["role"] == "user"
    assert len(view["warnings"]) == 5, view["warnings"]


def _mutations(value: Any, rng: random.Random) -> Any:
    """The value with a few subtrees replaced by values of the wrong kind."""
    oddities: list[Any] = [None, 7, "x", [], {}, [None], {"type": 3}, True]
    if isinstance(value, dict) and value:
        key = rng.choice(list(value))
        value[key] = rng.choice(oddities) if rng.random() < 0.3 else _mutations(value[key], rng)
    elif isinstance(value, list) and value:
        index = rng.randrange(len(value))
        value[index] = rng.choice(oddities) if rng.random() < 0.3 else _mutations(value[index], rng)
    return value


CORPUS: list[tuple[str, str, Any, Any, str | None]] = [
    ("openai", "chat", CHAT_REQUEST, openai_fake.chat_completion({"n": 2, "tools": [1]}, azure=True), None),
    (
        "openai",
        "responses",
        {"input": [{"role": "user", "content": [{"type": "input_text", "text": "x"}]}]},
        openai_fake.responses_object({}),
        None,
    ),
    ("anthropic", "messages", ANTHROPIC_REQUEST, anthropic_fake.message(ANTHROPIC_REQUEST), None),
    ("bedrock", "converse", CONVERSE_REQUEST, bedrock_fake.converse(CONVERSE_REQUEST), "anthropic.claude-3"),
    *[
        ("bedrock", "invoke", request, bedrock_fake.invoke(model, request)[0], model)
        for model, request, _, _ in INVOKE_CASES
    ],
]


def test_never_raises_on_mutated_bodies() -> None:
    rng = random.Random(7)
    for _ in range(300):
        for vendor, operation, request, response, model in CORPUS:
            mutated_request, mutated_response = copy.deepcopy(request), copy.deepcopy(response)
            for _ in range(rng.randint(1, 4)):
                mutated_request = _mutations(mutated_request, rng)
                mutated_response = _mutations(mutated_response, rng)
            view = conversation_of(vendor, operation, mutated_request, mutated_response, model=model)
            orjson.dumps(view)  # always JSON
            crashed = [warning for warning in view["warnings"] if warning.startswith("could not read")]
            assert crashed == [], "the readers handle odd shapes themselves, not through the last-resort net"
