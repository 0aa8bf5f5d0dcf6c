"""An app's OTLP spans (protobuf and JSON) and the proxy's LLM call form one trace."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.resource.v1.resource_pb2 import Resource
from opentelemetry.proto.trace.v1.trace_pb2 import ResourceSpans, ScopeSpans, Span, Status

from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, openai_config, start_glassgate

TRACE = "5b8aa5a2d2c872e8321cf37308d69df2"
CUT_TRACE = "c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5c5"
AGENT, TOOL = "051581bf3cb55c13", "1b2c3d4e5f607182"
NOW = time.time_ns()


def attribute(key: str, value: str | int) -> KeyValue:
    return KeyValue(
        key=key, value=AnyValue(int_value=value) if isinstance(value, int) else AnyValue(string_value=value)
    )


def agent_export() -> bytes:
    agent = Span(
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(AGENT),
        name="support-agent",
        start_time_unix_nano=NOW,
        end_time_unix_nano=NOW + 250_000_000,
        attributes=[
            attribute("openinference.span.kind", "AGENT"),
            attribute("session.id", "s-1"),
            attribute("user.id", "u-9"),
        ],
    )
    llm = Span(
        trace_id=bytes.fromhex(TRACE),
        span_id=bytes.fromhex(TOOL),
        parent_span_id=bytes.fromhex(AGENT),
        name="chat gpt-4o",
        start_time_unix_nano=NOW + 1_000,
        end_time_unix_nano=NOW + 2_000_000,
        status=Status(code=Status.STATUS_CODE_ERROR, message="tool failed"),
        attributes=[  # the older GenAI generation's names
            attribute("gen_ai.system", "openai"),
            attribute("gen_ai.request.model", "gpt-4o"),
            attribute("gen_ai.usage.prompt_tokens", 30),
            attribute("gen_ai.usage.completion_tokens", 7),
        ],
    )
    resource = Resource(attributes=[attribute("service.name", "support-bot")])
    request = ExportTraceServiceRequest(
        resource_spans=[ResourceSpans(resource=resource, scope_spans=[ScopeSpans(spans=[agent, llm])])]
    )
    data: bytes = request.SerializeToString()
    return data


def cut_off_export(url: str) -> None:
    """An export of two resource spans whose client hangs up after the first: what arrived
    still parses, as an export of one, and must not be stored."""
    first, second = (
        ResourceSpans(
            scope_spans=[
                ScopeSpans(
                    spans=[
                        Span(
                            trace_id=bytes.fromhex(CUT_TRACE),
                            span_id=bytes.fromhex(span_id),
                            name="cut",
                            start_time_unix_nano=NOW,
                            end_time_unix_nano=NOW + 1_000,
                        )
                    ]
                )
            ]
        )
        for span_id in ("c0c0c0c0c0c0c0c0", "c1c1c1c1c1c1c1c1")
    )
    whole = ExportTraceServiceRequest(resource_spans=[first, second]).SerializeToString()
    arrived = ExportTraceServiceRequest(resource_spans=[first]).SerializeToString()
    assert whole.startswith(arrived)
    address = urlsplit(url)
    with socket.create_connection((address.hostname, address.port)) as connection:
        head = (
            f"POST /v1/traces HTTP/1.1\r\nHost: {address.netloc}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\n"
            f"Content-Type: application/x-protobuf\r\nContent-Length: {len(whole)}\r\n\r\n"
        )
        connection.sendall(head.encode() + arrived)
        connection.shutdown(socket.SHUT_WR)
        assert connection.recv(1024) == b"", "nobody is left to answer"


def test_app_spans_and_proxy_calls_share_a_trace(tmp_path: Path, database_url: str) -> None:
    vendor = FakeVendor()
    upstream = ServerThread(vendor.app()).start()
    config = openai_config(tmp_path / "data", database_url, upstream.url, tracing={"flush_interval_ms": 10})
    glassgate = start_glassgate(config, tmp_path / "gg")
    auth = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    try:
        unauthenticated = httpx.post(
            f"{glassgate.url}/v1/traces", content=agent_export(), headers={"content-type": "application/x-protobuf"}
        )
        assert unauthenticated.status_code == 401
        malformed = httpx.post(
            f"{glassgate.url}/v1/traces",
            content=b"\xff\x00garbage",
            headers={**auth, "content-type": "application/x-protobuf"},
        )
        assert malformed.status_code == 400
        cut_off_export(glassgate.url)
        stored = httpx.post(
            f"{glassgate.url}/v1/traces",
            content=agent_export(),
            headers={**auth, "content-type": "application/x-protobuf"},
        )
        assert stored.status_code == 200
        as_json = {
            "resourceSpans": [
                {
                    "scopeSpans": [
                        {
                            "spans": [
                                {
                                    "traceId": TRACE,
                                    "spanId": "aaaaaaaaaaaaaaaa",
                                    "parentSpanId": AGENT,
                                    "name": "lookup-order",
                                    "startTimeUnixNano": str(NOW + 3_000),
                                    "endTimeUnixNano": str(NOW + 9_000_000),
                                    "attributes": [
                                        {"key": "openinference.span.kind", "value": {"stringValue": "TOOL"}}
                                    ],
                                }
                            ]
                        }
                    ]
                }
            ]
        }
        assert httpx.post(f"{glassgate.url}/v1/traces", json=as_json, headers=auth).status_code == 200
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}
        call = httpx.post(
            f"{glassgate.url}/openai/v1/chat/completions",
            json=body,
            headers={"authorization": "Bearer sk-x", "traceparent": f"00-{TRACE}-{AGENT}-01"},
        )
        proxied = call.headers["x-glassgate-span-id"]
        glassgate.span(proxied)
        trace = glassgate.api(f"/traces/{TRACE}").json()
        cut = httpx.get(f"{glassgate.url}/api/v1/traces/{CUT_TRACE}", headers=auth)
    finally:
        glassgate.stop()
        upstream.stop()
    assert cut.status_code == 404, cut.text
    by_id = {span["span_id"]: span for span in trace["spans"]}
    assert set(by_id) == {AGENT, TOOL, "aaaaaaaaaaaaaaaa", proxied}
    assert by_id[AGENT]["kind"] == "agent" and by_id[AGENT]["session_id"] == "s-1" and by_id[AGENT]["user_id"] == "u-9"
    assert by_id[AGENT]["attributes"]["service.name"] == "support-bot" and by_id[AGENT]["latency_ms"] == 250.0
    llm = by_id[TOOL]
    assert (llm["vendor"], llm["model"], llm["input_tokens"], llm["output_tokens"]) == ("openai", "gpt-4o", 30, 7)
    assert llm["status"] == "error" and llm["error"] == "tool failed" and llm["parent_span_id"] == AGENT
    assert by_id["aaaaaaaaaaaaaaaa"]["kind"] == "tool"
    assert by_id[proxied]["parent_span_id"] == AGENT and by_id[proxied]["kind"] == "llm"
