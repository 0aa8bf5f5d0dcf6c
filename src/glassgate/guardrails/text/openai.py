"""Text in OpenAI's shapes (wire-formats.md §1), which Azure shares under its own routes (§2).

Chat Completions, Responses, Embeddings and legacy Completions, requests and answers. The
chat helpers also read the OpenAI-style bodies some Bedrock models take (Mistral's chat form,
AI21 Jamba, gpt-oss).
"""

from __future__ import annotations

from typing import Any

from glassgate.guardrails.text.fields import Collector, Path, entries, kind_of

_MESSAGE_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_PART_MEDIA = {
    "image_url": "image",
    "input_image": "image",
    "input_audio": "audio",
    "file": "file",
    "input_file": "file",
}


def message_role(value: object) -> str:
    if value == "function":  # the legacy name of a tool-role message
        return "tool"
    return value if isinstance(value, str) and value in _MESSAGE_ROLES else "other"


def part(c: Collector, path: Path, value: object, role: str) -> None:
    """One typed content part (chat and Responses share the part names)."""
    kind = value.get("type") if isinstance(value, dict) else None
    if isinstance(value, str):
        c.text(path, role, value)
    elif not isinstance(value, dict):
        c.skip(path, f"{kind_of(value)} in place of a content part; not scanned")
    elif kind in ("text", "input_text", "output_text", "summary_text", "reasoning_text"):
        c.text((*path, "text"), role, value.get("text"))
    elif kind == "refusal":
        c.text((*path, "refusal"), role, value.get("refusal"))
    elif isinstance(kind, str) and kind in _PART_MEDIA:
        c.skip(path, f"{kind} part ({_PART_MEDIA[kind]}) not scanned")
    else:
        c.skip(path, f"content part of unknown type {kind!r} not scanned")


def parts(c: Collector, path: Path, content: object, role: str) -> None:
    """`content` as a string or a list of typed parts."""
    if isinstance(content, list):
        for index, value in enumerate(content):
            part(c, (*path, index), value, role)
    else:
        c.text(path, role, content)


def tool_definitions(c: Collector, body: dict[str, Any], base: Path) -> None:
    for key in ("tools", "functions"):
        if body.get(key):
            c.skip((*base, key), "tool definitions (names, descriptions, schemas) not scanned")


def _tool_calls(c: Collector, path: Path, message: dict[str, Any]) -> None:
    for index, call in entries(message.get("tool_calls")):
        here = (*path, "tool_calls", index)
        if isinstance(call, dict) and isinstance(call.get("function"), dict):
            c.text((*here, "function", "arguments"), "tool_arguments", call["function"].get("arguments"))
        elif isinstance(call, dict) and isinstance(call.get("custom"), dict):
            c.text((*here, "custom", "input"), "tool_arguments", call["custom"].get("input"))
        else:
            c.skip(here, "tool call of unknown shape not scanned")
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        c.text((*path, "function_call", "arguments"), "tool_arguments", legacy.get("arguments"))


def chat_message(c: Collector, path: Path, message: object) -> None:
    if not isinstance(message, dict):
        c.skip(path, f"{kind_of(message)} in place of a message; not scanned")
        return
    role = message_role(message.get("role"))
    parts(c, (*path, "content"), message.get("content"), role)
    c.text((*path, "refusal"), role, message.get("refusal"))
    _tool_calls(c, path, message)
    if message.get("audio") is not None:
        c.skip((*path, "audio"), "audio of an earlier answer (referenced by id) not scanned")


def chat_request(c: Collector, body: dict[str, Any], base: Path = ()) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list):
        c.skip((*base, "messages"), "missing or not a list; no messages scanned")
    for index, message in entries(messages):
        chat_message(c, (*base, "messages", index), message)
    prediction = body.get("prediction")
    if isinstance(prediction, dict):
        parts(c, (*base, "prediction", "content"), prediction.get("content"), "other")
    tool_definitions(c, body, base)


def _prompt_list(c: Collector, path: Path, value: object) -> None:
    """A string, a list of strings, or token arrays (ids, not text)."""
    if isinstance(value, list) and value and all(isinstance(item, int) for item in value):
        c.skip(path, "token array (token ids, not text) not scanned")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _prompt_list(c, (*path, index), item)
    else:
        c.text(path, "prompt", value)


def embeddings_request(c: Collector, body: dict[str, Any]) -> None:
    if "input" not in body:
        c.skip(("input",), "missing; nothing scanned")
    _prompt_list(c, ("input",), body.get("input"))


def completions_request(c: Collector, body: dict[str, Any]) -> None:
    if "prompt" not in body:
        c.skip(("prompt",), "missing; nothing scanned")
    _prompt_list(c, ("prompt",), body.get("prompt"))
    c.text(("suffix",), "prompt", body.get("suffix"))


# --- Responses API ---------------------------------------------------------------------------


def _response_item(c: Collector, path: Path, item: object, role: str, *, answer: bool) -> None:
    """One Responses input or output item. `role` is the default for a bare message."""
    if not isinstance(item, dict):
        c.skip(path, f"{kind_of(item)} in place of an item; not scanned")
        return
    kind = item.get("type", "message" if "role" in item else None)
    if kind == "message":
        owner = message_role(item.get("role", role))
        parts(c, (*path, "content"), item.get("content"), owner)
    elif kind in ("function_call", "mcp_call"):
        c.text((*path, "arguments"), "tool_arguments", item.get("arguments"))
        if kind == "mcp_call":
            c.text((*path, "output"), "tool_result", item.get("output"))
    elif kind == "custom_tool_call":
        c.text((*path, "input"), "tool_arguments", item.get("input"))
    elif kind in ("function_call_output", "custom_tool_call_output"):
        parts(c, (*path, "output"), item.get("output"), "tool_result")
    elif kind == "reasoning" and answer:
        for key in ("summary", "content"):
            parts(c, (*path, key), item.get(key) or [], "assistant")
        if item.get("encrypted_content"):
            c.skip((*path, "encrypted_content"), "encrypted reasoning not scanned")
    elif kind == "reasoning":
        c.skip(path, "reasoning item (replayed to the vendor unchanged) not scanned")
    elif kind == "item_reference":
        c.skip(path, "item_reference (content held by the vendor) not scanned")
    else:
        c.skip(path, f"{kind!r} item not scanned")


def responses_request(c: Collector, body: dict[str, Any]) -> None:
    instructions = body.get("instructions")
    if isinstance(instructions, list):
        for index, item in enumerate(instructions):
            _response_item(c, ("instructions", index), item, "system", answer=False)
    else:
        c.text(("instructions",), "system", instructions)
    items = body.get("input")
    if isinstance(items, list):
        for index, item in enumerate(items):
            _response_item(c, ("input", index), item, "user", answer=False)
    else:
        c.text(("input",), "user", items)
    prompt = body.get("prompt")  # a stored prompt: its template is the vendor's, its variables are sent
    variables = prompt.get("variables") if isinstance(prompt, dict) else None
    for name, value in variables.items() if isinstance(variables, dict) else ():
        here: Path = ("prompt", "variables", name)
        part(c, here, value, "user")
    for key in ("previous_response_id", "conversation"):
        if body.get(key):
            c.skip((key,), "earlier turns held by the vendor not scanned")
    tool_definitions(c, body, ())


def responses_response(c: Collector, body: dict[str, Any]) -> None:
    if body.get("instructions"):
        c.skip(("instructions",), "echo of the request's instructions not scanned")
    output = body.get("output")
    if not isinstance(output, list):
        c.skip(("output",), "missing or not a list; no answer scanned")
    for index, item in entries(output):
        _response_item(c, ("output", index), item, "assistant", answer=True)


# --- answers: chat, legacy completions, embeddings -----------------------------------------------


def chat_response(c: Collector, body: dict[str, Any]) -> None:
    choices = body.get("choices")
    if not isinstance(choices, list):
        c.skip(("choices",), "missing or not a list; no answer scanned")
    for index, choice in entries(choices):
        here: Path = ("choices", index)
        if not isinstance(choice, dict):
            c.skip(here, f"{kind_of(choice)} in place of a choice; not scanned")
            continue
        c.text((*here, "text"), "assistant", choice.get("text"))  # legacy completions, Mistral
        message = choice.get("message")
        if not isinstance(message, dict):
            continue
        parts(c, (*here, "message", "content"), message.get("content"), "assistant")
        for key in ("refusal", "reasoning_content", "reasoning"):  # the last two: DeepSeek, gpt-oss
            c.text((*here, "message", key), "assistant", message.get(key))
        _tool_calls(c, (*here, "message"), message)
        audio = message.get("audio")
        if isinstance(audio, dict):
            c.text((*here, "message", "audio", "transcript"), "assistant", audio.get("transcript"))
            if audio.get("data"):
                c.skip((*here, "message", "audio", "data"), "audio not scanned (its transcript is)")


def embeddings_response(c: Collector, body: dict[str, Any]) -> None:
    c.skip(("data",), "embedding vectors (no text) not scanned")
