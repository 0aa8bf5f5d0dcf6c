"""evals.chat_wire: requests in each vendor's format (streamed or not) and answers read by the proxy's adapters."""

from __future__ import annotations

from typing import Any

import botocore.session
import orjson
import pytest
from botocore.serialize import create_serializer

from glassgate.evals import chat_wire
from glassgate.evals.chat_wire import Endpoint, chat_body
from tests.fakes import anthropic_fixtures as anthropic_fx
from tests.fakes import bedrock_fixtures as bedrock_fx
from tests.fakes import eventstream as es
from tests.fakes import openai_fixtures as openai_fx

MESSAGES = [{"role": "system", "content": "sys"}, {"role": "user", "content": "hi"}]
ARN = "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/abc123xyz"


def test_requests_are_written_in_each_vendors_format() -> None:
    openai = Endpoint("o", "openai", "gpt-4o-mini")
    assert (openai.path(), openai.query()) == ("/v1/chat/completions", "")
    assert chat_body(openai, MESSAGES, {"temperature": 0}) == {
        "model": "gpt-4o-mini",
        "messages": MESSAGES,
        "temperature": 0,
    }
    azure = Endpoint("a", "azure", "my-deployment", "2024-10-21")
    assert (azure.path(), azure.query()) == (
        "/openai/deployments/my-deployment/chat/completions",
        "api-version=2024-10-21",
    )
    assert "model" not in chat_body(azure, MESSAGES, {})
    anthropic = Endpoint("c", "anthropic", "claude-x")
    assert anthropic.path() == "/v1/messages"
    assert chat_body(anthropic, MESSAGES, {"max_tokens": 50}) == {
        "model": "claude-x",
        "max_tokens": 50,
        "system": "sys",
        "messages": [{"role": "user", "content": "hi"}],
    }
    bedrock = Endpoint("b", "bedrock", "amazon.nova-lite-v1:0")
    assert bedrock.path() == "/model/amazon.nova-lite-v1%3A0/converse"
    assert chat_body(bedrock, MESSAGES, {"inferenceConfig": {"maxTokens": 50}}) == {
        "system": [{"text": "sys"}],
        "messages": [{"role": "user", "content": [{"text": "hi"}]}],
        "inferenceConfig": {"maxTokens": 50},
    }


def test_streamed_requests_ask_for_a_stream_and_its_usage() -> None:
    def streamed(vendor: str, model: str = "m") -> Endpoint:
        return Endpoint("u", vendor, model, stream=True)

    for vendor in ("openai", "azure"):
        body = chat_body(streamed(vendor), MESSAGES, {"temperature": 0})
        assert (body["stream"], body["stream_options"], body["temperature"]) == (True, {"include_usage": True}, 0)
    assert chat_body(streamed("anthropic"), MESSAGES, {})["stream"] is True
    bedrock = streamed("bedrock", "amazon.nova-lite-v1:0")
    assert bedrock.path() == "/model/amazon.nova-lite-v1%3A0/converse-stream"
    assert "stream" not in chat_body(bedrock, MESSAGES, {})  # ConverseStream is its own path


@pytest.mark.parametrize(
    "model", [ARN, "anthropic.claude-3-haiku-20240307-v1:0", "us.meta.llama3-2-1b-instruct-v1:0 é"]
)
@pytest.mark.parametrize(("stream", "operation"), [(False, "Converse"), (True, "ConverseStream")])
def test_the_bedrock_model_id_is_percent_encoded_as_boto3_does(model: str, stream: bool, operation: str) -> None:
    service = botocore.session.get_session().get_service_model("bedrock-runtime")
    request = create_serializer("rest-json").serialize_to_request(
        {"modelId": model, "messages": []}, service.operation_model(operation)
    )
    assert Endpoint("b", "bedrock", model, stream=stream).path() == request["url_path"]


def test_converse_gets_one_message_per_turn_and_no_blank_text() -> None:
    messages = [
        {"role": "system", "content": "be brief"},
        {"role": "system", "content": "  "},
        {"role": "user", "content": "first"},
        {"role": "user", "content": "second"},
        {"role": "assistant", "content": ""},
        {"role": "assistant", "content": "an answer"},
        {"role": "user", "content": "third"},
    ]
    assert chat_wire.converse_messages(messages) == (
        [{"text": "be brief"}],
        [
            {"role": "user", "content": [{"text": "first"}, {"text": "second"}]},
            {"role": "assistant", "content": [{"text": "an answer"}]},
            {"role": "user", "content": [{"text": "third"}]},
        ],
    )


def test_judges_ask_for_no_randomness_in_each_vendors_words() -> None:
    assert chat_wire.judge_parameters("openai", 300) == {"temperature": 0, "max_tokens": 300}
    assert chat_wire.judge_parameters("bedrock", 300) == {"inferenceConfig": {"temperature": 0, "maxTokens": 300}}


def summary_of(endpoint: Endpoint, chunks: list[bytes], content_type: str) -> Any:
    return chat_wire.summarize(endpoint, b"{}", 200, content_type, chunks, {"Content-Type": content_type})


def test_streams_are_assembled_with_usage_and_the_chunk_of_the_first_content() -> None:
    openai = Endpoint("o", "openai", "gpt-4o-mini", stream=True)
    chunks = openai_fx.chat_stream({"stream_options": {"include_usage": True}}, azure=False)
    read = summary_of(openai, chunks, "text/event-stream")
    assert chat_wire.answer_text("openai", read.response_json) == openai_fx.TEXT
    assert (read.usage.input_tokens, read.usage.output_tokens, read.error) == (12, 6, None)
    assert read.first_content_chunk == 1  # chunk 0 carries only the role
    anthropic = Endpoint("c", "anthropic", "claude-x", stream=True)
    read = summary_of(anthropic, anthropic_fx.message_stream({}), "text/event-stream")
    assert chat_wire.answer_text("anthropic", read.response_json) == anthropic_fx.TEXT
    assert (read.usage.input_tokens, read.usage.output_tokens) == (anthropic_fx.NORMALISED_INPUT, 6)
    assert read.first_content_chunk == 3  # message_start, content_block_start, ping, then the first delta
    bedrock = Endpoint("b", "bedrock", "amazon.nova-lite-v1:0", stream=True)
    read = summary_of(bedrock, bedrock_fx.converse_stream({}), "application/vnd.amazon.eventstream")
    assert chat_wire.answer_text("bedrock", read.response_json) == bedrock_fx.TEXT
    assert (read.usage.input_tokens, read.usage.output_tokens, read.finish_reason) == (16, 6, "end_turn")
    assert read.first_content_chunk == 1  # messageStart, then the first contentBlockDelta


def test_frames_split_anywhere_read_the_same() -> None:
    frames = bedrock_fx.converse_stream({})
    data = b"".join(frames)
    pieces = [data[start : start + 7] for start in range(0, len(data), 7)]
    bedrock = Endpoint("b", "bedrock", "amazon.nova-lite-v1:0", stream=True)
    read = summary_of(bedrock, pieces, "application/vnd.amazon.eventstream")
    assert chat_wire.answer_text("bedrock", read.response_json) == bedrock_fx.TEXT
    # The first delta's last byte arrived in this piece: its arrival is the time to first token.
    first_delta_end = len(frames[0]) + len(frames[1])
    assert read.first_content_chunk == (first_delta_end - 1) // 7


def test_a_stream_that_ends_in_an_error_says_which() -> None:
    bedrock = Endpoint("b", "bedrock", "m", stream=True)
    frames = [*bedrock_fx.converse_stream({})[:2], es.exception("throttlingException", "Too many requests")]
    read = summary_of(bedrock, frames, "application/vnd.amazon.eventstream")
    assert (read.error_type, read.error) == ("throttlingException", "Too many requests")
    assert read.error_type in chat_wire.TRANSIENT_STREAM_ERRORS
    anthropic = Endpoint("c", "anthropic", "claude-x", stream=True)
    read = summary_of(
        anthropic, [*anthropic_fx.message_stream({})[:3], anthropic_fx.stream_error()], "text/event-stream"
    )
    assert (read.error_type, read.error) == ("overloaded_error", "Overloaded")
    blocked = [b'data: {"error": {"message": "blocked by policy no-secrets", "type": "invalid_request_error"}}\n\n']
    read = summary_of(Endpoint("o", "openai", "m", stream=True), blocked, "text/event-stream")
    assert read.error == "blocked by policy no-secrets"
    assert read.error_type not in chat_wire.TRANSIENT_STREAM_ERRORS  # a guardrail's block is the item's


def test_answer_text_reads_each_vendor_and_refuses_what_is_not_a_chat_answer() -> None:
    assert chat_wire.answer_text("openai", openai_fx.chat_completion({}, azure=False)) == openai_fx.TEXT
    assert chat_wire.answer_text("azure", {"choices": [{"message": {"content": None}}]}) == ""
    anthropic_message = {"content": [{"type": "thinking", "thinking": "hm"}, {"type": "text", "text": "A"}]}
    assert chat_wire.answer_text("anthropic", anthropic_message) == "A"
    converse = {"output": {"message": {"content": [{"reasoningContent": {}}, {"text": "B"}, {"text": "C"}]}}}
    assert chat_wire.answer_text("bedrock", converse) == "BC"
    not_answers: list[tuple[str, Any]] = [("openai", {"data": []}), ("anthropic", None), ("bedrock", {"output": {}})]
    for vendor, value in [*not_answers, ("openai", [])]:
        assert chat_wire.answer_text(vendor, value) is None


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (orjson.dumps(openai_fx.error(404, "no such model", "invalid_request_error", None)), "no such model"),
        (orjson.dumps(anthropic_fx.error("not_found_error", "model: x")), "model: x"),
        (b'{"message": "The provided model identifier is invalid."}', "The provided model identifier is invalid."),
        (b'{"error": "plain"}', "plain"),
        (b"<html>Bad gateway</html>", "<html>Bad gateway</html>"),
        (b"[1, 2]", "[1, 2]"),
    ],
)
def test_error_messages_of_every_vendor(payload: bytes, message: str) -> None:
    assert chat_wire.error_message(payload) == message


def test_only_the_four_vendors_are_spoken() -> None:
    for vendor in ("openai", "azure", "anthropic", "bedrock"):
        chat_wire.check_vendor(vendor, "target")
    with pytest.raises(ValueError, match="gemini is not supported"):
        chat_wire.check_vendor("gemini", "target")
