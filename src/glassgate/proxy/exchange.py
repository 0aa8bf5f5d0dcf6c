"""The record of one proxied call, filled by the relay loop with as little work as possible.

The relay only appends: the request bytes, each response chunk with its arrival time, and
how the call ended. Everything that needs parsing (model, usage, time to first token) is
derived later from this record, off the hot path, by `glassgate.tracing.capture`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from glassgate.guardrails.engine import Finding


class Outcome(StrEnum):
    """How the relay of one call ended."""

    COMPLETED = "completed"  # the upstream answered and the client received it all
    CLIENT_DISCONNECTED = "client_disconnected"  # the client left before the end
    UPSTREAM_FAILED = "upstream_failed"  # connect error, timeout or reset
    BLOCKED = "blocked"  # a guardrail policy refused the request; nothing went upstream
    ANSWER_BLOCKED = "answer_blocked"  # a guardrail policy stopped the answer on its way back


@dataclass(slots=True)
class Exchange:
    """One call through the proxy, as seen on the wire."""

    span_id: str
    upstream: str
    vendor: str
    method: str
    path: str  # the path after the upstream name, percent-encoded as received
    query: str
    started_at: float  # wall clock (seconds since the epoch)
    project: str = "default"
    key_id: str | None = None
    context_headers: dict[str, str] = field(default_factory=dict)  # x-glassgate-* and safe client headers
    request_body: bytes = b""  # as the client sent it
    stream_usage_injected: bool = False  # the proxy added stream_options.include_usage upstream
    # Guardrails on the request path (block, redact): request_body is then what went upstream,
    # or for a blocked call the body with every match masked: the matched values are never kept.
    findings: list[Finding] = field(default_factory=list)
    guardrail_notes: list[str] = field(default_factory=list)  # skipped parts, detector failures
    status: int = 0
    # As received: decoding them is capture's job, off the hot path.
    raw_response_headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    headers_at: float | None = None  # seconds after start when the upstream's headers arrived
    chunks: list[bytes] = field(default_factory=list)
    chunk_times: list[float] = field(default_factory=list)  # seconds after start, one per chunk
    captured_bytes: int = 0
    truncated: bool = False  # the response exceeded the capture limit; chunks hold its head
    ended_at: float | None = None  # seconds after start
    outcome: Outcome = Outcome.COMPLETED
    error: str | None = None  # what went wrong on the way, for the span (never a secret)
    error_type: str | None = None
