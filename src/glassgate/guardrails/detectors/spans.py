"""Span bookkeeping shared by the pattern detectors, so every offset they report is exact.

- `ascii_lower` lowers A–Z only. `str.lower` can lengthen a text ("İ" becomes two characters),
  which would shift every offset after it; our keywords are ASCII, so ASCII lowering is enough.
- `keep_best` drops overlapping candidates: when two patterns claim the same characters, the
  more specific category (earlier in the detector's priority list) wins, then the higher
  score, then the longer span.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence

from glassgate.guardrails.base import Match

_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    """`text` with A–Z lowered and every other character (and so every offset) unchanged."""
    if text.isascii():
        return text.lower()
    return text.translate(_ASCII_LOWER)


def keep_best(candidates: Iterable[Match], priority: Sequence[str]) -> list[Match]:
    """Non-overlapping matches in order of `start`, preferring earlier categories in `priority`."""
    by_start = sorted(candidates, key=lambda m: (m.start, m.end))
    if len(by_start) < 2:
        return by_start  # most texts: nothing found, nothing to order
    if all(a.end <= b.start for a, b in itertools.pairwise(by_start)):
        return by_start  # the usual case: nothing overlaps
    rank = {category: index for index, category in enumerate(priority)}
    ordered = sorted(by_start, key=lambda m: (rank.get(m.category, len(rank)), -m.score, m.start - m.end, m.start))
    kept: list[Match] = []
    for match in ordered:
        if all(match.end <= other.start or other.end <= match.start for other in kept):
            kept.append(match)
    kept.sort(key=lambda m: (m.start, m.end))
    return kept
