"""OpenAI's shapes (wire-formats.md §1), which Azure shares: Chat Completions, Responses,
legacy Completions and Embeddings. The chat readers also serve the OpenAI-style bodies some
Bedrock models take (Mistral's chat form, gpt-oss, AI21 Jamba).
"""

from __future__ import annotations

from typing import Any

from glassgate.tracing.conversation.parts import (
    Builder,
    Part,
    as_text,
    attachment,
    image,
    listing,
    mapping,
    media_from_url,
    pretty,
    reasoning,
    refusal,
    role_of,
    scrub,
    size_note,
    text,
    text_value,
    tool_call,
    tool_result,
)

CHAT_PARAMETERS = (
    ("model", "model"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("max_completion_tokens", "max_tokens"),
    ("max_tokens", "max_tokens"),
    ("n", "n"),
    ("stop", "stop"),
    ("seed", "seed"),
    ("presence_penalty", "presence_penalty"),
    ("frequency_penalty", "frequency_penalty"),
    ("response_format", "response_format"),
    ("tool_choice", "tool_choice"),
    ("parallel_tool_calls", "parallel_tool_calls"),
    ("reasoning_effort", "reasoning_effort"),
    ("verbosity", "verbosity"),
    ("modalities", "modalities"),
    ("logprobs", "logprobs"),
    ("top_logprobs", "top_logprobs"),
    ("service_tier", "service_tier"),
    ("stream", "stream"),
    ("user", "user"),
)
_RESPONSES_PARAMETERS = (
    ("model", "model"),
    ("temperature", "temperature"),
    ("top_p", "top_p"),
    ("max_output_tokens", "max_tokens"),
    ("tool_choice", "tool_choice"),
    ("parallel_tool_calls", "parallel_tool_calls"),
    ("reasoning", "reasoning"),
    ("text", "text"),
    ("truncation", "truncation"),
    ("previous_response_id", "previous_response_id"),
    ("conversation", "conversation"),
    ("prompt", "prompt"),
    ("store", "store"),
    ("background", "background"),
    ("service_tier", "service_tier"),
    ("stream", "stream"),
)
_COMPLETIONS_PARAMETERS = (
    *CHAT_PARAMETERS,
    ("suffix", "suffix"),
    ("echo", "echo"),
    ("best_of", "best_of"),
)
_EMBEDDINGS_PARAMETERS = (("model", "model"), ("encoding_format", "encoding_format"), ("dimensions", "dimensions"))


# --- content parts (chat and Responses share the part names) ------------------------------------


def _image_part(value: dict[str, Any]) -> Part:
    source = value.get("image_url")
    url = source.get("url") if isinstance(source, dict) else source
    if url is None and isinstance(value.get("file_id"), str):
        return image(None, f"uploaded file {value['file_id']}")
    media_type, detail, remote = media_from_url(url)
    return image(media_type, detail, remote)


def _file_part(value: dict[str, Any]) -> Part:
    inner = mapping(value.get("file")) or value
    name = text_value(inner.get("filename"))
    data = inner.get("file_data")
    if isinstance(data, str):
        media_type, detail, _ = media_from_url(data if data.startswith("data:") else f"data:,{data}")
    elif isinstance(inner.get("file_id"), str):
        media_type, detail = None, f"uploaded file {inner['file_id']}"
    else:
        media_type, detail, _ = media_from_url(inner.get("file_url"))
    return attachment("document", media_type, f"{name}: {detail}" if name else detail)


def content_part(b: Builder, value: object) -> Part | None:
    if isinstance(value, str):
        return text(value)
    if not isinstance(value, dict):
        b.warn(f"a content part that is {type(value).__name__} was left out")
        return None
    kind = text_value(value.get("type"))
    if kind in ("text", "input_text", "output_text", "summary_text", "reasoning_text"):
        return text(as_text(value.get("text")))
    if kind == "refusal":
        return refusal(as_text(value.get("refusal")))
    if kind in ("image_url", "input_image"):
        return _image_part(value)
    if kind == "input_audio":
        audio = mapping(value.get("input_audio")) or value
        data = audio.get("data")
        audio_format = text_value(audio.get("format"))
        size = size_note(len(data)) if isinstance(data, str) else "no data"
        return attachment("audio", f"audio/{audio_format}" if audio_format else None, f"inline audio, {size}")
    if kind in ("file", "input_file"):
        return _file_part(value)
    b.warn(f"content part of type {kind!r} shown as JSON")
    return text(pretty(value))


def content_parts(b: Builder, content: object) -> list[Part]:
    """`content` as a string, None, or a list of typed parts."""
    if content is None:
        return []
    if isinstance(content, list):
        return [part for part in (content_part(b, item) for item in content) if part is not None]
    part = content_part(b, content)
    return [part] if part is not None else []


# --- Chat Completions ----------------------------------------------------------------------


def _assistant_extras(b: Builder, message: dict[str, Any]) -> list[Part]:
    """Reasoning (DeepSeek, gpt-oss), refusal, tool calls and audio of an assistant message."""
    parts: list[Part] = []
    for key in ("reasoning_content", "reasoning"):
        if isinstance(message.get(key), str) and message[key]:
            parts.append(reasoning(message[key]))
    if isinstance(message.get("refusal"), str) and message["refusal"]:
        parts.append(refusal(message["refusal"]))
    calls = message.get("tool_calls")
    for call in calls if isinstance(calls, list) else []:
        if not isinstance(call, dict):
            continue
        function = call.get("function") if isinstance(call.get("function"), dict) else call.get("custom")
        function = function if isinstance(function, dict) else {}
        parts.append(tool_call(call.get("id"), function.get("name"), function.get("arguments", function.get("input"))))
    legacy = message.get("function_call")
    if isinstance(legacy, dict):
        parts.append(tool_call(None, legacy.get("name"), legacy.get("arguments")))
    audio = message.get("audio")
    if isinstance(audio, dict):
        if isinstance(audio.get("transcript"), str):
            parts.append(text(audio["transcript"]))
        parts.append(attachment("audio", None, f"spoken answer {audio.get('id') or ''}".strip()))
    return parts


def chat_message_parts(b: Builder, role: str, message: dict[str, Any]) -> list[Part]:
    if role == "tool":
        call_id = message.get("tool_call_id", message.get("name"))
        return [tool_result(call_id, as_text(message.get("content")))]
    extras = _assistant_extras(b, message)
    thinking = [part for part in extras if part["type"] == "reasoning"]
    rest = [part for part in extras if part["type"] != "reasoning"]
    return [*thinking, *content_parts(b, message.get("content")), *rest]


def chat_request(b: Builder, body: dict[str, Any]) -> None:
    b.copy_parameters(body, CHAT_PARAMETERS)
    for role, message in b.request_messages(body):
        b.message(role, chat_message_parts(b, role, message))
    chat_tools(b, body)


def chat_tools(b: Builder, body: dict[str, Any]) -> None:
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        if not isinstance(tool, dict):
            continue
        spec = tool.get("function") if isinstance(tool.get("function"), dict) else tool.get("custom")
        if isinstance(spec, dict):
            b.tool(spec.get("name"), spec.get("description"), spec.get("parameters"))
        else:
            b.tool(tool.get("name") or tool.get("type"), tool.get("description"), tool.get("parameters"))
    functions = body.get("functions")  # the legacy spelling
    for function in functions if isinstance(functions, list) else []:
        if isinstance(function, dict):
            b.tool(function.get("name"), function.get("description"), function.get("parameters"))


def failed(b: Builder, body: dict[str, Any]) -> bool:
    """True (with a warning) when the answer is an error body rather than an answer."""
    error = body.get("error")
    if error and not body.get("choices") and not body.get("output"):
        message = error.get("message") if isinstance(error, dict) else error
        b.warn(f"the call failed: {as_text(message) or 'error'}")
        return True
    return False


def chat_response(b: Builder, body: dict[str, Any]) -> None:
    """Chat Completions and legacy Completions answers: one output message per choice."""
    if failed(b, body):
        return
    choices = body.get("choices")
    if not isinstance(choices, list):
        b.warn("the answer has no list of choices")
        return
    for position, choice in enumerate(choices):
        if not isinstance(choice, dict):
            continue
        index = choice.get("index")
        index = index if isinstance(index, int) and not isinstance(index, bool) else position
        message = choice.get("message")
        parts: list[Part] = []
        if isinstance(message, dict):
            parts = chat_message_parts(b, "assistant", message)
        if isinstance(choice.get("text"), str):  # legacy completions, Mistral's prompt form
            parts.append(text(choice["text"]))
        finish = choice.get("finish_reason", choice.get("stop_reason"))
        b.answer(parts, choice=index, finish_reason=finish)


# --- legacy Completions and Embeddings -----------------------------------------------------


def _prompts(b: Builder, value: object, what: str) -> list[str]:
    """A string, a list of strings, or token arrays (ids, shown as a count)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value and all(isinstance(item, int) for item in value):
        b.warn(f"the {what} is given as token ids, not text")
        return [f"<{len(value)} token ids>"]
    if isinstance(value, list):
        return [piece for item in value for piece in _prompts(b, item, what)]
    if value is not None:
        b.warn(f"the {what} is {type(value).__name__}; shown as JSON")
        return [pretty(value)]
    b.warn(f"the request has no {what}")
    return []


def completions_request(b: Builder, body: dict[str, Any]) -> None:
    b.copy_parameters(body, _COMPLETIONS_PARAMETERS)
    for prompt in _prompts(b, body.get("prompt"), "prompt"):
        b.message("user", [text(prompt)])


def embeddings_request(b: Builder, body: dict[str, Any]) -> None:
    b.copy_parameters(body, _EMBEDDINGS_PARAMETERS)
    b.message("user", [text(piece) for piece in _prompts(b, body.get("input"), "input")])


def no_answer(b: Builder, body: dict[str, Any]) -> None:
    """An answer that holds no conversation (vectors, a token count): only a failure is worth saying."""
    failed(b, body)


# --- Responses -------------------------------------------------------------------------------

_CALL_OUTPUTS = frozenset(
    {"function_call_output", "custom_tool_call_output", "computer_call_output", "local_shell_call_output"}
)


def _reasoning_parts(item: dict[str, Any]) -> list[Part]:
    pieces = [
        piece["text"]
        for key in ("summary", "content")
        for piece in listing(item.get(key))
        if isinstance(piece, dict) and isinstance(piece.get("text"), str)
    ]
    if pieces:
        return [reasoning("\n\n".join(pieces))]
    return [reasoning("", redacted=True)] if item.get("encrypted_content") else []


def _builtin_call(item: dict[str, Any], kind: str) -> list[Part]:
    """A built-in tool's call (web search, code interpreter, MCP, image generation…)."""
    if kind == "image_generation_call":
        result = item.get("result")
        return [image(None, f"generated image, {size_note(len(result))}" if isinstance(result, str) else "generated")]
    shown = {key: value for key, value in item.items() if key not in ("type", "id", "status", "output", "result")}
    name = item.get("name") if kind == "mcp_call" else kind.removesuffix("_call")
    arguments = shown.pop("arguments", None) if kind == "mcp_call" else shown
    parts: list[Part] = [tool_call(item.get("call_id") or item.get("id"), name, arguments)]
    if item.get("output") is not None:
        parts.append(tool_result(item.get("call_id") or item.get("id"), scrub(item["output"])))
    return parts


def response_item(b: Builder, item: object, default_role: str) -> tuple[str, list[Part]] | None:
    """One Responses input or output item as (role, parts)."""
    if isinstance(item, str):
        return default_role, [text(item)]
    if not isinstance(item, dict):
        b.warn(f"an item that is {type(item).__name__} was left out")
        return None
    kind = text_value(item.get("type", "message" if "role" in item else None))
    if kind == "message":
        role = role_of(item.get("role", default_role)) or default_role
        return role, content_parts(b, item.get("content"))
    if kind in ("function_call", "custom_tool_call"):
        arguments = item.get("arguments") if kind == "function_call" else item.get("input")
        return "assistant", [tool_call(item.get("call_id"), item.get("name"), arguments)]
    if kind in _CALL_OUTPUTS:
        output = item.get("output")
        content = as_text(output) if not isinstance(output, list) else as_text(scrub(output))
        return "tool", [tool_result(item.get("call_id"), content)]
    if kind == "reasoning":
        return "assistant", _reasoning_parts(item)
    if kind == "item_reference":
        b.warn(f"item {item.get('id')!r} is held by the vendor (item_reference) and not shown")
        return None
    if isinstance(kind, str) and kind.endswith("_call"):
        return "assistant", _builtin_call(item, kind)
    b.warn(f"item of type {kind!r} shown as JSON")
    return default_role, [text(pretty(item))]


def responses_request(b: Builder, body: dict[str, Any]) -> None:
    b.copy_parameters(body, _RESPONSES_PARAMETERS)
    instructions = body.get("instructions")
    if isinstance(instructions, str) and instructions:
        b.message("system", [text(instructions)])
    elif isinstance(instructions, list):
        for item in instructions:
            found = response_item(b, item, "system")
            if found:
                b.message(found[0], found[1], merge=True)
    items = body.get("input")
    for item in items if isinstance(items, list) else [items] if items is not None else []:
        found = response_item(b, item, "user")
        if found:
            # Consecutive calls (or their outputs) are one turn, as in a chat's tool_calls list.
            b.message(found[0], found[1], merge=found[0] in ("assistant", "tool"))
    if body.get("previous_response_id") or body.get("conversation"):
        b.warn(
            "earlier turns are held by the vendor (previous_response_id / conversation); only the new input is shown"
        )
    tools = body.get("tools")
    for tool in tools if isinstance(tools, list) else []:
        if isinstance(tool, dict):
            name = tool.get("name") if tool.get("type") in ("function", "custom") else tool.get("type")
            b.tool(name, tool.get("description"), tool.get("parameters"))


def _responses_finish(body: dict[str, Any]) -> str | None:
    outputs = listing(body.get("output"))
    if any(isinstance(item, dict) and item.get("type") == "function_call" for item in outputs):
        return "tool_calls"
    details = body.get("incomplete_details")
    reason = details.get("reason") if isinstance(details, dict) else None
    return text_value(reason) or text_value(body.get("status"))


def responses_response(b: Builder, body: dict[str, Any]) -> None:
    if failed(b, body):
        return
    error = body.get("error")
    if isinstance(error, dict) and error.get("message"):
        b.warn(f"the response failed: {as_text(error['message'])}")
    output = body.get("output")
    if not isinstance(output, list):
        b.warn("the answer has no list of output items")
        return
    parts: list[Part] = []
    for item in output:
        found = response_item(b, item, "assistant")
        if found:
            parts.extend(found[1])
    b.answer(parts, finish_reason=_responses_finish(body))
