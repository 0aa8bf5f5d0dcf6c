"""What an extraction yields, and the collector the vendor extractors fill.

A `TextField` points at one JSON string value of the body by its path, so a redaction can
rewrite exactly that value in the raw bytes (`rewrite.rewrite_strings`). Whatever an
extractor does not scan (an image, a signed thinking block, an unknown shape) is named in
`Extraction.skipped`: nothing is dropped without a word.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

Path = tuple[str | int, ...]

# Keys whose string values a loose walk treats as text when the shape is not known.
_TEXT_KEYS = frozenset(
    {
        "text",
        "content",
        "prompt",
        "inputText",
        "input",
        "message",
        "system",
        "preamble",
        "instructions",
        "query",
        "texts",
        "snippet",
        "outputText",
        "generation",
        "completion",
        "arguments",
        "output",
        "negativeText",
    }
)


@dataclass(frozen=True, slots=True)
class TextField:
    """One string value of a body that was scanned.

    `role` is who wrote it: system | developer | user | assistant, the message's own role;
    tool (the content of a tool-role message: OpenAI, Mistral, AI21, Cohere) and tool_result
    (a tool result block or item inside another message: Anthropic, Converse, Responses) are
    both tool output; tool_arguments (a model's tool call, as sent back or answered); prompt
    (the text of a non-chat API: completions, embeddings, Titan, Llama); other.
    """

    path: Path
    role: str
    text: str


@dataclass(frozen=True, slots=True)
class Extraction:
    """The text fields of a body, and a human-readable reason for each part not scanned."""

    fields: list[TextField] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def where(path: Sequence[str | int]) -> str:
    """`messages[1].content[0]`: the form findings use for a field's path."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text or "body"


def entries(value: object) -> Iterator[tuple[int, Any]]:
    """The items of a JSON array with their indexes; nothing for any other value."""
    return enumerate(value) if isinstance(value, list) else iter(())


def kind_of(value: object) -> str:
    """The JSON name of a value's type, for skip reasons."""
    if isinstance(value, bool):
        return "boolean"
    names = {dict: "object", list: "array", str: "string", int: "number", float: "number", type(None): "null"}
    return names.get(type(value), type(value).__name__)


class Collector:
    """Accumulates fields and skip reasons while an extractor walks a body."""

    def __init__(self) -> None:
        self.fields: list[TextField] = []
        self.skipped: list[str] = []

    def text(self, path: Path, role: str, value: object) -> None:
        """A value that should be text: scanned when it is; null and "" hold nothing to scan."""
        if isinstance(value, str):
            if value:
                self.fields.append(TextField(path, role, value))
        elif value is not None:
            self.skip(path, f"expected text, found {kind_of(value)}; not scanned")

    def skip(self, path: Path, reason: str) -> None:
        self.skipped.append(f"{where(path)}: {reason}")

    def strings(self, path: Path, value: object, role: str) -> None:
        """Every string inside a free-form value (a tool's input object), at any depth."""
        if isinstance(value, str):
            self.text(path, role, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.strings((*path, key), item, role)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.strings((*path, index), item, role)

    def loose(self, path: Path, value: object, role: str = "other", *, under_text_key: bool = False) -> None:
        """Strings held by text-like keys (`text`, `prompt`, `content`…), for shapes not known."""
        if isinstance(value, str):
            if under_text_key:
                self.text(path, role, value)
        elif isinstance(value, dict):
            for key, item in value.items():
                self.loose((*path, key), item, role, under_text_key=key in _TEXT_KEYS)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                self.loose((*path, index), item, role, under_text_key=under_text_key)

    def loosely(self, path: Path, value: object, why: str) -> None:
        """A shape not known: say why, then read the strings under text-like keys."""
        self.skip(path, f"{why}: only strings under text-like keys scanned")
        self.loose(path, value)

    def result(self) -> Extraction:
        return Extraction(fields=self.fields, skipped=self.skipped)
