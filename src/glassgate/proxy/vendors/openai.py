"""OpenAI's wire format: Chat Completions, Responses, Embeddings, legacy Completions.

Any other path is summarised as a `generic` call: forwarded and recorded, not interpreted.
"""

from __future__ import annotations

from typing import Any

import orjson

from glassgate.proxy.vendors.base import CallSummary, JSONValue, Usage, WireCall, as_int, dig, loads_or_none
from glassgate.proxy.vendors.openai_stream import StreamResult, assemble_chat, assemble_responses

_OPERATION_SUFFIXES = (
    ("/chat/completions", "chat"),
    ("/responses", "responses"),
    ("/embeddings", "embeddings"),
    ("/completions", "completions"),
)


def operation_for(method: str, path: str) -> str:
    """Which API a path belongs to; only POSTs create model calls."""
    trimmed = path.rstrip("/")
    if method == "POST":
        for suffix, operation in _OPERATION_SUFFIXES:
            if trimmed.endswith(suffix):
                return operation
    return "generic"


def usage_from(operation: str, usage: JSONValue) -> Usage:
    """Map Chat/Completions (`prompt_tokens`) or Responses (`input_tokens`) usage."""
    if not isinstance(usage, dict):
        return Usage()
    if operation == "responses" or "input_tokens" in usage:
        return Usage(
            input_tokens=as_int(usage.get("input_tokens")),
            output_tokens=as_int(usage.get("output_tokens")),
            cached_tokens=as_int(dig(usage, "input_tokens_details", "cached_tokens")),
            reasoning_tokens=as_int(dig(usage, "output_tokens_details", "reasoning_tokens")),
        )
    output = as_int(usage.get("completion_tokens"))
    if operation == "embeddings" and output is None:
        output = 0  # embeddings produce no tokens; 0 is the truth, not a missing value
    return Usage(
        input_tokens=as_int(usage.get("prompt_tokens")),
        output_tokens=output,
        cached_tokens=as_int(dig(usage, "prompt_tokens_details", "cached_tokens")),
        reasoning_tokens=as_int(dig(usage, "completion_tokens_details", "reasoning_tokens")),
    )


def error_from(body: JSONValue) -> tuple[str | None, str | None]:
    """(message, type or code) from `{"error": {...}}`, tolerating vendors' variations."""
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        kind = error.get("code") or error.get("type")
        return str(error.get("message") or "error"), str(kind) if kind else None
    if isinstance(error, str):
        return error, None
    return None, None


def finish_reason_of(operation: str, response: JSONValue) -> str | None:
    if not isinstance(response, dict):
        return None
    if operation == "responses":
        outputs = response.get("output")
        outputs = outputs if isinstance(outputs, list) else []
        if any(isinstance(item, dict) and item.get("type") == "function_call" for item in outputs):
            return "tool_calls"
        reason = dig(response, "incomplete_details", "reason")
        return str(reason) if reason else (str(response["status"]) if response.get("status") else None)
    choices = response.get("choices")
    first = choices[0] if isinstance(choices, list) and choices and isinstance(choices[0], dict) else {}
    reason = first.get("finish_reason")
    return str(reason) if reason else None


def shrink_embeddings(response: JSONValue) -> JSONValue:
    """Replace vectors by a short description: they are large and useless in a trace."""
    if not isinstance(response, dict) or not isinstance(response.get("data"), list):
        return response
    data = []
    for item in response["data"]:
        if isinstance(item, dict) and "embedding" in item:
            vector = item["embedding"]
            if isinstance(vector, str):
                described = f"<base64 float32 vector, {len(vector) * 3 // 4 // 4} dims>"
            elif isinstance(vector, list):
                described = f"<float vector, {len(vector)} dims>"
            else:
                described = "<vector>"
            item = {**item, "embedding": described}
        data.append(item)
    return {**response, "data": data}


def summarize_openai_call(call: WireCall, path: str, model_hint: str | None = None) -> CallSummary:
    """The shared summary for OpenAI and Azure (which differ only in routing)."""
    operation = operation_for(call.method, path)
    request = loads_or_none(call.request_body) if call.request_body else None
    model = request.get("model") if isinstance(request, dict) and isinstance(request.get("model"), str) else None
    model = model or model_hint
    streamed = call.content_type.startswith("text/event-stream")
    first_content: int | None = None
    error: str | None = None
    error_type: str | None = None
    response: Any
    if streamed:
        assembled: StreamResult
        if operation == "responses":
            assembled = assemble_responses(call.chunks)
        else:
            assembled = assemble_chat(call.chunks, text_completion=operation == "completions")
        response = assembled.response
        first_content, error, error_type = assembled.first_content_chunk, assembled.error, assembled.error_type
    else:
        response = loads_or_none(b"".join(call.chunks)) if call.chunks else None
        if operation != "generic" and call.status < 400 and first_content is None and call.chunks:
            first_content = 0  # a whole JSON answer: its first byte is its first content
    if call.status >= 400:
        error, error_type = error_from(response)
        error = error or f"HTTP {call.status}"
    usage_value = dig(response, "usage")
    if operation == "embeddings":
        response = shrink_embeddings(response)
    served = dig(response, "model")
    return CallSummary(
        operation=operation,
        model=model,
        response_model=served if isinstance(served, str) and served else None,
        streamed=streamed,
        usage=usage_from(operation, usage_value),
        request_json=request,
        response_json=response,
        first_content_chunk=first_content,
        finish_reason=finish_reason_of(operation, response),
        error=error,
        error_type=error_type,
    )


def openai_error_body(status: int, message: str, code: str) -> tuple[bytes, bytes]:
    """`{"error": {message, type, param, code}}`, which the openai SDKs turn into exceptions."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    if status == 401:
        kind = "authentication_error"
    elif status == 429:  # OpenAI's own: a spent quota, or a rate (of requests or tokens) exceeded
        kind = "insufficient_quota" if code == "insufficient_quota" else "requests"
    body = orjson.dumps({"error": {"message": message, "type": kind, "param": None, "code": code}})
    return body, b"application/json"


class OpenAIAdapter:
    """OpenAI's public API and every server that speaks it."""

    name = "openai"

    def summarize(self, call: WireCall) -> CallSummary:
        return summarize_openai_call(call, call.path)

    def error_body(self, status: int, message: str, code: str) -> tuple[bytes, bytes]:
        return openai_error_body(status, message, code)
