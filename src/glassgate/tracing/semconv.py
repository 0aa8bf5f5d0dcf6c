"""A span's attributes in the two conventions observability tools read.

OpenTelemetry GenAI semantic conventions (`gen_ai.*`) and OpenInference (`openinference.*`,
`llm.*`), so Phoenix, Langfuse, Datadog and plain OTel backends all understand the span.
Prompts and answers are exported only when `capture_messages` is on.
"""

from __future__ import annotations

from typing import Any

import orjson

from glassgate.tracing.span import Span

_PROVIDERS = {"openai": "openai", "azure": "azure.ai.openai", "anthropic": "anthropic", "bedrock": "aws.bedrock"}
_OPERATIONS = {
    "chat": "chat",
    "responses": "chat",
    "messages": "chat",
    "converse": "chat",
    "converse_stream": "chat",
    "invoke": "chat",
    "invoke_stream": "chat",
    "completions": "text_completion",
    "embeddings": "embeddings",
}

AttributeValue = str | int | float | bool | list[str]


def operation_name(span: Span) -> str:
    return _OPERATIONS.get(span.operation or "", span.operation or "generic")


def span_name(span: Span) -> str:
    """`{operation} {model}`, as the GenAI conventions name client spans."""
    return f"{operation_name(span)} {span.model}" if span.model else operation_name(span)


def attributes(span: Span, *, capture_messages: bool) -> dict[str, AttributeValue]:
    found: dict[str, Any] = {
        "gen_ai.provider.name": _PROVIDERS.get(span.vendor or "", span.vendor),
        "gen_ai.system": _PROVIDERS.get(span.vendor or "", span.vendor),  # the earlier generation's name
        "gen_ai.operation.name": operation_name(span),
        "gen_ai.request.model": span.model,
        "gen_ai.response.model": span.response_model,
        "gen_ai.usage.input_tokens": span.input_tokens,
        "gen_ai.usage.output_tokens": span.output_tokens,
        "gen_ai.usage.cache_read.input_tokens": span.cached_tokens,
        "gen_ai.usage.cache_creation.input_tokens": span.cache_write_tokens,
        "gen_ai.conversation.id": span.session_id,
        "openinference.span.kind": "LLM" if operation_name(span) != "embeddings" else "EMBEDDING",
        "llm.model_name": span.response_model or span.model,
        "llm.provider": span.vendor,
        "llm.token_count.prompt": span.input_tokens,
        "llm.token_count.completion": span.output_tokens,
        "llm.token_count.prompt_details.cache_read": span.cached_tokens,
        "llm.token_count.completion_details.reasoning": span.reasoning_tokens,
        "session.id": span.session_id,
        "user.id": span.user_id,
        "glassgate.upstream": span.upstream,
        "glassgate.project": span.project,
        "glassgate.status": span.status,
        "glassgate.ttft_ms": span.ttft_ms,
        "glassgate.cost_usd": span.cost_usd,
        "http.response.status_code": span.http_status,
    }
    if span.input_tokens is not None and span.output_tokens is not None:
        found["llm.token_count.total"] = span.input_tokens + span.output_tokens
    if span.usage_estimated:
        found["glassgate.usage.estimated"] = True  # the token counts above are tiktoken's, not the vendor's
    finish = span.attributes.get("finish_reason")
    if isinstance(finish, str):
        found["gen_ai.response.finish_reasons"] = [finish]
    if span.tags:
        found["tag.tags"] = list(span.tags)
    if capture_messages:
        found.update(_messages(span))
    return {key: value for key, value in found.items() if value is not None}


def _messages(span: Span) -> dict[str, Any]:
    """OpenInference's flattened messages, for the chat shapes whose text is plain."""
    found: dict[str, Any] = {}
    request = span.request_body if isinstance(span.request_body, dict) else {}
    messages = request.get("messages")
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            found[f"llm.input_messages.{index}.message.role"] = str(message.get("role", ""))
            found[f"llm.input_messages.{index}.message.content"] = message["content"]
    response = span.response_body if isinstance(span.response_body, dict) else {}
    choices = response.get("choices")
    for index, choice in enumerate(choices if isinstance(choices, list) else []):
        message = choice.get("message") if isinstance(choice, dict) else None
        if isinstance(message, dict) and isinstance(message.get("content"), str):
            found[f"llm.output_messages.{index}.message.role"] = str(message.get("role", "assistant"))
            found[f"llm.output_messages.{index}.message.content"] = message["content"]
    # The whole bodies too, for every vendor shape: consumers (Phoenix's Input and Output
    # columns) show these, and otherwise make up an output from other attributes.
    for prefix, body in (("input", span.request_body), ("output", span.response_body)):
        if isinstance(body, dict | list):
            found[f"{prefix}.value"] = orjson.dumps(body).decode()
            found[f"{prefix}.mime_type"] = "application/json"
        elif isinstance(body, str):
            found[f"{prefix}.value"] = body
            found[f"{prefix}.mime_type"] = "text/plain"
    return found
