"""The neutral conversation's pieces: part constructors, and the builder the format readers fill.

Parts are plain JSON objects (they go to the API and into dataset items as they are). Media
never travels: an image or file becomes a placeholder that says what it was (type, size,
where it lived), never its bytes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from glassgate.proxy.vendors.base import loads_or_none

Part = dict[str, Any]
Message = dict[str, Any]

ROLES = frozenset({"system", "user", "assistant", "tool"})
_ROLE_ALIASES = {
    "developer": "system",
    "function": "tool",
    "ipython": "tool",
    "model": "assistant",
    "chatbot": "assistant",
    "bot": "assistant",
    "human": "user",
}
_LONG_BLOB = 1000  # strings at least this long that look like base64 are media, not text
_BASE64 = re.compile(r"^[A-Za-z0-9+/=_\-\s]+$")
_DATA_URL = re.compile(r"^data:(?P<media>[\w.+-]+/[\w.+-]+)?(?:;[^,]*)?,", re.IGNORECASE)


def text(value: str) -> Part:
    return {"type": "text", "text": value}


def refusal(value: str) -> Part:
    return {"type": "refusal", "text": value}


def reasoning(value: str, *, redacted: bool = False) -> Part:
    return {"type": "reasoning", "text": value, "redacted": redacted}


def image(media_type: str | None, detail: str, url: str | None = None) -> Part:
    return {"type": "image", "media_type": media_type, "detail": detail, "url": url}


def attachment(kind: str, media_type: str | None, detail: str) -> Part:
    """Audio, video, a document or any other file: `kind` says which."""
    return {"type": "file", "kind": kind, "media_type": media_type, "detail": detail}


def tool_call(call_id: object, name: object, arguments: object) -> Part:
    return {
        "type": "tool_call",
        "id": call_id if isinstance(call_id, str) else None,
        "name": name if isinstance(name, str) else "",
        "arguments": parse_arguments(arguments),
    }


def tool_result(call_id: object, content: object, *, is_error: bool = False) -> Part:
    return {
        "type": "tool_result",
        "tool_call_id": call_id if isinstance(call_id, str) else None,
        "content": as_text(content),
        "is_error": is_error,
    }


def parse_arguments(value: object) -> Any:
    """Tool arguments as a JSON value: OpenAI's JSON string parsed, kept as text when it is not JSON."""
    if isinstance(value, str):
        if not value.strip():
            return {}
        parsed = loads_or_none(value)
        return value if parsed is None and value.strip() != "null" else parsed
    return scrub(value)


def size_note(base64_chars: int) -> str:
    size = base64_chars * 3 // 4
    return f"{size / 1024:.1f} kB" if size >= 1024 else f"{size} bytes"


def media_from_url(url: object) -> tuple[str | None, str, str | None]:
    """(media type, placeholder detail, remote URL) for a URL that may be a data: URL."""
    if not isinstance(url, str) or not url:
        return None, "no source", None
    found = _DATA_URL.match(url)
    if found:
        return found["media"], f"inline data, {size_note(len(url) - found.end())}", None
    if url.startswith(("http://", "https://")):
        return None, "remote URL", url
    return None, "reference (not shown)", None


def scrub(value: Any) -> Any:
    """A JSON value with long base64 strings and data: URLs replaced by placeholders."""
    if isinstance(value, str):
        if len(value) >= _LONG_BLOB and (_DATA_URL.match(value) or _BASE64.match(value[:4096])):
            return f"<binary data, {size_note(len(value))}, not shown>"
        return value
    if isinstance(value, dict):
        return {key: scrub(item) for key, item in value.items()}
    if isinstance(value, list):
        return [scrub(item) for item in value]
    return value


def pretty(value: Any) -> str:
    """A JSON value as indented text, binary blobs replaced."""
    try:
        return orjson.dumps(scrub(value), option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
    except (orjson.JSONEncodeError, TypeError):  # integers past 64 bits, odd types: never fail a view
        return repr(value)


def as_text(value: object) -> str:
    """A string as is; anything else as pretty JSON; None as empty."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(item, dict) and isinstance(item.get("text"), str) for item in value):
        return "\n".join(item["text"] for item in value)  # a list of text blocks reads as its text
    return pretty(value)


def role_of(value: object) -> str | None:
    """The neutral role for a vendor's role name, or None when it is not one we know."""
    if not isinstance(value, str):
        return None
    lowered = value.lower()
    return lowered if lowered in ROLES else _ROLE_ALIASES.get(lowered)


def text_value(value: object) -> str | None:
    return value if isinstance(value, str) else None


def mapping(value: object) -> dict[str, Any]:
    """The value when it is an object, else an empty one: bodies are never trusted."""
    return value if isinstance(value, dict) else {}


def listing(value: object) -> list[Any]:
    """The value when it is a list, else an empty one."""
    return value if isinstance(value, list) else []


@dataclass
class Builder:
    """What the readers learn, in order; `result()` is the conversation as JSON."""

    messages: list[Message] = field(default_factory=list)
    output: list[Message] = field(default_factory=list)
    tools: list[dict[str, Any]] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def request_messages(self, body: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
        """(role, message) for each message object of a request's `messages` list; what cannot
        be read is left out, and an unknown role shown as user, each with a warning."""
        messages = body.get("messages")
        if not isinstance(messages, list):
            self.warn("the request has no list of messages")
            return
        for index, message in enumerate(messages):
            if not isinstance(message, dict):
                self.warn(f"messages[{index}] is not an object; left out")
                continue
            role = role_of(message.get("role"))
            if role is None:
                self.warn(f"messages[{index}] has the unknown role {message.get('role')!r}; shown as user")
                role = "user"
            yield role, message

    def message(self, role: str, parts: Iterable[Part], *, merge: bool = False) -> None:
        """Add an input message; with `merge`, join the previous one when it has the same role."""
        parts = list(parts)
        if not parts:
            return
        if merge and self.messages and self.messages[-1]["role"] == role:
            self.messages[-1]["parts"].extend(parts)
        else:
            self.messages.append({"role": role, "parts": parts})

    def answer(
        self, parts: Iterable[Part], *, choice: int = 0, finish_reason: object = None, role: str = "assistant"
    ) -> None:
        """Add one message of the answer (one per choice when the vendor returned several)."""
        self.output.append(
            {
                "role": role,
                "parts": list(parts),
                "choice": choice,
                "finish_reason": finish_reason if isinstance(finish_reason, str) else None,
            }
        )

    def tool(self, name: object, description: object = None, parameters: object = None) -> None:
        self.tools.append(
            {
                "name": name if isinstance(name, str) else "",
                "description": description if isinstance(description, str) else None,
                "parameters": parameters if isinstance(parameters, dict) else None,
            }
        )

    def copy_parameters(self, body: Mapping[str, Any], pairs: Iterable[tuple[str, str]]) -> None:
        """Copy request fields under neutral names; the first source of a name wins."""
        for source, target in pairs:
            value = body.get(source)
            if value is None or target in self.parameters:
                continue
            if target == "stop" and isinstance(value, str):
                value = [value]
            self.parameters[target] = scrub(value)

    def result(self, vendor: str | None, operation: str | None, format_name: str) -> dict[str, Any]:
        return {
            "vendor": vendor,
            "operation": operation,
            "format": format_name,
            "messages": self.messages,
            "output": self.output,
            "tools": self.tools,
            "parameters": self.parameters,
            "warnings": self.warnings,
        }
