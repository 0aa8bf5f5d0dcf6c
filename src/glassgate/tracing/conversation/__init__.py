"""A span's call as one neutral conversation, whatever the vendor: for rendering and for datasets.

Pure: bodies in (as stored, a streamed answer already assembled), JSON out, no IO. Never
raises on what a client or vendor sent; what could not be read is said in `warnings`.

    {"vendor", "operation", "format",          # format: the reader used, e.g. "openai.chat"
     "messages": [{"role": "system|user|assistant|tool", "parts": [part, ...]}],
     "output":   [{"role": "assistant", "parts": [...], "choice": 0, "finish_reason": "stop"}],
     "tools":    [{"name", "description", "parameters"}],
     "parameters": {"model", "temperature", "max_tokens", "top_p", "stop", ...},
     "warnings": ["..."]}

    part: {"type": "text", "text"}
        | {"type": "image", "media_type", "detail", "url"}       # detail: a placeholder, never bytes
        | {"type": "file", "kind": "audio|video|document|file", "media_type", "detail"}
        | {"type": "tool_call", "id", "name", "arguments"}       # arguments: a JSON value
        | {"type": "tool_result", "tool_call_id", "content", "is_error"}
        | {"type": "reasoning", "text", "redacted"}
        | {"type": "refusal", "text"}

- `parts.py`: the part constructors and the builder the readers fill
- `openai.py`: OpenAI and Azure OpenAI (chat, Responses, legacy completions, embeddings)
- `anthropic.py`: Anthropic Messages (and Bedrock's Anthropic invoke bodies)
- `converse.py`: Bedrock Converse (and Amazon Nova's invoke bodies)
- `bedrock.py`: Bedrock operations and InvokeModel's model families
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from glassgate.tracing.conversation import anthropic, bedrock, openai
from glassgate.tracing.conversation.parts import Builder, pretty, text

__all__ = ["conversation_of"]

Reader = Callable[[Builder, dict[str, Any]], None]
_OPENAI: dict[str, tuple[Reader, Reader]] = {
    "chat": (openai.chat_request, openai.chat_response),
    "responses": (openai.responses_request, openai.responses_response),
    "completions": (openai.completions_request, openai.chat_response),
    "embeddings": (openai.embeddings_request, openai.no_answer),
}
_READERS: dict[tuple[str, str], tuple[Reader, Reader]] = {
    **{("openai", operation): readers for operation, readers in _OPENAI.items()},
    **{("azure", operation): readers for operation, readers in _OPENAI.items()},
    ("anthropic", "messages"): (anthropic.messages_request, anthropic.messages_response),
    ("anthropic", "count_tokens"): (anthropic.messages_request, openai.no_answer),
}


def conversation_of(
    vendor: str | None, operation: str | None, request: Any, response: Any, *, model: str | None = None
) -> dict[str, Any]:
    """The neutral conversation of one call. `model` (the span's requested model) fills in when
    the body does not name one, as in Bedrock, where the model is in the path."""
    b = Builder()
    try:
        format_name = _read(b, vendor or "", operation or "", request, response, model)
    except Exception as exc:  # noqa: BLE001 - a body no reader foresaw must still be shown, and say why
        b = Builder()
        b.warn(f"could not read this {vendor} {operation} call ({type(exc).__name__}: {exc}); shown as JSON")
        format_name = _generic(b, request, response)
    if model and "model" not in b.parameters and format_name != "generic":
        b.parameters = {"model": model, **b.parameters}
    return b.result(vendor, operation, format_name)


def _read(b: Builder, vendor: str, operation: str, request: Any, response: Any, model: str | None) -> str:
    readable_request = request if isinstance(request, dict) else None
    readable_response = response if isinstance(response, dict) else None
    if vendor == "bedrock":
        format_name = bedrock.read(b, operation, model, readable_request, readable_response)
    else:
        readers = _READERS.get((vendor, operation))
        format_name = f"{vendor}.{operation}" if readers else ""
        if readers and readable_request is not None:
            readers[0](b, readable_request)
        if readers and readable_response is not None:
            readers[1](b, readable_response)
    if not format_name:
        return _generic(b, request, response)
    # A body stored as text (it was not JSON, or it was cut) is shown as it is.
    if request is not None and readable_request is None:
        b.warn("the request body is not a JSON object; shown as text")
        b.message("user", [_as_part(request)])
    if response is not None and readable_response is None:
        b.warn("the response body is not a JSON object; shown as text")
        b.answer([_as_part(response)])
    if request is None:
        b.warn("no request body was stored")
    return format_name


def _as_part(body: Any) -> dict[str, Any]:
    return text(body if isinstance(body, str) else pretty(body))


def _generic(b: Builder, request: Any, response: Any) -> str:
    """A call no reader knows: each body as one part, JSON pretty-printed, text as it is."""
    if request is None and response is None:
        b.warn("no request or response body was stored")
    else:
        b.warn("this call's format is not one Glassgate reads; the bodies are shown as they are")
    if request is not None:
        b.message("user", [_as_part(request)])
    if response is not None:
        b.answer([_as_part(response)])
    return "generic"
