"""GenAI and OpenInference attributes from a span; messages only when asked for."""

from __future__ import annotations

from datetime import UTC, datetime

from glassgate.config import otlp_from_environment
from glassgate.tracing.semconv import attributes, span_name
from glassgate.tracing.span import Span


def bedrock_span(**fields: object) -> Span:
    values: dict[str, object] = {
        "span_id": "1" * 16,
        "trace_id": "2" * 32,
        "project": "p",
        "kind": "llm",
        "status": "ok",
        "started_at": datetime(2026, 11, 27, tzinfo=UTC),
        "vendor": "bedrock",
        "operation": "converse_stream",
        "model": "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "input_tokens": 16,
        "output_tokens": 6,
        "cached_tokens": 4,
        "request_body": {"messages": [{"role": "user", "content": "Hi"}]},
        **fields,
    }
    return Span(**values)  # type: ignore[arg-type]


def test_both_conventions_without_messages() -> None:
    found = attributes(bedrock_span(), capture_messages=False)
    assert found["gen_ai.provider.name"] == "aws.bedrock" and found["gen_ai.operation.name"] == "chat"
    assert found["gen_ai.usage.cache_read.input_tokens"] == 4 and found["llm.token_count.total"] == 22
    assert found["openinference.span.kind"] == "LLM"
    assert not any(key.startswith("llm.input_messages") for key in found), "messages are opt-in"
    assert "gen_ai.response.model" not in found, "absent values are left out, not exported as empty"
    assert span_name(bedrock_span()) == "chat anthropic.claude-3-5-sonnet-20241022-v2:0"


def test_embeddings_are_embedding_spans() -> None:
    found = attributes(
        bedrock_span(vendor="openai", operation="embeddings", model="text-embedding-3-small"), capture_messages=True
    )
    assert (found["openinference.span.kind"], found["gen_ai.operation.name"]) == ("EMBEDDING", "embeddings")


def test_otel_variables() -> None:
    settings = otlp_from_environment(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/",
            "OTEL_EXPORTER_OTLP_HEADERS": "authorization=Bearer%20abc,x-tenant=t1",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "2500",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
            "OTEL_BSP_MAX_EXPORT_BATCH_SIZE": "64",
        }
    )
    assert settings.endpoint == "http://collector:4318/v1/traces"
    assert settings.headers == {"authorization": "Bearer abc", "x-tenant": "t1"}
    assert (settings.timeout_s, settings.schedule_delay_s, settings.max_export_batch_size) == (2.5, 0.2, 64)
    traces_only = otlp_from_environment(
        {"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://x/custom", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://y"}
    )
    assert traces_only.endpoint == "https://x/custom"
    assert otlp_from_environment({}).endpoint is None


def test_estimated_usage_is_flagged() -> None:
    assert attributes(bedrock_span(usage_estimated=True), capture_messages=False)["glassgate.usage.estimated"] is True
    assert "glassgate.usage.estimated" not in attributes(bedrock_span(), capture_messages=False)


def test_whole_bodies_as_input_and_output_values_only_when_capturing() -> None:
    span = bedrock_span(response_body={"output": {"message": {"content": [{"text": "Hello"}]}}})
    found = attributes(span, capture_messages=True)
    assert found["input.value"] == '{"messages":[{"role":"user","content":"Hi"}]}'
    assert found["output.value"] == '{"output":{"message":{"content":[{"text":"Hello"}]}}}'
    assert found["input.mime_type"] == found["output.mime_type"] == "application/json"
    assert attributes(bedrock_span(response_body="not json"), capture_messages=True)["output.mime_type"] == "text/plain"
    assert not {"input.value", "output.value"} & attributes(span, capture_messages=False).keys()
