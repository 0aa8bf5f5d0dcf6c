"""Spans exported over OTLP/HTTP with GenAI and OpenInference attributes, set up by OTEL_* alone."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.fakes.openai_fixtures import SERVED_MODEL
from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, start_glassgate

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"


class FakeCollector:
    def __init__(self) -> None:
        self.requests: list[tuple[dict[str, str], ExportTraceServiceRequest]] = []

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/traces", self.receive)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        parsed = ExportTraceServiceRequest()
        parsed.ParseFromString(await request.read())
        self.requests.append((dict(request.headers), parsed))
        return web.Response(status=200, body=b"", content_type="application/x-protobuf")


def values(attributes: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for item in attributes:
        kind = item.value.WhichOneof("value")
        value = getattr(item.value, kind)
        found[item.key] = [entry.string_value for entry in value.values] if kind == "array_value" else value
    return found


def test_spans_reach_an_otlp_collector(tmp_path: Path, database_url: str) -> None:
    vendor, collector = FakeVendor(), FakeCollector()
    upstream, otlp = ServerThread(vendor.app()).start(), ServerThread(collector.app()).start()
    config = {
        "data_dir": str(tmp_path / "data"),
        "database_url": database_url,
        "admin_token": ADMIN_TOKEN,
        "upstreams": {"openai": {"vendor": "openai", "url": upstream.url}},
    }
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp.url,
        "OTEL_EXPORTER_OTLP_HEADERS": "x-collector-key=secret%20value",
        "OTEL_BSP_SCHEDULE_DELAY": "50",
        "OTEL_SERVICE_NAME": "gateway-under-test",
        "GLASSGATE_OTLP_CAPTURE_MESSAGES": "true",
    }
    glassgate = start_glassgate(config, tmp_path / "gg", env=env)
    try:
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
        headers = {
            "authorization": "Bearer sk-x",
            "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01",
            "x-glassgate-session-id": "conversation-7",
        }
        response = httpx.post(f"{glassgate.url}/openai/v1/chat/completions", json=body, headers=headers)
        span_id = response.headers["x-glassgate-span-id"]
        deadline = time.monotonic() + 15
        while not collector.requests and time.monotonic() < deadline:
            time.sleep(0.05)
        assert collector.requests, "no export arrived"
    finally:
        glassgate.stop()
        upstream.stop()
        otlp.stop()
    request_headers, export = collector.requests[0]
    assert request_headers["x-collector-key"] == "secret value"
    resource = export.resource_spans[0]
    assert values(resource.resource.attributes)["service.name"] == "gateway-under-test"
    span = resource.scope_spans[0].spans[0]
    assert span.span_id.hex() == span_id and span.trace_id.hex() == TRACE_ID and span.parent_span_id.hex() == PARENT_ID
    assert span.name == "chat gpt-4o-mini" and span.end_time_unix_nano > span.start_time_unix_nano
    found = values(span.attributes)
    assert found["gen_ai.provider.name"] == "openai" and found["gen_ai.operation.name"] == "chat"
    assert (found["gen_ai.request.model"], found["gen_ai.response.model"]) == ("gpt-4o-mini", SERVED_MODEL)
    assert (found["gen_ai.usage.input_tokens"], found["gen_ai.usage.output_tokens"]) == (12, 6)
    assert found["gen_ai.conversation.id"] == "conversation-7" and found["session.id"] == "conversation-7"
    assert found["openinference.span.kind"] == "LLM" and found["llm.token_count.total"] == 18
    assert found["llm.input_messages.0.message.content"] == "Hi"
    assert found["gen_ai.response.finish_reasons"] == ["stop"]
    assert "sk-x" not in str(export)
