"""No vendor or streaming mode skipped: through the official SDKs, output guardrails reach Bedrock
InvokeModel streams of every text family (Titan Text, Llama, Mistral in its prompt and chat
forms, Cohere Command R and command-text), their non-streamed answers, OpenAI chat refusals and
reasoning, and the Responses API's refusals and MCP call output. What the client assembles is
redacted (or restored), a secret ends the stream with the vendor's error, and the stored span
never holds a matched value.

A Glassgate of its own in front of a fake vendor (tests/fakes/text_channels_server.py) whose
models write the user's text back in 7-character stream pieces.

Upstreams, per vendor (openai, bedrock):
    {vendor}-redact    output policies: PII redacted, secrets blocked
    {vendor}-restore   PII redacted in the request with `restore: true`
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.exceptions
import openai
import pytest

from tests.conformance.clients import point_boto3_at
from tests.conformance.conftest import BEDROCK_REGION, UPSTREAM_AWS_KEY
from tests.fakes.text_channels_server import ANSWER, FakeTextChannels
from tests.fakes.vendor_server import ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, create_database, start_glassgate

SECRET = "sk-proj-" + "Q" * 20 + "T3BlbkFJ" + "z" * 20
EMAIL, CARD = "jane.doe@example.com", "4111 1111 1111 1111"
SAID = f"Write to {EMAIL} and charge {CARD} today."
MASKED = "Write to <EMAIL_1> and charge <CREDIT_CARD_1> today."
LEAK = f"Use the key {SECRET} now."
VALUES = (EMAIL, CARD, SECRET)


@dataclasses.dataclass(frozen=True)
class ChannelStack:
    glassgate: GlassgateProcess
    vendor: FakeTextChannels
    aws_key: dict[str, str]


@pytest.fixture(scope="module")
def channels(
    postgres_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ChannelStack]:
    vendor = FakeTextChannels()
    server = ServerThread(vendor.app()).start()
    workdir = tmp_path_factory.mktemp("glassgate-channels")
    aws = {"type": "aws", "access_key_id": UPSTREAM_AWS_KEY[0], "secret_access_key": "${UPSTREAM_AWS_SECRET}"}
    upstream = {
        "openai": {"vendor": "openai", "url": server.url},
        "bedrock": {"vendor": "bedrock", "region": BEDROCK_REGION, "url": server.url, "auth": aws},
    }
    redact, restore = ["openai-redact", "bedrock-redact"], ["openai-restore", "bedrock-restore"]
    config = {
        "data_dir": str(workdir / "data"),
        "database_url": create_database(postgres_url, "conformance_channels", template=template_database),
        "admin_token": ADMIN_TOKEN,
        "proxy": {"max_body_bytes": 1024 * 1024, "drain_timeout_s": 5, "read_timeout_s": 5, "connect_timeout_s": 2},
        "tracing": {"flush_interval_ms": 10},
        "guardrails": [
            {"name": "out-pii", "detectors": ["pii"], "phases": ["output"], "action": "redact", "upstreams": redact},
            {
                "name": "out-keys",
                "detectors": ["secrets"],
                "phases": ["output"],
                "action": "block",
                "upstreams": redact,
            },
            {"name": "mask-pii", "detectors": ["pii"], "action": "redact", "restore": True, "upstreams": restore},
        ],
        "upstreams": {f"{name}-{mode}": upstream[name] for name in upstream for mode in ("redact", "restore")},
    }
    env = {"UPSTREAM_AWS_SECRET": UPSTREAM_AWS_KEY[1]}
    glassgate = start_glassgate(config, workdir, env)
    try:
        aws_key = glassgate.cli_json("keys", "create", "--project", "channels", "--aws")
        yield ChannelStack(glassgate, vendor, aws_key)
    finally:
        status = glassgate.stop()
        server.stop()
    log = glassgate.log()
    assert status in (0, -15), log
    assert "Traceback" not in log, log
    assert not [value for value in VALUES if value in log], "a value reached the log"


def stored_span(channels: ChannelStack, span_id: str, *, answer_only: bool = True) -> dict[str, Any]:
    """The stored span, with no matched value in what the vendor answered (`answer_only`; the
    `*-redact` upstreams store the request as sent) or anywhere (`*-restore`)."""
    span = channels.glassgate.span(span_id)
    kept = {key: span[key] for key in ("response_body", "output_preview", "findings", "error")} if answer_only else span
    assert not [value for value in VALUES if value in json.dumps(kept)], "a value reached the stored span"
    return span


def output_redactions(span: dict[str, Any]) -> list[str]:
    return sorted(f["category"] for f in span["findings"] if f["phase"] == "output" and f["action"] == "redact")


# --- Bedrock InvokeModel: every text family, streamed and whole ------------------------------------------


def _joined(read: Callable[[dict[str, Any]], Any]) -> Callable[[list[dict[str, Any]]], str]:
    return lambda chunks: "".join(text for chunk in chunks if isinstance(text := read(chunk), str))


def _cohere_text(chunks: list[dict[str, Any]]) -> str:
    text = _joined(lambda c: c.get("text") if c.get("event_type") == "text-generation" else None)(chunks)
    response = chunks[-1]["response"]
    assert response["text"] == response["chat_history"][-1]["message"] == text, "stream-end repeats the answer"
    return text


# (model id, its request body for `said`, the text the client assembles from the model chunks)
FAMILIES: list[tuple[str, Callable[[str], dict[str, Any]], Callable[[list[dict[str, Any]]], str]]] = [
    ("amazon.titan-text-express-v1", lambda s: {"inputText": s}, _joined(lambda c: c.get("outputText"))),
    (
        "meta.llama3-8b-instruct-v1:0",
        lambda s: {"prompt": s, "max_gen_len": 64},
        _joined(lambda c: c.get("generation")),
    ),
    (
        "mistral.mistral-7b-instruct-v0:2",
        lambda s: {"prompt": s, "max_tokens": 64},
        _joined(lambda c: c["outputs"][0]["text"]),
    ),
    (
        "mistral.mistral-large-2407-v1:0",
        lambda s: {"messages": [{"role": "user", "content": s}], "max_tokens": 64},
        _joined(lambda c: c["choices"][0]["message"].get("content")),
    ),
    ("cohere.command-r-v1:0", lambda s: {"message": s, "chat_history": []}, _cohere_text),
    (
        "cohere.command-text-v14",
        lambda s: {"prompt": s, "max_tokens": 64},
        _joined(lambda c: c["generations"][0]["text"]),
    ),
]
BY_FAMILY = [pytest.param(*family, id=family[0].split(".")[1][:16]) for family in FAMILIES]


@contextlib.contextmanager
def bedrock(channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, upstream: str) -> Iterator[Any]:
    key = channels.aws_key
    point_boto3_at(
        monkeypatch,
        f"{channels.glassgate.url}/{upstream}",
        BEDROCK_REGION,
        key["access_key_id"],
        key["secret_access_key"],
    )
    client = boto3.session.Session().client("bedrock-runtime")
    try:
        yield client
    finally:
        client.close()


def invoke_stream(
    channels: ChannelStack,
    monkeypatch: pytest.MonkeyPatch,
    upstream: str,
    model: str,
    body: dict[str, Any],
    spans: list[str],
) -> list[dict[str, Any]]:
    """The model chunks boto3 yields (it checks every frame's CRCs and decodes `bytes`)."""
    with bedrock(channels, monkeypatch, upstream) as client:
        response = client.invoke_model_with_response_stream(modelId=model, body=json.dumps(body))
        spans.append(response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"])
        with contextlib.closing(response["body"]) as events:
            return [json.loads(event["chunk"]["bytes"]) for event in events if "chunk" in event]


@pytest.mark.parametrize(("model", "request_of", "text_of"), BY_FAMILY)
def test_invoke_stream_of_each_family_is_redacted_as_it_streams(
    channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, model: str, request_of: Any, text_of: Any
) -> None:
    spans: list[str] = []
    chunks = invoke_stream(channels, monkeypatch, "bedrock-redact", model, request_of(SAID), spans)
    assert text_of(chunks) == MASKED
    assert "amazon-bedrock-invocationMetrics" in chunks[-1], "the last chunk keeps Bedrock's counts"
    span = stored_span(channels, spans[0])
    assert span["status"] == "ok" and "<EMAIL_1>" in json.dumps(span["response_body"])
    assert output_redactions(span) == ["CREDIT_CARD", "EMAIL"]
    assert not [n for n in span["attributes"].get("guardrails.notes", []) if "not blocked or redacted" in n]


@pytest.mark.parametrize(("model", "request_of", "text_of"), BY_FAMILY)
def test_a_secret_in_an_invoke_stream_of_each_family_raises_in_boto3(
    channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, model: str, request_of: Any, text_of: Any
) -> None:
    spans: list[str] = []
    with pytest.raises(botocore.exceptions.EventStreamError) as caught:
        invoke_stream(channels, monkeypatch, "bedrock-redact", model, request_of(LEAK), spans)
    assert caught.value.response["Error"]["Code"] == "validationException"
    assert "out-keys" in str(caught.value) and SECRET[:12] not in str(caught.value)
    span = stored_span(channels, spans[0])
    assert span["status"] == "blocked"


@pytest.mark.parametrize(("model", "request_of", "text_of"), BY_FAMILY)
def test_invoke_stream_of_each_family_restores_the_clients_values(
    channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, model: str, request_of: Any, text_of: Any
) -> None:
    spans: list[str] = []
    chunks = invoke_stream(channels, monkeypatch, "bedrock-restore", model, request_of(SAID), spans)
    assert text_of(chunks) == SAID
    sent = channels.vendor.last().body.decode()
    assert EMAIL not in sent and "<EMAIL_1>" in sent
    span = stored_span(channels, spans[0], answer_only=False)
    assert "<EMAIL_1>" in json.dumps(span["response_body"])


@pytest.mark.parametrize(("model", "request_of", "text_of"), BY_FAMILY)
def test_whole_invoke_answers_of_each_family_are_redacted_wherever_they_repeat_the_text(
    channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, model: str, request_of: Any, text_of: Any
) -> None:
    with bedrock(channels, monkeypatch, "bedrock-redact") as client:
        response = client.invoke_model(modelId=model, body=json.dumps(request_of(SAID)))
        answer = response["body"].read().decode()
    assert EMAIL not in answer and CARD not in answer and "<EMAIL_1>" in answer
    span = stored_span(channels, response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"])
    assert {"CREDIT_CARD", "EMAIL"} <= set(output_redactions(span))


# --- OpenAI: chat refusals and reasoning, Responses refusals and MCP output ------------------------------


def openai_client(channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, upstream: str) -> openai.OpenAI:
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "AZURE_OPENAI_ENDPOINT", "AZURE_OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", f"{channels.glassgate.url}/{upstream}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-client-own-key")
    return openai.OpenAI()


def chat_channels(
    channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, upstream: str, model: str, said: str
) -> tuple[dict[str, str], str]:
    """Each delta field's text, as the SDK's chunks carry it, and the span id."""
    with openai_client(channels, monkeypatch, upstream) as client:
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=[{"role": "user", "content": said}], stream=True
        )
        joined: dict[str, str] = {}
        for chunk in raw.parse():
            for choice in chunk.choices:
                delta = choice.delta.model_dump(exclude_none=True)
                for field in ("content", "refusal", "reasoning_content"):
                    joined[field] = joined.get(field, "") + (delta.get(field) or "")
    return joined, raw.headers["x-glassgate-span-id"]


@pytest.mark.parametrize(("model", "field"), [("refuser", "refusal"), ("reasoner", "reasoning_content")])
def test_chat_refusals_and_reasoning_are_redacted_as_they_stream(
    channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, model: str, field: str
) -> None:
    joined, span_id = chat_channels(channels, monkeypatch, "openai-redact", model, SAID)
    assert joined[field] == MASKED
    assert joined["content"] == ("" if model == "refuser" else ANSWER)
    span = stored_span(channels, span_id)
    assert output_redactions(span) == ["CREDIT_CARD", "EMAIL"]
    assert {f["field"] for f in span["findings"] if f["phase"] == "output"} == {f"choices[0].message.{field}"}


def test_chat_reasoning_restores_the_clients_values(channels: ChannelStack, monkeypatch: pytest.MonkeyPatch) -> None:
    joined, span_id = chat_channels(channels, monkeypatch, "openai-restore", "reasoner", SAID)
    assert joined["reasoning_content"] == SAID
    stored_span(channels, span_id, answer_only=False)


def test_a_secret_in_chat_reasoning_ends_the_stream(channels: ChannelStack, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(openai.APIError) as caught:
        chat_channels(channels, monkeypatch, "openai-redact", "reasoner", LEAK)
    assert "out-keys" in str(caught.value)


def responses_events(
    channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, upstream: str, model: str
) -> tuple[list[Any], str]:
    with openai_client(channels, monkeypatch, upstream) as client:
        raw = client.responses.with_raw_response.create(model=model, input=SAID, stream=True)
        return list(raw.parse()), raw.headers["x-glassgate-span-id"]


@pytest.mark.parametrize("upstream", ["openai-redact", "openai-restore"])
def test_responses_refusals_are_guarded_in_deltas_and_final_events(
    channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, upstream: str
) -> None:
    events, span_id = responses_events(channels, monkeypatch, upstream, "refuser")
    expected = MASKED if upstream == "openai-redact" else SAID
    deltas = "".join(e.delta for e in events if e.type == "response.refusal.delta")
    done = next(e.refusal for e in events if e.type == "response.refusal.done")
    final = next(e.response for e in events if e.type == "response.completed").output[0].content[0]
    assert deltas == done == final.refusal == expected
    span = stored_span(channels, span_id, answer_only=upstream == "openai-redact")
    if upstream == "openai-redact":
        assert output_redactions(span) == ["CREDIT_CARD", "EMAIL"]


@pytest.mark.parametrize("upstream", ["openai-redact", "openai-restore"])
def test_an_mcp_calls_output_is_guarded_in_the_final_events(
    channels: ChannelStack, monkeypatch: pytest.MonkeyPatch, upstream: str
) -> None:
    events, span_id = responses_events(channels, monkeypatch, upstream, "mcp")
    expected = MASKED if upstream == "openai-redact" else SAID
    item = next(e.item for e in events if e.type == "response.output_item.done" and e.item.type == "mcp_call")
    final = next(e.response for e in events if e.type == "response.completed")
    assert item.output == final.output[0].output == expected
    assert final.output_text == ANSWER
    span = stored_span(channels, span_id, answer_only=upstream == "openai-redact")
    if upstream == "openai-redact":
        assert output_redactions(span) == ["CREDIT_CARD", "EMAIL"], "read once, however many events repeat it"
        assert {f["field"] for f in span["findings"] if f["phase"] == "output"} == {"output[0].output"}
