"""Unit tests for Bedrock InvokeModel: model families, token sources, invoke streams."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.proxy.vendors import CallSummary, Usage
from glassgate.proxy.vendors.bedrock import BedrockAdapter
from glassgate.proxy.vendors.bedrock_invoke import detect_family, family_from_model, family_from_request
from tests.unit.proxy.vendors.bedrock_samples import (
    ANTHROPIC_MESSAGE,
    ANTHROPIC_REQUEST,
    ANTHROPIC_STREAM,
    ARN,
    ARN_PATH,
    CLAUDE,
    CLAUDE_PATH,
    COHERE_OLD_RESPONSE,
    COHERE_REQUEST,
    COHERE_RESPONSE,
    COHERE_STREAM,
    LLAMA_REQUEST,
    LLAMA_RESPONSE,
    MISTRAL_CHAT_REQUEST,
    MISTRAL_CHAT_RESPONSE,
    MISTRAL_REQUEST,
    MISTRAL_RESPONSE,
    NOVA_REQUEST,
    NOVA_RESPONSE,
    NOVA_STREAM,
    OPENAI_RESPONSE,
    TITAN_REQUEST,
    TITAN_RESPONSE,
    TITAN_STREAM,
    bedrock_call,
    invoke_call,
    invoke_stream_call,
)

ADAPTER = BedrockAdapter()
NOVA = "amazon.nova-lite-v1%3A0"
TITAN = "amazon.titan-text-express-v1"
LLAMA = "meta.llama3-8b-instruct-v1%3A0"
MISTRAL = "mistral.mistral-7b-instruct-v0%3A2"
MISTRAL_LARGE = "mistral.mistral-large-2407-v1%3A0"
COHERE = "cohere.command-r-v1%3A0"
GPT_OSS = "openai.gpt-oss-20b-1%3A0"
FROM_METRICS = Usage(input_tokens=12, output_tokens=6)
TOKEN_HEADERS = {
    "x-amzn-bedrock-input-token-count": "10",
    "x-amzn-bedrock-output-token-count": "5",
    "x-amzn-bedrock-cache-read-input-token-count": "3",
    "x-amzn-bedrock-cache-write-input-token-count": "1",
    "x-amzn-bedrock-invocation-latency": "456",
}


def summarize_invoke(model_path: str, request: Any, response: Any, **kwargs: Any) -> CallSummary:
    return ADAPTER.summarize(invoke_call(model_path, request, response, **kwargs))


def summarize_stream(model_path: str, request: Any, chunks: list[Any], **kwargs: Any) -> CallSummary:
    return ADAPTER.summarize(invoke_stream_call(model_path, request, chunks, **kwargs))


# --- which family --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "family"),
    [
        (CLAUDE, "anthropic"),
        (f"us.{CLAUDE}", "anthropic"),
        (f"eu.{CLAUDE}", "anthropic"),
        (f"apac.{CLAUDE}", "anthropic"),
        ("global.anthropic.claude-sonnet-4-5-20250929-v1:0", "anthropic"),
        ("amazon.nova-lite-v1:0", "nova"),
        ("us.amazon.nova-pro-v1:0", "nova"),
        ("amazon.titan-text-express-v1", "titan"),
        ("amazon.titan-tg1-large", "titan"),
        ("meta.llama3-8b-instruct-v1:0", "llama"),
        ("us.meta.llama3-2-90b-instruct-v1:0", "llama"),
        ("mistral.mistral-7b-instruct-v0:2", "mistral"),
        ("cohere.command-r-v1:0", "cohere"),
        ("cohere.command-text-v14", "cohere"),
        ("openai.gpt-oss-20b-1:0", "openai"),
        ("amazon.titan-embed-text-v2:0", "embedding"),
        ("cohere.embed-english-v3", "embedding"),
        (f"arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.{CLAUDE}", "anthropic"),
        ("arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-8b-instruct-v1:0", "llama"),
        ("arn:aws:bedrock:us-east-1:1:custom-model/amazon.titan-text-express-v1:0:8k/abc123", "titan"),
        (ARN, None),  # an application inference profile hides the model
        ("arn:aws:bedrock:us-east-1:1:provisioned-model/xyz", None),
        ("deepseek.r1-v1:0", None),
        ("us.deepseek.r1-v1:0", None),
        ("", None),
        (None, None),
    ],
)
def test_family_from_model(model: str | None, family: str | None) -> None:
    assert family_from_model(model) == family


@pytest.mark.parametrize(
    ("request_body", "family"),
    [
        (ANTHROPIC_REQUEST, "anthropic"),
        ({"max_tokens": 32, "messages": [], "anthropic_version": "2026-10-21"}, "anthropic"),  # AnthropicBedrock 2.x
        (NOVA_REQUEST, "nova"),
        ({"messages": [], "inferenceConfig": {}}, "nova"),
        (TITAN_REQUEST, "titan"),
        (LLAMA_REQUEST, "llama"),
        (COHERE_REQUEST, "cohere"),
        ({"chat_history": []}, "cohere"),
        ({"texts": ["a"], "input_type": "search_document"}, "embedding"),
        (MISTRAL_REQUEST, None),  # shared by Mistral, Cohere command-text, DeepSeek: the response decides
        (MISTRAL_CHAT_REQUEST, None),
        ([1, 2], None),
        (None, None),
    ],
)
def test_family_from_request(request_body: Any, family: str | None) -> None:
    assert family_from_request(request_body) == family


@pytest.mark.parametrize(
    ("request_body", "samples", "family"),
    [
        (MISTRAL_REQUEST, [COHERE_OLD_RESPONSE], "cohere"),
        (MISTRAL_REQUEST, [], "mistral"),
        (MISTRAL_CHAT_REQUEST, [MISTRAL_CHAT_RESPONSE], "openai"),
        (MISTRAL_CHAT_REQUEST, [], "openai"),
        ({}, [LLAMA_RESPONSE], "llama"),
        ({}, [{"p": "x"}, TITAN_STREAM[0]], "titan"),
        ({}, [ANTHROPIC_MESSAGE], "anthropic"),
        ({}, [ANTHROPIC_STREAM[0]], "anthropic"),
        ({}, [NOVA_RESPONSE], "nova"),
        ({}, [NOVA_STREAM[1]], "nova"),
        ({}, [MISTRAL_RESPONSE], "mistral"),
        ({}, [COHERE_STREAM[0]], "cohere"),
        ({}, [{"embedding": [0.1]}], "embedding"),
        (None, [{"something": "else"}], "unknown"),
    ],
)
def test_detect_family_behind_an_arn(request_body: Any, samples: list[dict[str, Any]], family: str) -> None:
    assert detect_family(ARN, request_body, samples) == family


def test_the_model_id_wins_over_the_body() -> None:
    assert detect_family(f"us.{CLAUDE}", LLAMA_REQUEST, [LLAMA_RESPONSE]) == "anthropic"


# --- non-stream InvokeModel, every family ------------------------------------------------------------

NON_STREAM_CASES = [
    ("anthropic", CLAUDE_PATH, ANTHROPIC_REQUEST, ANTHROPIC_MESSAGE, Usage(18, 6, 4, 2), "end_turn"),
    ("nova", NOVA, NOVA_REQUEST, NOVA_RESPONSE, Usage(16, 6, 4, 0), "end_turn"),
    ("titan", TITAN, TITAN_REQUEST, TITAN_RESPONSE, Usage(3, 6), "FINISH"),
    ("llama", LLAMA, LLAMA_REQUEST, LLAMA_RESPONSE, Usage(17, 6), "stop"),
    ("mistral", MISTRAL, MISTRAL_REQUEST, MISTRAL_RESPONSE, Usage(), "stop"),
    ("mistral", MISTRAL_LARGE, MISTRAL_CHAT_REQUEST, MISTRAL_CHAT_RESPONSE, Usage(), "stop"),
    ("cohere", COHERE, COHERE_REQUEST, COHERE_RESPONSE, Usage(), "COMPLETE"),
    ("cohere", "cohere.command-text-v14", {"prompt": "Hi", "max_tokens": 9}, COHERE_OLD_RESPONSE, Usage(), "COMPLETE"),
    ("openai", GPT_OSS, MISTRAL_CHAT_REQUEST, OPENAI_RESPONSE, Usage(12, 6), "stop"),
]


@pytest.mark.parametrize(("family", "model_path", "request_body", "response", "usage", "finish"), NON_STREAM_CASES)
def test_invoke_reads_each_family_body(
    family: str, model_path: str, request_body: Any, response: Any, usage: Usage, finish: str
) -> None:
    summary = summarize_invoke(model_path, request_body, response)
    assert (summary.operation, summary.streamed) == ("invoke", False)
    assert summary.attributes == {"bedrock.model_family": family}
    assert summary.request_json == request_body and summary.response_json == response
    assert summary.usage == usage
    assert summary.finish_reason == finish
    assert summary.first_content_chunk == 0 and summary.error is None


def test_response_model_comes_from_the_body_when_it_has_one() -> None:
    assert (
        summarize_invoke(CLAUDE_PATH, ANTHROPIC_REQUEST, ANTHROPIC_MESSAGE).response_model
        == "claude-3-5-sonnet-20241022"
    )
    assert summarize_invoke(TITAN, TITAN_REQUEST, TITAN_RESPONSE).response_model is None


@pytest.mark.parametrize(("family", "model_path", "request_body", "response", "usage", "finish"), NON_STREAM_CASES)
def test_token_count_headers_come_first_and_include_the_cache(
    family: str, model_path: str, request_body: Any, response: Any, usage: Usage, finish: str
) -> None:
    summary = summarize_invoke(model_path, request_body, response, headers=TOKEN_HEADERS)
    assert summary.usage == Usage(input_tokens=14, output_tokens=5, cached_tokens=3, cache_write_tokens=1)
    assert summary.attributes["bedrock.invocation_latency_ms"] == 456


def test_headers_without_cache_counts_leave_the_cache_unknown() -> None:
    headers = {"x-amzn-bedrock-input-token-count": "10", "x-amzn-bedrock-output-token-count": "5"}
    summary = summarize_invoke(MISTRAL, MISTRAL_REQUEST, MISTRAL_RESPONSE, headers=headers)
    assert summary.usage == Usage(input_tokens=10, output_tokens=5)


@pytest.mark.parametrize("bad", ["", "abc", "-1", "1.5", "²", " "])
def test_unreadable_count_headers_fall_back_to_the_body(bad: str) -> None:
    headers = {"x-amzn-bedrock-input-token-count": bad, "x-amzn-bedrock-output-token-count": bad}
    summary = summarize_invoke(LLAMA, LLAMA_REQUEST, LLAMA_RESPONSE, headers=headers)
    assert summary.usage == Usage(17, 6)


def test_an_arn_invoke_finds_the_family_in_the_request() -> None:
    summary = summarize_invoke(ARN_PATH, NOVA_REQUEST, NOVA_RESPONSE)
    assert summary.model == ARN and summary.attributes["bedrock.model_family"] == "nova"
    assert summary.usage == Usage(16, 6, 4, 0)


def test_embeddings_report_no_output_tokens_and_no_vectors() -> None:
    titan = summarize_invoke(
        "amazon.titan-embed-text-v2%3A0", {"inputText": "hi"}, {"embedding": [0.1] * 8, "inputTextTokenCount": 2}
    )
    assert titan.usage == Usage(input_tokens=2, output_tokens=0)
    assert titan.response_json == {"embedding": "<float vector, 8 dims>", "inputTextTokenCount": 2}
    cohere_body = {"embeddings": {"float": [[0.1, 0.2], [0.3, 0.4]]}, "id": "e", "texts": ["a", "b"]}
    headers = {"x-amzn-bedrock-input-token-count": "4"}
    cohere = summarize_invoke("cohere.embed-english-v3", {"texts": ["a", "b"]}, cohere_body, headers=headers)
    assert cohere.usage == Usage(input_tokens=4, output_tokens=0)
    assert cohere.response_json["embeddings"] == {"float": "<2 vectors>"}
    assert cohere.attributes["bedrock.model_family"] == "embedding"


def test_an_unknown_family_keeps_the_body_and_uses_the_headers() -> None:
    summary = summarize_invoke(
        "writer.palmyra-x5-v1%3A0", {"input": "Hi"}, {"stop_reason": "end"}, headers=TOKEN_HEADERS
    )
    assert summary.attributes["bedrock.model_family"] == "unknown"
    assert (summary.response_json, summary.finish_reason) == ({"stop_reason": "end"}, "end")
    assert summary.usage == Usage(14, 5, 3, 1)


def test_a_body_that_is_not_json_is_not_an_error() -> None:
    summary = ADAPTER.summarize(
        bedrock_call(f"/model/{CLAUDE_PATH}/invoke", [b"\x89PNG..."], request=ANTHROPIC_REQUEST)
    )
    assert summary.response_json is None and summary.error is None
    assert summary.attributes == {"bedrock.model_family": "anthropic"}
