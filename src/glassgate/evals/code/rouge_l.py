"""`rouge_l`: ROUGE-L, the longest common subsequence of words, as an F-measure.

Both texts are cut into lower-case words (runs of letters and digits, any script). With
`lcs` the length of their longest common subsequence, precision is `lcs / words in the
output`, recall `lcs / words in the expected answer`, and the score is
`(1 + β²)·P·R / (R + β²·P)`: F1 with the default `beta` 1, recall-weighted above 1. Two texts
without words score 1, one without words against one with words 0.

Params: `expected` (compare with this string instead of the item's expected output),
`threshold` (0–1; sets label pass/fail), `beta` (1), `max_tokens` (20,000 per text).

The LCS is computed with Python integers as bit vectors (Allison and Dix 1986, Crochemore et
al. 2001): one big-integer step per word instead of one interpreted cell per pair of words.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from glassgate.evals.base import EvalInput, EvalResult, JudgeClient, failed
from glassgate.evals.code.reference import NO_EXPECTED, expected_text
from glassgate.evals.code.similarity import SimilarityParams
from glassgate.evals.text import answer_text

_WORD = re.compile(r"[^\W_]+")


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def lcs_length(a: Sequence[str], b: Sequence[str]) -> int:
    """The length of the longest common subsequence of two token sequences."""
    if len(a) < len(b):
        a, b = b, a  # b, the shorter, is the one held as bit vectors
    if not b:
        return 0
    positions: dict[str, int] = {}
    for index, token in enumerate(b):
        positions[token] = positions.get(token, 0) | (1 << index)
    mask = (1 << len(b)) - 1
    row = mask  # a 0 bit marks a position where the LCS so far grew
    for token in a:
        matched = row & positions.get(token, 0)
        row = ((row + matched) | (row - matched)) & mask
    return len(b) - row.bit_count()


def f_measure(lcs: int, output_len: int, expected_len: int, beta: float) -> tuple[float, float, float]:
    """(F, precision, recall) of an LCS length."""
    if output_len == 0 and expected_len == 0:
        return 1.0, 1.0, 1.0
    if lcs == 0:
        return 0.0, 0.0, 0.0
    precision, recall = lcs / output_len, lcs / expected_len
    weight = beta * beta
    return (1 + weight) * precision * recall / (recall + weight * precision), precision, recall


class RougeL:
    name = "rouge_l"
    kind: Literal["code", "llm"] = "code"
    score_range = (0.0, 1.0)

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.p = SimilarityParams(self.name, params, extra={"beta", "max_tokens"})
        self.beta = self.p.params.number("beta", 1.0, minimum=0.0) or 0.0
        self.max_tokens = self.p.params.integer("max_tokens", 20_000)

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        expected = expected_text(self.p.expected, item)
        if expected is None:
            return failed(NO_EXPECTED)
        output_tokens, expected_tokens = tokens(answer_text(item.output)), tokens(expected)
        note = ""
        if len(output_tokens) > self.max_tokens or len(expected_tokens) > self.max_tokens:
            note = f" (compared the first {self.max_tokens:,} words of each)"
            output_tokens, expected_tokens = output_tokens[: self.max_tokens], expected_tokens[: self.max_tokens]
        lcs = lcs_length(output_tokens, expected_tokens)
        score, precision, recall = f_measure(lcs, len(output_tokens), len(expected_tokens), self.beta)
        detail = (
            f"longest common subsequence {lcs} word(s); precision {precision:.3f} ({lcs}/{len(output_tokens)}), "
            f"recall {recall:.3f} ({lcs}/{len(expected_tokens)}){note}"
        )
        return self.p.result(score, detail)
