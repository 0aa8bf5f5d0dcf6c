"""The conformance suite for Anthropic's Messages API, with the official `anthropic` SDK.

The SDK is configured the way users do it, by environment variables only
(`ANTHROPIC_BASE_URL`, `ANTHROPIC_API_KEY`). Each case checks three things: the SDK gets what
it expects, the fake vendor received the client's bytes unchanged, and the recorded span
says what happened. Runs under both SDK generations (0.x sends `x-api-key`, 2.x `Authorization:
Bearer`), so nothing here assumes one of them except where the difference is the point.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import anthropic
import httpx
import pytest
from anthropic._exceptions import OverloadedError  # 0.x does not export it at the top level

from tests.conformance.clients import anthropic_client
from tests.conformance.conftest import CLIENT_VENDOR_KEY, Stack
from tests.fakes import anthropic_fixtures as fx
from tests.fakes.anthropic_server import SLOW_DELTAS
from tests.fakes.vendor_server import Received

if TYPE_CHECKING:
    from anthropic.types import Message, MessageParam, ThinkingConfigParam, ToolParam
    from anthropic.types.beta import BetaMessageParam

SDK_MAJOR = int(anthropic.__version__.split(".")[0])
# Not one the current SDK warns is deprecated (warnings are errors in this suite).
MODEL = "claude-haiku-4-5"
MESSAGES: list[MessageParam] = [{"role": "user", "content": "Hi"}]
BETA_MESSAGES: list[BetaMessageParam] = [{"role": "user", "content": "Hi"}]
WEATHER_TOOL: ToolParam = {
    "name": "get_weather",
    "description": "Weather",
    "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
}
THINKING: ThinkingConfigParam = {"type": "enabled", "budget_tokens": 1024}
BETA = "token-efficient-tools-2025-02-19"
NORMALISED_USAGE = (fx.NORMALISED_INPUT, fx.OUTPUT, fx.CACHE_READ, fx.CACHE_WRITE)


@pytest.fixture
def client(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[anthropic.Anthropic]:
    """Closed after the test: a pooled keep-alive socket left for the garbage collector shows up
    as an unraisable ResourceWarning ("unclosed socket") at interpreter exit."""
    with anthropic_client(stack, monkeypatch, "anthropic") as sdk:
        yield sdk


def span_for(stack: Stack, headers: Mapping[str, str]) -> dict[str, Any]:
    span_id = headers["x-glassgate-span-id"]
    assert len(span_id) == 16 and int(span_id, 16) >= 0
    return stack.glassgate.span(span_id)


def usage_of(span: dict[str, Any]) -> tuple[Any, ...]:
    return (span["input_tokens"], span["output_tokens"], span["cached_tokens"], span["cache_write_tokens"])


_HOP_HEADERS = frozenset({"host", "connection", "keep-alive", "content-length", "transfer-encoding"})


def assert_request_relayed(stack: Stack, sent: Any, expected_path: str | None = "/v1/messages") -> Received:
    """`sent` is the SDK's own request object (httpx or httpx2, by SDK generation)."""
    received = stack.anthropic.last()
    assert received.body == sent.content, "request body must reach the vendor byte for byte"
    assert received.raw_path == sent.url.raw_path.decode().removeprefix("/anthropic"), "path and query must be kept"
    if expected_path is not None:
        assert received.raw_path == expected_path
    # Every end-to-end header the SDK sent arrives unchanged (credentials, anthropic-version,
    # anthropic-beta, the x-stainless-* telemetry); only the hop's own framing is redone.
    for name, value in sent.headers.items():
        if name.lower() not in _HOP_HEADERS:
            assert received.header(name) == value, name
    for name in ("x-api-key", "authorization", "anthropic-beta"):
        assert received.header(name) == sent.headers.get(name), f"{name} must not be added either"
    if SDK_MAJOR == 0:
        assert received.header("x-api-key") == CLIENT_VENDOR_KEY and received.header("authorization") is None
    elif SDK_MAJOR >= 2:
        assert received.header("authorization") == f"Bearer {CLIENT_VENDOR_KEY}"
        assert received.header("x-api-key") is None
    assert received.header("anthropic-version"), "the vendor refuses requests without it"
    return received


def test_messages_non_stream(stack: Stack, client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, system="Be brief.", messages=MESSAGES, metadata={"user_id": "user-1"}
    )
    message = raw.parse()
    assert [block.type for block in message.content] == ["text"]
    assert message.content[0].text == fx.TEXT  # type: ignore[union-attr]
    assert message.usage.cache_read_input_tokens == fx.CACHE_READ
    assert raw.http_response.content == b"".join(stack.anthropic.last().sent), "response must arrive byte for byte"
    assert_request_relayed(stack, raw.http_response.request)
    span = span_for(stack, raw.headers)
    assert span["status"] == "ok" and span["http_status"] == 200 and span["error"] is None
    assert (span["upstream"], span["vendor"], span["operation"]) == ("anthropic", "anthropic", "messages")
    assert span["model"] == MODEL and span["response_model"] == fx.SERVED_MODEL
    assert usage_of(span) == NORMALISED_USAGE, "cache reads and writes are added to input_tokens"
    assert span["reasoning_tokens"] is None
    assert span["request_body"]["system"] == "Be brief." and span["request_body"]["messages"] == MESSAGES
    assert span["response_body"] == json.loads(raw.http_response.content)
    assert span["streamed"] is False
    assert span["attributes"]["finish_reason"] == "end_turn"
    assert span["attributes"]["response.request-id"] == fx.REQUEST_ID
    assert span["attributes"]["response.anthropic-ratelimit-requests-remaining"] == "99"
    assert 0 < span["ttft_ms"] <= span["latency_ms"]


def test_messages_stream_raw_events(stack: Stack, client: anthropic.Anthropic) -> None:
    stream = client.messages.create(model=MODEL, max_tokens=64, messages=MESSAGES, stream=True)
    events = list(stream)
    kinds = [event.type for event in events]
    assert kinds[0] == "message_start" and kinds[-2:] == ["message_delta", "message_stop"]
    text = "".join(
        event.delta.text for event in events if event.type == "content_block_delta" and event.delta.type == "text_delta"
    )
    assert text == fx.TEXT
    assert_request_relayed(stack, stream.response.request)
    span = span_for(stack, stream.response.headers)
    assert span["status"] == "ok" and span["streamed"] is True and span["operation"] == "messages"
    request = json.loads(stack.anthropic.last().body)
    assert span["response_body"] == fx.message(request), "the stream is stored as the Message it adds up to"
    # message_delta repeats the input and cache counts: summed, input would be 38, not 19.
    assert usage_of(span) == NORMALISED_USAGE
    assert span["attributes"]["finish_reason"] == "end_turn"
    # TTFT is the first content delta, after message_start and the ping.
    assert span["ttft_ms"] is not None and 0 < span["ttft_ms"] <= span["latency_ms"]


def test_messages_stream_helper(stack: Stack, client: anthropic.Anthropic) -> None:
    with client.messages.stream(model=MODEL, max_tokens=64, messages=MESSAGES) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
        headers = stream.response.headers
        sent = stream.response.request
    assert text == fx.TEXT and final.stop_reason == "end_turn"
    assert (final.usage.input_tokens, final.usage.output_tokens) == (fx.INPUT, fx.OUTPUT)
    received = assert_request_relayed(stack, sent)
    if SDK_MAJOR >= 2:  # 0.x's helper does not mark its requests
        assert received.header("x-stainless-helper-method") == "stream"
    span = span_for(stack, headers)
    assert span["status"] == "ok" and span["streamed"] is True
    assert span["response_body"]["content"] == [{"type": "text", "text": fx.TEXT}]
    assert span["response_body"]["id"] == final.id and span["response_model"] == final.model
    assert usage_of(span) == NORMALISED_USAGE


@pytest.mark.parametrize("stream", [False, True])
def test_tool_use(stack: Stack, client: anthropic.Anthropic, stream: bool) -> None:
    messages: list[MessageParam] = [{"role": "user", "content": "Weather in Paris?"}]
    message: Message
    if stream:
        with client.messages.stream(model=MODEL, max_tokens=64, messages=messages, tools=[WEATHER_TOOL]) as events:
            message = events.get_final_message()
            headers = events.response.headers
    else:
        raw = client.messages.with_raw_response.create(
            model=MODEL, max_tokens=64, messages=messages, tools=[WEATHER_TOOL]
        )
        message = raw.parse()
        headers = raw.headers
    call = message.content[-1]
    assert call.type == "tool_use" and call.name == "get_weather" and call.input == fx.TOOL_INPUT
    assert message.stop_reason == "tool_use"
    span = span_for(stack, headers)
    stored = span["response_body"]["content"][-1]
    # Streamed, the input arrives as JSON text in pieces; the span holds it parsed, as unstreamed.
    assert stored == {"type": "tool_use", "id": fx.TOOL_ID, "name": "get_weather", "input": fx.TOOL_INPUT}
    assert span["attributes"]["finish_reason"] == "tool_use"
    assert span["request_body"]["tools"] == [WEATHER_TOOL]
    assert span["streamed"] is stream


@pytest.mark.parametrize("stream", [False, True])
def test_thinking(stack: Stack, client: anthropic.Anthropic, stream: bool) -> None:
    message: Message
    if stream:
        with client.messages.stream(model=MODEL, max_tokens=2048, messages=MESSAGES, thinking=THINKING) as events:
            message = events.get_final_message()
            headers = events.response.headers
    else:
        raw = client.messages.with_raw_response.create(
            model=MODEL, max_tokens=2048, messages=MESSAGES, thinking=THINKING
        )
        message = raw.parse()
        headers = raw.headers
    assert [block.type for block in message.content] == ["thinking", "redacted_thinking", "text"]
    thinking = message.content[0]
    assert thinking.type == "thinking" and thinking.thinking == fx.THINKING and thinking.signature == fx.SIGNATURE
    span = span_for(stack, headers)
    assert span["response_body"]["content"] == [
        {"type": "thinking", "thinking": fx.THINKING, "signature": fx.SIGNATURE},
        {"type": "redacted_thinking", "data": fx.REDACTED},
        {"type": "text", "text": fx.TEXT},
    ]
    # Thinking is part of output_tokens; 2.x-era usage also breaks it out as thinking_tokens.
    assert span["output_tokens"] == fx.OUTPUT and span["reasoning_tokens"] == fx.THINKING_TOKENS
    assert span["request_body"]["thinking"] == THINKING


def test_cache_control_request_and_cache_tokens(stack: Stack, client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(
        model=MODEL,
        max_tokens=64,
        system=[{"type": "text", "text": "A long shared prefix.", "cache_control": {"type": "ephemeral"}}],
        messages=MESSAGES,
    )
    usage = raw.parse().usage
    span = span_for(stack, raw.headers)
    cache_read, cache_write = usage.cache_read_input_tokens or 0, usage.cache_creation_input_tokens or 0
    assert span["input_tokens"] == usage.input_tokens + cache_read + cache_write
    assert (span["cached_tokens"], span["cache_write_tokens"]) == (cache_read, cache_write) == (4, 3)
    assert span["request_body"]["system"][0]["cache_control"] == {"type": "ephemeral"}


def test_count_tokens(stack: Stack, client: anthropic.Anthropic) -> None:
    if not hasattr(client.messages, "count_tokens"):
        pytest.skip(f"anthropic {anthropic.__version__} has no messages.count_tokens")
    raw = client.messages.with_raw_response.count_tokens(model=MODEL, messages=MESSAGES)
    assert raw.parse().input_tokens == fx.COUNTED_TOKENS
    assert_request_relayed(stack, raw.http_response.request, "/v1/messages/count_tokens")
    span = span_for(stack, raw.headers)
    assert span["status"] == "ok" and span["operation"] == "count_tokens" and span["model"] == MODEL
    assert (span["input_tokens"], span["output_tokens"]) == (fx.COUNTED_TOKENS, 0)
    assert span["response_body"] == {"input_tokens": fx.COUNTED_TOKENS}


def test_beta_header_and_query_are_kept(stack: Stack, client: anthropic.Anthropic) -> None:
    raw = client.beta.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=BETA_MESSAGES, betas=[BETA]
    )
    assert raw.parse().content[0].text == fx.TEXT  # type: ignore[union-attr]
    # 0.x marks beta calls with `?beta=true`; 2.x sends the plain path. Either way it is kept.
    expected_path = "/v1/messages?beta=true" if SDK_MAJOR == 0 else None
    received = assert_request_relayed(stack, raw.http_response.request, expected_path)
    assert received.header("anthropic-beta") == BETA
    span = span_for(stack, raw.headers)
    assert span["operation"] == "messages"
    assert span["attributes"].get("http.query") == (received.raw_path.partition("?")[2] or None)


def test_extra_beta_header_is_kept(stack: Stack, client: anthropic.Anthropic) -> None:
    raw = client.messages.with_raw_response.create(
        model=MODEL, max_tokens=64, messages=MESSAGES, extra_headers={"anthropic-beta": f"{BETA},other-beta"}
    )
    received = assert_request_relayed(stack, raw.http_response.request)
    assert received.header("anthropic-beta") == f"{BETA},other-beta"
    expected_version = {0: "2023-06-01", 2: "2026-10-21"}.get(SDK_MAJOR)  # as captured (wire-formats.md §0.1)
    if expected_version is not None:
        assert received.header("anthropic-version") == expected_version


@pytest.mark.parametrize(
    ("model", "error_class", "status", "error_type"),
    [
        ("error-400", anthropic.BadRequestError, 400, "invalid_request_error"),
        ("rate-limited", anthropic.RateLimitError, 429, "rate_limit_error"),
        ("overloaded", OverloadedError, 529, "overloaded_error"),
    ],
)
def test_vendor_errors_relayed(
    stack: Stack,
    client: anthropic.Anthropic,
    model: str,
    error_class: type[anthropic.APIStatusError],
    status: int,
    error_type: str,
) -> None:
    before = len(stack.anthropic.received)
    with pytest.raises(error_class) as caught:
        client.messages.create(model=model, max_tokens=64, messages=MESSAGES)
    error = caught.value
    assert error.status_code == status
    # One attempt only: the vendor's `x-should-retry: false` reached the SDK.
    assert len(stack.anthropic.received) == before + 1
    assert error.response.content == b"".join(stack.anthropic.last().sent)
    body = json.loads(error.response.content)
    assert error.body == body
    if status == 429:
        assert error.response.headers["retry-after"] == "1"
        assert error.response.headers["anthropic-ratelimit-requests-remaining"] == "0"
    if status == 529 and SDK_MAJOR >= 2:
        assert isinstance(error, anthropic.InternalServerError), "2.x files 529 under the 5xx class"
    span = span_for(stack, error.response.headers)
    assert span["status"] == "error" and span["http_status"] == status
    assert span["error"] == body["error"]["message"]
    assert span["attributes"]["error.type"] == error_type
    assert span["response_body"] == body


def test_upstream_cut_mid_stream(stack: Stack, client: anthropic.Anthropic) -> None:
    stream = client.messages.create(model="cut-stream", max_tokens=64, messages=MESSAGES, stream=True)
    # The SDK does not wrap a broken stream: its transport's error surfaces (httpx for 0.x,
    # httpx2 for 2.x), so take the class from the transport this SDK generation uses.
    transport = sys.modules[type(stream.response).__module__.split(".")[0]]
    with pytest.raises(transport.HTTPError):
        list(stream)
    span = span_for(stack, stream.response.headers)
    assert span["status"] == "error" and "upstream stream broke" in span["error"]
    assert span["attributes"]["error.type"] == "upstream_reset"
    assert span["response_body"]["content"] == [{"type": "text", "text": fx.TEXT_PIECES[0]}], "what arrived is kept"
    # The input's count came in message_start; the output's would have come in message_delta,
    # so it is estimated from what arrived (message_start's placeholder 1 is not a count).
    assert (span["input_tokens"], span["usage_estimated"]) == (fx.NORMALISED_INPUT, True)
    assert span["output_tokens"] >= 1


def test_error_event_inside_a_200_stream(stack: Stack, client: anthropic.Anthropic) -> None:
    stream = client.messages.create(model="stream-error", max_tokens=64, messages=MESSAGES, stream=True)
    with pytest.raises(anthropic.APIStatusError) as caught:
        list(stream)
    assert caught.value.body == {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    span = span_for(stack, stream.response.headers)
    assert span["status"] == "error" and span["http_status"] == 200
    assert span["error"] == "Overloaded" and span["attributes"]["error.type"] == "overloaded_error"
    assert span["response_body"]["content"] == [{"type": "text", "text": fx.TEXT_PIECES[0]}]


def _raw_headers(auth: str) -> dict[str, str]:
    key_header = (
        {"x-api-key": CLIENT_VENDOR_KEY} if auth == "x-api-key" else {"authorization": f"Bearer {CLIENT_VENDOR_KEY}"}
    )
    return {**key_header, "anthropic-version": "2023-06-01", "content-type": "application/json"}


@pytest.mark.parametrize("auth", ["x-api-key", "authorization"])
def test_stream_bytes_and_either_key_header_relayed_exactly(stack: Stack, auth: str) -> None:
    # Odd spacing and key order: the vendor must get these bytes, not a re-serialisation.
    body = (
        b'{"model": "claude-sonnet-4-5",  "stream":true, "max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}'
    )
    headers = _raw_headers(auth)
    with httpx.stream(
        "POST", f"{stack.glassgate.url}/anthropic/v1/messages", content=body, headers=headers, timeout=10
    ) as response:
        received_bytes = b"".join(response.iter_raw())
        span_id = response.headers["x-glassgate-span-id"]
        assert response.headers["content-type"] == "text/event-stream; charset=utf-8"
    received = stack.anthropic.last()
    assert received.body == body
    assert received_bytes == b"".join(received.sent), "the SSE bytes must reach the client unchanged"
    for name in ("x-api-key", "authorization"):
        assert received.header(name) == headers.get(name), name
    span = stack.glassgate.span(span_id)
    assert span["status"] == "ok" and span["response_body"]["content"] == [{"type": "text", "text": fx.TEXT}]


def test_client_disconnect_still_records_usage(stack: Stack) -> None:
    body = {"model": "slow-stream", "max_tokens": 64, "messages": MESSAGES, "stream": True}
    url = f"{stack.glassgate.url}/anthropic/v1/messages"
    with httpx.stream("POST", url, json=body, headers=_raw_headers("x-api-key"), timeout=10) as response:
        span_id = response.headers["x-glassgate-span-id"]
        next(response.iter_raw())  # read one chunk, then hang up mid-stream
    span = stack.glassgate.span(span_id, timeout_s=15)
    assert span["status"] == "cancelled"
    # Output tokens come only from message_delta at the very end: the proxy drained the rest.
    assert usage_of(span) == NORMALISED_USAGE, "the upstream is drained after the client leaves, so usage is kept"
    text = span["response_body"]["content"][0]["text"]
    assert text == "." * SLOW_DELTAS + fx.TEXT, "every delta, including after the hang-up"
    assert span["attributes"]["finish_reason"] == "end_turn"
