"""Streamed tool-call arguments guarded like text, through the official SDKs, in every format:
redacted (the arguments the SDK assembles still parse as JSON, with placeholders in them),
blocked with the vendor's own stream error, a request's placeholders restored for the client,
and flagged on the span. The stored span never holds a value that was redacted or restored.

A Glassgate of its own in front of a fake vendor (tests/fakes/tool_call_server.py) whose model
answers every call with one tool call that carries the user's text back, twice, as JSON text
cut into 7-character stream pieces: values and escapes arrive cut across events.

Upstreams, per vendor (openai, azure, anthropic, bedrock):
    {vendor}-args      output policies: PII redacted, secrets blocked
    {vendor}-restore   PII redacted in the request with `restore: true`
    {vendor}-flag      output PII and secrets flagged (nothing changes)
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import boto3
import botocore.exceptions
import openai
import pytest
from openai.lib.streaming.chat import ChatCompletionStreamState

from tests.conformance.clients import point_boto3_at
from tests.conformance.conftest import BEDROCK_REGION, UPSTREAM_AWS_KEY
from tests.fakes.tool_call_server import TOOL, FakeToolCaller
from tests.fakes.vendor_server import ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, create_database, start_glassgate

SECRET = "sk-proj-" + "Q" * 20 + "T3BlbkFJ" + "z" * 20
EMAIL, CARD = "jane.doe@example.com", "4111 1111 1111 1111"
SAID = f'Write to {EMAIL} "today", charge {CARD}.\nThanks'  # a quote and a newline: escaped in the JSON
MASKED = 'Write to <EMAIL_1> "today", charge <CREDIT_CARD_1>.\nThanks'
LEAK = f"Use the key {SECRET} now"
VALUES = (EMAIL, CARD, SECRET)
VENDORS = ("openai", "azure", "anthropic", "bedrock")
CLAUDE_ON_BEDROCK = "anthropic.claude-3-5-sonnet-20241022-v2:0"
PARAMETERS = {"type": "object", "properties": {"to": {"type": "string"}}}
API_VERSION = "2024-10-21"


class ErrorEvent(Exception):
    """The Responses API's `error` event, which its SDK yields rather than raises."""


def arguments(text: str) -> dict[str, Any]:
    """The tool call's arguments, as the fake model writes them for `text`."""
    return {"to": text, "lines": [text, "done"], "count": 2}


@dataclasses.dataclass(frozen=True)
class ToolStack:
    glassgate: GlassgateProcess
    vendor: FakeToolCaller
    aws_key: dict[str, str]


@pytest.fixture(scope="module")
def tools(postgres_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToolStack]:
    vendor = FakeToolCaller()
    server = ServerThread(vendor.app()).start()
    workdir = tmp_path_factory.mktemp("glassgate-tool-calls")
    bedrock = {
        "vendor": "bedrock",
        "region": BEDROCK_REGION,
        "url": server.url,
        "auth": {"type": "aws", "access_key_id": UPSTREAM_AWS_KEY[0], "secret_access_key": "${UPSTREAM_AWS_SECRET}"},
    }
    upstream: dict[str, Any] = {"openai": {"vendor": "openai", "url": server.url}}
    upstream |= {"azure": {"vendor": "azure", "url": server.url}}
    upstream |= {"anthropic": {"vendor": "anthropic", "url": server.url}, "bedrock": bedrock}
    config = {
        "data_dir": str(workdir / "data"),
        "database_url": create_database(postgres_url, "conformance_tool_calls", template=template_database),
        "admin_token": ADMIN_TOKEN,
        "proxy": {"max_body_bytes": 1024 * 1024, "drain_timeout_s": 5, "read_timeout_s": 5, "connect_timeout_s": 2},
        "tracing": {"flush_interval_ms": 10},
        "guardrails": [
            {
                "name": "args-pii",
                "detectors": ["pii"],
                "phases": ["output"],
                "action": "redact",
                "upstreams": scoped("args"),
            },
            {
                "name": "args-keys",
                "detectors": ["secrets"],
                "phases": ["output"],
                "action": "block",
                "upstreams": scoped("args"),
            },
            {
                "name": "mask-pii",
                "detectors": ["pii"],
                "action": "redact",
                "restore": True,
                "upstreams": scoped("restore"),
            },
            {
                "name": "watch",
                "detectors": ["pii", "secrets"],
                "phases": ["output"],
                "action": "flag",
                "upstreams": scoped("flag"),
            },
        ],
        "upstreams": {f"{name}-{mode}": upstream[name] for name in VENDORS for mode in ("args", "restore", "flag")},
    }
    env = {"UPSTREAM_AWS_SECRET": UPSTREAM_AWS_KEY[1]}
    glassgate = start_glassgate(config, workdir, env)
    try:
        aws_key = glassgate.cli_json("keys", "create", "--project", "tools", "--aws")
        yield ToolStack(glassgate, vendor, aws_key)
    finally:
        status = glassgate.stop()
        server.stop()
    log = glassgate.log()
    assert status in (0, -15), log
    assert "Traceback" not in log, log
    assert not [value for value in VALUES if value in log], "a value reached the log"


def scoped(mode: str) -> list[str]:
    return [f"{vendor}-{mode}" for vendor in VENDORS]


# --- the SDK calls, one per format: the arguments the client assembled, parsed --------------------------
# Each appends its span id to `spans` as soon as the answer's headers arrive (a blocked stream raises later).

Call = Callable[[ToolStack, pytest.MonkeyPatch, str, str, list[str]], Any]


def openai_client(tools: ToolStack, monkeypatch: pytest.MonkeyPatch, upstream: str) -> openai.OpenAI:
    for name in (
        "OPENAI_BASE_URL",
        "OPENAI_API_KEY",
        "AZURE_OPENAI_ENDPOINT",
        "AZURE_OPENAI_API_KEY",
        "OPENAI_API_VERSION",
    ):
        monkeypatch.delenv(name, raising=False)
    if upstream.startswith("azure"):
        monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", f"{tools.glassgate.url}/{upstream}")
        monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-client-key")
        monkeypatch.setenv("OPENAI_API_VERSION", API_VERSION)
        return openai.AzureOpenAI()
    monkeypatch.setenv("OPENAI_BASE_URL", f"{tools.glassgate.url}/{upstream}/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-client-own-key")
    return openai.OpenAI()


def chat(tools: ToolStack, monkeypatch: pytest.MonkeyPatch, upstream: str, said: str, spans: list[str]) -> Any:
    function: Any = {"type": "function", "function": {"name": TOOL, "parameters": PARAMETERS}}
    with openai_client(tools, monkeypatch, upstream) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="my-gpt4o" if upstream.startswith("azure") else "gpt-4o-mini",
            messages=[{"role": "user", "content": said}],
            tools=[function],
            stream=True,
        )
        spans.append(raw.headers["x-glassgate-span-id"])
        state: ChatCompletionStreamState[Any] = ChatCompletionStreamState(input_tools=[function])
        for chunk in raw.parse():
            state.handle_chunk(chunk)  # the SDK's own assembly, as `client.chat.completions.stream` does it
    calls = state.get_final_completion().choices[0].message.tool_calls or []
    assert len(calls) == 1 and calls[0].type == "function"
    return json.loads(calls[0].function.arguments)


def responses(tools: ToolStack, monkeypatch: pytest.MonkeyPatch, upstream: str, said: str, spans: list[str]) -> Any:
    function: Any = {"type": "function", "name": TOOL, "parameters": PARAMETERS, "strict": False}
    with openai_client(tools, monkeypatch, upstream) as client:
        raw = client.responses.with_raw_response.create(model="gpt-4.1-mini", input=said, tools=[function], stream=True)
        spans.append(raw.headers["x-glassgate-span-id"])
        events = list(raw.parse())
    errors = [event for event in events if event.type == "error"]
    if errors:
        raise ErrorEvent(errors[0].message)
    deltas = "".join(event.delta for event in events if event.type == "response.function_call_arguments.delta")
    done = next(event.arguments for event in events if event.type == "response.function_call_arguments.done")
    final = next(event.response for event in events if event.type == "response.completed").output[0]
    assert final.type == "function_call"
    assert json.loads(deltas) == json.loads(done) == json.loads(final.arguments), "every event has the same arguments"
    return json.loads(final.arguments)


def messages(tools: ToolStack, monkeypatch: pytest.MonkeyPatch, upstream: str, said: str, spans: list[str]) -> Any:
    for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_CUSTOM_HEADERS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", f"{tools.glassgate.url}/{upstream}")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-client-own-key")
    tool: Any = {"name": TOOL, "input_schema": PARAMETERS}
    with (
        anthropic.Anthropic() as client,
        client.messages.stream(
            model="claude-haiku-4-5", max_tokens=64, messages=[{"role": "user", "content": said}], tools=[tool]
        ) as stream,
    ):
        spans.append(stream.response.headers["x-glassgate-span-id"])
        block = stream.get_final_message().content[0]
    assert block.type == "tool_use"
    return block.input


@contextlib.contextmanager
def bedrock_client(tools: ToolStack, monkeypatch: pytest.MonkeyPatch, upstream: str) -> Iterator[Any]:
    point_boto3_at(
        monkeypatch,
        f"{tools.glassgate.url}/{upstream}",
        BEDROCK_REGION,
        tools.aws_key["access_key_id"],
        tools.aws_key["secret_access_key"],
    )
    client = boto3.session.Session().client("bedrock-runtime")
    try:
        yield client
    finally:
        client.close()


def converse(tools: ToolStack, monkeypatch: pytest.MonkeyPatch, upstream: str, said: str, spans: list[str]) -> Any:
    tool_config: Any = {"tools": [{"toolSpec": {"name": TOOL, "inputSchema": {"json": PARAMETERS}}}]}
    with bedrock_client(tools, monkeypatch, upstream) as bedrock:
        response = bedrock.converse_stream(
            modelId=CLAUDE_ON_BEDROCK, messages=[{"role": "user", "content": [{"text": said}]}], toolConfig=tool_config
        )
        spans.append(response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"])
        with contextlib.closing(response["stream"]) as events:
            pieces = [e["contentBlockDelta"]["delta"]["toolUse"]["input"] for e in events if "contentBlockDelta" in e]
    return json.loads("".join(pieces))


def invoke(tools: ToolStack, monkeypatch: pytest.MonkeyPatch, upstream: str, said: str, spans: list[str]) -> Any:
    body = {
        "anthropic_version": "bedrock-2023-05-31",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": said}],
    }
    with bedrock_client(tools, monkeypatch, upstream) as bedrock:
        response = bedrock.invoke_model_with_response_stream(modelId=CLAUDE_ON_BEDROCK, body=json.dumps(body))
        spans.append(response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"])
        with contextlib.closing(response["body"]) as events:
            inner = [json.loads(event["chunk"]["bytes"]) for event in events if "chunk" in event]
    joined = "".join(e["delta"]["partial_json"] for e in inner if e["type"] == "content_block_delta")
    return json.loads(joined)


# (format, its call, the vendor its upstreams are named after, where the span's findings point)
FORMATS: list[tuple[str, Call, str, set[str]]] = [
    ("chat", chat, "openai", {"choices[0].message.tool_calls[0].function.arguments"}),
    ("azure-chat", chat, "azure", {"choices[0].message.tool_calls[0].function.arguments"}),
    ("responses", responses, "openai", {"output[0].arguments"}),
    ("anthropic", messages, "anthropic", {"content[0].input.to", "content[0].input.lines[0]"}),
    (
        "converse-stream",
        converse,
        "bedrock",
        {"output.message.content[0].toolUse.input.to", "output.message.content[0].toolUse.input.lines[0]"},
    ),
    ("invoke-stream", invoke, "bedrock", {"content[0].input.to", "content[0].input.lines[0]"}),
]
BY_FORMAT = [pytest.param(call, vendor, fields, id=name) for name, call, vendor, fields in FORMATS]


def stored_span(tools: ToolStack, span_id: str, *, answer_only: bool = False) -> dict[str, Any]:
    """The stored span, with no value an output policy redacted (`answer_only`: in what the
    vendor answered; the `*-args` upstreams store the request as sent) or restore put back."""
    span = tools.glassgate.span(span_id)
    kept = {key: span[key] for key in ("response_body", "output_preview", "findings", "error")} if answer_only else span
    assert not [value for value in VALUES if value in json.dumps(kept)], "a value reached the stored span"
    return span


@pytest.mark.parametrize(("call", "vendor", "fields"), BY_FORMAT)
def test_streamed_tool_call_arguments_are_redacted_and_still_parse(
    tools: ToolStack, monkeypatch: pytest.MonkeyPatch, call: Call, vendor: str, fields: set[str]
) -> None:
    spans: list[str] = []
    assert call(tools, monkeypatch, f"{vendor}-args", SAID, spans) == arguments(MASKED)
    span = stored_span(tools, spans[0], answer_only=True)
    assert span["status"] == "ok"
    redactions = [f for f in span["findings"] if f["phase"] == "output" and f["action"] == "redact"]
    assert sorted(f["category"] for f in redactions) == ["CREDIT_CARD", "CREDIT_CARD", "EMAIL", "EMAIL"]
    assert {f["field"] for f in redactions} == fields
    assert "<EMAIL_1>" in json.dumps(span["response_body"])


@pytest.mark.parametrize(("call", "vendor", "fields"), BY_FORMAT)
def test_a_secret_in_streamed_tool_call_arguments_ends_the_stream_with_the_vendors_error(
    tools: ToolStack, monkeypatch: pytest.MonkeyPatch, call: Call, vendor: str, fields: set[str]
) -> None:
    spans: list[str] = []
    raised: Any = (openai.APIError, anthropic.APIError, botocore.exceptions.EventStreamError, ErrorEvent)
    with pytest.raises(raised) as caught:
        call(tools, monkeypatch, f"{vendor}-args", LEAK, spans)
    assert "args-keys" in str(caught.value) and SECRET[:12] not in str(caught.value)
    if isinstance(caught.value, botocore.exceptions.EventStreamError):
        assert caught.value.response["Error"]["Code"] == "validationException"
    span = stored_span(tools, spans[0], answer_only=True)
    assert span["status"] == "blocked"
    assert any(f["phase"] == "output" and f["action"] == "block" for f in span["findings"])


@pytest.mark.parametrize(("call", "vendor", "fields"), BY_FORMAT)
def test_request_placeholders_are_restored_in_streamed_tool_call_arguments(
    tools: ToolStack, monkeypatch: pytest.MonkeyPatch, call: Call, vendor: str, fields: set[str]
) -> None:
    spans: list[str] = []
    restored = call(tools, monkeypatch, f"{vendor}-restore", SAID, spans)
    assert restored == arguments(SAID), "the client's own values back, JSON-escaped in the arguments"
    sent = tools.vendor.last().body.decode()
    assert EMAIL not in sent and CARD not in sent and "<EMAIL_1>" in sent
    span = stored_span(tools, spans[0])
    assert span["status"] == "ok" and "<EMAIL_1>" in json.dumps(span["response_body"])
    notes = span["attributes"].get("guardrails.notes", [])
    assert any(note.startswith("answer: placeholders restored for the client") for note in notes), notes


@pytest.mark.parametrize(("call", "vendor", "fields"), BY_FORMAT)
def test_streamed_tool_call_arguments_are_flagged_on_the_span(
    tools: ToolStack, monkeypatch: pytest.MonkeyPatch, call: Call, vendor: str, fields: set[str]
) -> None:
    spans: list[str] = []
    assert call(tools, monkeypatch, f"{vendor}-flag", SAID, spans) == arguments(SAID), "flag changes nothing"
    span = tools.glassgate.span(spans[0])
    flagged = [f for f in span["findings"] if f["phase"] == "output" and f["action"] == "flag"]
    assert sorted(f["category"] for f in flagged) == ["CREDIT_CARD", "CREDIT_CARD", "EMAIL", "EMAIL"]
    assert {f["field"] for f in flagged} == fields
    assert span["attributes"]["guardrails.scanned_answer_fields"] >= 1
