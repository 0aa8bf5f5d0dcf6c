"""Guardrails through the official SDKs, for all four vendors: block, redact and forward untouched.

The `*-guarded` upstreams block secrets and a house rule ("project falcon") and redact PII
(conftest.py); every upstream flags PII, secrets and injection beside the call. Each case
checks what the SDK raised or received, what reached the fake vendor, and the stored span.
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

from tests.conformance.clients import anthropic_client, chat_model, sdk_client
from tests.conformance.conftest import Stack
from tests.conformance.test_bedrock_sdk import aws_env

SECRET = "sk-proj-" + "Q" * 20 + "T3BlbkFJ" + "z" * 20  # shaped like an OpenAI project key
EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PII_PROMPT = f"Refund the card {CARD} and mail {EMAIL} when done, thanks"
REDACTED_PROMPT = "Refund the card <CREDIT_CARD_1> and mail <EMAIL_1> when done, thanks"


def stored_text(span: dict[str, Any]) -> str:
    return json.dumps(span["request_body"])


def assert_blocked_span(span: dict[str, Any], category: str) -> None:
    assert span["status"] == "blocked" and span["http_status"] == 400
    assert category in span["guardrail_categories"]
    assert SECRET not in stored_text(span) and SECRET not in (span["error"] or "")
    assert any(f["action"] == "block" and f["category"] == category for f in span["findings"])


def assert_redacted_span(span: dict[str, Any]) -> None:
    assert span["status"] == "ok"
    assert EMAIL not in stored_text(span) and CARD not in stored_text(span)
    assert "<EMAIL_1>" in stored_text(span) and "<CREDIT_CARD_1>" in stored_text(span)
    assert {f["category"] for f in span["findings"] if f["action"] == "redact"} == {"EMAIL", "CREDIT_CARD"}


# --- OpenAI and Azure -------------------------------------------------------------------------


@pytest.mark.parametrize("vendor", ["openai-guarded", "azure-guarded"])
def test_openai_secret_is_blocked_with_the_sdks_bad_request_error(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, vendor: str
) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    before = len(stack.vendor.received)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model=chat_model(vendor), messages=[{"role": "user", "content": f"my key is {SECRET}"}]
        )
    assert "no-secrets" in str(caught.value) and "OPENAI_KEY" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert len(stack.vendor.received) == before, "nothing went upstream"
    assert_blocked_span(stack.glassgate.span(caught.value.response.headers["x-glassgate-span-id"]), "OPENAI_KEY")


@pytest.mark.parametrize("vendor", ["openai-guarded", "azure-guarded"])
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_openai_pii_is_redacted_upstream_and_in_the_span(
    stack: Stack, monkeypatch: pytest.MonkeyPatch, vendor: str, stream: bool
) -> None:
    client = sdk_client(vendor, stack, monkeypatch)
    raw = client.chat.completions.with_raw_response.create(
        model=chat_model(vendor),
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": PII_PROMPT}],
        stream=stream,
    )
    parsed: Any = raw.parse()
    if stream:
        assert "".join(chunk.choices[0].delta.content or "" for chunk in parsed if chunk.choices)
    else:
        assert parsed.choices[0].message.content
    sent = json.loads(stack.vendor.last().body)
    assert sent["messages"][1]["content"] == REDACTED_PROMPT
    assert sent["messages"][0]["content"] == "Be brief."
    assert_redacted_span(stack.glassgate.span(raw.headers["x-glassgate-span-id"]))


def test_openai_clean_body_is_forwarded_byte_identical(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client("openai-guarded", stack, monkeypatch)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "What is the capital of France?"}]
    )
    assert json.loads(stack.vendor.last().body) == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "user", "content": "What is the capital of France?"}],
    }
    assert raw.http_request.content == stack.vendor.last().body, "the SDK's exact bytes reached the vendor"


def test_house_rule_blocks_in_a_tool_result(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client("openai-guarded", stack, monkeypatch)
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[
                {"role": "user", "content": "Look it up"},
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "search", "arguments": "{}"}}],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "Notes on Project  Falcon launch"},
            ],
        )
    assert "house-rules" in str(caught.value)


def test_unguarded_upstreams_only_flag(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    client = sdk_client("openai", stack, monkeypatch)
    raw = client.chat.completions.with_raw_response.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": PII_PROMPT}]
    )
    assert json.loads(stack.vendor.last().body)["messages"][0]["content"] == PII_PROMPT, "flag changes nothing"
    span = stack.glassgate.span(raw.headers["x-glassgate-span-id"])
    assert span["status"] == "ok" and set(span["guardrail_categories"]) >= {"EMAIL", "CREDIT_CARD"}
    assert {f["action"] for f in span["findings"]} == {"flag"}
    assert span["attributes"]["guardrails.scanned_fields"] == 1


# --- Anthropic ----------------------------------------------------------------------------------


@pytest.fixture
def claude(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[anthropic.Anthropic]:
    with anthropic_client(stack, monkeypatch, "anthropic-guarded") as sdk:
        yield sdk


def test_anthropic_secret_in_the_system_prompt_is_blocked(stack: Stack, claude: anthropic.Anthropic) -> None:
    before = len(stack.anthropic.received)
    with pytest.raises(anthropic.BadRequestError) as caught:
        claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=64,
            system=f"Use the key {SECRET} for the tools.",
            messages=[{"role": "user", "content": "Hi"}],
        )
    assert "no-secrets" in str(caught.value) and SECRET not in str(caught.value)
    assert len(stack.anthropic.received) == before
    assert_blocked_span(stack.glassgate.span(caught.value.response.headers["x-glassgate-span-id"]), "OPENAI_KEY")


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_pii_is_redacted(stack: Stack, claude: anthropic.Anthropic, stream: bool) -> None:
    messages: Any = [{"role": "user", "content": [{"type": "text", "text": PII_PROMPT}]}]
    if stream:
        with claude.messages.stream(model="claude-haiku-4-5", max_tokens=64, messages=messages) as events:
            assert events.get_final_message().content
            span_id = events.response.headers["x-glassgate-span-id"]
    else:
        raw = claude.messages.with_raw_response.create(model="claude-haiku-4-5", max_tokens=64, messages=messages)
        assert raw.parse().content
        span_id = raw.headers["x-glassgate-span-id"]
    sent = json.loads(stack.anthropic.last().body)
    assert sent["messages"][0]["content"][0]["text"] == REDACTED_PROMPT
    assert_redacted_span(stack.glassgate.span(span_id))


# --- Bedrock ------------------------------------------------------------------------------------


@pytest.fixture
def bedrock(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    aws_env(stack, monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"{stack.glassgate.url}/bedrock-guarded")
    client = boto3.session.Session().client("bedrock-runtime")
    yield client
    client.close()


def test_bedrock_secret_is_blocked_as_a_validation_exception(stack: Stack, bedrock: Any) -> None:
    before = len(stack.bedrock.received)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        bedrock.converse(
            modelId="anthropic.claude-3-5-sonnet-20241022-v2:0",
            messages=[{"role": "user", "content": [{"text": f"key: {SECRET}"}]}],
        )
    error = caught.value.response
    assert error["Error"]["Code"] == "ValidationException" and error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert "no-secrets" in error["Error"]["Message"] and SECRET not in error["Error"]["Message"]
    assert len(stack.bedrock.received) == before
    span_id = error["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"]
    assert_blocked_span(stack.glassgate.span(span_id), "OPENAI_KEY")


@pytest.mark.parametrize("operation", ["converse", "converse_stream", "invoke_model"])
def test_bedrock_pii_is_redacted_and_the_call_re_signed(stack: Stack, bedrock: Any, operation: str) -> None:
    model = "anthropic.claude-3-5-sonnet-20241022-v2:0"
    if operation == "invoke_model":
        body = {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": [
            {"role": "user", "content": [{"type": "text", "text": PII_PROMPT}]}
        ]}  # fmt: skip
        response = bedrock.invoke_model(modelId=model, body=json.dumps(body))
        response["body"].read()
    else:
        call = getattr(bedrock, operation)
        response = call(modelId=model, messages=[{"role": "user", "content": [{"text": PII_PROMPT}]}])
        if operation == "converse_stream":
            assert list(response["stream"])
    received = stack.bedrock.last()
    assert (received.header("authorization") or "").startswith("AWS4-HMAC-SHA256 Credential=AKIAUPSTREAMFAKE0001/")
    sent = json.loads(received.body)
    text = sent["messages"][0]["content"][0]["text"]
    assert text == REDACTED_PROMPT, "the fake verified the signature over exactly this body"
    assert_redacted_span(stack.glassgate.span(response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"]))
