"""The contract every vendor adapter keeps: pure functions from wire bytes to a summary.

Adapters do no IO and never run on the hot path: the relay forwards bytes untouched and
the capture stage hands adapters a finished `WireCall` afterwards.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

JSONValue = Any  # a value orjson can serialise; vendors' bodies are open-ended


@dataclass(frozen=True, slots=True)
class WireCall:
    """One finished call as bytes: what the client sent and what the upstream answered."""

    method: str
    path: str  # after the upstream name, percent-encoded
    query: str
    request_body: bytes
    status: int  # 0 when no response arrived
    content_type: str
    chunks: Sequence[bytes]  # decoded (decompressed) response body pieces, in arrival order
    response_headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts as the vendor reported them, normalised to one convention.

    `input_tokens` includes cached tokens (reads and writes) and `output_tokens` includes
    reasoning tokens (OpenAI's convention, which genai-prices expects too); the detail fields
    are subsets. Vendors that count cache tokens apart (Anthropic, Bedrock) are normalised
    into this form by their adapters.
    """

    input_tokens: int | None = None
    output_tokens: int | None = None
    cached_tokens: int | None = None  # cache reads
    cache_write_tokens: int | None = None
    reasoning_tokens: int | None = None


@dataclass(frozen=True, slots=True)
class CallSummary:
    """What an adapter learned from one call."""

    operation: str  # chat | responses | embeddings | completions | generic
    model: str | None = None  # as requested (Azure: the deployment)
    response_model: str | None = None  # as served
    streamed: bool = False
    usage: Usage = field(default_factory=Usage)
    request_json: JSONValue = None
    response_json: JSONValue = None  # a streamed answer assembled into one value
    first_content_chunk: int | None = None  # index of the chunk carrying the first content
    finish_reason: str | None = None
    error: str | None = None  # error message, including errors inside a 200 stream
    error_type: str | None = None
    attributes: dict[str, JSONValue] = field(default_factory=dict)


class VendorAdapter(Protocol):
    """One vendor's wire knowledge. Built-ins register exactly as a plugin would."""

    name: str

    def summarize(self, call: WireCall) -> CallSummary:
        """Read one finished call; never raise on malformed input."""
        ...

    def error_body(self, status: int, message: str, code: str) -> tuple[bytes, bytes]:
        """An error in the vendor's own shape: (body, content type), so SDKs raise as usual."""
        ...


def error_headers(adapter: VendorAdapter, status: int) -> list[tuple[bytes, bytes]]:
    """Extra headers some vendors' SDKs read errors from (Bedrock: `x-amzn-ErrorType`).

    Optional for adapters: one that needs them defines `error_headers(status)`.
    """
    method = getattr(adapter, "error_headers", None)
    return list(method(status)) if method is not None else []


_REGISTRY: dict[str, VendorAdapter] = {}


def register(adapter: VendorAdapter) -> VendorAdapter:
    """Make an adapter available under its name (third-party vendors call this too)."""
    _REGISTRY[adapter.name] = adapter
    return adapter


def get_adapter(name: str) -> VendorAdapter:
    """The adapter for a vendor name; KeyError when none is registered."""
    return _REGISTRY[name]


def registered_vendors() -> list[str]:
    return sorted(_REGISTRY)


def loads_or_none(data: bytes | str) -> JSONValue:
    """Parse JSON, or None when the bytes are not JSON (bodies are never trusted)."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return None


def as_int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def dig(value: JSONValue, *keys: str) -> JSONValue:
    """Follow dictionary keys, returning None at the first missing or non-dict step."""
    for key in keys:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


ErrorExtractor = Callable[[JSONValue], tuple[str | None, str | None]]
