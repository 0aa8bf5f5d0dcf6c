"""Anthropic's Messages API (wire-formats.md §4): messages, token counting, message batches.

Any other path is summarised as a `generic` call: forwarded and recorded, not interpreted.
Usage is normalised to the `Usage` convention: Anthropic counts cache reads and writes
APART from `input_tokens`, so they are added back in here.
"""

from __future__ import annotations

from typing import Any

import orjson

from glassgate.proxy.vendors.anthropic_stream import assemble_messages, error_of
from glassgate.proxy.vendors.base import CallSummary, JSONValue, Usage, WireCall, as_int, dig, loads_or_none

_MESSAGES = "/v1/messages"
_COUNT_TOKENS = "/v1/messages/count_tokens"
_BATCHES = "/v1/messages/batches"

# Anthropic's error types by HTTP status (https://docs.claude.com/en/api/errors).
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    402: "billing_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    500: "api_error",
    504: "timeout_error",
    529: "overloaded_error",
}


def operation_for(method: str, path: str) -> str:
    """Which API a path belongs to. Only a POST sends a prompt; batches are recorded whatever the method.

    Suffix matching, as for OpenAI: a base URL with a path prefix still ends in `/v1/messages`.
    """
    trimmed = path.rstrip("/")
    if _BATCHES + "/" in trimmed + "/":
        return "batches"
    if method == "POST" and trimmed.endswith(_COUNT_TOKENS):
        return "count_tokens"
    if method == "POST" and trimmed.endswith(_MESSAGES):
        return "messages"
    return "generic"


def usage_from(operation: str, usage: JSONValue) -> Usage:
    """Normalise Messages usage (cache counts apart) or count_tokens' `{"input_tokens": N}`."""
    if not isinstance(usage, dict):
        return Usage()
    base = as_int(usage.get("input_tokens"))
    if operation == "count_tokens":
        # Counting produces nothing, so 0 output is the truth (as for embeddings), not unknown.
        return Usage(input_tokens=base, output_tokens=0 if base is not None else None)
    reads = as_int(usage.get("cache_read_input_tokens"))
    writes = as_int(usage.get("cache_creation_input_tokens"))
    return Usage(
        # Without the uncached part the total is unknown; a partial sum would look exact.
        input_tokens=None if base is None else base + (reads or 0) + (writes or 0),
        output_tokens=as_int(usage.get("output_tokens")),
        cached_tokens=reads,
        cache_write_tokens=writes,
        # SDK 2.x's `output_tokens_details.thinking_tokens`: a subset of output_tokens.
        reasoning_tokens=as_int(dig(usage, "output_tokens_details", "thinking_tokens")),
    )


def summarize_anthropic_call(call: WireCall) -> CallSummary:
    operation = operation_for(call.method, call.path)
    request = loads_or_none(call.request_body) if call.request_body else None
    model = dig(request, "model")
    streamed = call.content_type.startswith("text/event-stream")
    first_content: int | None = None
    error: str | None = None
    error_type: str | None = None
    response: Any
    if streamed:
        assembled = assemble_messages(call.chunks)
        response = assembled.response
        first_content, error, error_type = assembled.first_content_chunk, assembled.error, assembled.error_type
    else:
        response = loads_or_none(b"".join(call.chunks)) if call.chunks else None
        if operation in ("messages", "count_tokens") and call.status < 400 and call.chunks:
            first_content = 0  # a whole JSON answer: its first byte is its first content
    if call.status >= 400 or dig(response, "type") == "error":
        # A 200 carrying an error body (some gateways do that) is an error all the same.
        error, error_type = error_of(response)
        error = error or f"HTTP {call.status}"
        first_content = None
    if operation == "count_tokens":
        usage = usage_from(operation, response)
    else:
        usage = usage_from(operation, dig(response, "usage"))
    served = dig(response, "model")
    stop_reason = dig(response, "stop_reason")
    return CallSummary(
        operation=operation,
        model=model if isinstance(model, str) and model else None,
        response_model=served if isinstance(served, str) and served else None,
        streamed=streamed,
        usage=usage,
        request_json=request,
        response_json=response,
        first_content_chunk=first_content,
        finish_reason=stop_reason if isinstance(stop_reason, str) and stop_reason else None,
        error=error,
        error_type=error_type,
    )


def anthropic_error_body(status: int, message: str, code: str) -> tuple[bytes, bytes]:
    """`{"type": "error", "error": {type, message}}`, which the anthropic SDKs turn into exceptions.

    The SDKs pick the exception class from the status; the type is for code that reads it.
    Glassgate's own code (e.g. `upstream_timeout`) has no slot in Anthropic's shape.
    """
    kind = _ERROR_TYPES.get(status) or ("invalid_request_error" if status < 500 else "api_error")
    body = orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})
    return body, b"application/json"


class AnthropicAdapter:
    """Anthropic's first-party API (api.anthropic.com) and servers that speak it."""

    name = "anthropic"

    def summarize(self, call: WireCall) -> CallSummary:
        return summarize_anthropic_call(call)

    def error_body(self, status: int, message: str, code: str) -> tuple[bytes, bytes]:
        return anthropic_error_body(status, message, code)
