"""Stream usage: estimated when the vendor reports none, or asked for with `inject_stream_usage`.

`openai-usage` and `azure-usage` are the fake vendors behind upstreams with the option on;
`openai` and `azure` the same vendors without it. Through either, a client must receive the
same stream.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import httpx
import pytest

from glassgate.tracing.tokens import count_tokens, request_tokens
from tests.conformance.clients import chat_model, sdk_client
from tests.conformance.conftest import CLIENT_VENDOR_KEY, Stack
from tests.conformance.test_openai_sdk import MESSAGES, span_for
from tests.fakes import openai_fixtures as fx

AUTH = {"authorization": f"Bearer {CLIENT_VENDOR_KEY}"}
CHAT = "/v1/chat/completions"


@pytest.fixture(params=["openai", "azure"])
def vendor(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def sdk_stream(stack: Stack, upstream: str, monkeypatch: pytest.MonkeyPatch) -> tuple[list[dict[str, Any]], Any]:
    """The chunks as the SDK parsed them (only the fields the server sent), and the raw response."""
    client = sdk_client(upstream, stack, monkeypatch)
    stream = client.chat.completions.create(model=chat_model(upstream), messages=MESSAGES, stream=True)
    return [chunk.to_dict() for chunk in stream], stream.response


def test_injected_usage_is_recorded_and_hidden_from_the_sdk(
    stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    plain, _ = sdk_stream(stack, vendor, monkeypatch)
    chunks, response = sdk_stream(stack, f"{vendor}-usage", monkeypatch)
    assert chunks == plain, "the client must receive what it would have without the injection"
    assert not any("usage" in chunk for chunk in chunks)
    empty = [chunk for chunk in chunks if not chunk["choices"]]
    assert len(empty) == (1 if vendor == "azure" else 0), "no usage-only chunk (Azure's prompt-filter chunk stays)"

    received = stack.vendor.last()
    sent = json.loads(response.request.content)
    assert "stream_options" not in sent
    assert json.loads(received.body) == {**sent, "stream_options": {"include_usage": True}}
    assert received.header("accept-encoding") == "identity"
    assert b'"choices":[],"usage":{' in b"".join(received.sent), "the vendor did send the usage"

    span = span_for(stack, response.headers)
    assert (span["input_tokens"], span["output_tokens"], span["cached_tokens"]) == (12, 6, 4)
    assert span["usage_estimated"] is False and span["cost_status"] == "priced"
    assert span["attributes"]["stream_usage_injected"] is True
    assert span["request_body"] == sent, "the span keeps the request as the client sent it"
    assert span["response_body"]["choices"][0]["message"]["content"] == fx.TEXT


def test_without_injection_the_tokens_are_estimated(stack: Stack, vendor: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _, response = sdk_stream(stack, vendor, monkeypatch)
    span = span_for(stack, response.headers)
    assert span["usage_estimated"] is True
    # The served model (gpt-4o-mini-…) picks o200k_base, for Azure's deployment name too.
    assert span["input_tokens"] == request_tokens(json.loads(response.request.content), fx.SERVED_MODEL)
    assert span["output_tokens"] == count_tokens(fx.TEXT, fx.SERVED_MODEL)
    assert span["cost_status"] == "priced" and span["cost_usd"] > 0
    assert "stream_usage_injected" not in span["attributes"]


def raw_stream(stack: Stack, path: str, body: dict[str, Any]) -> tuple[list[bytes], httpx.Headers]:
    with httpx.stream("POST", stack.glassgate.url + path, json=body, headers=AUTH, timeout=10) as response:
        assert response.status_code == 200
        return list(response.iter_raw()), response.headers


@pytest.mark.parametrize("model", ["gpt-4o-mini", "split-stream"])
def test_the_bytes_are_those_of_a_stream_without_usage(stack: Stack, model: str) -> None:
    body = {"model": model, "stream": True, "messages": [{"role": "user", "content": "Hi"}]}
    pieces, headers = raw_stream(stack, "/openai-usage" + CHAT, body)
    assert b"".join(pieces) == b"".join(fx.chat_stream(body, azure=False))
    if model == "split-stream":
        assert sum(not piece.endswith(b"\n\n") for piece in stack.vendor.last().sent) > 20, "events were cut apart"
    assert stack.glassgate.span(headers["x-glassgate-span-id"])["input_tokens"] == 12


def test_legacy_completions_streams(stack: Stack) -> None:
    body = {"model": "gpt-3.5-turbo-instruct", "prompt": "Hi", "stream": True}
    pieces, headers = raw_stream(stack, "/openai-usage/v1/completions", body)
    assert b"".join(pieces) == b"".join(fx.completion_stream(body))
    span = stack.glassgate.span(headers["x-glassgate-span-id"])
    assert (span["input_tokens"], span["output_tokens"], span["usage_estimated"]) == (3, 3, False)
    assert span["response_body"]["choices"][0]["text"] == fx.TEXT


def test_chunks_still_arrive_as_the_upstream_sends_them(stack: Stack) -> None:
    body = {"model": "slow-stream", "stream": True, "messages": []}
    arrivals: list[float] = []
    with httpx.stream("POST", stack.glassgate.url + "/openai-usage" + CHAT, json=body, headers=AUTH) as response:
        for _ in response.iter_raw():
            arrivals.append(time.monotonic())
    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(arrivals))
    assert len(arrivals) >= 40, "each 50 ms event must arrive on its own, not buffered together"
    assert gaps[len(gaps) // 2] > 0.03


@pytest.mark.parametrize(
    "body",
    [
        {"model": "gpt-4o-mini", "stream": True, "stream_options": {"include_usage": True}, "messages": []},
        {"model": "gpt-4o-mini", "messages": []},
    ],
    ids=["client asks for usage", "not a stream"],
)
def test_requests_that_need_nothing_go_unchanged(stack: Stack, body: dict[str, Any]) -> None:
    sent = json.dumps(body).encode()
    headers = {**AUTH, "content-type": "application/json", "accept-encoding": "gzip"}
    response = httpx.post(stack.glassgate.url + "/openai-usage" + CHAT, content=sent, headers=headers, timeout=10)
    received = stack.vendor.last()
    assert received.body == sent and received.header("accept-encoding") == "gzip"
    assert response.content == b"".join(received.sent)
    span = stack.glassgate.span(response.headers["x-glassgate-span-id"])
    assert span["usage_estimated"] is False and "stream_usage_injected" not in span["attributes"]
