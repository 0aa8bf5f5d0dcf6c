"""Text of AWS Bedrock bodies (wire-formats.md §3): Converse, and InvokeModel for every model family."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from glassgate.guardrails.text import Extraction, request_texts, response_texts, rewrite_strings
from glassgate.proxy.vendors import get_adapter
from tests.unit.proxy.vendors import bedrock_samples as sample

Row = tuple[tuple[str | int, ...], str, str]
CLAUDE = f"/model/{sample.CLAUDE_PATH}/invoke"


def rows(extraction: Extraction) -> list[Row]:
    return [(field.path, field.role, field.text) for field in extraction.fields]


def texts(extraction: Extraction) -> list[tuple[str, str]]:
    return [(field.role, field.text) for field in extraction.fields]


# --- Converse --------------------------------------------------------------------------------------

# Appendix A.2, "bedrock converse", byte for byte (boto3 writes `", "` and `": "`).
SDK_CONVERSE = (
    b'{"messages": [{"role": "user", "content": [{"text": "Hi"}]}], "system": [{"text": "Be brief."}], '
    b'"inferenceConfig": {"maxTokens": 64, "temperature": 0.2}}'
)

RICH_CONVERSE: dict[str, Any] = {
    "system": [
        {"text": "You are a travel agent."},
        {"guardContent": {"text": {"text": "Policy: no PII.", "qualifiers": ["guard_content"]}}},
        {"cachePoint": {"type": "default"}},
    ],
    "messages": [
        {
            "role": "user",
            "content": [
                {"text": "Book Paris for ann@example.com"},
                {"image": {"format": "png", "source": {"bytes": "iVBORw0KGgo="}}},
                {"document": {"format": "txt", "name": "notes", "source": {"text": "Passport 123"}}},
                {"document": {"format": "pdf", "name": "scan", "source": {"bytes": "JVBE"}}},
                {"document": {"name": "parts", "source": {"content": [{"text": "Seat 4A"}]}}},
                {"video": {"format": "mp4", "source": {"s3Location": {"uri": "s3://b/v.mp4"}}}},
                {"guardContent": {"text": {"text": "Check this"}}},
                {"guardContent": {"image": {"format": "png", "source": {"bytes": "iVBO"}}}},
                {"cachePoint": {"type": "default"}},
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"reasoningContent": {"reasoningText": {"text": "Ann wants Paris.", "signature": "sig"}}},
                {"text": "Searching."},
                {"toolUse": {"toolUseId": "t1", "name": "search", "input": {"to": "Paris", "who": ["Ann", 42]}}},
            ],
        },
        {
            "role": "user",
            "content": [
                {
                    "toolResult": {
                        "toolUseId": "t1",
                        "content": [
                            {"text": "AF123"},
                            {"json": {"flight": "AF123", "seats": [{"holder": "Ann"}]}},
                            {"image": {"format": "png", "source": {"bytes": "iVBO"}}},
                        ],
                        "status": "success",
                    }
                },
                {"citationsContent": {"content": [{"text": "cited"}], "citations": []}},
                {"somethingNew": {"x": "y"}},
            ],
        },
    ],
    "promptVariables": {"city": {"text": "Paris"}},
    "toolConfig": {"tools": [{"toolSpec": {"name": "search", "inputSchema": {"json": {}}}}]},
    "guardrailConfig": {"guardrailIdentifier": "g1", "guardrailVersion": "1"},
}


@pytest.mark.parametrize(
    "path",
    [
        f"/model/{sample.CLAUDE_PATH}/converse",
        f"/model/us.{sample.CLAUDE_PATH}/converse-stream",
        f"/model/{sample.ARN_PATH}/converse",
        "/model/amazon.nova-lite-v1%3A0/converse",
    ],
)
def test_the_captured_sdk_converse_requests(path: str) -> None:
    extraction = request_texts("bedrock", path, orjson.loads(SDK_CONVERSE))
    assert rows(extraction) == [
        (("system", 0, "text"), "system", "Be brief."),
        (("messages", 0, "content", 0, "text"), "user", "Hi"),
    ]
    assert extraction.skipped == []


def test_every_converse_block_kind() -> None:
    extraction = request_texts("bedrock", "/model/amazon.nova-pro-v1%3A0/converse", RICH_CONVERSE)
    assert rows(extraction) == [
        (("system", 0, "text"), "system", "You are a travel agent."),
        (("system", 1, "guardContent", "text", "text"), "system", "Policy: no PII."),
        (("messages", 0, "content", 0, "text"), "user", "Book Paris for ann@example.com"),
        (("messages", 0, "content", 2, "document", "source", "text"), "user", "Passport 123"),
        (("messages", 0, "content", 4, "document", "source", "content", 0, "text"), "user", "Seat 4A"),
        (("messages", 0, "content", 6, "guardContent", "text", "text"), "user", "Check this"),
        (("messages", 1, "content", 1, "text"), "assistant", "Searching."),
        (("messages", 1, "content", 2, "toolUse", "input", "to"), "tool_arguments", "Paris"),
        (("messages", 1, "content", 2, "toolUse", "input", "who", 0), "tool_arguments", "Ann"),
        (("messages", 2, "content", 0, "toolResult", "content", 0, "text"), "tool_result", "AF123"),
        (("messages", 2, "content", 0, "toolResult", "content", 1, "json", "flight"), "tool_result", "AF123"),
        (("messages", 2, "content", 0, "toolResult", "content", 1, "json", "seats", 0, "holder"), "tool_result", "Ann"),
        (("messages", 2, "content", 1, "citationsContent", "content", 0, "text"), "user", "cited"),
        (("promptVariables", "city", "text"), "user", "Paris"),
    ]
    assert extraction.skipped == [
        "messages[0].content[1]: image block (image) not scanned",
        "messages[0].content[3].document: document (bytes or S3 location) not scanned",
        "messages[0].content[5]: video block (video) not scanned",
        "messages[0].content[7].guardContent: guardContent without text (an image) not scanned",
        "messages[1].content[0]: reasoningContent block (signed; replayed to the vendor unchanged) not scanned",
        "messages[2].content[0].toolResult.content[2]: image block (image) not scanned",
        "messages[2].content[2]: somethingNew block not scanned",
        "toolConfig: tool definitions (names, descriptions, schemas) not scanned",
    ]
    raw = json.dumps(RICH_CONVERSE, indent=1).encode()
    redacted = rewrite_strings(raw, {field.path: "<X>" for field in extraction.fields})
    assert [field.text for field in request_texts("bedrock", "/model/m/converse", orjson.loads(redacted)).fields] == [
        "<X>"
    ] * len(extraction.fields)


def test_converse_answers_whole_and_streamed() -> None:
    whole = response_texts("bedrock", f"/model/{sample.CLAUDE_PATH}/converse", sample.CONVERSE_RESPONSE)
    assert rows(whole) == [
        (("output", "message", "content", 0, "text"), "assistant", "Let me check."),
        (("output", "message", "content", 1, "toolUse", "input", "city"), "tool_arguments", "Paris"),
    ]
    path = f"/model/{sample.CLAUDE_PATH}/converse-stream"
    assembled = get_adapter("bedrock").summarize(
        sample.converse_stream_call(sample.CLAUDE_PATH, sample.CONVERSE_FRAMES)
    )
    streamed = response_texts("bedrock", path, assembled.response_json)
    assert texts(streamed) == [
        ("assistant", "User greets."),
        ("assistant", "Hello there!"),
        ("tool_arguments", "Paris"),
    ]
    assert streamed.skipped == []


# --- InvokeModel: requests per family --------------------------------------------------------------

INVOKE_REQUESTS: list[tuple[str, Any, list[Row]]] = [
    # Appendix A: boto3's Anthropic body, and AnthropicBedrock's (raw colon, streamed)
    (
        CLAUDE,
        sample.ANTHROPIC_REQUEST,
        [(("system",), "system", "Be brief."), (("messages", 0, "content"), "user", "Hi")],
    ),
    (
        "/model/us.anthropic.claude-3-5-sonnet-20241022-v2:0/invoke-with-response-stream",
        {"max_tokens": 32, "messages": [{"role": "user", "content": "Hi"}], "anthropic_version": "2026-10-21"},
        [(("messages", 0, "content"), "user", "Hi")],
    ),
    (
        "/model/anthropic.claude-v2%3A1/invoke",
        {"prompt": "\n\nHuman: Hi\n\nAssistant:", "max_tokens_to_sample": 64},
        [(("prompt",), "prompt", "\n\nHuman: Hi\n\nAssistant:")],
    ),
    (
        "/model/amazon.nova-lite-v1%3A0/invoke",
        sample.NOVA_REQUEST,
        [(("system", 0, "text"), "system", "Be brief."), (("messages", 0, "content", 0, "text"), "user", "Hi")],
    ),
    ("/model/amazon.titan-text-express-v1/invoke", sample.TITAN_REQUEST, [(("inputText",), "prompt", "Hi")]),
    (
        "/model/meta.llama3-8b-instruct-v1%3A0/invoke",
        sample.LLAMA_REQUEST,
        [(("prompt",), "prompt", str(sample.LLAMA_REQUEST["prompt"]))],
    ),
    (
        "/model/mistral.mistral-7b-instruct-v0%3A2/invoke",
        sample.MISTRAL_REQUEST,
        [(("prompt",), "prompt", "<s>[INST] Hi [/INST]")],
    ),
    (
        "/model/mistral.mistral-large-2407-v1%3A0/invoke-with-response-stream",
        {
            "messages": [
                {"role": "system", "content": "Be brief."},
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "content": "",
                    "tool_calls": [{"id": "c1", "function": {"name": "w", "arguments": '{"city": "Paris"}'}}],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "18C"},
            ],
            "max_tokens": 64,
        },
        [
            (("messages", 0, "content"), "system", "Be brief."),
            (("messages", 1, "content"), "user", "Weather?"),
            (("messages", 2, "tool_calls", 0, "function", "arguments"), "tool_arguments", '{"city": "Paris"}'),
            (("messages", 3, "content"), "tool", "18C"),
        ],
    ),
    ("/model/cohere.command-r-v1%3A0/invoke", sample.COHERE_REQUEST, [(("message",), "user", "Hi")]),
    (
        "/model/cohere.command-r-plus-v1%3A0/invoke",
        {
            "message": "And Lyon?",
            "preamble": "You are a weather bot.",
            "chat_history": [
                {"role": "USER", "message": "Weather in Paris?"},
                {
                    "role": "CHATBOT",
                    "message": "Checking.",
                    "tool_calls": [{"name": "w", "parameters": {"city": "Paris"}}],
                },
                {"role": "SYSTEM", "message": "Be brief."},
                {
                    "role": "TOOL",
                    "tool_results": [
                        {"call": {"name": "w", "parameters": {"city": "Paris"}}, "outputs": [{"forecast": "18C"}]}
                    ],
                },
            ],
            "documents": [{"title": "Guide", "snippet": "Lyon is in France."}],
        },
        [
            (("preamble",), "system", "You are a weather bot."),
            (("message",), "user", "And Lyon?"),
            (("chat_history", 0, "message"), "user", "Weather in Paris?"),
            (("chat_history", 1, "message"), "assistant", "Checking."),
            (("chat_history", 1, "tool_calls", 0, "parameters", "city"), "tool_arguments", "Paris"),
            (("chat_history", 2, "message"), "system", "Be brief."),
            (("chat_history", 3, "tool_results", 0, "call", "parameters", "city"), "tool_arguments", "Paris"),
            (("chat_history", 3, "tool_results", 0, "outputs", 0, "forecast"), "tool_result", "18C"),
            (("documents", 0, "title"), "other", "Guide"),
            (("documents", 0, "snippet"), "other", "Lyon is in France."),
        ],
    ),
    ("/model/cohere.command-text-v14/invoke", {"prompt": "Hi", "max_tokens": 64}, [(("prompt",), "prompt", "Hi")]),
    (
        "/model/ai21.jamba-1-5-mini-v1%3A0/invoke",
        {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}], "max_tokens": 64},
        [(("messages", 0, "content"), "system", "Be brief."), (("messages", 1, "content"), "user", "Hi")],
    ),
    ("/model/ai21.j2-ultra-v1/invoke", {"prompt": "Hi", "maxTokens": 64}, [(("prompt",), "prompt", "Hi")]),
    (
        "/model/openai.gpt-oss-20b-1%3A0/invoke",
        {"messages": [{"role": "user", "content": "Hi"}], "max_completion_tokens": 64},
        [(("messages", 0, "content"), "user", "Hi")],
    ),
    (
        "/model/amazon.titan-embed-text-v2%3A0/invoke",
        {"inputText": "hello", "dimensions": 256},
        [(("inputText",), "prompt", "hello")],
    ),
    (
        "/model/cohere.embed-english-v3/invoke",
        {"texts": ["a", "b"], "input_type": "search_document"},
        [
            (("texts", 0), "prompt", "a"),
            (("texts", 1), "prompt", "b"),
        ],
    ),
    # An application inference profile hides the family: the body's markers decide.
    (
        f"/model/{sample.ARN_PATH}/invoke",
        sample.ANTHROPIC_REQUEST,
        [
            (("system",), "system", "Be brief."),
            (("messages", 0, "content"), "user", "Hi"),
        ],
    ),
    (f"/model/{sample.ARN_PATH}/invoke", sample.TITAN_REQUEST, [(("inputText",), "prompt", "Hi")]),
]


@pytest.mark.parametrize(("path", "body", "expected"), INVOKE_REQUESTS)
def test_invoke_requests_of_every_family(path: str, body: Any, expected: list[Row]) -> None:
    extraction = request_texts("bedrock", path, body)
    assert rows(extraction) == expected
    assert extraction.skipped == []
    raw = json.dumps(body).encode()
    redacted = orjson.loads(rewrite_strings(raw, {row[0]: "<X>" for row in expected}))
    assert [field.text for field in request_texts("bedrock", path, redacted).fields] == ["<X>"] * len(expected)


def test_invoke_requests_name_what_they_leave_out() -> None:
    cohere = request_texts("bedrock", "/model/cohere.command-r-v1%3A0/invoke", {"message": "Hi", "tools": [{}]})
    assert cohere.skipped == ["tools: tool definitions (names, descriptions, schemas) not scanned"]
    images = request_texts(
        "bedrock", "/model/amazon.titan-embed-image-v1/invoke", {"inputText": "a", "inputImage": "iV"}
    )
    assert (texts(images), images.skipped) == ([("prompt", "a")], ["inputImage: image input not scanned"])


def test_unknown_families_are_read_loosely_and_said_so() -> None:
    body = {"text_prompts": [{"text": "a cat in Paris", "weight": 1}], "cfg_scale": 7, "seed": 0, "style": "photo"}
    extraction = request_texts("bedrock", "/model/stability.stable-diffusion-xl-v1/invoke", body)
    assert rows(extraction) == [(("text_prompts", 0, "text"), "other", "a cat in Paris")]
    assert extraction.skipped == [
        "body: model family of 'stability.stable-diffusion-xl-v1' is unknown: only strings under text-like keys scanned"
    ]
    arn = request_texts("bedrock", f"/model/{sample.ARN_PATH}/invoke", {"inputs": "x", "prompt": "Hi"})
    assert texts(arn) == [("other", "Hi")]
    assert arn.skipped == [
        f"body: model family of {sample.ARN!r} is unknown: only strings under text-like keys scanned"
    ]
    canvas = {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "a cat", "negativeText": "dogs"}}
    generated = request_texts("bedrock", "/model/amazon.nova-canvas-v1%3A0/invoke", canvas)
    assert texts(generated) == [("other", "a cat"), ("other", "dogs")]
    assert generated.skipped == [
        "body: generation task body for 'amazon.nova-canvas-v1:0': only strings under text-like keys scanned"
    ]


def test_other_bedrock_operations() -> None:
    count = {"input": {"converse": {"messages": [{"role": "user", "content": [{"text": "Hi"}]}]}}}
    assert rows(request_texts("bedrock", f"/model/{sample.CLAUDE_PATH}/count-tokens", count)) == [
        (("input", "converse", "messages", 0, "content", 0, "text"), "user", "Hi")
    ]
    blob = request_texts(
        "bedrock", f"/model/{sample.CLAUDE_PATH}/count-tokens", {"input": {"invokeModel": {"body": "e30="}}}
    )
    assert blob.skipped == ["input.invokeModel.body: base64-encoded model body not scanned"]
    guard = {
        "source": "OUTPUT",
        "content": [{"text": {"text": "Call 555-0100", "qualifiers": ["guard_content"]}}, {"image": {}}],
    }
    applied = request_texts("bedrock", "/guardrail/g1/version/1/apply", guard)
    assert rows(applied) == [(("content", 0, "text", "text"), "assistant", "Call 555-0100")]
    assert applied.skipped == ["content[1]: guardrail content without text (an image) not scanned"]
    job = {
        "modelId": "amazon.nova-reel-v1:0",
        "modelInput": {"taskType": "TEXT_VIDEO", "textToVideoParams": {"text": "waves"}},
    }
    started = request_texts("bedrock", "/async-invoke", job)
    assert rows(started) == [(("modelInput", "textToVideoParams", "text"), "other", "waves")]
    assert started.skipped == ["modelInput: async invoke input: only strings under text-like keys scanned"]
    sonic = request_texts("bedrock", "/model/amazon.nova-sonic-v1%3A0/invoke-with-bidirectional-stream", {"x": 1})
    assert sonic.skipped == [
        "body: Bedrock operation 'generic' at '/model/amazon.nova-sonic-v1%3A0/invoke-with-bidirectional-stream': "
        "only strings under text-like keys scanned"
    ]


# --- InvokeModel: answers per family, whole and streamed ---------------------------------------------

INVOKE_ANSWERS: list[tuple[str, Any, list[tuple[str, str]]]] = [
    (sample.CLAUDE_PATH, sample.ANTHROPIC_MESSAGE, [("assistant", "Hello there!")]),
    ("amazon.nova-lite-v1%3A0", sample.NOVA_RESPONSE, [("assistant", "Hello there!")]),
    ("amazon.titan-text-express-v1", sample.TITAN_RESPONSE, [("assistant", "Hello there!")]),
    ("meta.llama3-8b-instruct-v1%3A0", sample.LLAMA_RESPONSE, [("assistant", "Hello there!")]),
    ("mistral.mistral-7b-instruct-v0%3A2", sample.MISTRAL_RESPONSE, [("assistant", "Hello there!")]),
    ("mistral.mistral-large-2407-v1%3A0", sample.MISTRAL_CHAT_RESPONSE, [("assistant", "Hello there!")]),
    # Command R returns the answer twice: as `text`, and as its own turn appended to `chat_history`.
    ("cohere.command-r-v1%3A0", sample.COHERE_RESPONSE, [("assistant", "Hello there!")] * 2),
    ("cohere.command-text-v14", sample.COHERE_OLD_RESPONSE, [("assistant", "Hello there!")]),
    ("openai.gpt-oss-20b-1%3A0", sample.OPENAI_RESPONSE, [("assistant", "Hello there!")]),
    (
        "ai21.jamba-1-5-mini-v1%3A0",
        {"id": "j", "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi!"}}]},
        [("assistant", "Hi!")],
    ),
    (
        "ai21.j2-ultra-v1",
        {"id": 1, "completions": [{"data": {"text": "Hi!"}, "finishReason": {}}]},
        [("assistant", "Hi!")],
    ),
    # An ARN names no family; the answer's own shape does.
    (sample.ARN_PATH, sample.LLAMA_RESPONSE, [("assistant", "Hello there!")]),
]


@pytest.mark.parametrize(("model_path", "answer", "expected"), INVOKE_ANSWERS)
def test_invoke_answers_of_every_family(model_path: str, answer: Any, expected: list[tuple[str, str]]) -> None:
    extraction = response_texts("bedrock", f"/model/{model_path}/invoke", answer)
    assert texts(extraction) == expected
    echo = "chat_history: echo of the conversation not scanned (only the answer's own turn is)"
    expected_skips = [echo] if "chat_history" in answer else []
    assert extraction.skipped == expected_skips


STREAMS: list[tuple[str, Any, list[dict[str, Any]], list[tuple[str, str]]]] = [
    (
        sample.CLAUDE_PATH,
        sample.ANTHROPIC_REQUEST,
        sample.ANTHROPIC_STREAM,
        [("assistant", "Greeting."), ("assistant", "Hello"), ("tool_arguments", "Paris")],
    ),
    (
        "amazon.nova-lite-v1%3A0",
        sample.NOVA_REQUEST,
        sample.NOVA_STREAM,
        [("assistant", "Hello"), ("tool_arguments", "Paris")],
    ),
    ("amazon.titan-text-express-v1", sample.TITAN_REQUEST, sample.TITAN_STREAM, [("assistant", "Hello")]),
    ("meta.llama3-8b-instruct-v1%3A0", sample.LLAMA_REQUEST, sample.LLAMA_STREAM, [("assistant", "Hello")]),
    ("mistral.mistral-7b-instruct-v0%3A2", sample.MISTRAL_REQUEST, sample.MISTRAL_STREAM, [("assistant", "Hello")]),
    (
        "mistral.mistral-large-2407-v1%3A0",
        sample.MISTRAL_CHAT_REQUEST,
        sample.MISTRAL_CHAT_STREAM,
        [("assistant", "Hello")],
    ),
    ("cohere.command-r-v1%3A0", sample.COHERE_REQUEST, sample.COHERE_STREAM, [("assistant", "Hello")]),
    (
        "openai.gpt-oss-20b-1%3A0",
        {"messages": [{"role": "user", "content": "Hi"}]},
        sample.OPENAI_STREAM,
        [("assistant", "Hi"), ("assistant", "Think."), ("tool_arguments", '{"city":"P"}')],
    ),
]


@pytest.mark.parametrize(("model_path", "request_body", "chunks", "expected"), STREAMS)
def test_invoke_streams_of_every_family_are_read_once_assembled(
    model_path: str, request_body: Any, chunks: list[dict[str, Any]], expected: list[tuple[str, str]]
) -> None:
    call = sample.invoke_stream_call(model_path, request_body, chunks)
    summary = get_adapter("bedrock").summarize(call)
    extraction = response_texts("bedrock", call.path, summary.response_json)
    assert texts(extraction) == expected


def test_answers_without_text_say_so() -> None:
    embedded = response_texts("bedrock", "/model/amazon.titan-embed-text-v2%3A0/invoke", {"embedding": [0.1]})
    assert (embedded.fields, embedded.skipped) == ([], ["body: embedding vectors (no text) not scanned"])
    canvas = response_texts("bedrock", "/model/amazon.nova-canvas-v1%3A0/invoke", {"images": ["iVBO"], "error": None})
    assert canvas.skipped == ["body: nova answer of an unexpected shape: only strings under text-like keys scanned"]
    unknown = response_texts("bedrock", "/model/acme.model-v1/invoke", {"output_text": "x", "content": "Hi"})
    assert texts(unknown) == [("other", "Hi")]
    error = response_texts("bedrock", CLAUDE, {"message": "Too many requests"})
    assert error.skipped == ["body: an error body (the vendor's message, not an answer) not scanned"]


def test_a_cohere_answer_is_read_wherever_the_body_repeats_it() -> None:
    answer = {
        "text": "Mail jane@example.com",
        "chat_history": [
            {"role": "USER", "message": "Who?"},
            {"role": "CHATBOT", "message": "Earlier answer"},
            {"role": "CHATBOT", "message": "Mail jane@example.com"},
        ],
        "citations": [{"start": 5, "end": 21, "text": "jane@example.com", "document_ids": ["d1"]}],
        "search_queries": [{"text": "jane contact", "generation_id": "g"}],
        "documents": [{"id": "d1", "snippet": "jane@example.com"}],
    }
    extraction = response_texts("bedrock", "/model/cohere.command-r-plus-v1%3A0/invoke", answer)
    assert [(f.path, f.text) for f in extraction.fields] == [
        (("text",), "Mail jane@example.com"),
        (("citations", 0, "text"), "jane@example.com"),
        (("search_queries", 0, "text"), "jane contact"),
        (("chat_history", 2, "message"), "Mail jane@example.com"),
    ]
    assert extraction.skipped == [
        "documents: retrieved documents (the connectors' text, not the model's) not scanned",
        "chat_history: echo of the conversation not scanned (only the answer's own turn is)",
    ]
