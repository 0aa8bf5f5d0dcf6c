"""AWS Bedrock Runtime: InvokeModel (per model family), Converse, and their streams.

The path says what the call is (`/model/{id}/converse-stream`); the model id in it is
percent-encoded by boto3 (`%3A`, `%2F`) and raw from AnthropicBedrock, so it is decoded here for
display only: the relay forwards the raw path untouched (wire-formats.md §3.1). Streams are
AWS event-stream frames, decoded by `glassgate.proxy.eventstream`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote

import orjson

from glassgate.proxy.vendors.base import CallSummary, JSONValue, WireCall, as_int, dig, loads_or_none
from glassgate.proxy.vendors.bedrock_common import Parsed, read_stream, text_of
from glassgate.proxy.vendors.bedrock_converse import parse_converse, parse_converse_stream
from glassgate.proxy.vendors.bedrock_invoke import parse_invoke

_MODEL_PATH = re.compile(r"/model/(?P<model>.+)/(?P<action>[^/]+)/?$")
_ACTIONS = {
    "invoke": "invoke",
    "invoke-with-response-stream": "invoke_stream",
    "converse": "converse",
    "converse-stream": "converse_stream",
    "count-tokens": "count_tokens",
}
_GUARDRAIL_PATH = re.compile(r"/guardrail/(?P<id>[^/]+)/version/(?P<version>[^/]+)/apply/?$")
_ASYNC_PATH = re.compile(r"/async-invoke(?:/.*)?$")
_STREAMED = frozenset({"invoke_stream", "converse_stream"})
_EVENT_STREAM = "application/vnd.amazon.eventstream"

# The AWS error code botocore expects in `x-amzn-ErrorType` for a status (wire-formats.md §3.5).
_ERROR_TYPES = {
    400: "ValidationException",
    401: "AccessDeniedException",
    403: "AccessDeniedException",
    404: "ResourceNotFoundException",
    408: "ModelTimeoutException",
    409: "ConflictException",
    413: "ValidationException",
    424: "ModelErrorException",
    429: "ThrottlingException",
    500: "InternalServerException",
    502: "ServiceUnavailableException",
    503: "ServiceUnavailableException",
    504: "ModelTimeoutException",
}


def error_type_for(status: int) -> str:
    """The AWS error code for a status the proxy itself answers with (the caller sets the header)."""
    return _ERROR_TYPES.get(status, "InternalServerException" if status >= 500 else "ValidationException")


@dataclass(frozen=True, slots=True)
class Route:
    operation: str
    model: str | None = None  # percent-decoded, for display
    attributes: dict[str, JSONValue] = field(default_factory=dict)


def route_of(path: str) -> Route:
    """Operation and model id from the (still percent-encoded) path."""
    found = _MODEL_PATH.search(path)
    if found:
        return Route(_ACTIONS.get(found["action"], "generic"), unquote(found["model"]))
    found = _GUARDRAIL_PATH.search(path)
    if found:
        attributes = {
            "bedrock.guardrail_id": unquote(found["id"]),
            "bedrock.guardrail_version": unquote(found["version"]),
        }
        return Route("apply_guardrail", attributes=attributes)
    if _ASYNC_PATH.search(path):
        return Route("async_invoke")
    return Route("generic")


def error_code_of(call: WireCall, body: JSONValue) -> str | None:
    """`x-amzn-ErrorType: ValidationException:http://internal.amazon.com/...` → ValidationException."""
    header = call.response_headers.get("x-amzn-errortype", "").split(":", 1)[0].strip()
    if header:
        return header
    kind = text_of(dig(body, "__type"))  # some AWS JSON errors name the type in the body instead
    return kind.rsplit("#", 1)[-1] if kind else None


def _parse_http_error(call: WireCall, parsed: Parsed) -> None:
    body = loads_or_none(b"".join(call.chunks)) if call.chunks else None
    parsed.response = body
    message = text_of(dig(body, "message")) or text_of(dig(body, "Message")) or f"HTTP {call.status}"
    parsed.fail(message, error_code_of(call, body))


def _parse_other(call: WireCall, operation: str, parsed: Parsed) -> None:
    """CountTokens, ApplyGuardrail, async invoke and unknown paths: the body as is, a few facts."""
    if call.content_type.startswith(_EVENT_STREAM):
        events = read_stream(call.chunks, parsed, invoke=True)
        parsed.response = {"events": [{"type": kind, **payload} for _, kind, payload in events]}
        return
    body = loads_or_none(b"".join(call.chunks)) if call.chunks else None
    parsed.response = body
    if operation == "count_tokens" and as_int(dig(body, "inputTokens")) is not None:
        # Counting is not a model call: the count is a fact about the request, not usage to bill.
        parsed.attributes["bedrock.counted_input_tokens"] = dig(body, "inputTokens")
    elif operation == "apply_guardrail" and text_of(dig(body, "action")):
        parsed.attributes["bedrock.guardrail_action"] = dig(body, "action")
    elif operation == "async_invoke" and text_of(dig(body, "invocationArn")):
        parsed.attributes["bedrock.invocation_arn"] = dig(body, "invocationArn")


def _parse(call: WireCall, operation: str, request: JSONValue, model: str | None, parsed: Parsed) -> None:
    if call.status >= 400:
        _parse_http_error(call, parsed)
    elif call.status == 0:
        return  # no response arrived: nothing to read
    elif operation in ("invoke", "invoke_stream"):
        parse_invoke(call, request, model, parsed, streamed=operation == "invoke_stream")
    elif operation == "converse":
        parse_converse(b"".join(call.chunks), parsed)
    elif operation == "converse_stream":
        parse_converse_stream(call.chunks, parsed)
    else:
        _parse_other(call, operation, parsed)


class BedrockAdapter:
    """AWS Bedrock Runtime, reached with boto3 or AnthropicBedrock pointed at the proxy."""

    name = "bedrock"

    def summarize(self, call: WireCall) -> CallSummary:
        route = route_of(call.path)
        request = loads_or_none(call.request_body) if call.request_body else None
        model = route.model
        if route.operation == "async_invoke" and model is None:
            model = text_of(dig(request, "modelId"))
        parsed = Parsed(attributes=dict(route.attributes))
        _parse(call, route.operation, request, model, parsed)
        return CallSummary(
            operation=route.operation,
            model=model,
            response_model=parsed.response_model,
            streamed=route.operation in _STREAMED,
            usage=parsed.usage,
            request_json=request,
            response_json=parsed.response,
            first_content_chunk=parsed.first_content_chunk,
            finish_reason=parsed.finish_reason,
            error=parsed.error,
            error_type=parsed.error_type,
            attributes=parsed.attributes,
        )

    def error_body(self, status: int, message: str, code: str) -> tuple[bytes, bytes]:
        """Bedrock's `{"message"}`; botocore takes the code from `x-amzn-ErrorType` (`error_headers`)."""
        return orjson.dumps({"message": message}), b"application/json"

    def error_headers(self, status: int) -> list[tuple[bytes, bytes]]:
        """The header botocore turns into `Error.Code` (read by `base.error_headers`)."""
        return [(b"x-amzn-errortype", error_type_for(status).encode())]
