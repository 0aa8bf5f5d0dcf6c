"""Anthropic's Messages shape (wire-formats.md §4), first-party or inside a Bedrock invoke body.

Tool results travel inside a user message in Anthropic's shape; here they become a message of
their own with the role `tool`, as in every other vendor's view, keeping the order of turns.
"""

from __future__ import annotations

from typing import Any

from glassgate.tracing.conversation.openai import failed
from glassgate.tracing.conversation.parts import (
    Builder,
    Part,
    as_text,
    attachment,
    image,
    pretty,
    reasoning,
    scrub,
    size_note,
    text,
    text_value,
    tool_call,
    tool_result,
)

_PARAMETERS = (
    ("model", "model"),
    ("max_tokens", "max_tokens"),
    ("max_tokens_to_sample", "max_tokens"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("top_k", "top_k"),
    ("stop_sequences", "stop"),
    ("tool_choice", "tool_choice"),
    ("thinking", "thinking"),
    ("service_tier", "service_tier"),
    ("stream", "stream"),
    ("anthropic_version", "anthropic_version"),
    ("anthropic_beta", "anthropic_beta"),
)
_TOOL_CALLS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})


def _source(source: object) -> tuple[str | None, str, str | None]:
    """(media type, placeholder, remote URL) of an image or document `source`."""
    if not isinstance(source, dict):
        return None, "no source", None
    kind = source.get("type")
    media_type = text_value(source.get("media_type"))
    if kind == "base64" and isinstance(source.get("data"), str):
        return media_type, f"inline data, {size_note(len(source['data']))}", None
    if kind == "url" and isinstance(source.get("url"), str):
        return media_type, "remote URL", source["url"]
    if kind == "file":
        return media_type, f"uploaded file {source.get('file_id')}", None
    return media_type, f"{kind} source", None


def _document(block: dict[str, Any]) -> list[Part]:
    source = block.get("source")
    title = text_value(block.get("title"))
    if isinstance(source, dict) and source.get("type") == "text" and isinstance(source.get("data"), str):
        return [text(source["data"])]  # a plain-text document is text, kept for datasets
    if isinstance(source, dict) and source.get("type") == "content":
        return [text(as_text(source.get("content")))]
    media_type, detail, _ = _source(source)
    return [attachment("document", media_type, f"{title}: {detail}" if title else detail)]


def _tool_result_content(content: object) -> str:
    """A tool result's content: a string, or blocks whose text is joined (media as placeholders)."""
    if not isinstance(content, list):
        return as_text(scrub(content))
    pieces = []
    for block in content:
        if isinstance(block, dict) and block.get("type") == "text":
            pieces.append(as_text(block.get("text")))
        elif isinstance(block, dict) and block.get("type") in ("image", "document"):
            media_type, detail, _ = _source(block.get("source"))
            pieces.append(f"[{block['type']}: {media_type or 'unknown type'}, {detail}]")
        else:
            pieces.append(pretty(block))
    return "\n".join(pieces)


def block_parts(b: Builder, block: object) -> list[Part]:
    """One content block in the neutral parts."""
    if isinstance(block, str):
        return [text(block)]
    if not isinstance(block, dict):
        b.warn(f"a content block that is {type(block).__name__} was left out")
        return []
    kind = text_value(block.get("type"))
    if kind == "text":
        return [text(as_text(block.get("text")))]
    if kind == "image":
        return [image(*_source(block.get("source")))]
    if kind == "document":
        return _document(block)
    if kind in _TOOL_CALLS:
        return [tool_call(block.get("id"), block.get("name"), block.get("input"))]
    if kind == "tool_result" or (isinstance(kind, str) and kind.endswith("_tool_result")):
        content = _tool_result_content(block.get("content"))
        return [tool_result(block.get("tool_use_id"), content, is_error=block.get("is_error") is True)]
    if kind == "thinking":
        return [reasoning(as_text(block.get("thinking")))]
    if kind == "redacted_thinking":
        return [reasoning("", redacted=True)]
    if kind == "search_result":
        title = text_value(block.get("title"))
        body = _tool_result_content(block.get("content"))
        return [text(f"{title}\n{body}" if title else body)]
    if kind == "container_upload":
        return [attachment("file", None, f"uploaded file {block.get('file_id')}")]
    b.warn(f"content block of type {kind!r} shown as JSON")
    return [text(pretty(block))]


def content_parts(b: Builder, content: object) -> list[Part]:
    if isinstance(content, list):
        return [part for block in content for part in block_parts(b, block)]
    if content is None:
        return []
    return block_parts(b, content)


def _user_turn(b: Builder, parts: list[Part]) -> None:
    """A user message, its tool results split off into `tool` messages, order kept."""
    run: list[Part] = []
    for part in parts:
        role = "tool" if part["type"] == "tool_result" else "user"
        if run and (run[0]["type"] == "tool_result") != (role == "tool"):
            b.message("tool" if run[0]["type"] == "tool_result" else "user", run)
            run = []
        run.append(part)
    if run:
        b.message("tool" if run[0]["type"] == "tool_result" else "user", run)


def messages_request(b: Builder, body: dict[str, Any]) -> None:
    b.copy_parameters(body, _PARAMETERS)
    if "messages" not in body and isinstance(body.get("prompt"), str):  # the legacy Text Completions API
        b.message("user", [text(body["prompt"])])
        return
    system = body.get("system")
    if system is not None:
        b.message("system", content_parts(b, system))
    for role, message in b.request_messages(body):
        parts = content_parts(b, message.get("content"))
        if role == "user":
            _user_turn(b, parts)
        else:
            b.message(role, parts)
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict):
            b.tool(tool.get("name") or tool.get("type"), tool.get("description"), tool.get("input_schema"))


def messages_response(b: Builder, body: dict[str, Any]) -> None:
    if failed(b, body):  # {"type": "error", "error": {...}}
        return
    if "content" not in body and isinstance(body.get("completion"), str):  # legacy Text Completions
        b.answer([text(body["completion"])], finish_reason=body.get("stop_reason"))
        return
    if not isinstance(body.get("content"), list):
        b.warn("the answer has no list of content blocks")
        return
    b.answer(content_parts(b, body["content"]), finish_reason=body.get("stop_reason"))
