"""The vendor-neutral record of one LLM call (or, later, one ingested OTLP span)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from glassgate.guardrails.engine import Finding

SpanStatus = Literal["ok", "error", "blocked", "cancelled"]


@dataclass(slots=True)  # not frozen: frozen dataclasses pay a setattr per field per span
class Span:
    span_id: str  # 16 hex digits (an OpenTelemetry span id)
    trace_id: str  # 32 hex digits
    project: str
    kind: str  # "llm" for proxied calls
    status: SpanStatus
    started_at: datetime
    parent_span_id: str | None = None
    upstream: str | None = None
    vendor: str | None = None
    operation: str | None = None
    model: str | None = None
    response_model: str | None = None
    http_status: int | None = None
    streamed: bool = False
    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None
    usage_estimated: bool = False  # the token counts were estimated (tiktoken), not reported by the vendor
    cost_usd: float | None = None  # None when unpriced or without usage: never a made-up $0
    cost_status: str | None = None  # priced | unpriced | no_usage
    price_version: str | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None
    session_id: str | None = None
    user_id: str | None = None
    tags: tuple[str, ...] = ()
    key_id: str | None = None
    error: str | None = None
    input_preview: str | None = None  # bounded plain text for the list and search (see preview.py)
    output_preview: str | None = None
    request_body: Any = None
    response_body: Any = None
    attributes: dict[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()  # guardrail findings, without the matched values
