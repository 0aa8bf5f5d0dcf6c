"""Text of Anthropic Messages bodies (wire-formats.md §4): what is scanned, what is not."""

from __future__ import annotations

import json
from typing import Any

import orjson

from glassgate.guardrails.text import Extraction, request_texts, response_texts, rewrite_strings
from glassgate.proxy.vendors import get_adapter
from tests.fakes import anthropic_fixtures as fake
from tests.unit.proxy.vendors.wire_samples import wire_call

Row = tuple[tuple[str | int, ...], str, str]


def rows(extraction: Extraction) -> list[Row]:
    return [(field.path, field.role, field.text) for field in extraction.fields]


# Appendix A.1, "OLD-anthropic messages non-stream", byte for byte.
SDK_MESSAGES = (
    b'{"max_tokens":64,"messages":[{"role":"user","content":"Hi"}],"model":"claude-sonnet-4-5","system":"Be brief."}'
)

RICH_MESSAGES: dict[str, Any] = {
    "model": "claude-sonnet-4-5",
    "max_tokens": 1024,
    "system": [
        {"type": "text", "text": "You are a travel agent.", "cache_control": {"type": "ephemeral"}},
        {"type": "text", "text": "Never reveal emails."},
    ],
    "messages": [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "Book Paris for ann@example.com"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}},
                {
                    "type": "document",
                    "source": {"type": "text", "media_type": "text/plain", "data": "Itinerary: Ann, seat 4A"},
                    "title": "Itinerary",
                    "context": "from the CRM",
                },
                {
                    "type": "document",
                    "source": {"type": "content", "content": [{"type": "text", "text": "Passport 123"}]},
                },
            ],
        },
        {
            "role": "assistant",
            "content": [
                {"type": "thinking", "thinking": "Ann wants Paris.", "signature": "EqQB"},
                {"type": "redacted_thinking", "data": "EmwK"},
                {"type": "text", "text": "Let me check flights."},
                {
                    "type": "tool_use",
                    "id": "toolu_1",
                    "name": "search_flights",
                    "input": {"to": "Paris", "passengers": [{"name": "Ann", "age": 42}], "direct": True},
                },
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "toolu_1", "content": "AF123 at 9:00"},
                {
                    "type": "tool_result",
                    "tool_use_id": "toolu_2",
                    "is_error": False,
                    "content": [
                        {"type": "text", "text": "Seat map attached"},
                        {"type": "image", "source": {"type": "url", "url": "https://example.com/seat.png"}},
                    ],
                },
                {
                    "type": "search_result",
                    "source": "https://example.com",
                    "title": "Hotels",
                    "content": [{"type": "text", "text": "Hotel Lutetia"}],
                },
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
            ],
        },
    ],
    "tools": [{"name": "search_flights", "description": "Search", "input_schema": {"type": "object"}}],
    "stream": True,
}


def test_the_captured_sdk_requests() -> None:
    extraction = request_texts("anthropic", "/v1/messages", orjson.loads(SDK_MESSAGES))
    assert rows(extraction) == [(("system",), "system", "Be brief."), (("messages", 0, "content"), "user", "Hi")]
    assert extraction.skipped == []
    # "anthropic messages stream (stream=True)": the same body with `stream`
    streamed = {"max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}], "model": "m", "stream": True}
    assert rows(request_texts("anthropic", "/v1/messages", streamed)) == [(("messages", 0, "content"), "user", "Hi")]


def test_every_block_kind_in_a_request() -> None:
    extraction = request_texts("anthropic", "/v1/messages", RICH_MESSAGES)
    assert rows(extraction) == [
        (("system", 0, "text"), "system", "You are a travel agent."),
        (("system", 1, "text"), "system", "Never reveal emails."),
        (("messages", 0, "content", 0, "text"), "user", "Book Paris for ann@example.com"),
        (("messages", 0, "content", 3, "title"), "user", "Itinerary"),
        (("messages", 0, "content", 3, "context"), "user", "from the CRM"),
        (("messages", 0, "content", 3, "source", "data"), "user", "Itinerary: Ann, seat 4A"),
        (("messages", 0, "content", 4, "source", "content", 0, "text"), "user", "Passport 123"),
        (("messages", 1, "content", 2, "text"), "assistant", "Let me check flights."),
        (("messages", 1, "content", 3, "input", "to"), "tool_arguments", "Paris"),
        (("messages", 1, "content", 3, "input", "passengers", 0, "name"), "tool_arguments", "Ann"),
        (("messages", 2, "content", 0, "content"), "tool_result", "AF123 at 9:00"),
        (("messages", 2, "content", 1, "content", 0, "text"), "tool_result", "Seat map attached"),
        (("messages", 2, "content", 2, "title"), "user", "Hotels"),
        (("messages", 2, "content", 2, "content", 0, "text"), "user", "Hotel Lutetia"),
    ]
    assert extraction.skipped == [
        "messages[0].content[1]: image block (image) not scanned",
        "messages[0].content[2]: document with a 'base64' source (not text) not scanned",
        "messages[1].content[0]: thinking block (signed; replayed to the vendor unchanged) not scanned",
        "messages[1].content[1]: redacted_thinking block (encrypted) not scanned",
        "messages[2].content[1].content[1]: image block (image) not scanned",
        "messages[2].content[3]: 'web_search_tool_result' block not scanned",
        "tools: tool definitions (names, descriptions, schemas) not scanned",
    ]
    raw = json.dumps(RICH_MESSAGES).encode()
    redacted = rewrite_strings(raw, {field.path: field.text.upper() for field in extraction.fields})
    again = request_texts("anthropic", "/v1/messages", orjson.loads(redacted))
    assert [field.text for field in again.fields] == [field.text.upper() for field in extraction.fields]


def test_count_tokens_batches_and_legacy_completions() -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    assert rows(request_texts("anthropic", "/v1/messages/count_tokens", body)) == [
        (("messages", 0, "content"), "user", "Hi")
    ]
    batch = {"requests": [{"custom_id": "a", "params": {"model": "m", "max_tokens": 5, **body}}, {"custom_id": "b"}]}
    extraction = request_texts("anthropic", "/v1/messages/batches", batch)
    assert rows(extraction) == [(("requests", 0, "params", "messages", 0, "content"), "user", "Hi")]
    assert extraction.skipped == ["requests[1]: batch request without params; not scanned"]
    legacy = {"model": "claude-2.1", "prompt": "\n\nHuman: Hi\n\nAssistant:", "max_tokens_to_sample": 5}
    assert rows(request_texts("anthropic", "/v1/complete", legacy)) == [
        (("prompt",), "prompt", "\n\nHuman: Hi\n\nAssistant:")
    ]
    assert rows(response_texts("anthropic", "/v1/complete", {"type": "completion", "completion": " Hello"})) == [
        (("completion",), "assistant", " Hello")
    ]


def test_an_answer_with_thinking_text_and_a_tool_call() -> None:
    answer = fake.message({"thinking": {"type": "enabled", "budget_tokens": 1024}, "tools": [{"name": "w"}]})
    extraction = response_texts("anthropic", "/v1/messages", answer)
    assert rows(extraction) == [
        (("content", 0, "thinking"), "assistant", fake.THINKING),
        (("content", 2, "text"), "assistant", fake.TEXT),
        (("content", 3, "input", "city"), "tool_arguments", "Paris"),
    ]
    assert extraction.skipped == ["content[1]: redacted_thinking block (encrypted) not scanned"]


def test_a_streamed_answer_is_read_once_assembled() -> None:
    request = {"model": "m", "max_tokens": 64, "stream": True, "tools": [{"name": "w"}], "messages": []}
    summary = get_adapter("anthropic").summarize(wire_call("/v1/messages", fake.message_stream(request)))
    extraction = response_texts("anthropic", "/v1/messages", summary.response_json)
    assert rows(extraction) == [
        (("content", 0, "text"), "assistant", fake.TEXT),
        (("content", 1, "input", "city"), "tool_arguments", "Paris"),
    ]


def test_errors_counts_and_odd_values() -> None:
    assert response_texts("anthropic", "/v1/messages", fake.error("overloaded_error", "Overloaded")).skipped == [
        "body: an error body (the vendor's message, not an answer) not scanned"
    ]
    counted = response_texts("anthropic", "/v1/messages/count_tokens", fake.count_tokens())
    assert (counted.fields, counted.skipped) == ([], [])
    odd = request_texts("anthropic", "/v1/messages", {"system": 5, "messages": ["x", {"role": "user", "content": [3]}]})
    assert odd.skipped == [
        "system: expected text, found number; not scanned",
        "messages[0]: string in place of a message; not scanned",
        "messages[1].content[0]: number in place of a content block; not scanned",
    ]
