"""Values as the text evaluators compare and judges read.

An item's output may be plain text, a vendor's response body, or a conversation; its
expected output is often `{"messages": [...]}` (a dataset item made from a span). Three
readings, all pure and never raising:

- `answer_text`: the answer a value holds. Strings as they are; a chat response body
  (OpenAI chat or Responses, Anthropic Messages, Bedrock Converse, read by
  `tracing.conversation`) or a list of messages (neutral `{"role", "parts"}` or OpenAI-style
  `{"role", "content"}`) gives the text of its final assistant turn (choice 0 when there are
  several). Tool calls read as `[tool call] name {"arg": ...}`, so they can be compared too.
- `prompt_text`: what was asked, from a list of messages, a dataset item's input
  (`{"messages": [...], "parameters": ...}`) or any vendor's request body (OpenAI chat,
  Responses and legacy completions, Anthropic Messages, Bedrock Converse). One user message
  is its text; a longer conversation is a transcript, one `role: text` block per message.
- `value_text`: any other value (context, a JSONPath match): strings as they are, a list of
  strings joined by blank lines, anything else as JSON.

Any other JSON value reads as JSON with sorted keys, so two objects that differ only in key
order read the same; numbers and booleans as JSON (`42`, `true`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from glassgate.tracing.conversation import conversation_of

Message = dict[str, Any]


def answer_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        answer = _answer_of_mapping(value)
        if answer is not None:
            return _join(answer, answer=True)
    elif isinstance(value, list) and (messages := _messages(value)) is not None:
        return _join(_final_turn(messages), answer=True)
    return json_text(value)


def prompt_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    messages: list[Message] | None = None
    if isinstance(value, Mapping):
        messages = _request_messages(value)
    elif isinstance(value, list):
        messages = _messages(value)
    if messages is None:
        return json_text(value)
    if len(messages) == 1 and messages[0].get("role") == "user":
        return _join(messages, answer=False)
    return "\n\n".join(f"{message.get('role', 'user')}: {_join([message], answer=False)}" for message in messages)


def value_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return "\n\n".join(value)
    return json_text(value)


def json_text(value: Any) -> str:
    """A JSON value as indented JSON with sorted keys (any other object as its repr)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    try:
        return orjson.dumps(value, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):
        return repr(value)


def _compact(value: Any) -> str:
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):
        return repr(value)


def is_chat_like(value: Any) -> bool:
    """Whether `answer_text` reads `value` as a response or conversation (not as plain JSON)."""
    if isinstance(value, Mapping):
        return _answer_of_mapping(value) is not None
    return isinstance(value, list) and _messages(value) is not None


def _answer_of_mapping(value: Mapping[str, Any]) -> list[Message] | None:
    """The answer messages of a response body, a conversation view or `{"messages": [...]}`."""
    body = dict(value)
    if isinstance(value.get("choices"), list):
        return _output(conversation_of("openai", "chat", None, body))
    if value.get("object") == "response" and isinstance(value.get("output"), list):
        return _output(conversation_of("openai", "responses", None, body))
    if value.get("type") == "message" and isinstance(value.get("content"), list):
        return _output(conversation_of("anthropic", "messages", None, body))
    output = value.get("output")
    if isinstance(output, Mapping) and isinstance(output.get("message"), Mapping):
        return _output(conversation_of("bedrock", "converse", None, body))
    if isinstance(output, list) and (answer := _messages(output)) is not None:
        return _final_turn(answer)  # a conversation view: its `output`
    if isinstance(value.get("messages"), list) and (messages := _messages(value["messages"])) is not None:
        return _final_turn(messages)
    if isinstance(value.get("role"), str) and ("parts" in value or "content" in value):
        return _messages([body])
    return None


def _request_messages(body: Mapping[str, Any]) -> list[Message] | None:
    """The messages of a request body (any vendor's) or of a dataset item's input."""
    given = body.get("messages")
    if isinstance(given, list):
        if "system" in body or "anthropic_version" in body:  # Anthropic's shape, system apart
            return conversation_of("anthropic", "messages", dict(body), None)["messages"] or None
        return _messages(given)
    if isinstance(body.get("input"), str | list):  # OpenAI Responses
        return conversation_of("openai", "responses", dict(body), None)["messages"] or None
    if isinstance(body.get("prompt"), str | list):  # legacy completions
        return conversation_of("openai", "completions", dict(body), None)["messages"] or None
    return None


def _output(conversation: dict[str, Any]) -> list[Message]:
    return _first_choice(conversation["output"])


def _messages(value: list[Any]) -> list[Message] | None:
    """A list of chat messages in neutral form, or None when `value` is not one."""
    if not value or not all(isinstance(item, Mapping) and isinstance(item.get("role"), str) for item in value):
        return None
    if all(isinstance(item.get("parts"), list) for item in value):
        return [dict(item) for item in value]
    if not all("content" in item or "tool_calls" in item for item in value):
        return None
    vendor, operation = _dialect(value)
    messages: list[Message] = conversation_of(vendor, operation, {"messages": [dict(item) for item in value]}, None)[
        "messages"
    ]
    return messages


def _dialect(messages: list[Any]) -> tuple[str, str]:
    """Whose message format this is, from its content blocks: Converse, Anthropic or OpenAI."""
    blocks = [block for m in messages if isinstance(m.get("content"), list) for block in m["content"]]
    kinds = {block.get("type") for block in blocks if isinstance(block, Mapping)}
    if None in kinds and blocks:  # {"text": ...}, {"toolUse": ...}: no "type" key
        return "bedrock", "converse"
    if kinds & {"tool_use", "tool_result", "thinking"} or any(
        isinstance(block, Mapping) and isinstance(block.get("source"), Mapping) for block in blocks
    ):
        return "anthropic", "messages"
    return "openai", "chat"


def _final_turn(messages: list[Message]) -> list[Message]:
    """The assistant messages that end the list (all messages when it ends otherwise)."""
    start = len(messages)
    while start > 0 and messages[start - 1].get("role") == "assistant":
        start -= 1
    return _first_choice(messages[start:]) if start < len(messages) else messages


def _first_choice(messages: list[Message]) -> list[Message]:
    return [message for message in messages if message.get("choice") in (None, 0)] or messages


def _join(messages: list[Message], *, answer: bool) -> str:
    texts = [text for message in messages for part in message.get("parts") or [] if (text := _part_text(part, answer))]
    return "\n".join(texts)


def _part_text(part: Any, answer: bool) -> str:
    if not isinstance(part, Mapping):
        return ""
    kind = part.get("type")
    if kind in ("text", "refusal"):
        return str(part.get("text") or "")
    if kind == "tool_call":
        return f"[tool call] {part.get('name') or ''} {_compact(part.get('arguments'))}"
    if kind == "tool_result":
        return f"[tool result] {part.get('content') or ''}"
    if kind == "image" or kind == "file":
        return "" if answer else f"[{part.get('kind') or kind}: {part.get('detail') or ''}]"
    return ""  # reasoning is not part of the answer or the question
