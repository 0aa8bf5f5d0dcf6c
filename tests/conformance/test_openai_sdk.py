"""The conformance suite for OpenAI-format vendors, run once per vendor with the official SDK.

Each case checks three things: the SDK gets what it expects, the upstream received the
client's bytes unchanged, and the recorded span says what happened.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

import httpx
import openai
import pytest
from genai_prices import Usage, calc_price

from tests.conformance.clients import OPENAI_SDK_MAJOR, chat_model, sdk_client
from tests.conformance.conftest import CLIENT_VENDOR_KEY, Stack
from tests.fakes import openai_fixtures as fx

if TYPE_CHECKING:
    from openai.types.chat import ChatCompletionMessageParam, ChatCompletionToolParam

VENDORS = ["openai", "azure"]
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "Be brief."},
    {"role": "user", "content": "Hi"},
]
WEATHER_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
    },
}


@pytest.fixture(params=VENDORS)
def vendor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def span_for(stack: Stack, headers: Mapping[str, str]) -> dict[str, Any]:
    span_id = headers["x-glassgate-span-id"]
    assert len(span_id) == 16 and int(span_id, 16) >= 0
    return stack.glassgate.span(span_id)


def assert_request_relayed(stack: Stack, sent: Any, vendor: str) -> None:
    """`sent` is the SDK's own request object (httpx or httpx2, by SDK generation)."""
    received = stack.vendor.last()
    assert received.body == sent.content, "request body must reach the vendor byte for byte"
    prefix = f"/{vendor}"
    assert received.raw_path == sent.url.raw_path.decode()[len(prefix) :], "path and query must be kept"
    if vendor == "azure":
        assert received.header("api-key") == CLIENT_VENDOR_KEY
    else:
        assert received.header("authorization") == f"Bearer {CLIENT_VENDOR_KEY}"


def test_chat_non_stream(stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    raw = client.chat.completions.with_raw_response.create(model=chat_model(vendor), messages=MESSAGES, temperature=0.2)
    completion = raw.parse()
    assert completion.choices[0].message.content == fx.TEXT
    assert completion.usage is not None and completion.usage.prompt_tokens == 12
    assert raw.http_response.content == b"".join(stack.vendor.last().sent), (
        "response must reach the client byte for byte"
    )
    assert_request_relayed(stack, raw.http_response.request, vendor)
    span = span_for(stack, raw.headers)
    assert span["status"] == "ok" and span["http_status"] == 200
    assert span["upstream"] == vendor and span["vendor"] == vendor and span["operation"] == "chat"
    assert span["model"] == chat_model(vendor)
    assert span["response_model"] == fx.SERVED_MODEL
    assert (span["input_tokens"], span["output_tokens"], span["cached_tokens"], span["reasoning_tokens"]) == (
        12,
        6,
        4,
        2,
    )
    # Priced by the served model (for Azure, not by the deployment name), cached tokens at their own rate.
    provider = "openai" if vendor == "openai" else "azure"
    expected = calc_price(
        Usage(input_tokens=12, output_tokens=6, cache_read_tokens=4), fx.SERVED_MODEL, provider_id=provider
    )
    assert span["cost_status"] == "priced" and span["price_version"].startswith("genai-prices ")
    assert span["cost_usd"] == pytest.approx(float(expected.total_price))
    assert span["request_body"]["messages"] == MESSAGES
    assert span["response_body"] == json.loads(raw.http_response.content)
    assert span["streamed"] is False
    assert 0 < span["ttft_ms"] <= span["latency_ms"]
    if vendor == "azure":
        assert span["attributes"]["azure.deployment"] == "my-gpt4o"
        assert span["attributes"]["azure.api_version"] == "2024-10-21"
        assert span["response_body"]["prompt_filter_results"] == fx.PROMPT_FILTER


@pytest.mark.parametrize("include_usage", [False, True])
def test_chat_stream(stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch, include_usage: bool) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    stream = client.chat.completions.create(
        model=chat_model(vendor),
        messages=MESSAGES,
        stream=True,
        # The two SDK generations type "not given" differently; the value is the same.
        stream_options=cast(Any, {"include_usage": True} if include_usage else openai.NOT_GIVEN),
    )
    chunks = list(stream)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks if chunk.choices)
    assert text == fx.TEXT
    assert_request_relayed(stack, stream.response.request, vendor)
    span = span_for(stack, stream.response.headers)
    assert stream.response.headers["x-accel-buffering"] == "no"
    assert span["status"] == "ok" and span["streamed"] is True
    message = span["response_body"]["choices"][0]["message"]
    assert message["content"] == fx.TEXT and span["response_body"]["choices"][0]["finish_reason"] == "stop"
    assert span["response_model"] == fx.SERVED_MODEL
    if include_usage:
        assert (span["input_tokens"], span["output_tokens"], span["cached_tokens"]) == (12, 6, 4)
        assert span["usage_estimated"] is False
    else:  # the vendor reported none: estimated with tiktoken, and marked so
        assert span["usage_estimated"] is True and span["input_tokens"] > 0 and span["output_tokens"] > 0
    assert span["ttft_ms"] is not None and 0 < span["ttft_ms"] <= span["latency_ms"]
    if vendor == "azure":
        assert span["response_body"]["prompt_filter_results"] == fx.PROMPT_FILTER
        assert span["response_body"]["choices"][0]["content_filter_results"] == fx.FILTER_OK


@pytest.mark.parametrize("stream", [False, True])
def test_tool_calls(stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": "Weather Paris?"}]
    if stream:
        response = client.chat.completions.create(
            model=chat_model(vendor), messages=messages, tools=[WEATHER_TOOL], stream=True
        )
        arguments = "".join(
            call.function.arguments or ""
            for chunk in response
            for choice in chunk.choices
            for call in choice.delta.tool_calls or []
            if call.function is not None
        )
        headers = response.response.headers
    else:
        raw = client.chat.completions.with_raw_response.create(
            model=chat_model(vendor), messages=messages, tools=[WEATHER_TOOL]
        )
        calls = raw.parse().choices[0].message.tool_calls
        assert calls is not None
        arguments = calls[0].function.arguments  # type: ignore[union-attr]
        headers = raw.headers
    assert json.loads(arguments) == {"city": "Paris"}
    span = span_for(stack, headers)
    choice = span["response_body"]["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    call = choice["message"]["tool_calls"][0]
    assert call["id"] == "call_0" and call["function"]["name"] == "get_weather"
    assert json.loads(call["function"]["arguments"]) == {"city": "Paris"}
    assert span["attributes"]["finish_reason"] == "tool_calls"


@pytest.mark.parametrize("stream", [False, True])
def test_two_choices(stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    if stream:
        response = client.chat.completions.create(model=chat_model(vendor), messages=MESSAGES, n=2, stream=True)
        indexes = {choice.index for chunk in response for choice in chunk.choices}
        assert indexes == {0, 1}
        headers = response.response.headers
    else:
        raw = client.chat.completions.with_raw_response.create(model=chat_model(vendor), messages=MESSAGES, n=2)
        assert [choice.index for choice in raw.parse().choices] == [0, 1]
        headers = raw.headers
    span = span_for(stack, headers)
    choices = span["response_body"]["choices"]
    assert [choice["index"] for choice in choices] == [0, 1]
    assert all(choice["message"]["content"] == fx.TEXT for choice in choices)


def test_embeddings_base64(stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    model = "text-embedding-3-small" if vendor == "openai" else "my-embed"
    raw = client.embeddings.with_raw_response.create(model=model, input=["a", "b"])
    result = raw.parse()
    assert [item.embedding for item in result.data] == [[0.25, -0.5, 0.125, 1.0]] * 2
    assert json.loads(stack.vendor.last().body)["encoding_format"] == "base64"
    assert raw.http_response.content == b"".join(stack.vendor.last().sent)
    span = span_for(stack, raw.headers)
    assert span["operation"] == "embeddings" and span["input_tokens"] == 3 and span["output_tokens"] == 0
    stored = span["response_body"]["data"][0]["embedding"]
    assert stored == "<base64 float32 vector, 4 dims>"
    assert base64.b64decode(json.loads(raw.http_response.content)["data"][0]["embedding"]) == struct.pack(
        "<4f", 0.25, -0.5, 0.125, 1.0
    )


@pytest.mark.parametrize("stream", [False, True])
def test_responses_api(stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    model = "gpt-4.1-mini" if vendor == "openai" else "my-gpt4o"
    if stream:
        events = client.responses.create(model=model, input="Hi", instructions="Be brief.", stream=True)
        deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
        assert "".join(deltas) == fx.TEXT
        headers = events.response.headers
    else:
        raw = client.responses.with_raw_response.create(model=model, input="Hi", instructions="Be brief.")
        assert raw.parse().output_text == fx.TEXT
        headers = raw.headers
    expected_path = "/v1/responses" if vendor == "openai" else "/openai/responses?api-version=2024-10-21"
    assert stack.vendor.last().raw_path == expected_path
    span = span_for(stack, headers)
    assert span["operation"] == "responses" and span["model"] == model
    assert span["response_model"] == "gpt-4.1-mini-2025-04-14"
    assert (span["input_tokens"], span["output_tokens"], span["cached_tokens"], span["reasoning_tokens"]) == (
        12,
        6,
        4,
        2,
    )
    assert span["response_body"]["output"][0]["content"][0]["text"] == fx.TEXT
    assert span["streamed"] is stream and span["ttft_ms"] is not None


def test_legacy_completions(stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    model = "gpt-3.5-turbo-instruct" if vendor == "openai" else "my-instruct"
    raw = client.completions.with_raw_response.create(model=model, prompt="Say hello", max_tokens=5)
    assert raw.parse().choices[0].text == fx.TEXT
    span = span_for(stack, raw.headers)
    assert span["operation"] == "completions" and span["input_tokens"] == 3 and span["output_tokens"] == 3
    assert span["request_body"]["prompt"] == "Say hello"


@pytest.mark.parametrize(
    ("model", "error_class", "status"),
    [
        ("error-400", openai.BadRequestError, 400),
        ("rate-limited", openai.RateLimitError, 429),
        ("server-error", openai.InternalServerError, 500),
    ],
)
def test_vendor_errors_relayed(
    stack: Stack,
    vendor: str,
    monkeypatch: pytest.MonkeyPatch,
    model: str,
    error_class: type[openai.APIStatusError],
    status: int,
) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    with pytest.raises(error_class) as caught:
        client.chat.completions.create(model=model, messages=MESSAGES)
    error = caught.value
    assert error.status_code == status
    assert error.response.content == b"".join(stack.vendor.last().sent)
    if status == 429:
        assert error.response.headers["retry-after-ms"] == "1"
        assert error.response.headers["retry-after"] == "1"
        assert error.response.headers["x-ratelimit-remaining-requests"] == "0"
    span = span_for(stack, error.response.headers)
    assert span["status"] == "error" and span["http_status"] == status
    assert span["error"] == json.loads(error.response.content)["error"]["message"]


def test_upstream_cut_mid_stream(stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    stream = client.chat.completions.create(model="cut-stream", messages=MESSAGES, stream=True)
    with pytest.raises((httpx.HTTPError, openai.APIError)):
        list(stream)
    span = span_for(stack, stream.response.headers)
    assert span["status"] == "error"
    assert "upstream stream broke" in span["error"]
    assert span["attributes"]["error.type"] == "upstream_reset"


def test_client_disconnect_still_records_usage(stack: Stack, vendor: str) -> None:
    path = (
        "/openai/v1/chat/completions"
        if vendor == "openai"
        else "/azure/openai/deployments/slow-stream/chat/completions?api-version=2024-10-21"
    )
    body = {"model": "slow-stream", "messages": MESSAGES, "stream": True, "stream_options": {"include_usage": True}}
    headers = {"authorization": f"Bearer {CLIENT_VENDOR_KEY}", "api-key": CLIENT_VENDOR_KEY}
    with httpx.stream("POST", stack.glassgate.url + path, json=body, headers=headers, timeout=10) as response:
        span_id = response.headers["x-glassgate-span-id"]
        next(response.iter_raw())  # read one chunk, then hang up mid-stream
    span = stack.glassgate.span(span_id, timeout_s=15)
    assert span["status"] == "cancelled"
    assert span["input_tokens"] == 12, "the upstream is drained after the client leaves, so usage is kept"
    content = span["response_body"]["choices"][0]["message"]["content"]
    assert content.count(".") == 40 and content.replace(".", "") == fx.TEXT, "every chunk, including after the hang-up"


@pytest.mark.skipif(OPENAI_SDK_MAJOR >= 2, reason="only the 1.x AzureOpenAI sends both key headers")
def test_old_azure_sdk_sends_both_key_headers_unchanged(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client("azure", stack, monkeypatch)
    client.chat.completions.create(model="my-gpt4o", messages=MESSAGES)
    received = stack.vendor.last()
    assert received.header("api-key") == CLIENT_VENDOR_KEY
    assert received.header("authorization") == f"Bearer {CLIENT_VENDOR_KEY}"


def test_unreachable_upstream_is_a_vendor_shaped_502(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_BASE_URL", f"{stack.glassgate.url}/dead")
    monkeypatch.setenv("OPENAI_API_KEY", CLIENT_VENDOR_KEY)
    client = openai.OpenAI(max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)
    assert caught.value.status_code == 502
    assert "upstream 'dead' could not be reached" in caught.value.message
    span = span_for(stack, caught.value.response.headers)
    assert span["status"] == "error" and span["attributes"]["error.type"] == "upstream_unreachable"


def test_upstream_read_timeout_is_a_vendor_shaped_504(
    stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sdk_client(vendor, stack, monkeypatch).with_options(max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        client.chat.completions.create(model="hang", messages=MESSAGES)
    assert caught.value.status_code == 504
    assert "timed out" in caught.value.message
    span = span_for(stack, caught.value.response.headers)
    assert span["status"] == "error" and span["attributes"]["error.type"] == "upstream_timeout"
