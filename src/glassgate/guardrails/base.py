"""The contract every detector keeps, and the registry built-ins join exactly as plugins would.

A detector is pure: text in, matches out, no IO, no global state it changes. It never returns
the matched text itself (callers slice it from the text they passed when they must), so a
finding can be stored, logged and counted without carrying the secret it found.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Match:
    """One finding in a scanned text."""

    category: str  # upper snake case, used in placeholders: EMAIL, CREDIT_CARD, OPENAI_KEY, PROMPT_INJECTION…
    start: int  # character offsets into the scanned text; [start, end)
    end: int
    score: float = 1.0  # 0–1; pattern detectors with a validated match say 1.0


class Detector(Protocol):
    """Finds one family of problems (its `name`: pii, secrets, toxicity, …) in plain text."""

    name: str

    def scan(self, text: str) -> list[Match]:
        """Every match in `text`, in order of `start`; never raises on any input string."""
        ...


DetectorFactory = Callable[[Mapping[str, Any]], Detector]
_REGISTRY: dict[str, DetectorFactory] = {}


class UnknownDetector(KeyError):
    pass


def register(name: str, factory: DetectorFactory) -> None:
    """Make a detector available to policies under `name` (its factory gets the policy's options)."""
    _REGISTRY[name] = factory


def create(name: str, options: Mapping[str, Any]) -> Detector:
    """A detector for a policy; UnknownDetector names the ones that exist."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UnknownDetector(f"unknown detector {name!r}; known: {', '.join(sorted(_REGISTRY))}") from None
    return factory(options)


def registered() -> list[str]:
    return sorted(_REGISTRY)
