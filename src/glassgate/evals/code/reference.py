"""What code evaluators compare an output against, and how they bound what they read.

The reference is the evaluator's `expected` param when one is configured (a fixed answer, as
online rules need: live traffic has no expected output), else the item's expected output read
by `answer_text` (so `{"messages": [...]}` from a span-made dataset item reads as its answer).
"""

from __future__ import annotations

from glassgate.evals.base import EvalInput
from glassgate.evals.text import answer_text

NO_EXPECTED = "no expected value: the item has none and the evaluator has no 'expected' param"


def expected_text(configured: str | None, item: EvalInput) -> str | None:
    """The text to compare with, or None when there is none (the item then gets NO_EXPECTED)."""
    if configured is not None:
        return configured
    if item.expected is None:
        return None
    return answer_text(item.expected)


def cut(text: str, limit: int) -> tuple[str, str]:
    """`text` cut to `limit` characters, and a note for the explanation when it was."""
    if len(text) <= limit:
        return text, ""
    return text[:limit], f" (compared the first {limit:,} of {len(text):,} characters)"


def common_length(a: str, b: str, *, suffix: bool = False) -> int:
    """The length of the common prefix (or suffix), by bisection over slices compared in C."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        same = a[len(a) - middle :] == b[len(b) - middle :] if suffix else a[:middle] == b[:middle]
        low, high = (middle, high) if same else (low, middle - 1)
    return low


def first_difference(a: str, b: str) -> str:
    """Where two texts first differ, with a few characters of each from there."""
    index = common_length(a, b)
    return f"first difference at character {index}: {a[index : index + 20]!r} vs {b[index : index + 20]!r}"
