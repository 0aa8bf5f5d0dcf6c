"""Scoring one item with several evaluators, and turning each result into a stored score.

Pure apart from the evaluators themselves (a judge's calls): no database here. The jobs in
experiments.py and online.py build the `EvalInput`, call `score_all`, and store what comes
back with `encode`.

A result becomes a score of the evaluator's score config (see `score_shape`):
- `categorical`: the result's label, which must be one of the config's (or, with no label,
  a score that is one of their values);
- `numeric`: the result's score, within the config's range;
- an evaluator with nothing to say (`EvalResult.error`) gives no score: the error is kept
  on the item instead, and the run goes on.
A transport failure (the judge could not be reached: `UpstreamError`) is not an item's
fault: `score_all` returns it apart, so the job can be tried again later.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import orjson

from glassgate.errors import UpstreamError
from glassgate.evals.base import EvalInput, EvalResult, Evaluator, JudgeClient, create
from glassgate.evals.chat_wire import Endpoint, check_vendor
from glassgate.evals.judge_client import ProxyClient, ProxyJudge
from glassgate.storage.evals import ScoreShape
from glassgate.storage.score_configs import Category
from glassgate.tracing.conversation import conversation_of

if TYPE_CHECKING:
    from glassgate.config import Settings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scorer:
    """One configured evaluator as a run or rule uses it."""

    evaluator_id: str
    name: str  # the stored evaluator's name: the annotations' author
    evaluator: Evaluator
    judge: JudgeClient | None


@dataclass(frozen=True)
class Scored:
    """What `score_all` found: results by evaluator id, and transport failures apart."""

    results: Mapping[str, EvalResult]
    unreachable: Mapping[str, UpstreamError]


class Scorers:
    """Configured evaluators and their judges, built once per definition and reused by every job."""

    def __init__(self, client: ProxyClient, settings: Settings) -> None:
        self._client = client
        self._judge = settings.evals.judge
        self._upstreams = settings.upstreams
        self._built: dict[tuple[str, bytes, str | None, str | None], Scorer] = {}

    def scorer(self, row: Mapping[str, Any]) -> Scorer:
        """The evaluator a stored row describes; ValueError says why it cannot be built."""
        key = (
            row["evaluator_id"],
            orjson.dumps(row["params"], option=orjson.OPT_SORT_KEYS),
            row["judge_upstream"],
            row["judge_model"],
        )
        found = self._built.get(key)
        if found is None:
            evaluator = create(row["evaluator_type"], row["params"])
            judge = self._judge_for(row) if evaluator.kind == "llm" else None
            found = self._built[key] = Scorer(row["evaluator_id"], row["name"], evaluator, judge)
        return found

    def _judge_for(self, row: Mapping[str, Any]) -> ProxyJudge:
        upstream = row["judge_upstream"] or (self._judge.upstream if self._judge else None)
        model = row["judge_model"] or (self._judge.model if self._judge else None)
        if upstream is None or model is None:
            raise ValueError(
                f"evaluator {row['name']!r} is an LLM judge and has no judge model: configure evals.judge "
                "or give the evaluator judge_upstream and judge_model"
            )
        config = self._upstreams.get(upstream)
        if config is None:
            raise ValueError(f"evaluator {row['name']!r}: judge upstream {upstream!r} is not configured")
        check_vendor(config.vendor, "judge")
        api_version = self._judge.api_version if self._judge else "2024-10-21"
        endpoint = Endpoint(upstream, config.vendor, model, api_version, config.region or "")
        max_tokens = self._judge.max_tokens if self._judge else 1024
        return ProxyJudge(self._client, endpoint, row["name"], max_tokens=max_tokens)


def bound(scorer: Scorer, metadata: Mapping[str, str], traceparent: str | None = None) -> Scorer:
    """The scorer with its judge's calls naming `metadata` and joining a trace."""
    if not isinstance(scorer.judge, ProxyJudge):
        return scorer
    return Scorer(scorer.evaluator_id, scorer.name, scorer.evaluator, scorer.judge.bound(metadata, traceparent))


def score_shape(evaluator: Evaluator) -> ScoreShape:
    """The score config an evaluator's scores go in, from the scale it declares.

    A judge declares `scale` (labels with scores, or a range); other evaluators may declare
    `labels` (label → score, e.g. pass 1 / fail 0) or `score_range` ((low, high)). One that
    declares nothing scores a plain number.
    """
    scale = getattr(evaluator, "scale", None)
    labels = getattr(scale, "scores", None) if scale is not None else getattr(evaluator, "labels", None)
    if isinstance(labels, Mapping) and labels:
        values = [float(value) for value in labels.values()]
        if len(set(values)) == len(values):
            categories = tuple(Category(str(label), float(value)) for label, value in labels.items())
            return ScoreShape("categorical", categories)
        return ScoreShape("numeric", min_value=min(values), max_value=max(values))  # two labels share a score
    bounds = (scale.low, scale.high) if scale is not None and hasattr(scale, "low") else None
    bounds = bounds or getattr(evaluator, "score_range", None)
    if isinstance(bounds, tuple) and len(bounds) == 2:
        return ScoreShape("numeric", min_value=float(bounds[0]), max_value=float(bounds[1]))
    return ScoreShape("numeric")


def encode(
    result: EvalResult,
    score_kind: str,
    categories: Sequence[Mapping[str, Any]],
    min_value: float | None = None,
    max_value: float | None = None,
) -> tuple[float | None, str | None] | str:
    """(value_number, value_text) of a result under its config, or the error that keeps it out."""
    if result.error is not None:
        return result.error
    score = result.score
    if score is not None and not math.isfinite(score):
        return f"the evaluator gave a score that is not a finite number ({score})"
    if score_kind == "categorical":
        for category in categories:
            if (result.label is not None and result.label == category["label"]) or (
                result.label is None and score is not None and score == category["value"]
            ):
                return float(category["value"]), str(category["label"])
        labels = ", ".join(repr(category["label"]) for category in categories)
        said = f"label {result.label!r}" if result.label is not None else f"score {score!r}"
        return f"the evaluator's {said} is not one of its score config's labels ({labels})"
    if score_kind == "boolean":
        if result.label in ("true", "pass") or (result.label is None and score == 1):
            return 1.0, "true"
        if result.label in ("false", "fail") or (result.label is None and score == 0):
            return 0.0, "false"
        return f"the evaluator gave neither true nor false (label {result.label!r}, score {score!r})"
    if score is None:
        return "the evaluator gave no score"
    if min_value is not None and score < min_value:
        return f"score {score:g} is below the score config's minimum {min_value:g}"
    if max_value is not None and score > max_value:
        return f"score {score:g} is above the score config's maximum {max_value:g}"
    return float(score), None


async def score_all(scorers: Sequence[Scorer], item: EvalInput) -> Scored:
    """Every evaluator's result for `item`, run concurrently."""
    outcomes = await asyncio.gather(*(_score_one(scorer, item) for scorer in scorers))
    results: dict[str, EvalResult] = {}
    unreachable: dict[str, UpstreamError] = {}
    for scorer, outcome in zip(scorers, outcomes, strict=True):
        if isinstance(outcome, UpstreamError):
            unreachable[scorer.evaluator_id] = outcome
        else:
            results[scorer.evaluator_id] = outcome
    return Scored(results, unreachable)


async def _score_one(scorer: Scorer, item: EvalInput) -> EvalResult | UpstreamError:
    try:
        return await scorer.evaluator.evaluate(item, scorer.judge)
    except UpstreamError as exc:
        return exc
    except Exception as exc:  # a faulty evaluator (a plugin's bug) is that item's error, logged
        log.exception("evaluator %s failed on an item", scorer.name)
        return EvalResult(
            score=None, label=None, explanation="", error=f"evaluator failed: {type(exc).__name__}: {exc}"
        )


def input_from_item(
    item: Mapping[str, Any], output: Any, latency_ms: float | None, cost_usd: float | None
) -> EvalInput:
    """A dataset item and the target's output. `context` is the input's (or metadata's) `context`."""
    item_input, metadata = item.get("input"), item.get("metadata") or {}
    context = item_input.get("context") if isinstance(item_input, Mapping) else None
    if context is None and isinstance(metadata, Mapping):
        context = metadata.get("context")
    return EvalInput(
        input=item_input,
        output=output,
        expected=item.get("expected_output"),
        context=context,
        metadata=metadata if isinstance(metadata, Mapping) else {},
        latency_ms=latency_ms,
        cost_usd=cost_usd,
        variables={"item": {key: item.get(key) for key in ("item_id", "input", "expected_output", "metadata")}},
    )


def input_from_span(span: Mapping[str, Any]) -> EvalInput:
    """A stored span (with its bodies): its messages as input, its answer as output.

    `context` and `expected` come from the call's `x-glassgate-metadata-context` and
    `-expected` headers when the app sent them; `variables["span"]` is the span as JSON.
    """
    view = conversation_of(
        span.get("vendor"),
        span.get("operation"),
        span.get("request_body"),
        span.get("response_body"),
        model=span.get("model"),
    )
    attributes = span.get("attributes") or {}
    metadata = attributes.get("metadata") if isinstance(attributes, Mapping) else None
    metadata = metadata if isinstance(metadata, Mapping) else {}
    return EvalInput(
        input={"messages": view["messages"]},
        output={"messages": view["output"]} if view["output"] else span.get("output_preview"),
        expected=metadata.get("expected"),
        context=metadata.get("context"),
        metadata=metadata,
        latency_ms=span.get("latency_ms"),
        cost_usd=span.get("cost_usd"),
        variables={"span": _json_safe(span)},
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value
