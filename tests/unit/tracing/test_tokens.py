"""Unit tests for `glassgate.tracing.tokens`: offline tiktoken encodings and usage estimates."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import tiktoken.load

from glassgate.proxy.vendors import CallSummary, Usage
from glassgate.tracing import tokens


def test_known_token_ids() -> None:
    # The ids tiktoken's own cl100k_base and o200k_base give (as published in tiktoken's README and tests).
    assert tokens.get_encoding("cl100k_base").encode_ordinary("hello world") == [15339, 1917]
    assert tokens.get_encoding("o200k_base").encode_ordinary("hello world") == [24912, 2375]
    assert tokens.get_encoding("cl100k_base").encode_ordinary("tiktoken is great!") == [83, 1609, 5963, 374, 2294, 0]


def test_counts_for_models() -> None:
    assert tokens.count_tokens("hello world", "gpt-4") == 2
    assert tokens.count_tokens("hello world", "gpt-4o-mini") == 2
    assert tokens.count_tokens("", "gpt-4o") == 0
    assert tokens.count_tokens("<|endoftext|>", "gpt-4o") > 1, "special tokens in text are ordinary text"


def test_encodings_are_built_once() -> None:
    assert tokens.get_encoding("o200k_base") is tokens.get_encoding("o200k_base")


@pytest.fixture
def fresh_encodings(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forget the built encodings, so the test sees them being loaded."""
    monkeypatch.setattr(tokens, "_loaded", {})
    yield


def no_network(*args: Any, **kwargs: Any) -> Any:
    raise AssertionError("the token files must never be fetched")


@pytest.mark.usefixtures("fresh_encodings")
def test_encodings_load_with_no_network_and_no_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    cache = tmp_path / "tiktoken-cache"
    cache.mkdir()
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(cache))
    monkeypatch.setattr(tiktoken.load, "read_file", no_network)
    monkeypatch.setattr(tiktoken.load, "read_file_cached", no_network)
    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    tokens.get_encoding("o200k_base")
    tokens.get_encoding("cl100k_base")
    assert tokens.count_tokens("hello world", "gpt-4o") == 2
    assert tokens.count_tokens("hello world", "gpt-4") == 2
    assert list(cache.iterdir()) == [], "nothing is cached on disk"


@pytest.mark.usefixtures("fresh_encodings")
def test_a_vocabulary_that_does_not_match_its_hash_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    _, pattern, special = tokens._SPECS["cl100k_base"]
    monkeypatch.setitem(tokens._SPECS, "cl100k_base", ("0" * 64, pattern, special))
    with pytest.raises(ValueError, match="published hash"):
        tokens.get_encoding("cl100k_base")


@pytest.mark.parametrize(
    ("model", "encoding"),
    [
        ("gpt-4o-mini", "o200k_base"),
        ("gpt-4o-mini-2024-07-18", "o200k_base"),
        ("chatgpt-4o-latest", "o200k_base"),
        ("gpt-4.1-nano", "o200k_base"),
        ("gpt-4.5-preview", "o200k_base"),
        ("gpt-5", "o200k_base"),
        ("gpt-5-mini-2025-08-07", "o200k_base"),
        ("o1-mini", "o200k_base"),
        ("o3", "o200k_base"),
        ("o4-mini", "o200k_base"),
        ("ft:gpt-4o-mini:acme::abc", "o200k_base"),
        ("openai/gpt-4o", "o200k_base"),
        ("gpt-6-preview", "o200k_base"),  # an unknown GPT: the newest encoding
        ("gpt-4", "cl100k_base"),
        ("gpt-4-turbo", "cl100k_base"),
        ("GPT-4-0613", "cl100k_base"),
        ("gpt-3.5-turbo-instruct", "cl100k_base"),
        ("gpt-35-turbo", "cl100k_base"),
        ("text-embedding-3-small", "cl100k_base"),
        ("text-embedding-ada-002", "cl100k_base"),
        ("claude-sonnet-4-5", "o200k_base"),
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "o200k_base"),
        ("amazon.titan-text-express-v1", "o200k_base"),
        ("my-deployment", "o200k_base"),
        (None, "o200k_base"),
    ],
)
def test_model_to_encoding(model: str | None, encoding: str) -> None:
    assert tokens.encoding_name_for(model) == encoding


def test_long_text_is_extrapolated_from_its_head(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokens, "MAX_ENCODED_CHARS", 1200)
    text = " hello world" * 1000  # 12,000 characters, 2 tokens in every 12
    assert tokens.count_tokens(text[:1200], "gpt-4o") == 200
    assert tokens.count_tokens(text, "gpt-4o") == 2000


CHAT_REQUEST = {
    "model": "gpt-4o-mini",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "hello world"}, {"type": "image_url", "image_url": {}}]},
    ],
    "tools": [{"type": "function", "function": {"name": "get_weather", "description": "Weather"}}],
    "temperature": 0.2,
}


def test_request_tokens_count_text_and_chat_framing() -> None:
    text = tokens.count_tokens("Be brief.\nhello world\nWeather", "gpt-4o")
    assert tokens.request_tokens(CHAT_REQUEST, "gpt-4o") == text + 2 * 4 + 3


@pytest.mark.parametrize(
    ("request_json", "text"),
    [
        ({"model": "m", "input": "hello world"}, "hello world"),  # embeddings, Responses
        ({"model": "m", "input": ["hello", "world"]}, "hello\nworld"),
        ({"model": "m", "prompt": "hello world", "stop": ["\n"]}, "hello world"),  # legacy completions
        ({"instructions": "Be brief.", "input": [{"role": "user", "content": "hi"}]}, "Be brief.\nhi"),
        ({"system": [{"type": "text", "text": "Be brief."}], "max_tokens": 5}, "Be brief."),  # Anthropic
        ({"inputText": "hello world", "textGenerationConfig": {"maxTokenCount": 5}}, "hello world"),  # Titan
    ],
)
def test_request_tokens_walk_the_text_fields(request_json: dict[str, Any], text: str) -> None:
    assert tokens.request_tokens(request_json, "gpt-4o") == tokens.count_tokens(text, "gpt-4o")


def test_token_id_prompts_count_one_token_per_id() -> None:
    assert tokens.request_tokens({"model": "m", "input": [[1, 2, 3], [4, 5]]}, "gpt-4o") == 5
    assert tokens.request_tokens({"model": "m", "prompt": [1, 2, 3]}, "gpt-4o") == 3


@pytest.mark.parametrize(
    "response",
    [
        {"choices": [{"index": 0, "message": {"role": "assistant", "content": "hello world"}}], "model": "x"},
        {"instructions": "not counted", "output": [{"type": "message", "content": [{"text": "hello world"}]}]},
        {"content": [{"type": "text", "text": "hello world"}], "stop_reason": "end_turn"},  # Anthropic
        {"output": {"message": {"role": "assistant", "content": [{"text": "hello world"}]}}},  # Converse
        {"results": [{"outputText": "hello world", "completionReason": "FINISH"}]},  # Titan
    ],
)
def test_response_tokens_count_the_generated_part(response: dict[str, Any]) -> None:
    assert tokens.response_tokens(response, "gpt-4o") == 2


def test_tool_call_arguments_are_output() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "f", "arguments": '{"city": "Paris"}'}}
    response = {"choices": [{"message": {"content": None, "tool_calls": [call]}}]}
    assert tokens.response_tokens(response, "gpt-4o") == tokens.count_tokens('{"city": "Paris"}', "gpt-4o")


def summary(usage: Usage, operation: str = "chat", **fields: Any) -> CallSummary:
    values: dict[str, Any] = {
        "operation": operation,
        "model": "gpt-4o-mini",
        "usage": usage,
        "request_json": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello world"}]},
        "response_json": {"choices": [{"message": {"content": "hello world"}}]},
        **fields,
    }
    return CallSummary(**values)


def test_missing_usage_is_estimated() -> None:
    usage, estimated = tokens.estimate_missing(summary(Usage()))
    assert estimated and (usage.input_tokens, usage.output_tokens) == (2 + 4 + 3, 2)
    assert usage.cached_tokens is None and usage.reasoning_tokens is None


def test_vendor_counts_are_never_replaced() -> None:
    reported = Usage(input_tokens=100, output_tokens=50, cached_tokens=10)
    assert tokens.estimate_missing(summary(reported)) == (reported, False)
    usage, estimated = tokens.estimate_missing(summary(Usage(input_tokens=100)))
    assert estimated and (usage.input_tokens, usage.output_tokens) == (100, 2)
    usage, estimated = tokens.estimate_missing(summary(Usage(output_tokens=7)))
    assert estimated and (usage.input_tokens, usage.output_tokens) == (9, 7)


def test_embeddings_estimate_input_only() -> None:
    request = {"model": "text-embedding-3-small", "input": "hello world"}
    found = summary(Usage(), "embeddings", request_json=request, model="text-embedding-3-small")
    assert tokens.estimate_missing(found) == (Usage(input_tokens=2, output_tokens=0), True)


@pytest.mark.parametrize("operation", ["generic", "count_tokens", "batches", "apply_guardrail", "unparsed"])
def test_calls_that_are_not_model_calls_are_not_estimated(operation: str) -> None:
    assert tokens.estimate_missing(summary(Usage(), operation)) == (Usage(), False)


def test_nothing_to_count_from_is_not_an_estimate() -> None:
    assert tokens.estimate_missing(summary(Usage(), request_json=None, response_json=None)) == (Usage(), False)


def test_the_served_model_chooses_the_encoding() -> None:
    text = "Ünïcödé façade — naïve café"
    found = summary(
        Usage(input_tokens=1),
        model="my-azure-deployment",  # says nothing about the tokenizer
        response_model="gpt-4o-mini-2024-07-18",
        response_json={"choices": [{"message": {"content": text}}]},
    )
    usage, _ = tokens.estimate_missing(found)
    assert usage.output_tokens == tokens.count_tokens(text, "gpt-4o")
    assert tokens.count_tokens(text, "gpt-4o") != tokens.count_tokens(text, "gpt-4")
