"""Text in AWS Bedrock Runtime bodies (wire-formats.md §3): Converse, and InvokeModel per family.

The model family comes from the model id in the path, as the trace adapter finds it
(`family_from_model`); an ARN can hide it, and then the request body's markers decide. An
answer has no request beside it, so its own shape decides there. A family not known is read
loosely (strings under text-like keys) and said so.
"""

from __future__ import annotations

import re
from typing import Any

from glassgate.guardrails.text import anthropic, converse, openai
from glassgate.guardrails.text.fields import Collector, Path, entries, kind_of
from glassgate.proxy.vendors.bedrock import route_of
from glassgate.proxy.vendors.bedrock_invoke import family_from_model, family_from_request, family_from_response

_AI21 = re.compile(r"(?:^|[./])ai21\.")  # not among the trace adapter's families: no usage to read
_COHERE_ROLES = {"USER": "user", "CHATBOT": "assistant", "SYSTEM": "system", "TOOL": "tool"}


def _family(model: str | None) -> str | None:
    return family_from_model(model) or ("ai21" if model and _AI21.search(model) else None)


def _get(value: object, key: str) -> object:
    return value.get(key) if isinstance(value, dict) else None


# --- requests --------------------------------------------------------------------------------


def _cohere_request(c: Collector, body: dict[str, Any]) -> None:
    """Command R (`message`, `chat_history`, `preamble`, `documents`, `tool_results`) or command-text."""
    c.text(("preamble",), "system", body.get("preamble"))
    c.text(("message",), "user", body.get("message"))
    c.text(("prompt",), "prompt", body.get("prompt"))
    for index, turn in entries(body.get("chat_history")):
        here: Path = ("chat_history", index)
        if not isinstance(turn, dict):
            c.skip(here, f"{kind_of(turn)} in place of a turn; not scanned")
            continue
        c.text((*here, "message"), _COHERE_ROLES.get(str(turn.get("role")).upper(), "other"), turn.get("message"))
        for position, call in entries(turn.get("tool_calls")):
            c.strings((*here, "tool_calls", position, "parameters"), _get(call, "parameters"), "tool_arguments")
        _cohere_tool_results(c, (*here, "tool_results"), turn.get("tool_results"))
    for index, document in entries(body.get("documents")):
        c.strings(("documents", index), document, "other")
    _cohere_tool_results(c, ("tool_results",), body.get("tool_results"))
    if body.get("tools"):
        c.skip(("tools",), "tool definitions (names, descriptions, schemas) not scanned")


def _cohere_tool_results(c: Collector, path: Path, results: object) -> None:
    for index, result in entries(results):
        c.strings((*path, index, "call", "parameters"), _get(_get(result, "call"), "parameters"), "tool_arguments")
        c.strings((*path, index, "outputs"), _get(result, "outputs"), "tool_result")


def _embedding_request(c: Collector, body: dict[str, Any]) -> None:
    """Titan Embed (`inputText`, optionally `inputImage`) and Cohere Embed (`texts`, `images`)."""
    c.text(("inputText",), "prompt", body.get("inputText"))
    for index, text in entries(body.get("texts")):
        c.text(("texts", index), "prompt", text)
    for key in ("inputImage", "images"):
        if body.get(key):
            c.skip((key,), "image input not scanned")


def _chat_or_prompt(c: Collector, body: dict[str, Any]) -> None:
    """Mistral, AI21 and gpt-oss: an OpenAI-style chat body, or a plain `prompt`."""
    if "messages" in body:
        openai.chat_request(c, body)
    else:
        c.text(("prompt",), "prompt", body.get("prompt"))


def _invoke_request(c: Collector, model: str | None, body: dict[str, Any]) -> None:
    family = _family(model) or family_from_request(body)
    if family == "anthropic":
        anthropic.messages_request(c, body)
    elif family == "nova" and "messages" in body:
        converse.request(c, body)
    elif family == "titan":
        c.text(("inputText",), "prompt", body.get("inputText"))
    elif family == "llama":
        c.text(("prompt",), "prompt", body.get("prompt"))
    elif family in ("mistral", "ai21", "openai"):
        _chat_or_prompt(c, body)
    elif family == "cohere":
        _cohere_request(c, body)
    elif family == "embedding":
        _embedding_request(c, body)
    elif family == "nova":  # Nova Canvas and Reel: image and video generation task bodies
        c.loosely((), body, f"generation task body for {model!r}")
    else:
        c.loosely((), body, f"model family of {model!r} is unknown")


def _count_tokens(c: Collector, body: dict[str, Any]) -> None:
    given = body.get("input")
    if isinstance(given, dict) and isinstance(given.get("converse"), dict):
        converse.request(c, given["converse"], ("input", "converse"))
    elif isinstance(given, dict) and "invokeModel" in given:
        c.skip(("input", "invokeModel", "body"), "base64-encoded model body not scanned")
    else:
        c.loosely((), body, "count-tokens input of unknown shape")


def _apply_guardrail(c: Collector, body: dict[str, Any]) -> None:
    role = "assistant" if body.get("source") == "OUTPUT" else "user"
    for index, item in entries(body.get("content")):
        text = _get(item, "text")
        if isinstance(text, dict):
            c.text(("content", index, "text", "text"), role, text.get("text"))
        else:
            c.skip(("content", index), "guardrail content without text (an image) not scanned")


def request(c: Collector, path: str, body: dict[str, Any]) -> None:
    route = route_of(path)
    operation = route.operation
    if operation in ("converse", "converse_stream"):
        converse.request(c, body)
    elif operation in ("invoke", "invoke_stream"):
        _invoke_request(c, route.model, body)
    elif operation == "count_tokens":
        _count_tokens(c, body)
    elif operation == "apply_guardrail":
        _apply_guardrail(c, body)
    elif operation == "async_invoke":
        c.loosely(("modelInput",), body.get("modelInput"), "async invoke input")
    else:
        c.loosely((), body, f"Bedrock operation {operation!r} at {path!r}")


# --- answers ---------------------------------------------------------------------------------


def _cohere_response(c: Collector, body: dict[str, Any]) -> None:
    answer = body.get("text")
    c.text(("text",), "assistant", answer)
    for index, generation in entries(body.get("generations")):
        c.text(("generations", index, "text"), "assistant", _get(generation, "text"))
    for index, call in entries(body.get("tool_calls")):
        c.strings(("tool_calls", index, "parameters"), _get(call, "parameters"), "tool_arguments")
    # Citations quote the answer and search queries are the model's own words: a value redacted
    # in `text` must not reach the client through them.
    for key in ("citations", "search_queries"):
        for index, item in entries(body.get(key)):
            c.text((key, index, "text"), "assistant", _get(item, "text"))
    if body.get("documents"):
        c.skip(("documents",), "retrieved documents (the connectors' text, not the model's) not scanned")
    echoed = False
    for index, turn in entries(body.get("chat_history")):
        # Command R appends the answer to the history it returns: that turn is the answer again.
        if isinstance(answer, str) and answer and _get(turn, "role") == "CHATBOT" and _get(turn, "message") == answer:
            c.text(("chat_history", index, "message"), "assistant", answer)
        else:
            echoed = True
    if echoed:
        c.skip(("chat_history",), "echo of the conversation not scanned (only the answer's own turn is)")


def _invoke_response(c: Collector, model: str | None, body: dict[str, Any]) -> None:
    family = _family(model) or family_from_response(body)
    if family == "anthropic":
        anthropic.messages_response(c, body)
    elif family == "nova" and "output" in body:
        converse.response(c, body)
    elif family == "titan":
        for index, result in entries(body.get("results")):
            c.text(("results", index, "outputText"), "assistant", _get(result, "outputText"))
    elif family == "llama":
        c.text(("generation",), "assistant", body.get("generation"))
    elif family in ("mistral", "openai", "ai21") and "choices" in body:
        openai.chat_response(c, body)
    elif family == "mistral":
        for index, output in entries(body.get("outputs")):
            c.text(("outputs", index, "text"), "assistant", _get(output, "text"))
    elif family == "ai21":  # Jurassic-2: completions[].data.text
        for index, completion in entries(body.get("completions")):
            c.text(("completions", index, "data", "text"), "assistant", _get(_get(completion, "data"), "text"))
    elif family == "cohere":
        _cohere_response(c, body)
    elif family == "embedding":
        c.skip((), "embedding vectors (no text) not scanned")
    elif family is None:
        c.loosely((), body, f"model family of {model!r} is unknown")
    else:  # Nova Canvas and Reel answer with images or a job; other families in a shape not known
        c.loosely((), body, f"{family} answer of an unexpected shape")


def response(c: Collector, path: str, body: dict[str, Any]) -> None:
    route = route_of(path)
    if route.operation in ("converse", "converse_stream"):
        converse.response(c, body)
    elif route.operation in ("invoke", "invoke_stream"):
        _invoke_response(c, route.model, body)
    else:
        c.loosely((), body, f"answer of Bedrock operation {route.operation!r}")
