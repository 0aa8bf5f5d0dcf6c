"""One simulated answer, before it is put in a vendor's wire format: text or tool call, and usage."""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass, field

from glassgate.demo.catalog import Reply, count_tokens

# What a vendor reports as the served model for each alias the demo asks for.
SERVED_MODELS = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "claude-sonnet-4-6": "claude-sonnet-4-6",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}
_PIECE = re.compile(r"\s*\S+")
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


def served_model(requested: str) -> str:
    return SERVED_MODELS.get(requested, requested or "unknown-model")


def random_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


def pieces(text: str) -> list[str]:
    """Stream deltas of about one token each: a word with the whitespace before it."""
    return _PIECE.findall(text) or [text]


@dataclass(frozen=True, slots=True)
class Answer:
    """Token counts follow the neutral convention: `input_tokens` counts every prompt token,
    cached ones included; each wire format converts (Anthropic reports cache tokens apart)."""

    model: str  # served model
    reply: Reply
    input_tokens: int
    cached_tokens: int = 0
    cache_write_tokens: int = 0
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def output_tokens(self) -> int:
        tokens = count_tokens(self.reply.text) if self.reply.text else 0
        if self.reply.tool_call is not None:
            tokens += 12 + count_tokens(str(self.reply.tool_call.arguments))
        return tokens

    def text_pieces(self) -> list[str]:
        return pieces(self.reply.text) if self.reply.text else []
