"""Chat requests and answers in each vendor's wire format, for evaluation's calls. Pure (no IO).

    openai     POST /{upstream}/v1/chat/completions
    azure      POST /{upstream}/openai/deployments/{model}/chat/completions?api-version=...
    anthropic  POST /{upstream}/v1/messages
    bedrock    POST /{upstream}/model/{modelId}/converse, the model id percent-encoded as
               boto3 encodes it (`:` → %3A, `/` → %2F: ARNs and versioned ids stay one segment)

A streamed endpoint asks for a stream: OpenAI and Azure chat with `stream_options.include_usage`
(the last chunk then carries the token counts), Anthropic Messages with `stream: true`, Bedrock
ConverseStream (`/converse-stream`). Answers, streamed or not, are read by the vendor adapters
the proxy's own spans use (`glassgate.proxy.vendors`): one assembled response, usage in one
convention, the error a 200 stream may end with, and the chunk that carried the first content,
whose arrival is the time to first token.

Messages come in as OpenAI-style `{"role", "content"}` with text content. Anthropic takes the
system messages apart; Converse too, and wants text blocks, no blank ones, and one message per
turn, so consecutive messages of one role become one message with several blocks.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from glassgate.proxy.vendors import CallSummary, WireCall, get_adapter

VENDORS = ("openai", "azure", "anthropic", "bedrock")
_SDK_SAFE = "-._~"  # what botocore's percent_encode leaves alone in a URI label
# Errors a 200 stream may end with that are worth another try (the vendor was busy), as the
# adapters report their types; any other (a guardrail block, a bad request) is the item's.
TRANSIENT_STREAM_ERRORS = frozenset(
    {
        "server_error",  # OpenAI
        "rate_limit_exceeded",
        "overloaded_error",  # Anthropic
        "api_error",
        "rate_limit_error",
        "internalServerException",  # Bedrock's exception frames
        "modelStreamErrorException",
        "throttlingException",
        "serviceUnavailableException",
    }
)


def check_vendor(vendor: str, what: str) -> None:
    if vendor not in VENDORS:
        raise ValueError(
            f"{what} calls speak the openai, azure, anthropic or bedrock format; {vendor} is not supported"
        )


@dataclass(frozen=True)
class Endpoint:
    """One model behind one upstream, in that vendor's wire format."""

    upstream: str
    vendor: str  # one of VENDORS
    model: str
    api_version: str = "2024-10-21"  # azure: the api-version query value
    region: str = "us-east-1"  # bedrock: the region evaluation's SigV4 signatures name
    stream: bool = False

    def path(self) -> str:
        """The request path after the upstream name, percent-encoded."""
        model = quote(self.model, safe=_SDK_SAFE)
        if self.vendor == "azure":
            return f"/openai/deployments/{model}/chat/completions"
        if self.vendor == "anthropic":
            return "/v1/messages"
        if self.vendor == "bedrock":
            return f"/model/{model}/converse-stream" if self.stream else f"/model/{model}/converse"
        return "/v1/chat/completions"

    def query(self) -> str:
        return urlencode({"api-version": self.api_version}) if self.vendor == "azure" else ""


def chat_body(
    endpoint: Endpoint, messages: Sequence[Mapping[str, Any]], parameters: Mapping[str, Any]
) -> dict[str, Any]:
    """A chat request in the endpoint's format; `parameters` are added as they are (the vendor's own names)."""
    if endpoint.vendor == "bedrock":
        blocks, converse_turns = converse_messages(messages)
        return {"messages": converse_turns, **({"system": blocks} if blocks else {}), **parameters}
    if endpoint.vendor == "anthropic":
        system = "\n\n".join(str(message["content"]) for message in messages if message["role"] == "system")
        turns = [dict(message) for message in messages if message["role"] != "system"]
        body: dict[str, Any] = {"model": endpoint.model, "max_tokens": 1024, "messages": turns, **parameters}
        if system:
            body["system"] = system
        return {**body, "stream": True} if endpoint.stream else body
    body = {} if endpoint.vendor == "azure" else {"model": endpoint.model}
    body = {**body, "messages": [dict(message) for message in messages], **parameters}
    return {**body, "stream": True, "stream_options": {"include_usage": True}} if endpoint.stream else body


def converse_messages(messages: Sequence[Mapping[str, Any]]) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """(system blocks, messages) for Converse: text blocks, blank ones left out, one message per turn."""
    system = [{"text": str(m["content"])} for m in messages if m["role"] == "system" and str(m["content"]).strip()]
    turns: list[dict[str, Any]] = []
    for message in messages:
        content = str(message["content"])
        if message["role"] == "system" or not content.strip():
            continue
        role = "assistant" if message["role"] == "assistant" else "user"
        if turns and turns[-1]["role"] == role:
            turns[-1]["content"].append({"text": content})
        else:
            turns.append({"role": role, "content": [{"text": content}]})
    return system, turns


def judge_parameters(vendor: str, max_tokens: int) -> dict[str, Any]:
    """A judge's settings: no sampling randomness, a bounded answer."""
    if vendor == "bedrock":
        return {"inferenceConfig": {"temperature": 0, "maxTokens": max_tokens}}
    return {"temperature": 0, "max_tokens": max_tokens}


def summarize(
    endpoint: Endpoint,
    request_body: bytes,
    status: int,
    content_type: str,
    chunks: Sequence[bytes],
    headers: Mapping[str, str],
) -> CallSummary:
    """The answer as the proxy's adapter reads it (never raises on a malformed answer)."""
    call = WireCall(
        method="POST",
        path=endpoint.path(),
        query=endpoint.query(),
        request_body=request_body,
        status=status,
        content_type=content_type,
        chunks=chunks,
        response_headers={name.lower(): value for name, value in headers.items()},
    )
    return get_adapter(endpoint.vendor).summarize(call)


def answer_text(vendor: str, response: Any) -> str | None:
    """The text of a chat answer (OpenAI's first choice, Anthropic's or Converse's text blocks); None when
    `response` is not a chat answer at all."""
    try:
        if vendor == "anthropic":
            blocks = response["content"]
        elif vendor == "bedrock":
            blocks = response["output"]["message"]["content"]
        else:
            content = response["choices"][0]["message"]["content"]
            return content if isinstance(content, str) else ""
        return "".join(str(block.get("text") or "") for block in blocks if _is_text(vendor, block))
    except (KeyError, IndexError, TypeError, AttributeError):
        return None


def _is_text(vendor: str, block: Any) -> bool:
    if vendor == "bedrock":  # Converse blocks are keyed by kind: {"text": ...}, {"toolUse": ...}
        return isinstance(block, Mapping) and "text" in block
    return isinstance(block, Mapping) and block.get("type") == "text"


def error_message(payload: bytes) -> str:
    """The message of an error answer: OpenAI's and Anthropic's `error`, Bedrock's `message`, or the text."""
    try:
        body = orjson.loads(payload)
        error = body.get("error") or {"message": body["message"]}
        return str(error["message"] if isinstance(error, dict) else error)[:300]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
        return payload[:300].decode("utf-8", "replace")
