"""`levenshtein`: how close the output is to the expected answer, character by character.

Score: normalized similarity, `1 - distance / max(len(output), len(expected))`, from 0
(nothing in common) to 1 (equal); two empty texts are equal. Label pass/fail only when a
`threshold` is set (pass when the score is at least the threshold).

Params: `expected` (compare with this string instead of the item's expected output),
`ignore_case` (false), `threshold` (0–1), `max_chars` (10,000: longer texts are compared by
their start, and the explanation says so).

The distance is the classic O(n·m) dynamic programme, computed a whole column at a time with
Python integers as bit vectors (Myers 1999, in Hyyrö's 2001 formulation for edit distance):
n big-integer steps instead of n·m interpreted cell updates, after the common prefix and
suffix are set aside. Tests check it against the plain table on random strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from glassgate.evals.base import EvalInput, EvalResult, JudgeClient, failed
from glassgate.evals.code.reference import NO_EXPECTED, common_length, cut, expected_text
from glassgate.evals.code.similarity import SimilarityParams
from glassgate.evals.text import answer_text


def distance(a: str, b: str) -> int:
    """The Levenshtein distance: fewest single-character insertions, deletions and substitutions."""
    if a == b:
        return 0
    start = common_length(a, b)
    end = common_length(a[start:], b[start:], suffix=True)
    a, b = a[start : len(a) - end], b[start : len(b) - end]
    if len(a) > len(b):
        a, b = b, a  # one step per character of the shorter, a; the longer, b, is held as bit vectors
    if not a:
        return len(b)
    positions: dict[str, int] = {}
    for index, char in enumerate(b):
        positions[char] = positions.get(char, 0) | (1 << index)
    mask = (1 << len(b)) - 1
    plus, minus = mask, 0  # the column's vertical deltas, +1 and -1, as bits (row i of b: bit i)
    found = positions.get
    for char in a:
        eq = found(char, 0)
        xv = eq | minus
        xh = (((eq & plus) + plus) ^ plus) | eq
        h_plus = (minus | ~(xh | plus)) << 1 | 1  # negative (ones above): `& xv` and `& mask` cut them
        h_minus = (plus & xh) << 1
        plus = (h_minus | ~(xv | h_plus)) & mask
        minus = h_plus & xv
    # The bottom of the last column: the top row's len(a), plus the column's deltas.
    return len(a) + plus.bit_count() - minus.bit_count()


class Levenshtein:
    name = "levenshtein"
    kind: Literal["code", "llm"] = "code"
    score_range = (0.0, 1.0)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.p = SimilarityParams(self.name, params, extra={"ignore_case", "max_chars"})
        self.ignore_case = self.p.params.flag("ignore_case", False)
        self.max_chars = self.p.params.integer("max_chars", 10_000)

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        expected = expected_text(self.p.expected, item)
        if expected is None:
            return failed(NO_EXPECTED)
        output, note = cut(answer_text(item.output), self.max_chars)
        expected, expected_note = cut(expected, self.max_chars)
        if self.ignore_case:
            output, expected = output.casefold(), expected.casefold()
        edits = distance(output, expected)
        longest = max(len(output), len(expected))
        score = 1.0 if longest == 0 else 1.0 - edits / longest
        return self.p.result(score, f"{edits} edit(s) over {longest} character(s){note or expected_note}")
