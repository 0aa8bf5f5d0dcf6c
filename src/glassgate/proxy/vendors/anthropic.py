"""Anthropic's Messages API. Forwarded and recorded generically for now; the full parser
(usage with cache tokens, thinking and tool-use blocks) comes with the Anthropic issue."""

from __future__ import annotations

import orjson

from glassgate.proxy.vendors.base import CallSummary, WireCall, loads_or_none


class AnthropicAdapter:
    """Records model and raw bodies; does not yet interpret usage or streams."""

    name = "anthropic"

    def summarize(self, call: WireCall) -> CallSummary:
        request = loads_or_none(call.request_body) if call.request_body else None
        model = request.get("model") if isinstance(request, dict) else None
        streamed = call.content_type.startswith("text/event-stream")
        body = b"".join(call.chunks)
        response = body.decode("utf-8", errors="replace") if streamed else loads_or_none(body)
        error = f"HTTP {call.status}" if call.status >= 400 else None
        return CallSummary(
            operation="messages" if call.path.rstrip("/").endswith("/v1/messages") else "generic",
            model=model if isinstance(model, str) else None,
            streamed=streamed,
            request_json=request,
            response_json=response,
            error=error,
        )

    def error_body(self, status: int, message: str, code: str) -> tuple[bytes, bytes]:
        kind = {401: "authentication_error", 404: "not_found_error", 413: "request_too_large"}.get(
            status, "invalid_request_error" if status < 500 else "api_error"
        )
        body = orjson.dumps({"type": "error", "error": {"type": kind, "message": message}})
        return body, b"application/json"
