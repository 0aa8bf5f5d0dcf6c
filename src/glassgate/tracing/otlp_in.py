"""OTLP spans from instrumented applications, mapped onto the neutral span (pure; no IO).

Reads both generations of the GenAI conventions (`gen_ai.usage.input_tokens` and the older
`gen_ai.usage.prompt_tokens`, `gen_ai.provider.name` and `gen_ai.system`) and OpenInference
(`openinference.span.kind`, `llm.model_name`, `llm.token_count.*`, `session.id`), so an app's
agent spans and the proxy's LLM calls form one trace.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import orjson
from google.protobuf import json_format, message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as OtlpSpan
from opentelemetry.proto.trace.v1.trace_pb2 import Status

from glassgate.proxy.vendors.base import loads_or_none
from glassgate.tracing.preview import input_preview, output_preview
from glassgate.tracing.span import Span


class MalformedOtlp(ValueError):
    """The body is not an OTLP trace export; the message says what is wrong."""


def parse_request(body: bytes, content_type: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        if content_type.startswith("application/json"):
            json_format.ParseDict(_hex_ids_to_base64(orjson.loads(body)), request)
        else:
            request.ParseFromString(body)
    except (ValueError, json_format.ParseError, orjson.JSONDecodeError, message.DecodeError) as exc:
        raise MalformedOtlp(f"not an OTLP ExportTraceServiceRequest: {str(exc)[:200]}") from None
    return request


def _hex_ids_to_base64(value: Any) -> Any:
    """OTLP/JSON writes ids as hex; protobuf's JSON mapping expects base64 for bytes fields."""
    if isinstance(value, dict):
        return {
            key: base64.b64encode(bytes.fromhex(item)).decode()
            if key in ("traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id")
            and isinstance(item, str)
            else _hex_ids_to_base64(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_hex_ids_to_base64(item) for item in value]
    return value


def _python(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    if kind == "array_value":
        return [_python(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return {item.key: _python(item.value) for item in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, kind) if kind else None


def _int(attributes: dict[str, Any], *names: str) -> int | None:
    for name in names:
        value = attributes.get(name)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _str(attributes: dict[str, Any], *names: str) -> str | None:
    for name in names:
        value = attributes.get(name)
        if isinstance(value, str) and value:
            return value
    return None


def to_spans(request: ExportTraceServiceRequest, project: str) -> list[Span]:
    spans = []
    for resource_spans in request.resource_spans:
        resource = {item.key: _python(item.value) for item in resource_spans.resource.attributes}
        for scope_spans in resource_spans.scope_spans:
            for otlp in scope_spans.spans:
                spans.append(_to_span(otlp, resource, project))
    return spans


def _to_span(otlp: OtlpSpan, resource: dict[str, Any], project: str) -> Span:
    if len(otlp.span_id) != 8 or len(otlp.trace_id) != 16:
        raise MalformedOtlp("span ids must be 8 bytes and trace ids 16 bytes")
    found = {item.key: _python(item.value) for item in otlp.attributes}
    kind = _str(found, "openinference.span.kind")
    input_tokens = _int(found, "gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens", "llm.token_count.prompt")
    output_tokens = _int(
        found, "gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens", "llm.token_count.completion"
    )
    duration_ms = max(otlp.end_time_unix_nano - otlp.start_time_unix_nano, 0) / 1e6
    error = otlp.status.code == Status.STATUS_CODE_ERROR
    attributes = {**found, "otel.name": otlp.name, "otel.kind": OtlpSpan.SpanKind.Name(otlp.kind)}
    if resource.get("service.name"):
        attributes["service.name"] = resource["service.name"]
    return Span(
        span_id=otlp.span_id.hex(),
        trace_id=otlp.trace_id.hex(),
        parent_span_id=otlp.parent_span_id.hex() or None,
        project=project,
        kind=kind.lower() if kind else ("llm" if input_tokens is not None else "app"),
        status="error" if error else "ok",
        started_at=datetime.fromtimestamp(otlp.start_time_unix_nano / 1e9, UTC),
        vendor=_str(found, "gen_ai.provider.name", "gen_ai.system", "llm.provider", "llm.system"),
        operation=_str(found, "gen_ai.operation.name") or otlp.name,
        model=_str(found, "gen_ai.request.model", "llm.model_name"),
        response_model=_str(found, "gen_ai.response.model"),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cached_tokens=_int(found, "gen_ai.usage.cache_read.input_tokens", "llm.token_count.prompt_details.cache_read"),
        reasoning_tokens=_int(found, "llm.token_count.completion_details.reasoning"),
        latency_ms=round(duration_ms, 3),
        session_id=_str(found, "session.id", "gen_ai.conversation.id"),
        user_id=_str(found, "user.id"),
        error=(otlp.status.message or "error") if error else None,
        input_preview=input_preview(_maybe_json(found.get("input.value") or found.get("gen_ai.input.messages"))),
        output_preview=output_preview(_maybe_json(found.get("output.value") or found.get("gen_ai.output.messages"))),
        attributes=attributes,
    )


def _maybe_json(value: Any) -> Any:
    """OpenInference's input.value / output.value are often JSON documents sent as strings."""
    if isinstance(value, str) and value[:1] in ("{", "["):
        parsed = loads_or_none(value)
        return value if parsed is None else parsed
    return value
