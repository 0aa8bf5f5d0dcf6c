"""A deterministic judge for tests: it answers from a script, and remembers what it was asked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from glassgate.errors import UpstreamError


@dataclass
class ScriptedJudge:
    """Answers each prompt with `answer(prompt)` (or a fixed string), recording every call."""

    answer: str | Callable[[str], str]
    calls: list[tuple[str, str | None]] = field(default_factory=list)

    async def complete(self, prompt: str, *, system: str | None = None) -> str:
        self.calls.append((prompt, system))
        return self.answer if isinstance(self.answer, str) else self.answer(prompt)


@dataclass
class UnreachableJudge:
    """A judge whose upstream cannot be reached."""

    async def complete(self, prompt: str, *, system: str | None = None) -> str:
        raise UpstreamError("judge upstream refused the connection")


@dataclass
class FixedEmbedder:
    """Vectors from a table (texts not in it get `default`)."""

    vectors: dict[str, list[float]]
    default: list[float] = field(default_factory=lambda: [0.0, 0.0, 1.0])
    name: str = "fixed"

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return [self.vectors.get(text, self.default) for text in texts]
