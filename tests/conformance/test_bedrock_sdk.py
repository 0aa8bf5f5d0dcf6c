"""Bedrock through Glassgate with the official boto3 and AnthropicBedrock, configured by env vars only.

boto3 signs for Glassgate's host with a Glassgate-issued key pair; Glassgate verifies that
signature over the raw request and re-signs with its own AWS credentials, which the fake
Bedrock checks as AWS would. Event streams are relayed frame for frame.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import botocore.exceptions
import httpx
import pytest

from tests.conformance.clients import point_boto3_at
from tests.conformance.conftest import BEDROCK_REGION, Stack
from tests.fakes import bedrock_fixtures as fx

CLAUDE = "anthropic.claude-3-5-sonnet-20241022-v2:0"
PROFILE = "us.anthropic.claude-3-5-sonnet-20241022-v2:0"
ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123xyz"
MESSAGES = [{"role": "user", "content": [{"text": "Hi"}]}]


def aws_env(stack: Stack, monkeypatch: pytest.MonkeyPatch, secret: str | None = None) -> None:
    point_boto3_at(
        monkeypatch,
        f"{stack.glassgate.url}/bedrock",
        BEDROCK_REGION,
        stack.aws_key["access_key_id"],
        secret or stack.aws_key["secret_access_key"],
    )


@pytest.fixture
def client(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    aws_env(stack, monkeypatch)
    bedrock = boto3.session.Session().client("bedrock-runtime")
    yield bedrock
    bedrock.close()


def span_of(stack: Stack, response: dict[str, Any]) -> dict[str, Any]:
    span_id = response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"]
    return stack.glassgate.span(span_id)


def assert_resigned(stack: Stack) -> None:
    """The fake verified Glassgate's signature; check nothing of the client's signature leaked."""
    received = stack.bedrock.last()
    authorization = received.header("authorization") or ""
    assert authorization.startswith("AWS4-HMAC-SHA256 Credential=AKIAUPSTREAMFAKE0001/")
    assert stack.aws_key["access_key_id"] not in str(received.headers)


@pytest.mark.parametrize("model", [CLAUDE, PROFILE, ARN])
def test_converse(stack: Stack, client: Any, model: str) -> None:
    response = client.converse(
        modelId=model, messages=MESSAGES, system=[{"text": "Be brief."}], inferenceConfig={"maxTokens": 64}
    )
    assert response["output"]["message"]["content"][0]["text"] == fx.TEXT
    assert response["usage"]["inputTokens"] == 12
    received = stack.bedrock.last()
    assert received.raw_path.split("/")[2] == model.replace(":", "%3A").replace("/", "%2F"), "boto3's encoding is kept"
    assert (
        received.body
        == json.dumps(
            {"messages": MESSAGES, "system": [{"text": "Be brief."}], "inferenceConfig": {"maxTokens": 64}}
        ).encode()
    )
    assert_resigned(stack)
    span = span_of(stack, response)
    assert span["status"] == "ok" and span["vendor"] == "bedrock" and span["operation"] == "converse"
    assert span["model"] == model
    assert (span["input_tokens"], span["output_tokens"], span["cached_tokens"]) == (16, 6, 4)
    assert span["project"] == "team-b" and span["key_id"] == stack.aws_key["access_key_id"]
    # An application inference profile ARN hides the model: unpriced, never $0.
    assert span["cost_status"] == ("unpriced" if model == ARN else "priced")
    assert (span["cost_usd"] is None) == (model == ARN)


def test_converse_stream(stack: Stack, client: Any) -> None:
    response = client.converse_stream(modelId=PROFILE, messages=MESSAGES)
    events = list(response["stream"])
    text = "".join(event["contentBlockDelta"]["delta"]["text"] for event in events if "contentBlockDelta" in event)
    assert text == fx.TEXT
    assert events[-1]["metadata"]["usage"]["outputTokens"] == 6
    assert_resigned(stack)
    span = span_of(stack, response)
    assert span["operation"] == "converse_stream" and span["streamed"] is True
    assert span["output_tokens"] == 6 and span["ttft_ms"] is not None
    assert span["response_body"]["output"]["message"]["content"][0]["text"] == fx.TEXT


def test_converse_tool_use(stack: Stack, client: Any) -> None:
    tools = {"tools": [{"toolSpec": {"name": "get_weather", "inputSchema": {"json": {"type": "object"}}}}]}
    response = client.converse_stream(modelId=CLAUDE, messages=MESSAGES, toolConfig=tools)
    pieces = [
        event["contentBlockDelta"]["delta"]["toolUse"]["input"]
        for event in response["stream"]
        if "contentBlockDelta" in event
    ]
    assert json.loads("".join(pieces)) == {"city": "Paris"}
    span = span_of(stack, response)
    tool_use = span["response_body"]["output"]["message"]["content"][0]["toolUse"]
    assert tool_use["name"] == "get_weather" and tool_use["input"] == {"city": "Paris"}


@pytest.mark.parametrize(
    "model",
    [
        CLAUDE,
        "amazon.nova-lite-v1:0",
        "amazon.titan-text-express-v1",
        "meta.llama3-8b-instruct-v1:0",
        "mistral.mistral-7b-instruct-v0:2",
        "cohere.command-r-v1:0",
    ],
)
def test_invoke_model_families(stack: Stack, client: Any, model: str) -> None:
    body = json.dumps(
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    )
    response = client.invoke_model(modelId=model, body=body)
    answer = json.loads(response["body"].read())
    assert fx.TEXT in json.dumps(answer)
    assert stack.bedrock.last().body == body.encode()
    span = span_of(stack, response)
    assert span["operation"] == "invoke" and span["output_tokens"] == 6
    assert span["input_tokens"] >= 12


def test_invoke_with_response_stream(stack: Stack, client: Any) -> None:
    body = json.dumps(
        {"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": [{"role": "user", "content": "Hi"}]}
    )
    response = client.invoke_model_with_response_stream(modelId=CLAUDE, body=body)
    chunks = [json.loads(event["chunk"]["bytes"]) for event in response["body"]]
    text = "".join(chunk["delta"]["text"] for chunk in chunks if chunk["type"] == "content_block_delta")
    assert text == fx.TEXT
    assert chunks[-1]["amazon-bedrock-invocationMetrics"]["outputTokenCount"] == 6
    span = span_of(stack, response)
    assert span["operation"] == "invoke_stream" and (span["input_tokens"], span["output_tokens"]) == (12, 6)


def test_event_stream_is_relayed_frame_for_frame(stack: Stack) -> None:
    """Signed like boto3 does it (botocore's signer), read as raw bytes."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    url = f"{stack.glassgate.url}/bedrock/model/{CLAUDE.replace(':', '%3A')}/converse-stream"
    body = json.dumps({"messages": MESSAGES}).encode()
    request = AWSRequest(method="POST", url=url, data=body, headers={"Content-Type": "application/json"})
    credentials = Credentials(stack.aws_key["access_key_id"], stack.aws_key["secret_access_key"])
    SigV4Auth(credentials, "bedrock", BEDROCK_REGION).add_auth(request)
    with httpx.stream("POST", url, content=body, headers=dict(request.headers)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/vnd.amazon.eventstream"
        received = b"".join(response.iter_raw())
    assert received == b"".join(stack.bedrock.last().sent)


def test_mid_stream_exception_reaches_the_client_and_the_span(stack: Stack, client: Any) -> None:
    body = json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": []})
    response = client.invoke_model_with_response_stream(modelId="stream-exception.claude", body=body)
    with pytest.raises(botocore.exceptions.EventStreamError) as caught:
        list(response["body"])
    response["body"].close()
    assert caught.value.response["Error"]["Code"] == "modelStreamErrorException"
    span = span_of(stack, response)
    assert span["status"] == "error" and span["attributes"]["error.type"] == "modelStreamErrorException"


@pytest.mark.parametrize(
    ("model", "code", "status"), [("throttled", "ThrottlingException", 429), ("error-400", "ValidationException", 400)]
)
def test_http_errors_keep_their_aws_shape(stack: Stack, client: Any, model: str, code: str, status: int) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.converse(modelId=model, messages=MESSAGES)
    error = caught.value.response
    assert error["Error"]["Code"] == code and error["ResponseMetadata"]["HTTPStatusCode"] == status
    span = span_of(stack, error)
    assert span["status"] == "error" and span["http_status"] == status


def test_wrong_secret_is_refused_before_anything_goes_upstream(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    aws_env(stack, monkeypatch, secret="not-the-issued-secret")
    client = boto3.session.Session().client("bedrock-runtime")
    before = len(stack.bedrock.received)
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.converse(modelId=CLAUDE, messages=MESSAGES)
    client.close()
    error = caught.value.response
    assert error["Error"]["Code"] == "AccessDeniedException" and error["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "signature does not match" in error["Error"]["Message"]
    assert len(stack.bedrock.received) == before


def test_unknown_key_id_is_named(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    aws_env(stack, monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKGGNOTISSUEDATALL00")
    client = boto3.session.Session().client("bedrock-runtime")
    with pytest.raises(botocore.exceptions.ClientError) as caught:
        client.converse(modelId=CLAUDE, messages=MESSAGES)
    client.close()
    assert "unknown or revoked access key id AKGGNOTISSUEDATALL00" in caught.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("authorization", "message"),
    [(None, "missing Authorization"), ("AWS4-HMAC-SHA256 garbage", "not a well-formed")],
)
def test_missing_or_malformed_signature(stack: Stack, authorization: str | None, message: str) -> None:
    headers = {"content-type": "application/json"} | ({"authorization": authorization} if authorization else {})
    response = httpx.post(f"{stack.glassgate.url}/bedrock/model/{CLAUDE}/converse", content=b"{}", headers=headers)
    assert response.status_code == 403
    assert (
        response.headers["x-amzn-errortype"].startswith("AccessDeniedException")
        or "Missing" in response.headers["x-amzn-errortype"]
    )
    assert message in response.json()["message"]


def test_bedrock_api_key_passes_through(stack: Stack) -> None:
    response = httpx.post(
        f"{stack.glassgate.url}/bedrock/model/{CLAUDE}/converse",
        content=json.dumps({"messages": MESSAGES}).encode(),
        headers={"authorization": "Bearer bedrock-api-key-abc", "content-type": "application/json"},
    )
    assert response.status_code == 200
    assert stack.bedrock.last().header("authorization") == "Bearer bedrock-api-key-abc"


def test_client_disconnect_is_recorded_with_usage(stack: Stack, client: Any) -> None:
    response = client.converse_stream(modelId="slow-stream", messages=MESSAGES)
    stream = response["stream"]
    next(iter(stream))
    stream.close()
    span = stack.glassgate.span(response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"], timeout_s=15)
    assert span["status"] == "cancelled"
    assert span["output_tokens"] == 6, "the rest of the stream is drained for its usage"


def test_anthropic_bedrock_sdk(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    import anthropic

    aws_env(stack, monkeypatch)
    monkeypatch.setenv("ANTHROPIC_BEDROCK_BASE_URL", f"{stack.glassgate.url}/bedrock")
    monkeypatch.setenv("AWS_REGION", BEDROCK_REGION)
    client = anthropic.AnthropicBedrock()
    message = client.messages.create(model=CLAUDE, max_tokens=32, messages=[{"role": "user", "content": "Hi"}])
    assert message.content[0].text == fx.TEXT  # type: ignore[union-attr]
    received = stack.bedrock.last()
    assert f"/model/{CLAUDE}/invoke" == received.raw_path, "AnthropicBedrock's raw ':' is kept"
    with client.messages.stream(model=CLAUDE, max_tokens=32, messages=[{"role": "user", "content": "Hi"}]) as stream:
        assert "".join(stream.text_stream) == fx.TEXT
    assert stack.bedrock.last().raw_path == f"/model/{CLAUDE}/invoke-with-response-stream"
