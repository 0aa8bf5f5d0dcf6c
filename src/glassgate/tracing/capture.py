"""Turn an `Exchange` (bytes as relayed) into a `Span` (what the call meant). Off the hot path.

Never raises on what a client or vendor sent: malformed bodies are recorded as text.
"""

from __future__ import annotations

import re
import zlib
from datetime import UTC, datetime
from typing import Any

from glassgate.guardrails.engine import Finding, GuardrailEngine
from glassgate.proxy.exchange import Exchange, Outcome
from glassgate.proxy.ids import random_hex
from glassgate.proxy.vendors import CallSummary, WireCall, get_adapter
from glassgate.tracing.preview import input_preview, output_preview
from glassgate.tracing.pricing import price
from glassgate.tracing.span import Span, SpanStatus
from glassgate.tracing.tokens import estimate_missing

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
_METADATA_PREFIX = "x-glassgate-metadata-"
# Response headers worth keeping on the span: request ids, server timing, rate limits.
RECORDED_RESPONSE_HEADERS = frozenset(
    {
        "x-request-id",
        "request-id",
        "x-amzn-requestid",
        "apim-request-id",
        "openai-processing-ms",
        "openai-version",
        "x-ms-region",
        "retry-after",
        "retry-after-ms",
        "x-amzn-errortype",
    }
)
# Never recorded: they can carry session secrets.
_PRIVATE_RESPONSE_HEADERS = frozenset({"set-cookie", "set-cookie2", "www-authenticate"})
RECORDED_RESPONSE_PREFIXES = ("x-ratelimit-", "anthropic-ratelimit-", "x-amzn-bedrock-")


def decode_body(chunks: list[bytes], encoding: str | None) -> tuple[list[bytes], str | None]:
    """Undo gzip/deflate for the copy we parse; report an encoding we cannot undo."""
    if not encoding or encoding == "identity":
        return chunks, None
    if encoding in ("gzip", "deflate", "x-gzip"):
        decoder = zlib.decompressobj(wbits=47)  # 47: accept gzip and zlib headers
        try:
            # Keep empty pieces: positions must stay aligned with the chunks' arrival times.
            return [decoder.decompress(chunk) for chunk in chunks], None
        except zlib.error:
            return chunks, f"{encoding} (corrupt)"
    return chunks, encoding


def status_of(exchange: Exchange, summary: CallSummary) -> SpanStatus:
    if exchange.outcome is Outcome.CLIENT_DISCONNECTED:
        return "cancelled"
    if exchange.outcome in (Outcome.BLOCKED, Outcome.ANSWER_BLOCKED):
        return "blocked"
    if exchange.outcome is Outcome.UPSTREAM_FAILED or exchange.status >= 400 or summary.error:
        return "error"
    return "ok"


def trace_ids(exchange: Exchange) -> tuple[str, str | None]:
    """(trace id, parent span id): the client's W3C trace if it sent one, else a new trace."""
    match = _TRACEPARENT.match(exchange.context_headers.get("traceparent", ""))
    if match and match.group(1) != "0" * 32 and match.group(2) != "0" * 16:  # all-zero ids are invalid (W3C)
        return match.group(1), match.group(2)
    return random_hex(16), None


def _body_value(raw: bytes, parsed: Any, limit_note: bool) -> Any:
    if parsed is not None:
        return parsed
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    return text + "\n[truncated]" if limit_note else text


def fallback_span(exchange: Exchange, failure: BaseException) -> Span:
    """What is known without the vendor parser, when it failed: never record nothing."""
    trace_id, parent = trace_ids(exchange)
    return Span(
        span_id=exchange.span_id,
        trace_id=trace_id,
        parent_span_id=parent,
        project=exchange.project,
        kind="llm",
        status=status_of(exchange, CallSummary(operation="unparsed")),
        started_at=datetime.fromtimestamp(exchange.started_at, UTC),
        upstream=exchange.upstream,
        vendor=exchange.vendor,
        operation="unparsed",
        http_status=exchange.status or None,
        latency_ms=round((exchange.ended_at or 0.0) * 1000.0, 3),
        key_id=exchange.key_id,
        error=exchange.error,
        request_body=exchange.request_body.decode("utf-8", errors="replace") or None,
        attributes={"capture_error": f"{type(failure).__name__}: {failure}"[:500], "http.path": exchange.path},
    )


def response_headers(exchange: Exchange) -> dict[str, str]:
    """The upstream's response headers, lower-case names, minus those that can carry secrets."""
    decoded: dict[str, str] = {}
    for raw_name, raw_value in exchange.raw_response_headers:
        name = raw_name.decode("latin-1").lower()
        if name not in _PRIVATE_RESPONSE_HEADERS:
            decoded[name] = raw_value.decode("latin-1")
    return decoded


def build_span(
    exchange: Exchange,
    *,
    estimate_tokens: bool = True,
    load_tokenizer: bool = True,
    guardrails: GuardrailEngine | None = None,
) -> Span:
    """Summarise the call with its vendor's adapter and assemble the stored record.

    With `estimate_tokens`, counts the vendor did not report are estimated with tiktoken (with
    `load_tokenizer=False`, raising TokenizerNotLoaded if its vocabulary must load first);
    with `guardrails`, the flag-only policies scan the request (the others ran before it left).
    """
    adapter = get_adapter(exchange.vendor)
    headers = response_headers(exchange)
    chunks, undecoded = decode_body(exchange.chunks, headers.get("content-encoding"))
    call = WireCall(
        method=exchange.method,
        path=exchange.path,
        query=exchange.query,
        request_body=exchange.request_body,
        status=exchange.status,
        content_type=headers.get("content-type", ""),
        chunks=chunks if undecoded is None else [],
        response_headers=headers,
    )
    summary = adapter.summarize(call)
    context = exchange.context_headers
    trace_id, parent = trace_ids(exchange)
    ttft_ms = None
    if summary.first_content_chunk is not None and summary.first_content_chunk < len(exchange.chunk_times):
        ttft_ms = exchange.chunk_times[summary.first_content_chunk] * 1000.0
    attributes: dict[str, Any] = {"http.method": exchange.method, "http.path": exchange.path}
    if exchange.query:
        attributes["http.query"] = exchange.query
    attributes.update(summary.attributes)
    if summary.finish_reason:
        attributes["finish_reason"] = summary.finish_reason
    if summary.error_type:
        attributes["error.type"] = summary.error_type
    elif exchange.error_type:
        attributes["error.type"] = exchange.error_type
    if exchange.headers_at is not None:
        attributes["time_to_headers_ms"] = round(exchange.headers_at * 1000.0, 3)
    if exchange.truncated:
        attributes["response_truncated"] = True
    if undecoded:
        attributes["response_encoding_undecoded"] = undecoded
    for name in ("user-agent", "x-stainless-retry-count"):
        if name in context:
            attributes[f"client.{name}"] = context[name]
    for key, value in headers.items():
        if key in RECORDED_RESPONSE_HEADERS or key.startswith(RECORDED_RESPONSE_PREFIXES):
            attributes[f"response.{key}"] = value
    metadata = {
        key[len(_METADATA_PREFIX) :]: value for key, value in context.items() if key.startswith(_METADATA_PREFIX)
    }
    if metadata:
        attributes["metadata"] = metadata
    tags = tuple(tag.strip() for tag in context.get("x-glassgate-tags", "").split(",") if tag.strip())
    response_raw = b"".join(chunks) if summary.response_json is None and undecoded is None else b""
    usage, estimated = summary.usage, False
    unreported = usage.input_tokens is None or usage.output_tokens is None
    if estimate_tokens and unreported and 200 <= exchange.status < 300 and undecoded is None:
        # The vendor reported no usage (a stream without include_usage, a gateway that drops it).
        usage, estimated = estimate_missing(summary, load=load_tokenizer)
    if exchange.stream_usage_injected:
        attributes["stream_usage_injected"] = True
    cost = price(
        exchange.vendor,
        summary.response_model or summary.model,  # Azure: the served model, not the deployment
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_read_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    answer = summary.response_json if 200 <= exchange.status < 300 else None
    findings = _guard(exchange, guardrails, attributes, summary.request_json, answer, summary.model)
    request_body = _body_value(exchange.request_body, summary.request_json, False)
    response_body = _body_value(response_raw, summary.response_json, exchange.truncated)
    return Span(
        span_id=exchange.span_id,
        trace_id=trace_id,
        parent_span_id=parent,
        project=exchange.project,
        kind="llm",
        status=status_of(exchange, summary),
        started_at=datetime.fromtimestamp(exchange.started_at, UTC),
        upstream=exchange.upstream,
        vendor=exchange.vendor,
        operation=summary.operation,
        model=summary.model,
        response_model=summary.response_model,
        http_status=exchange.status or None,
        streamed=summary.streamed,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cached_tokens=usage.cached_tokens,
        cache_write_tokens=usage.cache_write_tokens,
        reasoning_tokens=usage.reasoning_tokens,
        usage_estimated=estimated,
        cost_usd=cost.usd,
        cost_status=cost.status,
        price_version=cost.price_version,
        latency_ms=round((exchange.ended_at or 0.0) * 1000.0, 3),
        ttft_ms=round(ttft_ms, 3) if ttft_ms is not None else None,
        session_id=context.get("x-glassgate-session-id"),
        user_id=context.get("x-glassgate-user-id"),
        tags=tags,
        key_id=exchange.key_id,
        error=exchange.error or summary.error,
        input_preview=input_preview(request_body),
        output_preview=output_preview(response_body) if exchange.status < 400 else None,
        request_body=request_body,
        response_body=response_body,
        attributes=attributes,
        findings=findings,
    )


def _guard(
    exchange: Exchange,
    guardrails: GuardrailEngine | None,
    attributes: dict[str, Any],
    request: Any,
    answer: Any,
    model: str | None,
) -> tuple[Finding, ...]:
    """The request-path findings plus the flag policies' own (request and answer); what was
    scanned goes on the span."""
    findings, notes = list(exchange.findings), list(exchange.guardrail_notes)
    if guardrails is not None and exchange.outcome is not Outcome.BLOCKED:
        verdict = guardrails.check_exchange("flag", exchange, request)  # the adapter parsed it already
        findings += verdict.findings
        notes += [*verdict.skipped, *verdict.failures]
        if verdict.scanned:
            attributes["guardrails.scanned_fields"] = verdict.scanned
    if guardrails is not None and answer is not None:
        scanned = guardrails.scan_response(
            vendor=exchange.vendor,
            upstream=exchange.upstream,
            project=exchange.project,
            path=exchange.path,
            model=model,
            body=answer,
        )
        findings += scanned.findings
        notes += [f"answer: {note}" for note in (*scanned.skipped, *scanned.failures)]
        if scanned.scanned:
            attributes["guardrails.scanned_answer_fields"] = scanned.scanned
    if notes:
        attributes["guardrails.notes"] = sorted(set(notes))
    return tuple(findings)
