"""Placeholders restored in the answer (`restore: true`), through the official SDKs, for every
vendor, streamed and not: the upstream sees `<EMAIL_1>`, the client gets its own value back, and
the stored span, the database and the log keep only placeholders.

A Glassgate of its own (its policies differ from the suite's) in front of the session's fake
vendors, whose `echo*` models answer with the text they were sent, in 5-character stream pieces,
so each placeholder reaches the proxy cut across several events.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import anthropic
import asyncpg
import boto3
import pytest
import yaml

from glassgate.storage.bodies import unpack
from tests.conformance.clients import anthropic_client, sdk_client
from tests.conformance.conftest import UPSTREAM_AWS_KEY, Stack
from tests.conformance.test_bedrock_sdk import aws_env
from tests.conformance.test_guardrails import SECRET
from tests.harness import ADMIN_TOKEN, create_database, start_glassgate

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
SAID = f"Write to {EMAIL}, charge {CARD}, key {SECRET}; <EMAIL_9> stays. Again: {EMAIL}"
# What the upstream receives, and so what the echo models answer.
SENT = "Write to <EMAIL_1>, charge <CREDIT_CARD_1>, key <OPENAI_KEY_1>; <EMAIL_9> stays. Again: <EMAIL_1>"
# The client's copy: the restore policy's placeholders back; the key (a policy without restore)
# and <EMAIL_9> (never issued) as the model wrote them.
RESTORED = f"Write to {EMAIL}, charge {CARD}, key <OPENAI_KEY_1>; <EMAIL_9> stays. Again: {EMAIL}"
VALUES = (EMAIL, CARD, SECRET)
RESTORING = [
    "openai-restore",
    "azure-restore",
    "anthropic-restore",
    "bedrock-restore",
    "openai-strict",
    "openai-restore-usage",
]
CLAUDE_ON_BEDROCK = "anthropic.claude-3-5-sonnet-20241022-v2:0"


@pytest.fixture(scope="module")
def restoring(
    stack: Stack, postgres_url: str, template_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """The suite's stack, with its own Glassgate whose policies restore placeholders."""
    suite = yaml.safe_load(stack.config_path.read_text())
    upstreams = suite["upstreams"]
    workdir = tmp_path_factory.mktemp("glassgate-restore")
    config = {
        "data_dir": str(workdir / "data"),
        "database_url": create_database(postgres_url, "conformance_restore", template=template_database),
        "admin_token": ADMIN_TOKEN,
        "proxy": suite["proxy"],
        "tracing": suite["tracing"],
        "guardrails": [
            {"name": "watch", "detectors": ["pii", "secrets"], "phases": ["input", "output"], "action": "flag"},
            {"name": "mask-pii", "detectors": ["pii"], "action": "redact", "restore": True, "upstreams": RESTORING},
            {"name": "mask-keys", "detectors": ["secrets"], "action": "redact", "upstreams": RESTORING},
            {
                "name": "no-emails-out",
                "detectors": ["pii"],
                "categories": ["EMAIL"],
                "phases": ["output"],
                "action": "redact",
                "upstreams": ["openai-strict"],
            },
        ],
        "upstreams": {
            "openai-restore": upstreams["openai"],
            "azure-restore": upstreams["azure"],
            "anthropic-restore": upstreams["anthropic"],
            "bedrock-restore": upstreams["bedrock"],  # SigV4: Glassgate re-signs the redacted body
            "openai-strict": upstreams["openai"],
            "openai-restore-usage": {**upstreams["openai"], "inject_stream_usage": True},
        },
    }
    env = {"UPSTREAM_AWS_SECRET": UPSTREAM_AWS_KEY[1]}
    glassgate = start_glassgate(config, workdir, env)
    try:
        aws_key = glassgate.cli_json("keys", "create", "--project", "team-b", "--aws")
        yield dataclasses.replace(stack, glassgate=glassgate, aws_key=aws_key)
    finally:
        status = glassgate.stop()
    log = glassgate.log()
    assert status in (0, -15), log
    assert "Traceback" not in log, log
    assert not [value for value in VALUES if value in log], "a value reached the log"


def assert_span_keeps_placeholders(stack: Stack, span_id: str, *, answer: str = SENT) -> dict[str, Any]:
    """The stored span: the request as sent upstream and the answer as the vendor wrote it."""
    span = stack.glassgate.span(span_id)
    assert span["status"] == "ok"
    stored = json.dumps(span)
    assert not [value for value in VALUES if value in stored], "an original value reached the span"
    assert answer in span["output_preview"], span["output_preview"]
    assert "<EMAIL_1>" in json.dumps(span["response_body"]) and SENT in json.dumps(span["request_body"])
    redactions = sorted(f["category"] for f in span["findings"] if f["phase"] == "input" and f["action"] == "redact")
    assert redactions == ["CREDIT_CARD", "EMAIL", "EMAIL", "OPENAI_KEY"]
    notes = span["attributes"].get("guardrails.notes", [])
    assert any(note.startswith("answer: placeholders restored for the client") for note in notes), notes
    return span


def upstream_saw(body: bytes) -> str:
    text = body.decode()
    assert not [value for value in VALUES if value in text], "an original value went upstream"
    return text


# --- OpenAI and Azure: Chat Completions and legacy Completions --------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
@pytest.mark.parametrize("vendor", ["openai-restore", "azure-restore"])
def test_chat_answer_gets_the_values_back(
    restoring: Stack, monkeypatch: pytest.MonkeyPatch, vendor: str, stream: bool
) -> None:
    messages: Any = [{"role": "user", "content": SAID}]
    raw: Any  # the SDK's raw response, of a stream or not
    with sdk_client(vendor, restoring, monkeypatch) as client:
        if stream:
            raw = client.chat.completions.with_raw_response.create(model="echo-4o", messages=messages, stream=True)
            deltas = [chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices]
            assert "".join(deltas) == RESTORED
            assert sum(1 for delta in deltas if delta) >= 8, "released as it streamed"
        else:
            raw = client.chat.completions.with_raw_response.create(model="echo-4o", messages=messages)
            assert raw.parse().choices[0].message.content == RESTORED
    assert json.loads(upstream_saw(restoring.vendor.last().body))["messages"][0]["content"] == SENT
    assert_span_keeps_placeholders(restoring, raw.headers["x-glassgate-span-id"])


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_legacy_completion_gets_the_values_back(
    restoring: Stack, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    raw: Any
    with sdk_client("openai-restore", restoring, monkeypatch) as client:
        if stream:
            raw = client.completions.with_raw_response.create(model="echo-instruct", prompt=SAID, stream=True)
            assert "".join(chunk.choices[0].text for chunk in raw.parse() if chunk.choices) == RESTORED
        else:
            raw = client.completions.with_raw_response.create(model="echo-instruct", prompt=SAID)
            assert raw.parse().choices[0].text == RESTORED
    assert json.loads(upstream_saw(restoring.vendor.last().body))["prompt"] == SENT
    assert_span_keeps_placeholders(restoring, raw.headers["x-glassgate-span-id"])


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_an_output_policy_keeps_its_category_masked_for_the_client(
    restoring: Stack, monkeypatch: pytest.MonkeyPatch, stream: bool
) -> None:
    # `no-emails-out` redacts emails in answers: the client never gets one back from restore.
    messages: Any = [{"role": "user", "content": SAID}]
    raw: Any
    with sdk_client("openai-strict", restoring, monkeypatch) as client:
        if stream:
            raw = client.chat.completions.with_raw_response.create(model="echo-4o", messages=messages, stream=True)
            text = "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices)
        else:
            raw = client.chat.completions.with_raw_response.create(model="echo-4o", messages=messages)
            text = raw.parse().choices[0].message.content or ""
    assert text == SENT.replace("<CREDIT_CARD_1>", CARD)
    span = assert_span_keeps_placeholders(restoring, raw.headers["x-glassgate-span-id"])
    notes = span["attributes"]["guardrails.notes"]
    assert "answer: <EMAIL_1> not restored: output policy 'no-emails-out' would catch its value" in notes


def test_usage_the_proxy_asked_for_stays_hidden_from_a_restored_stream(
    restoring: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    with sdk_client("openai-restore-usage", restoring, monkeypatch) as client:
        stream = client.chat.completions.create(
            model="echo-4o", messages=[{"role": "user", "content": SAID}], stream=True
        )
        chunks: list[dict[str, Any]] = [chunk.to_dict() for chunk in stream]
    text = "".join(chunk["choices"][0]["delta"].get("content") or "" for chunk in chunks if chunk["choices"])
    assert text == RESTORED
    assert not any("usage" in chunk for chunk in chunks) and all(chunk["choices"] for chunk in chunks)
    assert json.loads(restoring.vendor.last().body)["stream_options"] == {"include_usage": True}
    span = assert_span_keeps_placeholders(restoring, stream.response.headers["x-glassgate-span-id"])
    assert (span["input_tokens"], span["output_tokens"]) == (12, 6), "the span keeps the usage"


# --- OpenAI: Responses API -----------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_responses_answer_gets_the_values_back(restoring: Stack, monkeypatch: pytest.MonkeyPatch, stream: bool) -> None:
    final: Any
    raw: Any
    with sdk_client("openai-restore", restoring, monkeypatch) as client:
        if stream:
            raw = client.responses.with_raw_response.create(model="echo-4.1", input=SAID, stream=True)
            events = list(raw.parse())
            deltas = [event.delta for event in events if event.type == "response.output_text.delta"]
            assert "".join(deltas) == RESTORED
            done = next(event for event in events if event.type == "response.output_text.done")
            assert done.text == RESTORED
            final = next(event.response for event in events if event.type == "response.completed")
        else:
            raw = client.responses.with_raw_response.create(model="echo-4.1", input=SAID)
            final = raw.parse()
    assert final.output_text == RESTORED
    assert json.loads(upstream_saw(restoring.vendor.last().body))["input"] == SENT
    assert_span_keeps_placeholders(restoring, raw.headers["x-glassgate-span-id"])


# --- Anthropic --------------------------------------------------------------------------------------------------


@pytest.fixture
def claude(restoring: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[anthropic.Anthropic]:
    with anthropic_client(restoring, monkeypatch, "anthropic-restore") as sdk:
        yield sdk


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_anthropic_answer_gets_the_values_back(restoring: Stack, claude: anthropic.Anthropic, stream: bool) -> None:
    messages: Any = [{"role": "user", "content": SAID}]
    if stream:
        with claude.messages.stream(model="echo-haiku", max_tokens=64, messages=messages) as events:
            deltas = [
                event.delta.text
                for event in events
                if event.type == "content_block_delta" and event.delta.type == "text_delta"
            ]
            block: Any = events.get_final_message().content[0]
            span_id = events.response.headers["x-glassgate-span-id"]
        assert "".join(deltas) == RESTORED and sum(1 for delta in deltas if delta) >= 8
    else:
        raw = claude.messages.with_raw_response.create(model="echo-haiku", max_tokens=64, messages=messages)
        block, span_id = raw.parse().content[0], raw.headers["x-glassgate-span-id"]
    assert block.type == "text" and block.text == RESTORED
    assert json.loads(upstream_saw(restoring.anthropic.last().body))["messages"][0]["content"] == SENT
    assert_span_keeps_placeholders(restoring, span_id)


# --- Bedrock -------------------------------------------------------------------------------------------------------


@pytest.fixture
def bedrock(restoring: Stack, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    aws_env(restoring, monkeypatch)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BEDROCK_RUNTIME", f"{restoring.glassgate.url}/bedrock-restore")
    client = boto3.session.Session().client("bedrock-runtime")
    yield client
    client.close()


def converse_request() -> dict[str, Any]:
    return {"modelId": CLAUDE_ON_BEDROCK, "messages": [{"role": "user", "content": [{"text": "echo:" + SAID}]}]}


def invoke_body() -> str:
    messages = [{"role": "user", "content": "echo:" + SAID}]
    return json.dumps({"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "messages": messages})


def test_bedrock_converse_answer_gets_the_values_back(restoring: Stack, bedrock: Any) -> None:
    response = bedrock.converse(**converse_request())
    assert response["output"]["message"]["content"][0]["text"] == RESTORED
    sent = json.loads(upstream_saw(restoring.bedrock.last().body))
    assert sent["messages"][0]["content"][0]["text"] == "echo:" + SENT
    assert_span_keeps_placeholders(restoring, response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"])


def test_bedrock_converse_stream_gets_the_values_back(restoring: Stack, bedrock: Any) -> None:
    response = bedrock.converse_stream(**converse_request())
    with contextlib.closing(response["stream"]) as events:
        deltas = [e["contentBlockDelta"]["delta"]["text"] for e in events if "contentBlockDelta" in e]
    assert "".join(deltas) == RESTORED and sum(1 for delta in deltas if delta) >= 8
    upstream_saw(restoring.bedrock.last().body)
    assert_span_keeps_placeholders(restoring, response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"])


@pytest.mark.parametrize("stream", [False, True], ids=["plain", "stream"])
def test_bedrock_invoke_of_an_anthropic_model_gets_the_values_back(
    restoring: Stack, bedrock: Any, stream: bool
) -> None:
    if stream:
        response = bedrock.invoke_model_with_response_stream(modelId=CLAUDE_ON_BEDROCK, body=invoke_body())
        with contextlib.closing(response["body"]) as events:
            inner = [json.loads(e["chunk"]["bytes"]) for e in events if "chunk" in e]
        text = "".join(e["delta"]["text"] for e in inner if e["type"] == "content_block_delta")
    else:
        response = bedrock.invoke_model(modelId=CLAUDE_ON_BEDROCK, body=invoke_body())
        with contextlib.closing(response["body"]) as body:
            text = json.loads(body.read())["content"][0]["text"]
    assert text == RESTORED
    assert json.loads(upstream_saw(restoring.bedrock.last().body))["messages"][0]["content"] == "echo:" + SENT
    assert_span_keeps_placeholders(restoring, response["ResponseMetadata"]["HTTPHeaders"]["x-glassgate-span-id"])


# --- nowhere stored ---------------------------------------------------------------------------------------------


def test_the_values_are_in_no_table_of_the_database(restoring: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    with sdk_client("openai-restore", restoring, monkeypatch) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="echo-4o", messages=[{"role": "user", "content": SAID}], stream=True
        )
        assert "".join(chunk.choices[0].delta.content or "" for chunk in raw.parse() if chunk.choices) == RESTORED
    restoring.glassgate.span(raw.headers["x-glassgate-span-id"])  # written
    url = yaml.safe_load((restoring.glassgate.log_path.parent / "glassgate.yaml").read_text())["database_url"]

    async def stored_bodies() -> list[str]:  # zstd-compressed JSON: read as the API reads them
        connection = await asyncpg.connect(url)
        try:
            rows = await connection.fetch("SELECT request_body, response_body FROM span_bodies")
        finally:
            await connection.close()
        return [json.dumps(unpack(row[column])) for row in rows for column in ("request_body", "response_body")]

    async def rows_holding(value: str) -> list[str]:
        connection = await asyncpg.connect(url)
        try:
            tables = await connection.fetch(
                "SELECT c.oid::regclass::text AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE c.relkind IN ('r', 'p') AND n.nspname = 'public'"
            )
            found = []
            for table in tables:
                query = f"SELECT count(*) FROM {table['name']} t WHERE strpos(t::text, $1) > 0"
                if await connection.fetchval(query, value):
                    found.append(table["name"])
            return found
        finally:
            await connection.close()

    assert asyncio.run(rows_holding("<EMAIL_1>")), "the placeholders are stored (the search looks where they are)"
    for value in VALUES:
        assert asyncio.run(rows_holding(value)) == [], "an original value reached the database"
    bodies = asyncio.run(stored_bodies())
    assert len(bodies) > 10 and any(SENT in body for body in bodies)
    assert not [body for body in bodies for value in VALUES if value in body], "an original value in a stored body"
