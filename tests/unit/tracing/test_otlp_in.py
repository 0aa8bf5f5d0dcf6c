"""OTLP in: both GenAI generations and OpenInference onto the neutral span; bad input named."""

from __future__ import annotations

import orjson
import pytest

from glassgate.tracing.otlp_in import MalformedOtlp, parse_request, to_spans


def export(attributes: list[dict[str, object]], **span: object) -> bytes:
    body = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "app"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            {
                                "traceId": "5b8aa5a2d2c872e8321cf37308d69df2",
                                "spanId": "051581bf3cb55c13",
                                "name": "chat",
                                "startTimeUnixNano": "1764201600000000000",
                                "endTimeUnixNano": "1764201600500000000",
                                "attributes": attributes,
                                **span,
                            }
                        ]
                    }
                ],
            }
        ]
    }
    return orjson.dumps(body)


def test_new_generation_genai_attributes() -> None:
    body = export(
        [
            {"key": "gen_ai.provider.name", "value": {"stringValue": "anthropic"}},
            {"key": "gen_ai.request.model", "value": {"stringValue": "claude-haiku-4-5"}},
            {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "40"}},
            {"key": "gen_ai.usage.output_tokens", "value": {"intValue": "9"}},
            {"key": "gen_ai.conversation.id", "value": {"stringValue": "c-1"}},
        ]
    )
    [span] = to_spans(parse_request(body, "application/json"), "team")
    assert (span.vendor, span.model, span.input_tokens, span.output_tokens) == ("anthropic", "claude-haiku-4-5", 40, 9)
    assert (span.session_id, span.project, span.kind, span.latency_ms) == ("c-1", "team", "llm", 500.0)
    assert span.span_id == "051581bf3cb55c13" and span.trace_id == "5b8aa5a2d2c872e8321cf37308d69df2"
    assert span.attributes["service.name"] == "app"


def test_openinference_attributes() -> None:
    body = export(
        [
            {"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
            {"key": "llm.model_name", "value": {"stringValue": "gpt-4o"}},
            {"key": "llm.token_count.prompt", "value": {"intValue": "12"}},
            {"key": "llm.token_count.completion", "value": {"intValue": "3"}},
            {"key": "session.id", "value": {"stringValue": "s"}},
        ],
        status={"code": 2, "message": "boom"},
    )
    [span] = to_spans(parse_request(body, "application/json"), "p")
    assert (span.kind, span.model, span.input_tokens, span.output_tokens, span.session_id) == (
        "llm",
        "gpt-4o",
        12,
        3,
        "s",
    )
    assert (span.status, span.error) == ("error", "boom")


def test_openinference_input_and_output_values_become_previews() -> None:
    request = orjson.dumps({"messages": [{"role": "user", "content": "What is 2+2?"}]}).decode()
    body = export(
        [
            {"key": "openinference.span.kind", "value": {"stringValue": "LLM"}},
            {"key": "input.value", "value": {"stringValue": request}},
            {"key": "input.mime_type", "value": {"stringValue": "application/json"}},
            {"key": "output.value", "value": {"stringValue": "Four."}},
        ]
    )
    [span] = to_spans(parse_request(body, "application/json"), "p")
    assert (span.input_preview, span.output_preview) == ("What is 2+2?", "Four.")


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"not json", "application/json"),
        (b"\xff\x00\x01", "application/x-protobuf"),
        (b'{"resourceSpans": 5}', "application/json"),
    ],
)
def test_garbage_is_named(body: bytes, content_type: str) -> None:
    with pytest.raises(MalformedOtlp, match="not an OTLP"):
        parse_request(body, content_type)


def test_wrong_id_lengths_are_refused() -> None:
    body = export([], spanId="0102")
    with pytest.raises(MalformedOtlp, match="8 bytes"):
        to_spans(parse_request(body, "application/json"), "p")
