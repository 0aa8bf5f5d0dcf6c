"""Text in Bedrock Converse's shape (wire-formats.md §3.3), which Amazon Nova's invoke body shares.

Content blocks are unions keyed by their kind (`{"text": …}`, `{"toolUse": …}`), not typed by
a `type` field as Anthropic's and OpenAI's are.
"""

from __future__ import annotations

from typing import Any

from glassgate.guardrails.text.fields import Collector, Path, entries, kind_of

_MEDIA = {"image": "image", "video": "video", "audio": "audio"}
_ROLES = frozenset({"user", "assistant"})


def _guard(c: Collector, path: Path, value: object, role: str) -> None:
    """`guardContent`: text (or an image) marked for Bedrock's own guardrail."""
    if isinstance(value, dict) and isinstance(value.get("text"), dict):
        c.text((*path, "text", "text"), role, value["text"].get("text"))
    else:
        c.skip(path, "guardContent without text (an image) not scanned")


def _document(c: Collector, path: Path, value: object, role: str) -> None:
    source = value.get("source") if isinstance(value, dict) else None
    if isinstance(source, dict) and "text" in source:
        c.text((*path, "source", "text"), role, source.get("text"))
    elif isinstance(source, dict) and isinstance(source.get("content"), list):
        for index, item in enumerate(source["content"]):
            _text_block(c, (*path, "source", "content", index), item, role)
    else:
        c.skip(path, "document (bytes or S3 location) not scanned")


def _tool_result(c: Collector, path: Path, value: object) -> None:
    for index, item in entries(value.get("content") if isinstance(value, dict) else None):
        here = (*path, "content", index)
        if isinstance(item, dict) and "text" in item:
            c.text((*here, "text"), "tool_result", item.get("text"))
        elif isinstance(item, dict) and "json" in item:
            c.strings((*here, "json"), item.get("json"), "tool_result")
        elif isinstance(item, dict) and "document" in item:
            _document(c, (*here, "document"), item["document"], "tool_result")
        else:
            c.skip(here, _unscanned(item))


def _unscanned(value: object) -> str:
    if not isinstance(value, dict):
        return f"{kind_of(value)} in place of a content block; not scanned"
    keys = sorted(value)
    media = next((_MEDIA[key] for key in keys if key in _MEDIA), None)
    return f"{'/'.join(keys) or 'empty'} block{f' ({media})' if media else ''} not scanned"


def block(c: Collector, path: Path, value: object, role: str, *, answer: bool) -> None:
    """One content block; `answer` for the model's reply (its reasoning is then scanned)."""
    if not isinstance(value, dict):
        c.skip(path, _unscanned(value))
    elif "text" in value:
        c.text((*path, "text"), role, value["text"])
    elif "toolUse" in value:
        tool = value["toolUse"]
        c.strings((*path, "toolUse", "input"), tool.get("input") if isinstance(tool, dict) else None, "tool_arguments")
    elif "toolResult" in value:
        _tool_result(c, (*path, "toolResult"), value["toolResult"])
    elif "guardContent" in value:
        _guard(c, (*path, "guardContent"), value["guardContent"], role)
    elif "document" in value:
        _document(c, (*path, "document"), value["document"], role)
    elif "reasoningContent" in value and answer:
        reasoning = value["reasoningContent"]
        if isinstance(reasoning, dict) and isinstance(reasoning.get("reasoningText"), dict):
            c.text((*path, "reasoningContent", "reasoningText", "text"), role, reasoning["reasoningText"].get("text"))
        if isinstance(reasoning, dict) and reasoning.get("redactedContent"):
            c.skip((*path, "reasoningContent", "redactedContent"), "redacted reasoning (encrypted) not scanned")
    elif "reasoningContent" in value:
        c.skip(path, "reasoningContent block (signed; replayed to the vendor unchanged) not scanned")
    elif "citationsContent" in value:
        cited = value["citationsContent"]
        for index, item in entries(cited.get("content") if isinstance(cited, dict) else None):
            _text_block(c, (*path, "citationsContent", "content", index), item, role)
    elif "cachePoint" not in value:  # a cache marker holds no content
        c.skip(path, _unscanned(value))


def _text_block(c: Collector, path: Path, value: object, role: str) -> None:
    """`{"text": …}`, the only kind some lists hold (document content, citations, variables)."""
    if isinstance(value, dict) and "text" in value:
        c.text((*path, "text"), role, value["text"])
    else:
        c.skip(path, _unscanned(value))


def request(c: Collector, body: dict[str, Any], base: Path = ()) -> None:
    """A Converse request (also ConverseStream, CountTokens' converse input and Nova's invoke)."""
    for index, item in entries(body.get("system")):
        here = (*base, "system", index)
        if isinstance(item, dict) and "text" in item:
            c.text((*here, "text"), "system", item["text"])
        elif isinstance(item, dict) and "guardContent" in item:
            _guard(c, (*here, "guardContent"), item["guardContent"], "system")
        elif not (isinstance(item, dict) and "cachePoint" in item):
            c.skip(here, _unscanned(item))
    if isinstance(body.get("system"), str):  # not Converse's shape, but not to be dropped either
        c.text((*base, "system"), "system", body["system"])
    messages = body.get("messages")
    if not isinstance(messages, list):
        c.skip((*base, "messages"), "missing or not a list; no messages scanned")
    for index, message in entries(messages):
        here = (*base, "messages", index)
        if not isinstance(message, dict) or not isinstance(message.get("content"), list):
            c.skip(here, "message without a list of content blocks; not scanned")
            continue
        role = message.get("role")
        owner = role if isinstance(role, str) and role in _ROLES else "other"
        for position, item in enumerate(message["content"]):
            block(c, (*here, "content", position), item, owner, answer=False)
    variables = body.get("promptVariables")
    for name, value in variables.items() if isinstance(variables, dict) else ():
        _text_block(c, (*base, "promptVariables", name), value, "user")
    if isinstance(body.get("toolConfig"), dict):
        c.skip((*base, "toolConfig"), "tool definitions (names, descriptions, schemas) not scanned")


def response(c: Collector, body: dict[str, Any]) -> None:
    """A Converse answer (a ConverseStream assembled, Nova's invoke answer): `output.message`."""
    output = body.get("output")
    message = output.get("message") if isinstance(output, dict) else None
    if not isinstance(message, dict) or not isinstance(message.get("content"), list):
        c.skip(("output", "message"), "missing or without content blocks; no answer scanned")
        return
    for index, item in enumerate(message["content"]):
        block(c, ("output", "message", "content", index), item, "assistant", answer=True)
