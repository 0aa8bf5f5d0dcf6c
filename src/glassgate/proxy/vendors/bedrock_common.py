"""Pieces shared by the Bedrock parsers: the parse result, usage normalisation, stream reading.

Bedrock counts cache reads and writes apart from `inputTokens`/`inputTokenCount`; every helper
here folds them back in, so `Usage.input_tokens` is inclusive as the base convention requires.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from glassgate.proxy.eventstream import decode_frames
from glassgate.proxy.vendors.base import JSONValue, Usage, as_int, dig, loads_or_none

METRICS_KEY = "amazon-bedrock-invocationMetrics"
CORRUPT_STREAM = "corrupt event-stream frame"
_HEADER = "x-amzn-bedrock-"


@dataclass(slots=True)
class Parsed:
    """What one Bedrock parser learned; the adapter turns it into a CallSummary."""

    response: JSONValue = None
    usage: Usage = field(default_factory=Usage)
    finish_reason: str | None = None
    first_content_chunk: int | None = None
    error: str | None = None
    error_type: str | None = None
    response_model: str | None = None
    attributes: dict[str, JSONValue] = field(default_factory=dict)

    def fail(self, message: str, kind: str | None) -> None:
        """Record an error; the first one wins, later ones are usually its consequences."""
        if self.error is None:
            self.error, self.error_type = message, kind


def text_of(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def append_to(target: dict[str, Any], key: str, value: JSONValue) -> None:
    """Collect repeated pieces (citations, ...) in a list, whatever the key held before."""
    current = target.get(key)
    earlier = current if isinstance(current, list) else [] if current is None else [current]
    target[key] = [*earlier, value]


def int_sum(base: int | None, *extras: int | None) -> int | None:
    """`base` plus whichever extras are known; None when the base itself is unknown."""
    return None if base is None else base + sum(extra or 0 for extra in extras)


def cache_usage(base: int | None, output: int | None, read: int | None, write: int | None) -> Usage:
    """Usage from counts that exclude the cache (Bedrock's habit), made inclusive."""
    return Usage(
        input_tokens=int_sum(base, read, write), output_tokens=output, cached_tokens=read, cache_write_tokens=write
    )


def merge_usage(*sources: Usage) -> Usage:
    """Take each count from the first source that has it, in priority order.

    The input count and its cache subsets travel together: mixing an input count from one
    source with cache counts from another could make the subsets exceed the whole.
    """
    merged: dict[str, int | None] = {item.name: None for item in fields(Usage)}
    for source in sources:
        if merged["input_tokens"] is None and source.input_tokens is not None:
            merged["input_tokens"] = source.input_tokens
            merged["cached_tokens"], merged["cache_write_tokens"] = source.cached_tokens, source.cache_write_tokens
        for name in ("output_tokens", "reasoning_tokens"):
            if merged[name] is None:
                merged[name] = getattr(source, name)
    return Usage(**merged)


def header_int(headers: Mapping[str, str], name: str) -> int | None:
    value = headers.get(_HEADER + name, "").strip()
    return int(value) if value.isascii() and value.isdigit() else None


def header_usage(headers: Mapping[str, str]) -> Usage:
    """Non-stream InvokeModel's `X-Amzn-Bedrock-*-Token-Count` headers: the most uniform source."""
    return cache_usage(
        header_int(headers, "input-token-count"),
        header_int(headers, "output-token-count"),
        header_int(headers, "cache-read-input-token-count"),
        header_int(headers, "cache-write-input-token-count"),
    )


def metrics_usage(metrics: JSONValue) -> Usage:
    """`amazon-bedrock-invocationMetrics` on an invoke stream's last chunk (excludes the cache)."""
    if not isinstance(metrics, dict):
        return Usage()
    return cache_usage(
        as_int(metrics.get("inputTokenCount")),
        as_int(metrics.get("outputTokenCount")),
        as_int(metrics.get("cacheReadInputTokenCount")),
        as_int(metrics.get("cacheWriteInputTokenCount")),
    )


def converse_usage(usage: JSONValue) -> Usage:
    """Converse `usage` (and Nova's invoke body, which names the cache counts `...TokenCount`)."""
    if not isinstance(usage, dict):
        return Usage()
    read = as_int(usage.get("cacheReadInputTokens"))
    write = as_int(usage.get("cacheWriteInputTokens"))
    read = read if read is not None else as_int(usage.get("cacheReadInputTokenCount"))
    write = write if write is not None else as_int(usage.get("cacheWriteInputTokenCount"))
    return cache_usage(as_int(usage.get("inputTokens")), as_int(usage.get("outputTokens")), read, write)


def record_metrics(parsed: Parsed, metrics: JSONValue) -> None:
    """Bedrock's own server-side timings, worth keeping next to the proxy's TTFT."""
    for key, attribute in (
        ("invocationLatency", "invocation_latency_ms"),
        ("firstByteLatency", "first_byte_latency_ms"),
    ):
        value = as_int(dig(metrics, key))
        if value is not None:
            parsed.attributes[f"bedrock.{attribute}"] = value


def record_latency_header(parsed: Parsed, headers: Mapping[str, str]) -> None:
    latency = header_int(headers, "invocation-latency")
    if latency is not None:
        parsed.attributes.setdefault("bedrock.invocation_latency_ms", latency)


Event = tuple[int, str, dict[str, Any]]  # (chunk that completed it, event type, JSON payload)


def _invoke_chunk(payload: JSONValue) -> JSONValue:
    """The model's own JSON: base64 inside the `chunk` event's `bytes` field."""
    encoded = dig(payload, "bytes")
    if not isinstance(encoded, str):
        return None
    try:
        return loads_or_none(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return None


def _record_exception(parsed: Parsed, kind: str, payload: bytes) -> None:
    body = loads_or_none(payload)
    message = text_of(dig(body, "message")) or text_of(dig(body, "Message")) or kind or "exception in stream"
    parsed.fail(message, kind or None)
    original = as_int(dig(body, "originalStatusCode"))  # modelStreamErrorException: the model's own status
    if original is not None:
        parsed.attributes.setdefault("bedrock.original_status_code", original)


def read_stream(chunks: Sequence[bytes], parsed: Parsed, *, invoke: bool) -> list[Event]:
    """Decode frames into JSON events; exceptions, error frames and corruption go to `parsed`.

    For invoke streams each `chunk` event becomes the model's decoded JSON (type `chunk`).
    """
    decoded = decode_frames(chunks)
    events: list[Event] = []
    malformed = 0
    for frame in decoded.frames:
        if frame.message_type == "exception":
            _record_exception(parsed, frame.kind, frame.payload)
            continue
        if frame.message_type == "error":
            parsed.fail(frame.payload.decode("utf-8", errors="replace") or frame.kind or "error in stream", frame.kind)
            continue
        body = loads_or_none(frame.payload)
        if invoke and frame.kind == "chunk":
            body = _invoke_chunk(body)
        if isinstance(body, dict):
            events.append((frame.index, frame.kind, body))
        else:
            malformed += 1
    if malformed:
        parsed.attributes["bedrock.malformed_events"] = malformed
    if decoded.corrupt is not None:
        parsed.fail(CORRUPT_STREAM, "corrupt_event_stream")
        parsed.attributes["bedrock.stream_corruption"] = decoded.corrupt
    if decoded.incomplete_bytes:
        parsed.attributes["bedrock.incomplete_frame_bytes"] = decoded.incomplete_bytes
    return events
