"""Bedrock Converse's shape (wire-formats.md §3.3), which Amazon Nova's invoke body shares.

Content blocks are unions keyed by their kind (`{"text": …}`, `{"toolUse": …}`) rather than
typed by a `type` field. A ConverseStream answer is stored assembled into this same shape.
"""

from __future__ import annotations

from typing import Any

from glassgate.tracing.conversation.parts import (
    Builder,
    Part,
    as_text,
    attachment,
    image,
    mapping,
    pretty,
    reasoning,
    role_of,
    size_note,
    text,
    text_value,
    tool_call,
    tool_result,
)

_INFERENCE_PARAMETERS = (
    ("maxTokens", "max_tokens"),
    ("temperature", "temperature"),
    ("topP", "top_p"),
    ("topK", "top_k"),
    ("stopSequences", "stop"),
)
_REQUEST_PARAMETERS = (
    ("additionalModelRequestFields", "additional_model_request_fields"),
    ("guardrailConfig", "guardrail"),
    ("performanceConfig", "performance"),
    ("serviceTier", "service_tier"),
    ("promptVariables", "prompt_variables"),
)
_MEDIA = ("image", "video", "audio", "document")


def _media(kind: str, value: object) -> Part:
    """`{"format": "png", "source": {"bytes" | "s3Location" | "text" | …}}` as a placeholder."""
    spec = mapping(value)
    media_format = text_value(spec.get("format"))
    source = mapping(spec.get("source"))
    data = source.get("bytes")
    location = source.get("s3Location")
    if isinstance(data, str):
        detail = f"inline data, {size_note(len(data))}"
    elif isinstance(location, dict):
        detail = f"S3 object {location.get('uri')}"
    else:
        detail = "no source"
    name = text_value(spec.get("name"))
    detail = f"{name}: {detail}" if name else detail
    media_type = f"{'application' if kind == 'document' else kind}/{media_format}" if media_format else None
    if kind == "image":
        return image(media_type, detail)
    return attachment(kind, media_type, detail)


def _document(value: object) -> Part:
    source = value.get("source") if isinstance(value, dict) else None
    if isinstance(source, dict) and isinstance(source.get("text"), str):
        return text(source["text"])  # a text document is text, kept for datasets
    if isinstance(source, dict) and isinstance(source.get("content"), list):
        return text(as_text(source["content"]))
    return _media("document", value)


def _tool_result(value: dict[str, Any]) -> Part:
    pieces = []
    content = value.get("content")
    for item in content if isinstance(content, list) else []:
        if isinstance(item, dict) and isinstance(item.get("text"), str):
            pieces.append(item["text"])
        elif isinstance(item, dict) and "json" in item:
            pieces.append(pretty(item["json"]))
        elif isinstance(item, dict) and any(kind in item for kind in _MEDIA):
            kind = next(kind for kind in _MEDIA if kind in item)
            placeholder = _media(kind, item[kind])
            pieces.append(f"[{kind}: {placeholder['media_type'] or 'unknown type'}, {placeholder['detail']}]")
        else:
            pieces.append(pretty(item))
    return tool_result(value.get("toolUseId"), "\n".join(pieces), is_error=value.get("status") == "error")


def block_parts(b: Builder, block: object) -> list[Part]:
    if not isinstance(block, dict):
        b.warn(f"a content block that is {type(block).__name__} was left out")
        return []
    if "text" in block:
        return [text(as_text(block["text"]))]
    if isinstance(block.get("toolUse"), dict):
        tool = block["toolUse"]
        return [tool_call(tool.get("toolUseId"), tool.get("name"), tool.get("input"))]
    if isinstance(block.get("toolResult"), dict):
        return [_tool_result(block["toolResult"])]
    if isinstance(block.get("reasoningContent"), dict):
        thought = block["reasoningContent"]
        reasoning_text = thought.get("reasoningText")
        if isinstance(reasoning_text, dict):
            return [reasoning(as_text(reasoning_text.get("text")))]
        return [reasoning("", redacted=True)]
    if "document" in block:
        return [_document(block["document"])]
    for kind in ("image", "video", "audio"):
        if kind in block:
            return [_media(kind, block[kind])]
    if isinstance(block.get("guardContent"), dict):
        guarded = block["guardContent"].get("text")
        return [text(as_text(guarded.get("text") if isinstance(guarded, dict) else guarded))]
    if isinstance(block.get("citationsContent"), dict):
        return [text(as_text(block["citationsContent"].get("content")))]
    if "cachePoint" in block:
        return []  # a cache marker holds no content
    b.warn(f"content block {sorted(block)} shown as JSON")
    return [text(pretty(block))]


def _parts(b: Builder, content: object) -> list[Part]:
    if isinstance(content, str):
        return [text(content)]  # not Converse's shape, but not to be dropped either
    if not isinstance(content, list):
        return []
    return [part for block in content for part in block_parts(b, block)]


def request(b: Builder, body: dict[str, Any]) -> None:
    """A Converse request (ConverseStream, CountTokens' converse input, Nova's invoke body)."""
    config = body.get("inferenceConfig")
    if isinstance(config, dict):
        b.copy_parameters(config, _INFERENCE_PARAMETERS)
    b.copy_parameters(body, _REQUEST_PARAMETERS)
    system = _parts(b, body.get("system"))
    b.message("system", system)
    for role, message in b.request_messages(body):
        parts = _parts(b, message.get("content"))
        results = [part for part in parts if part["type"] == "tool_result"]
        others = [part for part in parts if part["type"] != "tool_result"]
        b.message("tool", results)  # a user turn's tool results, shown as their own turn first
        b.message(role, others)
    tool_config = body.get("toolConfig")
    if isinstance(tool_config, dict):
        if tool_config.get("toolChoice") is not None:
            b.parameters.setdefault("tool_choice", tool_config["toolChoice"])
        tools = tool_config.get("tools")
        for tool in tools if isinstance(tools, list) else []:
            spec = tool.get("toolSpec") if isinstance(tool, dict) else None
            if isinstance(spec, dict):
                schema = spec.get("inputSchema")
                b.tool(
                    spec.get("name"), spec.get("description"), schema.get("json") if isinstance(schema, dict) else None
                )


def response(b: Builder, body: dict[str, Any]) -> None:
    """A Converse answer (a ConverseStream assembled, Nova's invoke answer): `output.message`."""
    output = body.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    if not isinstance(message, dict):
        b.warn("the answer has no output message")
        return
    role = role_of(message.get("role")) or "assistant"
    b.answer(_parts(b, message.get("content")), finish_reason=body.get("stopReason"), role=role)
