"""Unit tests for `glassgate.tracing.capture`: from an `Exchange` (bytes) to a `Span` (meaning)."""

from __future__ import annotations

import gzip
import json
import zlib
from datetime import UTC, datetime
from typing import Any

import pytest

from glassgate.config import GuardrailPolicy
from glassgate.guardrails.engine import GuardrailEngine
from glassgate.proxy.exchange import Exchange, Outcome
from glassgate.proxy.vendors import CallSummary
from glassgate.tracing.capture import build_span, decode_body, fallback_span, status_of, trace_ids
from glassgate.tracing.tokens import count_tokens

CHAT = "/v1/chat/completions"
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
SSE_HEADERS = {"content-type": "text/event-stream; charset=utf-8"}
JSON_HEADERS = {"content-type": "application/json"}
REQUEST = json.dumps({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Hi"}]}).encode()


def sse(payload: dict[str, Any]) -> bytes:
    return b"data: " + json.dumps(payload).encode() + b"\n\n"


def delta(content: str | None = None, finish: str | None = None, **extra: Any) -> bytes:
    choice_delta = {} if content is None else {"content": content}
    return sse(
        {
            "id": "c1",
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "delta": choice_delta, "finish_reason": finish}],
            **extra,
        }
    )


STREAM = [
    sse(
        {
            "id": "c1",
            "model": "gpt-4o-mini-2024-07-18",
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}],
        }
    ),
    delta("Hel"),
    delta("lo"),
    delta(finish="stop"),
    sse({"id": "c1", "choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 6}}),
    b"data: [DONE]\n\n",
]
CHAT_JSON = {
    "id": "c1",
    "object": "chat.completion",
    "model": "gpt-4o-mini-2024-07-18",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Hello"}}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 6},
}


def exchange(**fields: Any) -> Exchange:
    values: dict[str, Any] = {
        "span_id": "a1b2c3d4e5f60718",
        "upstream": "openai",
        "vendor": "openai",
        "method": "POST",
        "path": CHAT,
        "query": "",
        "started_at": 1735689600.25,
        "request_body": REQUEST,
        "status": 200,
        "response_headers": dict(JSON_HEADERS),
        "chunks": [json.dumps(CHAT_JSON).encode()],
        "chunk_times": [0.5],
        "ended_at": 0.6,
    }
    values.update(fields)
    return Exchange(**raw_headers(values))


def raw_headers(values: dict[str, Any]) -> dict[str, Any]:
    """Tests write response headers as a dict; the exchange holds them as received."""
    headers = values.pop("response_headers", {})
    values["raw_response_headers"] = [(name.encode(), value.encode()) for name, value in headers.items()]
    return values


def streamed(**fields: Any) -> Exchange:
    values: dict[str, Any] = {
        "response_headers": dict(SSE_HEADERS),
        "chunks": list(STREAM),
        "chunk_times": [0.1 * (index + 1) for index in range(len(STREAM))],
    }
    values.update(fields)
    return exchange(**values)


# --- decode_body ------------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", [None, "", "identity"])
def test_decode_body_identity(encoding: str | None) -> None:
    assert decode_body([b"a", b"b"], encoding) == ([b"a", b"b"], None)


def test_decode_body_gzip_in_pieces() -> None:
    packed = gzip.compress(b'{"hello": "world"}' * 50)
    pieces = [packed[i : i + 7] for i in range(0, len(packed), 7)]
    chunks, undecoded = decode_body(pieces, "gzip")
    assert undecoded is None
    assert b"".join(chunks) == b'{"hello": "world"}' * 50
    assert len(chunks) == len(pieces), "one decoded piece per raw chunk keeps arrival times aligned"


@pytest.mark.parametrize("encoding", ["deflate", "x-gzip"])
def test_decode_body_deflate_and_x_gzip(encoding: str) -> None:
    packed = zlib.compress(b"payload") if encoding == "deflate" else gzip.compress(b"payload")
    assert decode_body([packed], encoding) == ([b"payload"], None)


def test_decode_body_truncated_gzip_gives_the_head() -> None:
    packed = gzip.compress(b"x" * 10_000, compresslevel=0)
    chunks, undecoded = decode_body([packed[:5000]], "gzip")
    assert undecoded is None
    assert b"".join(chunks) == b"x" * len(b"".join(chunks))
    assert 0 < len(b"".join(chunks)) < 10_000


def test_decode_body_corrupt_gzip() -> None:
    assert decode_body([b"definitely not gzip"], "gzip") == ([b"definitely not gzip"], "gzip (corrupt)")


@pytest.mark.parametrize("encoding", ["br", "zstd"])
def test_decode_body_unknown_encoding_is_reported(encoding: str) -> None:
    assert decode_body([b"\x01\x02"], encoding) == ([b"\x01\x02"], encoding)


# --- status and trace ids ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "status", "error", "expected"),
    [
        (Outcome.COMPLETED, 200, None, "ok"),
        (Outcome.COMPLETED, 399, None, "ok"),
        (Outcome.COMPLETED, 400, None, "error"),
        (Outcome.COMPLETED, 503, None, "error"),
        (Outcome.COMPLETED, 200, "error in stream", "error"),
        (Outcome.UPSTREAM_FAILED, 0, None, "error"),
        (Outcome.UPSTREAM_FAILED, 200, None, "error"),
        (Outcome.CLIENT_DISCONNECTED, 200, None, "cancelled"),
        (Outcome.CLIENT_DISCONNECTED, 500, "boom", "cancelled"),
    ],
)
def test_status_of(outcome: Outcome, status: int, error: str | None, expected: str) -> None:
    summary = CallSummary(operation="chat", error=error)
    assert status_of(exchange(outcome=outcome, status=status), summary) == expected


def test_traceparent_links_to_the_client_trace() -> None:
    headers = {"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
    assert trace_ids(exchange(context_headers=headers)) == (TRACE_ID, PARENT_ID)


@pytest.mark.parametrize(
    "traceparent",
    [
        "",
        "garbage",
        f"00-{TRACE_ID.upper()}-{PARENT_ID}-01",
        f"00-{TRACE_ID[:-1]}-{PARENT_ID}-01",
        f"00-{'0' * 32}-{PARENT_ID}-01",
        f"{TRACE_ID}-{PARENT_ID}",
    ],
)
def test_invalid_traceparent_starts_a_new_trace(traceparent: str) -> None:
    trace_id, parent = trace_ids(exchange(context_headers={"traceparent": traceparent}))
    assert parent is None
    assert len(trace_id) == 32
    assert int(trace_id, 16) >= 0
    assert trace_id != TRACE_ID


def test_new_traces_are_random() -> None:
    assert trace_ids(exchange())[0] != trace_ids(exchange())[0]


def test_all_zero_parent_id_starts_a_new_trace() -> None:
    trace_id, parent = trace_ids(exchange(context_headers={"traceparent": f"00-{TRACE_ID}-{'0' * 16}-01"}))
    assert parent is None
    assert trace_id != TRACE_ID


# --- build_span -------------------------------------------------------------------------------


def test_span_for_a_non_streamed_chat() -> None:
    span = build_span(exchange())
    assert span.span_id == "a1b2c3d4e5f60718"
    assert span.kind == "llm"
    assert span.project == "default"
    assert span.status == "ok"
    assert span.started_at == datetime(2025, 1, 1, 0, 0, 0, 250000, tzinfo=UTC)
    assert (span.upstream, span.vendor, span.operation) == ("openai", "openai", "chat")
    assert span.model == "gpt-4o-mini"
    assert span.response_model == "gpt-4o-mini-2024-07-18"
    assert span.http_status == 200
    assert span.streamed is False
    assert (span.input_tokens, span.output_tokens, span.cached_tokens, span.reasoning_tokens) == (12, 6, None, None)
    assert span.latency_ms == 600.0
    assert span.ttft_ms == 500.0
    assert span.request_body == json.loads(REQUEST)
    assert span.response_body == CHAT_JSON
    assert span.error is None
    assert span.attributes == {"http.method": "POST", "http.path": CHAT, "finish_reason": "stop"}


def test_span_for_a_stream_uses_the_first_content_chunk_time() -> None:
    span = build_span(streamed())
    assert span.streamed is True
    assert span.ttft_ms == 200.0  # chunk 1 ("Hel") arrived 0.2 s after the start
    assert span.response_body["choices"][0]["message"]["content"] == "Hello"
    assert (span.input_tokens, span.output_tokens) == (12, 6)
    assert span.status == "ok"


def test_ttft_rounded_to_microseconds() -> None:
    span = build_span(exchange(chunk_times=[0.123456789]))
    assert span.ttft_ms == 123.457


def test_no_ttft_without_a_time_for_the_chunk() -> None:
    assert build_span(streamed(chunk_times=[0.1])).ttft_ms is None


def test_no_ttft_without_content() -> None:
    span = build_span(streamed(chunks=[STREAM[0], STREAM[3], STREAM[5]], chunk_times=[0.1, 0.2, 0.3]))
    assert span.ttft_ms is None


def test_error_inside_a_200_stream_makes_an_error_span() -> None:
    error = sse({"error": {"message": "overloaded", "type": "server_error"}})
    span = build_span(streamed(chunks=[STREAM[0], STREAM[1], error], chunk_times=[0.1, 0.2, 0.3]))
    assert span.status == "error"
    assert span.error == "overloaded"
    assert span.http_status == 200
    assert span.attributes["error.type"] == "server_error"


def test_http_error_span() -> None:
    body = {"error": {"message": "Invalid key", "type": "invalid_request_error", "code": "invalid_api_key"}}
    span = build_span(exchange(status=401, chunks=[json.dumps(body).encode()]))
    assert span.status == "error"
    assert span.error == "Invalid key"
    assert span.attributes["error.type"] == "invalid_api_key"
    assert span.ttft_ms is None


def test_upstream_failure_without_response() -> None:
    span = build_span(
        exchange(
            status=0,
            response_headers={},
            chunks=[],
            chunk_times=[],
            outcome=Outcome.UPSTREAM_FAILED,
            error="connect timeout",
            error_type="upstream_timeout",
        )
    )
    assert span.status == "error"
    assert span.http_status is None
    assert span.error == "connect timeout"
    assert span.attributes["error.type"] == "upstream_timeout"
    assert span.response_body is None


def test_exchange_error_wins_over_summary_error() -> None:
    span = build_span(exchange(status=500, chunks=[b"oops"], error="relay broke"))
    assert span.error == "relay broke"


def test_client_disconnect_is_cancelled() -> None:
    span = build_span(streamed(chunks=STREAM[:2], chunk_times=[0.1, 0.2], outcome=Outcome.CLIENT_DISCONNECTED))
    assert span.status == "cancelled"
    assert span.response_body["choices"][0]["message"]["content"] == "Hel"


def test_traceparent_header_links_the_span() -> None:
    span = build_span(exchange(context_headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}))
    assert (span.trace_id, span.parent_span_id) == (TRACE_ID, PARENT_ID)


def test_context_headers_become_session_user_tags_and_metadata() -> None:
    context = {
        "x-glassgate-session-id": "sess-1",
        "x-glassgate-user-id": "user-9",
        "x-glassgate-tags": " prod, search ,, beta ",
        "x-glassgate-metadata-team": "search",
        "x-glassgate-metadata-ticket": "GG-1",
        "user-agent": "OpenAI/Python 2.1.0",
        "x-stainless-retry-count": "1",
        "openai-project": "proj_1",
    }
    span = build_span(exchange(context_headers=context))
    assert span.session_id == "sess-1"
    assert span.user_id == "user-9"
    assert span.tags == ("prod", "search", "beta")
    assert span.attributes["metadata"] == {"team": "search", "ticket": "GG-1"}
    assert span.attributes["client.user-agent"] == "OpenAI/Python 2.1.0"
    assert span.attributes["client.x-stainless-retry-count"] == "1"
    assert "client.openai-project" not in span.attributes


def test_no_context_headers() -> None:
    span = build_span(exchange())
    assert (span.session_id, span.user_id, span.tags) == (None, None, ())
    assert "metadata" not in span.attributes


def test_response_headers_and_query_become_attributes() -> None:
    headers = {**JSON_HEADERS, "content-encoding": "identity", "x-request-id": "req_1", "openai-processing-ms": "42"}
    span = build_span(exchange(response_headers=headers, query="api-version=1", headers_at=0.0123456))
    assert span.attributes["response.x-request-id"] == "req_1"
    assert span.attributes["response.openai-processing-ms"] == "42"
    assert "response.content-type" not in span.attributes
    assert "response.content-encoding" not in span.attributes
    assert span.attributes["http.query"] == "api-version=1"
    assert span.attributes["time_to_headers_ms"] == 12.346


def test_vendor_attributes_are_merged() -> None:
    span = build_span(
        exchange(
            upstream="az",
            vendor="azure",
            path="/openai/deployments/my-gpt4o/chat/completions",
            query="api-version=2024-10-21",
        )
    )
    assert span.vendor == "azure"
    assert span.attributes["azure.deployment"] == "my-gpt4o"
    assert span.attributes["azure.api_version"] == "2024-10-21"


def test_non_json_request_body_is_stored_as_text() -> None:
    span = build_span(exchange(request_body=b"model=gpt&x=\xff"))
    assert span.request_body == "model=gpt&x=\ufffd"
    assert span.model is None


def test_empty_request_body_is_none() -> None:
    assert build_span(exchange(method="GET", path="/v1/models", request_body=b"")).request_body is None


def test_non_json_response_body_is_stored_as_text() -> None:
    span = build_span(exchange(status=502, chunks=[b"<html>", b"Bad Gateway</html>"]))
    assert span.response_body == "<html>Bad Gateway</html>"
    assert span.error == "HTTP 502"


def test_truncated_response_is_marked() -> None:
    head = json.dumps(CHAT_JSON).encode()[:40]
    span = build_span(exchange(chunks=[head], truncated=True))
    assert span.response_body == head.decode() + "\n[truncated]"
    assert span.attributes["response_truncated"] is True


def test_gzip_response_is_decoded_for_the_span() -> None:
    packed = gzip.compress(json.dumps(CHAT_JSON).encode())
    span = build_span(
        exchange(
            response_headers={**JSON_HEADERS, "content-encoding": "gzip"},
            chunks=[packed[:20], packed[20:]],
            chunk_times=[0.3, 0.4],
        )
    )
    assert span.response_body == CHAT_JSON
    assert span.input_tokens == 12
    assert "response_encoding_undecoded" not in span.attributes


def test_undecodable_response_is_not_parsed() -> None:
    span = build_span(exchange(response_headers={**JSON_HEADERS, "content-encoding": "br"}, chunks=[b"\x1b\x00\x00"]))
    assert span.attributes["response_encoding_undecoded"] == "br"
    assert span.response_body is None
    assert span.input_tokens is None


def test_corrupt_gzip_response() -> None:
    span = build_span(exchange(response_headers={**JSON_HEADERS, "content-encoding": "gzip"}, chunks=[b"not gzip"]))
    assert span.attributes["response_encoding_undecoded"] == "gzip (corrupt)"
    assert span.response_body is None


def test_key_and_project_are_copied() -> None:
    span = build_span(exchange(key_id="key_1", project="team-a"))
    assert (span.key_id, span.project) == ("key_1", "team-a")


def test_missing_end_time_gives_zero_latency() -> None:
    assert build_span(exchange(ended_at=None)).latency_ms == 0.0


def test_unknown_vendor_raises_key_error() -> None:
    with pytest.raises(KeyError):
        build_span(exchange(vendor="no-such-vendor"))


def gzip_sse_per_event(events: list[bytes]) -> list[bytes]:
    """Compress a stream flushing after each event, with the gzip header alone in the first raw chunk."""
    compressor = zlib.compressobj(wbits=31)
    pieces = [compressor.compress(event) + compressor.flush(zlib.Z_SYNC_FLUSH) for event in events]
    pieces[-1] += compressor.flush()
    return [pieces[0][:10], pieces[0][10:], *pieces[1:]]


def test_gzip_stream_is_assembled() -> None:
    raw = gzip_sse_per_event(STREAM)
    span = build_span(
        streamed(
            response_headers={**SSE_HEADERS, "content-encoding": "gzip"},
            chunks=raw,
            chunk_times=[0.1 * (index + 1) for index in range(len(raw))],
        )
    )
    assert span.response_body["choices"][0]["message"]["content"] == "Hello"
    assert span.output_tokens == 6


def test_gzip_stream_ttft_uses_the_raw_chunk_time() -> None:
    raw = gzip_sse_per_event(STREAM)
    span = build_span(
        streamed(
            response_headers={**SSE_HEADERS, "content-encoding": "gzip"},
            chunks=raw,
            chunk_times=[0.1 * (index + 1) for index in range(len(raw))],
        )
    )
    assert span.ttft_ms == 300.0


# --- fallback_span: what is stored when the parser fails ----------------------------------------


def test_fallback_span_keeps_what_is_known_without_parsing() -> None:
    source = exchange(
        context_headers={"traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}, key_id="key_1", request_body=b'{"x": \xff}'
    )
    span = fallback_span(source, ValueError("parser exploded"))
    assert (span.span_id, span.trace_id, span.parent_span_id) == ("a1b2c3d4e5f60718", TRACE_ID, PARENT_ID)
    assert (span.operation, span.status, span.http_status, span.key_id) == ("unparsed", "ok", 200, "key_1")
    assert span.latency_ms == 600.0
    assert span.request_body == '{"x": \ufffd}'
    assert span.response_body is None
    assert span.attributes == {"capture_error": "ValueError: parser exploded", "http.path": CHAT}


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"status": 500}, "error"),
        ({"status": 0, "outcome": Outcome.UPSTREAM_FAILED, "error": "reset"}, "error"),
        ({"status": 200, "outcome": Outcome.CLIENT_DISCONNECTED}, "cancelled"),
        ({"status": 200}, "ok"),
    ],
)
def test_fallback_span_status(fields: dict[str, Any], status: str) -> None:
    span = fallback_span(exchange(**fields), RuntimeError("x"))
    assert span.status == status
    assert span.error == fields.get("error")


def test_fallback_span_truncates_long_failures() -> None:
    span = fallback_span(exchange(request_body=b""), RuntimeError("y" * 1000))
    assert len(span.attributes["capture_error"]) == 500
    assert span.request_body is None


# --- usage estimates --------------------------------------------------------------------------

STREAM_WITHOUT_USAGE = [*STREAM[:4], STREAM[5]]
ESTIMATED_INPUT = count_tokens("Hi", "gpt-4o") + 4 + 3  # the text plus OpenAI's chat framing
ESTIMATED_OUTPUT = count_tokens("Hello", "gpt-4o")


def test_a_stream_without_usage_gets_estimated_tokens() -> None:
    span = build_span(streamed(chunks=STREAM_WITHOUT_USAGE, chunk_times=[0.1] * 5))
    assert span.usage_estimated is True
    assert (span.input_tokens, span.output_tokens) == (ESTIMATED_INPUT, ESTIMATED_OUTPUT)
    assert span.cached_tokens is None and span.reasoning_tokens is None
    assert span.cost_status == "priced" and span.cost_usd is not None and span.cost_usd > 0


def test_vendor_usage_is_not_estimated() -> None:
    assert build_span(streamed()).usage_estimated is False
    assert build_span(exchange()).usage_estimated is False


def test_a_json_answer_without_usage_is_estimated() -> None:
    body = {key: value for key, value in CHAT_JSON.items() if key != "usage"}
    span = build_span(exchange(chunks=[json.dumps(body).encode()]))
    assert span.usage_estimated is True
    assert (span.input_tokens, span.output_tokens) == (ESTIMATED_INPUT, ESTIMATED_OUTPUT)


def test_only_the_missing_count_is_estimated() -> None:
    body = {**CHAT_JSON, "usage": {"prompt_tokens": 12}}
    span = build_span(exchange(chunks=[json.dumps(body).encode()]))
    assert span.usage_estimated is True
    assert (span.input_tokens, span.output_tokens) == (12, ESTIMATED_OUTPUT)


def test_a_cancelled_stream_is_estimated_from_what_was_seen() -> None:
    chunks = STREAM_WITHOUT_USAGE[:2]
    span = build_span(streamed(chunks=chunks, chunk_times=[0.1, 0.2], outcome=Outcome.CLIENT_DISCONNECTED))
    assert span.status == "cancelled" and span.usage_estimated is True
    assert span.output_tokens == count_tokens("Hel", "gpt-4o")


@pytest.mark.parametrize("status", [0, 400, 429, 500])
def test_failed_calls_are_not_estimated(status: int) -> None:
    body = {"error": {"message": "no", "type": "invalid_request_error"}}
    span = build_span(exchange(status=status, chunks=[json.dumps(body).encode()] if status else []))
    assert span.usage_estimated is False
    assert (span.input_tokens, span.output_tokens) == (None, None)
    assert span.cost_status == "no_usage"


def test_injected_stream_usage_is_noted() -> None:
    assert build_span(streamed(stream_usage_injected=True)).attributes["stream_usage_injected"] is True
    assert "stream_usage_injected" not in build_span(streamed()).attributes


def test_estimates_can_be_turned_off() -> None:
    unreported = streamed(chunks=[STREAM[0], STREAM[1]], chunk_times=[0.1, 0.2])
    assert build_span(unreported).usage_estimated is True
    off = build_span(unreported, estimate_tokens=False)
    assert (off.usage_estimated, off.input_tokens, off.output_tokens) == (False, None, None)


def test_flag_policies_scan_the_request_and_the_streamed_answer_assembled() -> None:
    guard = GuardrailEngine([GuardrailPolicy(name="watch", detectors=["pii"], phases=["input", "output"])])
    answer = [STREAM[0], delta("Mail billing@example.com for a refund."), STREAM[-1]]
    request = (
        b'{"model": "gpt-4o-mini", "stream": true, "messages": [{"role": "user", "content": "I am jo@example.org"}]}'
    )
    span = build_span(streamed(request_body=request, chunks=answer, chunk_times=[0.1, 0.2, 0.3]), guardrails=guard)
    assert {(f.phase, f.category, f.field) for f in span.findings} == {
        ("input", "EMAIL", "messages[0].content"),
        ("output", "EMAIL", "choices[0].message.content"),
    }
    assert (
        span.attributes["guardrails.scanned_fields"] == 1 and span.attributes["guardrails.scanned_answer_fields"] == 1
    )
    assert build_span(exchange(status=500, chunks=[b"oops"]), guardrails=guard).findings == ()
