"""`latency_threshold` and `cost_threshold`: the call was fast enough, or cheap enough.

Score 1 (label pass) when the item's value is at most the limit, else 0 (fail); the
explanation gives the value and the limit. An item without the value (a span the price
table does not know, for cost) gets a per-item error, never a pass.

Params: `max_ms` for latency_threshold, `max_usd` for cost_threshold (required, ≥ 0).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from glassgate.evals.base import PASS_FAIL, EvalInput, EvalResult, JudgeClient, failed, passed
from glassgate.evals.params import Params


class LatencyThreshold:
    name = "latency_threshold"
    kind: Literal["code", "llm"] = "code"
    labels = PASS_FAIL

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.max_ms = Params(self.name, params, {"max_ms"}).required_number("max_ms", minimum=0.0)

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        if item.latency_ms is None:
            return failed("the item has no latency")
        ok = item.latency_ms <= self.max_ms
        return passed(ok, f"latency {item.latency_ms:,.1f} ms {'≤' if ok else '>'} {self.max_ms:,g} ms")


class CostThreshold:
    name = "cost_threshold"
    kind: Literal["code", "llm"] = "code"
    labels = PASS_FAIL

    def __init__(self, params: Mapping[str, Any]) -> None:
        self.max_usd = Params(self.name, params, {"max_usd"}).required_number("max_usd", minimum=0.0)

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        if item.cost_usd is None:
            return failed("the item has no cost (its model may be missing from the price table)")
        ok = item.cost_usd <= self.max_usd
        return passed(ok, f"cost ${item.cost_usd:.6f} {'≤' if ok else '>'} ${self.max_usd:.6f}")
