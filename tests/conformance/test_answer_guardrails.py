"""Guardrails on answers through the official SDKs: redacted in place, streamed or not, and
blocked with the vendor's own error (a 400, or its error event in a stream).

The `*-answers` upstreams redact PII and block secrets in what the model writes; the fakes'
`echo*` models answer with the user's own text, in 5-character stream pieces, so a value
always arrives cut across several events.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import boto3
import botocore.exceptions
import openai
import pytest

from tests.conformance.clients import anthropic_client, sdk_client
from tests.conformance.conftest import Stack
from tests.conformance.test_bedrock_sdk import aws_env
from tests.conformance.test_guardrails import SECRET
from tests.fakes import anthropic_fixtures as anthropic_fx

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
SAID = f"Write to {EMAIL} and charge {CARD} today, then write to {EMAIL} again."
REDACTED = "Write to <EMAIL_1> and charge <CREDIT_CARD_1> today, then write to <EMAIL_1> again."
LEAK = f"Sure, the key is {SECRET} and nothing else."


def stored_answer(span: dict[str, Any]) -> str:
    return json.dumps(span["response_body"])


def assert_redacted_answer(span: dict[str, Any]) -> None:
    assert span["status"] == "ok"
    assert_redacted_findings(span)


def assert_redacted_findings(span: dict[str, Any]) -> None:
    answer = stored_answer(span)
    assert EMAIL not in answer and CARD not in answer and "<EMAIL_1>" in answer
    redactions = [f for f in span["findings"] if f["phase"] == "output" and f["action"] == "redact"]
    assert sorted(f["category"] for f in redactions) == ["CREDIT_CARD", "EMAIL", "EMAIL"]


def assert_blocked_answer(span: dict[str, Any]) -> None:
    assert span["status"] == "blocked"
    assert SECRET not in stored_answer(span) and SECRET not in (span["error"] or "")
    assert any(f["phase"] == "output" and f["action"] == "block" for f in span["findings"])


# --- OpenAI and Azure: Chat Completions -----------------------------------------------------------


@pytest.mark.parametrize("vendor", ["openai-answers", "azure-answers"])
def test_chat_answer_is_redacted(stack: Stack, monkeypatch: pytest.MonkeyPatch, vendor: str) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    raw = client.chat.completions.with_raw_response.create(
        model="echo-4o", messages=[{"role": "user", "content": SAID}]
    )
    assert raw.parse().choices[0].message.content == REDACTED
    assert json.loads(stack.vendor.last().body)["messages"][0]["content"] == SAID, "the request is untouched"
    assert_redacted_answer(stack.glassgate.span(raw.headers["x-glassgate-span-id"]))


@pytest.mark.parametrize("vendor", ["openai-answers", "azure-answers"])
def test_chat_stream_is_redacted_while_it_streams(stack: Stack, monkeypatch: pytest.MonkeyPatch, vendor: str) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    raw = client.chat.completions.with_raw_response.create(
        model="echo-4o", messages=[{"role": "user", "content": SAID}], stream=True
    )
    deltas = [chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices]
    assert "".join(deltas) == REDACTED
    # Released as it streamed: many deltas carried text, not one at the end.
    assert sum(1 for delta in deltas if delta) >= 8
    assert_redacted_answer(stack.glassgate.span(raw.headers["x-glassgate-span-id"]))


@pytest.mark.parametrize("vendor", ["openai-answers", "azure-answers"])
def test_a_guarded_stream_is_read_to_its_end_after_the_client_leaves(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, vendor: str
) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    stream = client.chat.completions.create(
        model="echo-slow",  # the user's text, a chunk every 50 ms: the values come after the hang-up
        messages=[{"role": "user", "content": SAID}],
        stream=True,
        stream_options={"include_usage": True},
    )
    next(iter(stream))
    stream.close()
    span = stack.glassgate.span(stream.response.headers["x-glassgate-span-id"], timeout_s=15)
    assert span["status"] == "cancelled"
    # The vendor's own count, as for an unguarded stream: not an estimate from a cut answer.
    assert (span["input_tokens"], span["usage_estimated"]) == (12, False)
    # The rest of the answer went through the guard on its way to the span: stored redacted.
    assert span["response_body"]["choices"][0]["message"]["content"] == REDACTED
    assert_redacted_findings(span)


def test_chat_answer_with_a_secret_is_blocked(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client("openai-answers", stack, monkeypatch)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="echo-4o", messages=[{"role": "user", "content": LEAK}])
    assert "answers-secrets" in str(caught.value) and SECRET not in str(caught.value)
    assert_blocked_answer(stack.glassgate.span(caught.value.response.headers["x-glassgate-span-id"]))


def test_chat_stream_with_a_secret_ends_with_the_vendors_error_event(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = sdk_client("openai-answers", stack, monkeypatch)
    raw = client.chat.completions.with_raw_response.create(
        model="echo-4o", messages=[{"role": "user", "content": LEAK}], stream=True
    )
    received = ""
    with pytest.raises(openai.APIError) as caught:
        for chunk in raw.parse():
            received += (chunk.choices[0].delta.content or "") if chunk.choices else ""
    assert received.startswith("Sure, the key is") and SECRET[:8] not in received
    assert "answers-secrets" in str(caught.value)
    assert_blocked_answer(stack.glassgate.span(raw.headers["x-glassgate-span-id"]))


# --- OpenAI: Responses API --------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_responses_answer_is_redacted(stack: Stack, monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    client = sdk_client("openai-answers", stack, monkeypatch)
    final: Any
    if stream:
        streamed = client.responses.with_raw_response.create(model="echo-4.1", input=SAID, stream=True)
        events = list(streamed.parse())
        deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
        assert "".join(deltas) == REDACTED
        final = next(event.response for event in events if event.type == "response.completed")
        span_id = streamed.headers["x-glassgate-span-id"]
    else:
        raw = client.responses.with_raw_response.create(model="echo-4.1", input=SAID)
        final, span_id = raw.parse(), raw.headers["x-glassgate-span-id"]
    assert final.output_text == REDACTED, "the final events carry the redacted text too"
    assert_redacted_answer(stack.glassgate.span(span_id))


# --- Anthropic --------------------------------------------------------------------------------------


@pytest.fixture
def claude(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[anthropic.Anthropic]:
    with anthropic_client(stack, monkeypatch, "anthropic-answers") as sdk:
        yield sdk


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_answer_is_redacted(stack: Stack, claude: anthropic.Anthropic, stream: bool) -> None:
    messages: Any = [{"role": "user", "content": SAID}]
    if stream:
        with claude.messages.stream(model="echo-haiku", max_tokens=64, messages=messages) as events:
            deltas = [
                event.delta.text
                for event in events
                if event.type == "content_block_delta" and event.delta.type == "text_delta"
            ]
            text: Any = events.get_final_message().content[0]
            span_id = events.response.headers["x-glassgate-span-id"]
        assert "".join(deltas) == REDACTED and sum(1 for delta in deltas if delta) >= 8
    else:
        raw = claude.messages.with_raw_response.create(model="echo-haiku", max_tokens=64, messages=messages)
        text, span_id = raw.parse().content[0], raw.headers["x-glassgate-span-id"]
    assert text.type == "text" and text.text == REDACTED
    assert_redacted_answer(stack.glassgate.span(span_id))


def test_a_guarded_anthropic_stream_is_read_to_its_end_after_the_client_leaves(
    stack: Stack, claude: anthropic.Anthropic
) -> None:
    messages: Any = [{"role": "user", "content": SAID}]
    with claude.messages.stream(model="echo-slow", max_tokens=64, messages=messages) as events:
        next(iter(events))
        span_id = events.response.headers["x-glassgate-span-id"]
    span = stack.glassgate.span(span_id, timeout_s=15)
    assert span["status"] == "cancelled"
    assert (span["output_tokens"], span["usage_estimated"]) == (anthropic_fx.OUTPUT, False)  # message_start says 1
    assert span["response_body"]["content"][0]["text"] == REDACTED
    assert_redacted_findings(span)


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_answer_with_a_secret_is_blocked(stack: Stack, claude: anthropic.Anthropic, stream: bool) -> None:
    messages: Any = [{"role": "user", "content": LEAK}]
    with pytest.raises(anthropic.APIError) as caught:
        if stream:
            with claude.messages.stream(model="echo-haiku", max_tokens=64, messages=messages) as events:
                for _ in events:
                    pass
        else:
            claude.messages.create(model="echo-haiku", max_tokens=64, messages=messages)
    assert "answers-secrets" in str(caught.value) and SECRET not in str(caught.value)
    if not stream:
        assert isinstance(caught.value, anthropic.BadRequestError)


# --- Bedrock ----------------------------------------------------------------------------------------


@pytest.fixture
def bedrock(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    aws_env(stack, monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"{stack.glassgate.url}/bedrock-answers")
    client = boto3.session.Session().client("bedrock-runtime")
    yield client
    client.close()


def test_bedrock_converse_answer_is_redacted(stack: Stack, bedrock: Any) -> None:
    response = bedrock.converse(
        modelId="anthropic.claude-3-5-sonnet-20241022-v2:0",
        messages=[{"role": "user", "content": [{"text": "echo:" + SAID}]}],
    )
    assert response["output"]["message"]["content"][0]["text"] == REDACTED
    assert_redacted_answer(stack.glassgate.span(response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"]))


@pytest.mark.parametrize("operation", ["converse_stream", "invoke_model_with_response_stream"])
def test_bedrock_stream_is_redacted(stack: Stack, bedrock: Any, operation: str) -> None:
    model = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    if operation == "converse_stream":
        response = bedrock.converse_stream(
            modelId=model, messages=[{"role": "user", "content": [{"text": "echo:" + SAID}]}]
        )
        deltas = [e["contentBlockDelta"]["delta"]["text"] for e in response["stream"] if "contentBlockDelta" in e]
    else:
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": [
            {"role": "user", "content": "echo:" + SAID}
        ]}  # fmt: skip
        response = bedrock.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
        inner = [json.loads(e["chunk"]["bytes"]) for e in response["body"] if "chunk" in e]
        deltas = [e["delta"]["text"] for e in inner if e["type"] == "content_block_delta"]
    assert "".join(deltas) == REDACTED and sum(1 for delta in deltas if delta) >= 8
    assert_redacted_answer(stack.glassgate.span(response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"]))


def test_bedrock_stream_with_a_secret_raises_the_vendors_stream_error(stack: Stack, bedrock: Any) -> None:
    response = bedrock.converse_stream(
        modelId="anthropic.claude-3-5-sonnet-20241022-v2:0",
        messages=[{"role": "user", "content": [{"text": "echo:" + LEAK}]}],
    )
    with pytest.raises(botocore.exceptions.EventStreamError) as caught:
        try:
            for _ in response["stream"]:
                pass
        finally:
            response["stream"].close()  # the stream ended in an error: release its connection
    assert caught.value.response["Error"]["Code"] == "validationException"
    assert "answers-secrets" in str(caught.value) and SECRET not in str(caught.value)
    assert_blocked_answer(stack.glassgate.span(response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"]))
