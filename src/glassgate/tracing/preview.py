"""Short plain-text previews of a call's input and output, for the span list and for search.

They live in the hot row (bounded), while the full bodies live in `span_bodies`. The input
preview is the latest user turn (what people scan a list for), the output preview the text
the model produced; both work on every vendor's JSON without knowing which vendor it is.
"""

from __future__ import annotations

from typing import Any

PREVIEW_CHARS = 1000
# Keys whose string values are text a person wrote or a model produced, in every vendor format
# we relay: OpenAI chat/responses/completions, Anthropic, Bedrock Converse and invoke families.
_OUTPUT_TEXT_KEYS = frozenset({"content", "text", "outputText", "output_text", "generation", "completion", "refusal"})
_PROMPT_KEYS = ("prompt", "inputText", "input", "message", "query")


# One line: newlines and runs of whitespace say nothing in a preview. Collapsing them is the
# costliest step of a span's capture (str.split makes an object per word: ~7 µs for 1.1 KB of
# prose, ~20 µs for 13 KB), so only a head of the text is collapsed: first one just past the
# preview's length, which fills it unless the head is mostly whitespace, then, if need be, one
# four times the preview's length. And a head whose words are apart by one space, newline, tab
# or CR each (no runs, no rarer spaces), as most prose is, needs no split at all (~2 µs, however
# long the text).
_HEADS = (PREVIEW_CHARS + PREVIEW_CHARS // 8, PREVIEW_CHARS * 4)
_SPACE_LIKE = "\n\t\r"  # each read as one space
_OTHER_WHITESPACE = tuple(  # what else str.split() splits on; none lies above U+3000
    char for char in map(chr, range(0x3001)) if char.isspace() and char not in " " + _SPACE_LIKE
)
_OTHER_ASCII_WHITESPACE = tuple(char for char in _OTHER_WHITESPACE if char.isascii())


def _one_line(text: str) -> str:
    """`" ".join(text.split())`, without the split where a few scans of the text show it needs none."""
    for char in _OTHER_ASCII_WHITESPACE if text.isascii() else _OTHER_WHITESPACE:
        if char in text:
            return " ".join(text.split())
    for char in _SPACE_LIKE:
        if char in text:
            text = text.replace(char, " ")
    if "  " in text:
        return " ".join(text.split())
    return text.strip(" ")


def _clip(text: str) -> str | None:
    for size in _HEADS:
        line = _one_line(text[:size])
        if len(line) > PREVIEW_CHARS or len(text) <= size:
            break
    if not line:
        return None
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"


def _texts(value: Any, keys: frozenset[str], found: list[str], budget: list[int]) -> None:
    """Collect string values under `keys`, depth first, until the character budget is spent."""
    if budget[0] <= 0:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                if key in keys:
                    found.append(item)
                    budget[0] -= len(item)
            elif isinstance(item, dict | list):
                _texts(item, keys, found, budget)
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict | list):
                _texts(item, keys, found, budget)


def _message_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    found: list[str] = []
    _texts(content, frozenset({"text", "content"}), found, [PREVIEW_CHARS * 2])
    return " ".join(found)


def _last_user_turn(messages: list[Any]) -> str | None:
    for message in reversed(messages):
        if isinstance(message, dict) and message.get("role") in (None, "user"):
            text = _message_text(message.get("content"))
            if text.strip():
                return text
    return None


def input_preview(request: Any) -> str | None:
    """The latest user turn, or the prompt, of a request body (JSON value or text)."""
    if isinstance(request, str):
        return _clip(request)
    if not isinstance(request, dict):
        return None
    for key in ("messages", "input"):
        items = request.get(key)
        if isinstance(items, list) and items and isinstance(items[-1], dict):
            text = _last_user_turn(items)
            if text:
                return _clip(text)
    for key in _PROMPT_KEYS:
        value = request.get(key)
        if isinstance(value, str):
            return _clip(value)
        if isinstance(value, list) and value and isinstance(value[-1], str):
            return _clip(value[-1])
    return None


def output_preview(response: Any) -> str | None:
    """The text a model produced, from a response body (JSON value or text)."""
    if isinstance(response, str):
        return _clip(response)
    if not isinstance(response, dict | list):
        return None
    if isinstance(response, dict):
        text = _chat_answer(response)
        if text is not None:
            return _clip(text)
    found: list[str] = []
    _texts(response, _OUTPUT_TEXT_KEYS, found, [PREVIEW_CHARS * 2])
    return _clip(" ".join(found))


def _chat_answer(response: dict[str, Any]) -> str | None:
    """The first choice's text in the commonest shape (Chat Completions), without a walk."""
    choices = response.get("choices")
    if not (isinstance(choices, list) and len(choices) == 1 and isinstance(choices[0], dict)):
        return None
    message = choices[0].get("message")
    content = message.get("content") if isinstance(message, dict) else choices[0].get("text")
    return content if isinstance(content, str) and content else None
