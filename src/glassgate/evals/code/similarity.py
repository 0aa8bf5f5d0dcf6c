"""What the similarity evaluators share: the `expected` and `threshold` params and the result.

The score is the similarity itself; the label is "pass" or "fail" only when a threshold is
configured (pass when the score is at least the threshold), else None.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from glassgate.evals.base import EvalResult
from glassgate.evals.params import Params


class SimilarityParams:
    def __init__(self, evaluator: str, params: Mapping[str, Any], *, extra: Collection[str], low: float = 0.0) -> None:
        self.params = Params(evaluator, params, {"expected", "threshold", *extra})
        self.expected = self.params.text("expected")
        self.threshold = self.params.number("threshold", minimum=low, maximum=1.0)

    def result(self, score: float, detail: str) -> EvalResult:
        explanation = f"similarity {score:.3f}: {detail}"
        if self.threshold is None:
            return EvalResult(score=score, label=None, explanation=explanation)
        ok = score >= self.threshold
        comparison = "≥" if ok else "<"
        return EvalResult(
            score=score,
            label="pass" if ok else "fail",
            explanation=f"{explanation}; {comparison} threshold {self.threshold:g}",
        )
