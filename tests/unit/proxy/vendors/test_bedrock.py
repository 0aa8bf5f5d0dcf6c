"""Unit tests for the Bedrock adapter: routing, HTTP and stream errors, Converse and ConverseStream.

The InvokeModel model families are in test_bedrock_invoke.py.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.parsers import create_parser

from glassgate.proxy.vendors import CallSummary, Usage, get_adapter, registered_vendors
from glassgate.proxy.vendors.bedrock import BedrockAdapter, error_type_for, route_of
from tests.fakes import eventstream as es
from tests.unit.proxy.vendors.bedrock_samples import (
    ARN,
    ARN_PATH,
    CLAUDE,
    CLAUDE_PATH,
    CONVERSE_ASSEMBLED_CONTENT,
    CONVERSE_EVENTS,
    CONVERSE_FRAMES,
    CONVERSE_REQUEST,
    CONVERSE_RESPONSE,
    EVENT_STREAM,
    bedrock_call,
    converse_stream_call,
    mutations,
)

ADAPTER = BedrockAdapter()
STREAM_USAGE = Usage(input_tokens=18, output_tokens=6, cached_tokens=4, cache_write_tokens=2)
FIRST_DELTA = 1  # CONVERSE_FRAMES: messageStart, then the first contentBlockDelta


def converse_stream(frames: list[bytes], **kwargs: Any) -> CallSummary:
    return ADAPTER.summarize(converse_stream_call(CLAUDE_PATH, frames, **kwargs))


def content_of(summary: CallSummary) -> list[dict[str, Any]]:
    content: list[dict[str, Any]] = summary.response_json["output"]["message"]["content"]
    return content


# --- registration, routing ---------------------------------------------------------------------


def test_the_adapter_is_registered_under_bedrock() -> None:
    assert "bedrock" in registered_vendors()
    assert isinstance(get_adapter("bedrock"), BedrockAdapter)


@pytest.mark.parametrize(
    ("path", "operation", "model"),
    [
        (f"/model/{CLAUDE_PATH}/invoke", "invoke", CLAUDE),
        (f"/model/{CLAUDE_PATH}/invoke/", "invoke", CLAUDE),
        (f"/model/us.{CLAUDE}/invoke-with-response-stream", "invoke_stream", f"us.{CLAUDE}"),  # AnthropicBedrock
        (f"/model/{ARN_PATH}/converse", "converse", ARN),
        (f"/model/{ARN}/converse", "converse", ARN),  # a raw slash in the ARN
        ("/model/us.anthropic.claude-3-5-sonnet-20241022-v2%3A0/converse-stream", "converse_stream", f"us.{CLAUDE}"),
        (f"/model/{CLAUDE_PATH}/count-tokens", "count_tokens", CLAUDE),
        ("/model/amazon.nova-sonic-v1%3A0/invoke-with-bidirectional-stream", "generic", "amazon.nova-sonic-v1:0"),
        ("/guardrail/gr-abc/version/DRAFT/apply", "apply_guardrail", None),
        ("/async-invoke", "async_invoke", None),
        ("/async-invoke/arn%3Aaws%3Abedrock%3Aus-east-1%3A1%3Aasync-invoke%2Fx", "async_invoke", None),
        ("/prefix/model/meta.llama3-8b-instruct-v1%3A0/invoke", "invoke", "meta.llama3-8b-instruct-v1:0"),
        ("/model/", "generic", None),
        ("/foundation-models", "generic", None),
        ("", "generic", None),
    ],
)
def test_route_of(path: str, operation: str, model: str | None) -> None:
    route = route_of(path)
    assert (route.operation, route.model) == (operation, model)


def test_guardrail_route_records_id_and_version() -> None:
    route = route_of("/guardrail/gr%2Dabc/version/3/apply")
    assert route.attributes == {"bedrock.guardrail_id": "gr-abc", "bedrock.guardrail_version": "3"}


# --- errors the proxy answers with -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"),
    [
        (400, "ValidationException"),
        (401, "AccessDeniedException"),
        (403, "AccessDeniedException"),
        (404, "ResourceNotFoundException"),
        (408, "ModelTimeoutException"),
        (413, "ValidationException"),
        (429, "ThrottlingException"),
        (500, "InternalServerException"),
        (502, "ServiceUnavailableException"),
        (503, "ServiceUnavailableException"),
        (504, "ModelTimeoutException"),
        (418, "ValidationException"),
        (599, "InternalServerException"),
    ],
)
def test_error_type_for(status: int, code: str) -> None:
    assert error_type_for(status) == code


def test_error_body_is_what_botocore_reads_as_a_client_error() -> None:
    body, content_type = ADAPTER.error_body(429, "Rate limit for key k1", "rate_limited")
    assert content_type == b"application/json"
    assert json.loads(body) == {"message": "Rate limit for key k1"}
    headers = {name.decode(): value.decode() for name, value in ADAPTER.error_headers(429)}
    assert headers == {"x-amzn-errortype": error_type_for(429)}
    response = {"status_code": 429, "headers": headers, "body": body}
    parsed = create_parser("rest-json").parse(response, None)
    assert parsed["Error"] == {"Code": "ThrottlingException", "Message": "Rate limit for key k1"}


# --- HTTP errors from the upstream -----------------------------------------------------------------

_CORAL = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


_MALFORMED = "Malformed input request"


@pytest.mark.parametrize(
    ("body", "headers", "message", "error_type"),
    [
        (
            b'{"message":"Malformed input request"}',
            {"x-amzn-errortype": "ValidationException" + _CORAL},
            _MALFORMED,
            "ValidationException",
        ),
        (
            b'{"Message":"Malformed input request"}',
            {"x-amzn-errortype": "ValidationException"},
            _MALFORMED,
            "ValidationException",
        ),
        (
            b'{"__type":"com.amazon#ValidationException","message":"Malformed input request"}',
            {},
            _MALFORMED,
            "ValidationException",
        ),
        (b"<html>bad gateway</html>", {}, "HTTP 400", None),
        (b'["not", "an", "object"]', {"x-amzn-errortype": "ValidationException"}, "HTTP 400", "ValidationException"),
        (b"", {}, "HTTP 400", None),
    ],
)
def test_http_errors(body: bytes, headers: dict[str, str], message: str, error_type: str | None) -> None:
    call = bedrock_call(f"/model/{CLAUDE_PATH}/converse", [body], status=400, headers=headers)
    summary = ADAPTER.summarize(call)
    assert (summary.error, summary.error_type) == (message, error_type)
    assert summary.usage == Usage() and summary.first_content_chunk is None and summary.finish_reason is None


def test_an_error_on_a_stream_operation_is_a_json_body() -> None:
    headers = {"x-amzn-errortype": "AccessDeniedException" + _CORAL}
    call = bedrock_call(f"/model/{CLAUDE_PATH}/converse-stream", [b'{"message":"denied"}'], status=403, headers=headers)
    summary = ADAPTER.summarize(call)
    assert summary.streamed is True
    assert (summary.error, summary.error_type) == ("denied", "AccessDeniedException")
    assert summary.response_json == {"message": "denied"}


def test_no_response_at_all_is_summarised_without_guessing() -> None:
    summary = ADAPTER.summarize(bedrock_call(f"/model/{CLAUDE_PATH}/converse-stream", [], status=0))
    assert (summary.operation, summary.model, summary.streamed) == ("converse_stream", CLAUDE, True)
    assert summary.response_json is None and summary.error is None


# --- Converse ----------------------------------------------------------------------------------


def test_converse_with_an_arn_model_id() -> None:
    call = bedrock_call(
        f"/model/{ARN_PATH}/converse", [json.dumps(CONVERSE_RESPONSE).encode()], request=CONVERSE_REQUEST
    )
    summary = ADAPTER.summarize(call)
    assert (summary.operation, summary.model, summary.streamed) == ("converse", ARN, False)
    assert summary.request_json == CONVERSE_REQUEST
    assert summary.response_json == CONVERSE_RESPONSE
    # inputTokens (12) excludes the 4 cache reads: the inclusive count is 16.
    assert summary.usage == Usage(input_tokens=16, output_tokens=6, cached_tokens=4, cache_write_tokens=0)
    assert summary.finish_reason == "tool_use"
    assert summary.first_content_chunk == 0
    assert summary.attributes == {"bedrock.latency_ms": 321}


def test_converse_with_a_body_that_is_not_json() -> None:
    summary = ADAPTER.summarize(bedrock_call(f"/model/{CLAUDE_PATH}/converse", [b"{not json"]))
    assert summary.response_json is None and summary.usage == Usage() and summary.error is None


# --- ConverseStream --------------------------------------------------------------------------------


def test_converse_stream_is_assembled_into_a_converse_response() -> None:
    summary = converse_stream(CONVERSE_FRAMES)
    assert summary.streamed is True
    assert content_of(summary) == CONVERSE_ASSEMBLED_CONTENT
    assert summary.response_json["output"]["message"]["role"] == "assistant"
    assert summary.response_json["stopReason"] == "tool_use"
    assert summary.response_json["metrics"] == {"latencyMs": 321}
    assert summary.usage == STREAM_USAGE
    assert summary.finish_reason == "tool_use"
    assert summary.first_content_chunk == FIRST_DELTA
    assert summary.attributes == {"bedrock.latency_ms": 321}
    assert summary.error is None


def test_converse_stream_split_at_every_byte_gives_the_same_answer() -> None:
    data = b"".join(CONVERSE_FRAMES)
    whole = converse_stream([data])
    for cut in range(1, len(data)):
        summary = converse_stream([data[:cut], data[cut:]])
        assert summary.response_json == whole.response_json, cut
        assert summary.usage == STREAM_USAGE
        assert summary.error is None and "bedrock.incomplete_frame_bytes" not in summary.attributes
    last_byte_of_first_delta = len(b"".join(CONVERSE_FRAMES[: FIRST_DELTA + 1])) - 1
    assert converse_stream([bytes([byte]) for byte in data]).first_content_chunk == last_byte_of_first_delta


@pytest.mark.parametrize("kind", ["throttlingException", "modelStreamErrorException", "internalServerException"])
def test_an_exception_mid_stream_is_recorded_with_what_came_before(kind: str) -> None:
    frames = [*CONVERSE_FRAMES[:6], es.exception(kind, "Too many tokens, please wait"), *CONVERSE_FRAMES[6:]]
    summary = converse_stream(frames)
    assert (summary.error, summary.error_type) == ("Too many tokens, please wait", kind)
    assert content_of(summary)[1] == {"text": "Hello there!"}  # later frames are still read


def test_a_model_stream_error_keeps_the_models_own_status() -> None:
    payload = {"message": "model failed", "originalStatusCode": 424, "originalMessage": "boom"}
    headers = {":exception-type": "modelStreamErrorException", ":message-type": "exception"}
    summary = converse_stream([CONVERSE_FRAMES[0], es.message(headers, json.dumps(payload).encode())])
    assert (summary.error, summary.error_type) == ("model failed", "modelStreamErrorException")
    assert summary.attributes["bedrock.original_status_code"] == 424


def test_the_first_error_wins_and_unmodelled_errors_are_read_from_headers() -> None:
    error = es.message({":message-type": "error", ":error-code": "InternalFailure", ":error-message": "oops"}, b"")
    summary = converse_stream([CONVERSE_FRAMES[0], error, es.exception("throttlingException", "later")])
    assert (summary.error, summary.error_type) == ("oops", "InternalFailure")


def test_an_exception_without_a_message_is_named_by_its_type() -> None:
    headers = {":exception-type": "validationException", ":message-type": "exception"}
    summary = converse_stream([es.message(headers, b"not json")])
    assert (summary.error, summary.error_type) == ("validationException", "validationException")


def test_a_corrupt_frame_is_an_error_not_an_exception() -> None:
    damaged = bytearray(CONVERSE_FRAMES[5])
    damaged[len(damaged) // 2] ^= 0xFF
    summary = converse_stream([*CONVERSE_FRAMES[:5], bytes(damaged), *CONVERSE_FRAMES[6:]])
    assert (summary.error, summary.error_type) == ("corrupt event-stream frame", "corrupt_event_stream")
    assert str(summary.attributes["bedrock.stream_corruption"]).startswith("ChecksumMismatch")
    assert content_of(summary)[1] == {"text": "Hel"}  # what arrived before the damage is kept
    assert summary.first_content_chunk == FIRST_DELTA


def test_a_stream_cut_short_records_the_leftover_bytes() -> None:
    summary = converse_stream([*CONVERSE_FRAMES[:7], CONVERSE_FRAMES[7][:20]])
    assert summary.error is None
    assert summary.attributes["bedrock.incomplete_frame_bytes"] == 20
    assert content_of(summary)[1] == {"text": "Hello there!"}
    assert summary.usage == Usage() and summary.finish_reason is None


def test_an_empty_stream_is_an_empty_message() -> None:
    summary = converse_stream([])
    assert summary.response_json == {"output": {"message": {"role": "assistant", "content": []}}}
    assert summary.first_content_chunk is None and summary.error is None


def test_converse_stream_block_variants() -> None:
    frames = [
        es.event(
            "contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": {"redactedContent": "b64"}}}
        ),
        es.event("contentBlockStart", {"contentBlockIndex": 1, "start": {"toolUse": {"toolUseId": "t", "name": "n"}}}),
        es.event("contentBlockStart", {"contentBlockIndex": 2, "start": {"toolUse": {"toolUseId": "u", "name": "m"}}}),
        es.event("contentBlockDelta", {"contentBlockIndex": 2, "delta": {"toolUse": {"input": "{not json"}}}),
        es.event("contentBlockDelta", {"contentBlockIndex": 3, "delta": {"text": "See [1]."}}),
        es.event("contentBlockDelta", {"contentBlockIndex": 3, "delta": {"citation": {"title": "doc"}}}),
        es.event("contentBlockDelta", {"delta": {"text": "no index"}}),
        es.event("contentBlockStart", {"contentBlockIndex": 5, "start": {"image": {"format": "png"}}}),
        es.event("contentBlockDelta", {"contentBlockIndex": 5, "delta": {"image": {"source": "s3"}}}),
    ]
    assert content_of(converse_stream(frames)) == [
        {"reasoningContent": {"redactedContent": "b64"}},
        {"toolUse": {"toolUseId": "t", "name": "n", "input": {}}},  # no input pieces: an empty object
        {"toolUse": {"toolUseId": "u", "name": "m", "input": "{not json"}},  # kept as sent
        {"text": "See [1].", "citation": [{"title": "doc"}]},
        {"text": "no index"},
        {"image": [{"format": "png"}, {"source": "s3"}]},  # start and delta kept, nothing lost
    ]


@pytest.mark.parametrize(
    "frame",
    [
        es.event("messageStart", {"role": 7}),
        es.event("contentBlockStart", {"contentBlockIndex": "x", "start": "toolUse"}),
        es.event("contentBlockStart", {"contentBlockIndex": 0, "start": {"image": {}}}),
        es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": "text"}),
        es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"toolUse": {"input": 5}}}),
        es.event("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"reasoningContent": "x", "text": 3}}),
        es.event("messageStop", {"stopReason": 5}),
        es.event("metadata", {"usage": [1, 2], "metrics": {"latencyMs": "fast"}}),
        es.event("metadata", {"usage": {"inputTokens": "12", "outputTokens": True}}),
        es.event("unknownEvent", {"x": 1}),
        es.event("contentBlockDelta", [1, 2, 3]),
        es.message({":event-type": "metadata", ":message-type": "event"}, b"\xff\xfe not json"),
    ],
)
def test_malformed_converse_events_never_raise(frame: bytes) -> None:
    summary = converse_stream([CONVERSE_FRAMES[0], frame, *CONVERSE_FRAMES[4:8]])
    assert summary.error is None
    assert any(block.get("text") == "Hello there!" for block in content_of(summary))
    assert summary.usage == Usage() or summary.usage.input_tokens is None


def test_odd_converse_stream_payloads_never_raise() -> None:
    events = [[kind, payload] for kind, payload in CONVERSE_EVENTS]
    for odd in mutations(events, 4):
        # The fuzz may break the (type, payload) pairs themselves; frame the ones still well-formed.
        pairs = [event for event in odd if isinstance(event, list) and len(event) == 2 and isinstance(event[0], str)]
        summary = converse_stream([es.event(kind, payload) for kind, payload in pairs])
        assert isinstance(summary.response_json, dict) and summary.error is None


def test_odd_converse_bodies_never_raise() -> None:
    for odd in mutations(CONVERSE_RESPONSE, 4):
        call = bedrock_call(f"/model/{CLAUDE_PATH}/converse", [json.dumps(odd).encode()])
        assert ADAPTER.summarize(call).response_json == odd


def test_malformed_events_are_counted() -> None:
    summary = converse_stream([es.message({":event-type": "metadata"}, b"[]"), es.message({}, b"{")])
    assert summary.attributes["bedrock.malformed_events"] == 2


# --- other operations ------------------------------------------------------------------------------


def test_count_tokens_records_the_count_but_no_usage() -> None:
    request = {"input": {"converse": CONVERSE_REQUEST}}
    summary = ADAPTER.summarize(
        bedrock_call(f"/model/{CLAUDE_PATH}/count-tokens", [b'{"inputTokens": 12}'], request=request)
    )
    assert (summary.operation, summary.model) == ("count_tokens", CLAUDE)
    assert summary.usage == Usage() and summary.attributes == {"bedrock.counted_input_tokens": 12}


def test_apply_guardrail_records_the_action() -> None:
    body = {"usage": {"topicPolicyUnits": 1}, "action": "GUARDRAIL_INTERVENED", "outputs": [{"text": "Blocked."}]}
    call = bedrock_call("/guardrail/gr-1/version/DRAFT/apply", [json.dumps(body).encode()])
    summary = ADAPTER.summarize(call)
    assert summary.operation == "apply_guardrail" and summary.model is None
    assert summary.attributes == {
        "bedrock.guardrail_id": "gr-1",
        "bedrock.guardrail_version": "DRAFT",
        "bedrock.guardrail_action": "GUARDRAIL_INTERVENED",
    }
    assert summary.response_json == body


def test_async_invoke_takes_the_model_from_the_body() -> None:
    request = {"modelId": "amazon.nova-reel-v1:0", "modelInput": {}, "outputDataConfig": {}}
    call = bedrock_call("/async-invoke", [b'{"invocationArn": "arn:aws:bedrock:x"}'], request=request)
    summary = ADAPTER.summarize(call)
    assert (summary.operation, summary.model) == ("async_invoke", "amazon.nova-reel-v1:0")
    assert summary.attributes == {"bedrock.invocation_arn": "arn:aws:bedrock:x"}
    listing = ADAPTER.summarize(bedrock_call("/async-invoke", [b'{"asyncInvokeSummaries": []}'], method="GET"))
    assert listing.model is None and listing.attributes == {}


def test_an_unknown_event_stream_operation_keeps_its_events() -> None:
    frames = [es.chunk({"event": {"textOutput": {"content": "Hi"}}}), es.event("other", {"a": 1})]
    path = "/model/amazon.nova-sonic-v1%3A0/invoke-with-bidirectional-stream"
    summary = ADAPTER.summarize(bedrock_call(path, frames, content_type=EVENT_STREAM))
    assert summary.operation == "generic" and summary.streamed is False
    assert summary.response_json == {
        "events": [{"type": "chunk", "event": {"textOutput": {"content": "Hi"}}}, {"type": "other", "a": 1}]
    }
