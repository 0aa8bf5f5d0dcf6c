"""Text in Anthropic's Messages shape (wire-formats.md §4), first-party or inside Bedrock invoke.

Thinking blocks sent back in a conversation are signed by the vendor and must be replayed
unchanged, so a request's thinking is named as skipped rather than offered for rewriting; an
answer's thinking is scanned like the rest of the answer.
"""

from __future__ import annotations

from typing import Any

from glassgate.guardrails.text.fields import Collector, Path, entries, kind_of

_ROLES = frozenset({"user", "assistant"})
_TOOL_CALLS = frozenset({"tool_use", "server_tool_use", "mcp_tool_use"})
_TOOL_RESULTS = frozenset({"tool_result", "mcp_tool_result"})
_MEDIA = {"image": "image", "container_upload": "file"}


def _document(c: Collector, path: Path, block: dict[str, Any], role: str, *, answer: bool) -> None:
    """Plain-text and custom-content documents carry text; PDFs, URLs and files do not here."""
    for key in ("title", "context"):
        c.text((*path, key), role, block.get(key))
    source = block.get("source")
    kind = source.get("type") if isinstance(source, dict) else None
    if kind == "text" and isinstance(source, dict):
        c.text((*path, "source", "data"), role, source.get("data"))
    elif kind == "content" and isinstance(source, dict):
        content(c, (*path, "source", "content"), source.get("content"), role, answer=answer)
    else:
        c.skip(path, f"document with a {kind!r} source (not text) not scanned")


def block(c: Collector, path: Path, value: object, role: str, *, answer: bool) -> None:
    """One content block of a message (`answer`: of the model's reply)."""
    if not isinstance(value, dict):
        c.skip(path, f"{kind_of(value)} in place of a content block; not scanned")
        return
    kind = value.get("type")
    if kind == "text":
        c.text((*path, "text"), role, value.get("text"))
    elif kind in _TOOL_CALLS:
        c.strings((*path, "input"), value.get("input"), "tool_arguments")
    elif kind in _TOOL_RESULTS:
        content(c, (*path, "content"), value.get("content"), "tool_result", answer=answer)
    elif kind == "document":
        _document(c, path, value, role, answer=answer)
    elif kind == "search_result":
        c.text((*path, "title"), role, value.get("title"))
        content(c, (*path, "content"), value.get("content"), role, answer=answer)
    elif kind == "thinking" and answer:
        c.text((*path, "thinking"), role, value.get("thinking"))
    elif kind == "thinking":
        c.skip(path, "thinking block (signed; replayed to the vendor unchanged) not scanned")
    elif kind == "redacted_thinking":
        c.skip(path, "redacted_thinking block (encrypted) not scanned")
    elif isinstance(kind, str) and kind in _MEDIA:
        c.skip(path, f"{kind} block ({_MEDIA[kind]}) not scanned")
    else:
        c.skip(path, f"{kind!r} block not scanned")


def content(c: Collector, path: Path, value: object, role: str, *, answer: bool) -> None:
    """A string, or a list of content blocks."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            block(c, (*path, index), item, role, answer=answer)
    else:
        c.text(path, role, value)


def messages_request(c: Collector, body: dict[str, Any], base: Path = ()) -> None:
    """A Messages request (also count_tokens, a batch's params, and Bedrock's invoke body)."""
    if "messages" not in body and "prompt" in body:  # the legacy Text Completions API
        c.text((*base, "prompt"), "prompt", body.get("prompt"))
        return
    content(c, (*base, "system"), body.get("system"), "system", answer=False)
    messages = body.get("messages")
    if not isinstance(messages, list):
        c.skip((*base, "messages"), "missing or not a list; no messages scanned")
    for index, message in entries(messages):
        here = (*base, "messages", index)
        if not isinstance(message, dict):
            c.skip(here, f"{kind_of(message)} in place of a message; not scanned")
            continue
        role = message.get("role")
        owner = role if isinstance(role, str) and role in _ROLES else "other"
        content(c, (*here, "content"), message.get("content"), owner, answer=False)
    if body.get("tools"):
        c.skip((*base, "tools"), "tool definitions (names, descriptions, schemas) not scanned")


def batch_request(c: Collector, body: dict[str, Any]) -> None:
    """`/v1/messages/batches`: each request's `params` is a Messages request."""
    requests = body.get("requests")
    if not isinstance(requests, list):
        c.skip(("requests",), "missing or not a list; nothing scanned")
    for index, request in entries(requests):
        params = request.get("params") if isinstance(request, dict) else None
        if isinstance(params, dict):
            messages_request(c, params, ("requests", index, "params"))
        else:
            c.skip(("requests", index), "batch request without params; not scanned")


def messages_response(c: Collector, body: dict[str, Any]) -> None:
    if "content" not in body and "completion" in body:  # the legacy Text Completions API
        c.text(("completion",), "assistant", body.get("completion"))
        return
    if not isinstance(body.get("content"), list):
        c.skip(("content",), "missing or not a list; no answer scanned")
        return
    content(c, ("content",), body["content"], "assistant", answer=True)
