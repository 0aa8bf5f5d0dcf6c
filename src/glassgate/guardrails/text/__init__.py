"""The text of a call in every vendor's format, and the rewrite that redacts it in place.

`request_texts` and `response_texts` list each string a detector should read, by its JSON
path and who wrote it, and say in `skipped` what was not read (images, audio, signed
thinking, shapes not known), so a span records exactly what was scanned. `rewrite_strings`
replaces chosen strings in the raw bytes and leaves every other byte as the client sent it.

A streamed answer is read once assembled into its non-stream shape (the trace adapters'
`CallSummary.response_json`); a streamed request is the same body as any other.

- `fields.py`: TextField, Extraction and the collector the extractors fill
- `openai.py`: OpenAI and Azure OpenAI (chat, Responses, embeddings, legacy completions)
- `anthropic.py`: Anthropic Messages (and Bedrock's Anthropic invoke bodies)
- `converse.py`: Bedrock Converse (and Amazon Nova's invoke bodies)
- `bedrock.py`: Bedrock operations and InvokeModel's model families
- `rewrite.py`: the JSON scanner that rewrites string values in raw bytes
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glassgate.guardrails.text import anthropic, bedrock, openai
from glassgate.guardrails.text.fields import Collector, Extraction, TextField, kind_of
from glassgate.guardrails.text.rewrite import rewrite_strings
from glassgate.proxy.vendors.anthropic import operation_for as anthropic_operation
from glassgate.proxy.vendors.openai import operation_for as openai_operation

__all__ = ["Extraction", "TextField", "request_texts", "response_texts", "rewrite_strings"]

Extractor = Callable[[Collector, dict[str, Any]], None]

_OPENAI_REQUESTS: dict[str, Extractor] = {
    "chat": openai.chat_request,
    "responses": openai.responses_request,
    "embeddings": openai.embeddings_request,
    "completions": openai.completions_request,
}
_OPENAI_RESPONSES: dict[str, Extractor] = {
    "chat": openai.chat_response,
    "responses": openai.responses_response,
    "embeddings": openai.embeddings_response,
    "completions": openai.chat_response,  # choices[].text
}
_ANTHROPIC_REQUESTS: dict[str, Extractor] = {
    "messages": anthropic.messages_request,
    "count_tokens": anthropic.messages_request,
    "batches": anthropic.batch_request,
}


def _no_text(c: Collector, body: dict[str, Any]) -> None:
    """Answers that hold no text: Anthropic's token counts and batch status."""


# (vendor, is an answer) → operation → extractor; Bedrock dispatches on its own routes.
_EXTRACTORS: dict[tuple[str, bool], dict[str, Extractor]] = {
    ("openai", False): _OPENAI_REQUESTS,
    ("openai", True): _OPENAI_RESPONSES,
    ("azure", False): _OPENAI_REQUESTS,
    ("azure", True): _OPENAI_RESPONSES,
    ("anthropic", False): _ANTHROPIC_REQUESTS,
    ("anthropic", True): {"messages": anthropic.messages_response, "count_tokens": _no_text, "batches": _no_text},
}
_LEGACY_COMPLETE = "/v1/complete"  # Anthropic's Text Completions: `prompt` in, `completion` out


def _operation(vendor: str, route: str) -> str:
    if vendor in ("openai", "azure"):
        return openai_operation("POST", route)
    if vendor == "anthropic":
        found = anthropic_operation("POST", route)
        return "messages" if found == "generic" and route.rstrip("/").endswith(_LEGACY_COMPLETE) else found
    return "generic"


def _extract(c: Collector, vendor: str, route: str, body: dict[str, Any], *, answer: bool) -> None:
    if vendor == "bedrock":
        (bedrock.response if answer else bedrock.request)(c, route, body)
        return
    table = _EXTRACTORS.get((vendor, answer))
    if table is None:
        c.loosely((), body, f"vendor {vendor!r} has no text extractor")
        return
    extractor = table.get(_operation(vendor, route))
    if extractor is None:
        c.loosely((), body, f"{vendor} operation at {route!r} not known")
    else:
        extractor(c, body)


def _with_safety_net(c: Collector, vendor: str, route: str, body: dict[str, Any]) -> Extraction:
    """A body its extractor found nothing in, and said nothing about, is read loosely: a shape
    this module does not know yet must not pass unread."""
    if not c.fields and not c.skipped:
        loose = Collector()
        loose.loose((), body)
        if loose.fields:
            c.skip((), f"no known text field in this {vendor} body at {route!r}: strings under text-like keys scanned")
            c.fields.extend(loose.fields)
    return c.result()


def request_texts(vendor: str, path: str, body: object) -> Extraction:
    """The text of a request body (`path` after the upstream name, as the client sent it)."""
    c = Collector()
    if not isinstance(body, dict):
        c.skip((), f"the body is {kind_of(body)}, not a JSON object; nothing scanned")
        return c.result()
    route = path.split("?", 1)[0]
    _extract(c, vendor, route, body, answer=False)
    return _with_safety_net(c, vendor, route, body)


def _error_body(vendor: str, body: dict[str, Any]) -> bool:
    if vendor == "bedrock":
        return bool(body) and set(body) <= {"message", "Message", "__type"}
    return body.get("type") == "error" or (isinstance(body.get("error"), dict) and not body.get("choices"))


def response_texts(vendor: str, path: str, body: object) -> Extraction:
    """The text of an answer: a non-stream body, or a stream assembled into that shape."""
    c = Collector()
    if not isinstance(body, dict):
        c.skip((), f"the body is {kind_of(body)}, not a JSON object; nothing scanned")
        return c.result()
    route = path.split("?", 1)[0]
    if _error_body(vendor, body):
        c.skip((), "an error body (the vendor's message, not an answer) not scanned")
        return c.result()
    _extract(c, vendor, route, body, answer=True)
    return _with_safety_net(c, vendor, route, body)
