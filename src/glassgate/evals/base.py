"""The contract every evaluator keeps, and the registry built-ins join exactly as plugins would.

An evaluator is pure: one item in, one `EvalResult` out. Code evaluators compute their score
themselves; LLM judges ask a `JudgeClient` (the only IO, owned by whoever passes it in).

Errors, in two kinds:
- a problem with the ITEM or with the JUDGE'S ANSWER (no expected value, a path that matches
  nothing, an answer that names no label) is returned as `EvalResult(error=...)`: the runner
  records it on that item and the run goes on. `evaluate` never raises for these;
- a problem with the TRANSPORT (the judge or an embeddings model could not be reached:
  `glassgate.errors.UpstreamError`) propagates, so the runner can retry the item.

A bad CONFIGURATION (unknown evaluator, unknown or ill-typed param, a template naming an
unknown variable) is a `ValueError` from `create`, raised before any item is scored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal, Protocol


@dataclass(frozen=True, slots=True)
class EvalInput:
    """What an evaluator reads; any field may be None (or empty)."""

    input: Any = None  # a dataset item's input or a span's request: text, JSON, or a conversation
    output: Any = None  # the answer being judged: text, a vendor response body, or {"messages": [...]}
    expected: Any = None  # the reference answer (a dataset item's expected_output)
    context: Any = None  # documents the answer should rest on (retrieval results), text or a list
    metadata: Mapping[str, Any] = field(default_factory=dict)
    latency_ms: float | None = None
    cost_usd: float | None = None
    # Extra values by name, e.g. pre-resolved JSONPath mappings; `variables["span"]` (the span as
    # JSON, for online rules) is what `$.span...` paths read.
    variables: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class EvalResult:
    """One score: `score` and/or `label`, why, or the per-item `error` that kept it from being given."""

    score: float | None
    label: str | None
    explanation: str
    error: str | None = None


# What a pass/fail evaluator declares as its `labels` (label → score). Evaluators may declare
# `labels` or `score_range` ((low, high)), and judges `scale`: the runner's score configs use them.
PASS_FAIL: Mapping[str, float] = MappingProxyType({"pass": 1.0, "fail": 0.0})


def failed(error: str) -> EvalResult:
    """The result for an item that could not be scored (recorded; the run continues)."""
    return EvalResult(score=None, label=None, explanation="", error=error)


def passed(ok: bool, explanation: str) -> EvalResult:
    """A pass/fail result: score 1 or 0, label "pass" or "fail"."""
    return EvalResult(score=1.0 if ok else 0.0, label="pass" if ok else "fail", explanation=explanation)


class JudgeClient(Protocol):
    """A chat model that answers judge prompts (calls go through Glassgate's own proxy)."""

    async def complete(self, prompt: str, *, system: str | None = None) -> str:
        """The text of one chat completion for `prompt`; raises UpstreamError when there is none."""
        ...


class Evaluator(Protocol):
    """Scores one item. `name` is the registered name; `kind` says whether it needs a judge."""

    name: str
    kind: Literal["code", "llm"]

    async def evaluate(self, item: EvalInput, judge: JudgeClient | None) -> EvalResult:
        """The item's result; never raises for the item's content or the judge's answer."""
        ...


EvaluatorFactory = Callable[[Mapping[str, Any]], Evaluator]
_REGISTRY: dict[str, EvaluatorFactory] = {}


class UnknownEvaluator(ValueError):
    """A configuration names an evaluator nobody registered."""


def register(name: str, factory: EvaluatorFactory) -> None:
    """Make an evaluator available under `name`; its factory gets the configured params."""
    _REGISTRY[name] = factory


def create(name: str, params: Mapping[str, Any]) -> Evaluator:
    """A configured evaluator. ValueError (UnknownEvaluator) names the evaluators that exist;
    a factory's ValueError names the evaluator and the offending param."""
    try:
        factory = _REGISTRY[name]
    except KeyError:
        raise UnknownEvaluator(f"unknown evaluator {name!r}; known: {', '.join(registered())}") from None
    if not isinstance(params, Mapping):
        raise ValueError(f"evaluator {name!r}: params must be a mapping, got {type(params).__name__}")
    return factory(params)


def registered() -> list[str]:
    return sorted(_REGISTRY)
