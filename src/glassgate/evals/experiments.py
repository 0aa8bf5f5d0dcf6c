"""Experiment items as jobs, and how judges agree with people.

One job per item of a run (storage.eval_runs enqueues them when the run starts). A job:

1. stops if the run has ended (cancelled, or its cost ceiling reached);
2. unless the item already has a result (the job ran before and died after storing it):
   checks the cost ceiling, then asks the target through the proxy (retries on 429/5xx) and
   stores the outcome, an output or the item's error (a template it cannot fill, a refusal,
   an upstream that kept failing);
3. scores the output with each evaluator that has not yet scored it, each score an
   annotation on the output's span; an evaluator with nothing to say records why on the
   result; a judge that cannot be reached sends the job back to the queue (only the missing
   scores are asked again).
The last job of a run to end marks the run completed (a periodic sweep catches runs whose
last worker died first).

`agreement` compares an evaluator's scores with people's on the same spans: for labels,
the exact-agreement rate and Cohen's kappa; for numbers, Pearson's r and the mean absolute
error.
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import asyncpg

from glassgate.config import UpstreamConfig
from glassgate.errors import UpstreamError
from glassgate.evals import runner, target
from glassgate.evals.chat_wire import Endpoint, check_vendor
from glassgate.evals.jobs import JobCancelled
from glassgate.evals.judge_client import CallRefused, ProxyClient, ProxyUnreachable
from glassgate.storage import eval_jobs, eval_runs
from glassgate.storage.eval_jobs import Job
from glassgate.storage.eval_runs import RunContext, Score, TargetOutcome

log = logging.getLogger(__name__)
ITEM_JOB = eval_runs.ITEM_JOB
_CONTEXTS = 64  # runs whose definitions a worker keeps


def traceparent(trace_id: str) -> str:
    return f"00-{trace_id}-{os.urandom(8).hex()}-01"


class ItemJobs:
    """Runs `experiment_item` jobs: one dataset item through the target and the evaluators."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: ProxyClient,
        scorers: runner.Scorers,
        upstreams: Mapping[str, UpstreamConfig],
    ) -> None:
        self._pool, self._client, self._scorers, self._upstreams = pool, client, scorers, upstreams
        self._contexts: dict[str, RunContext] = {}

    async def _context(self, run_id: str) -> RunContext:
        context = self._contexts.get(run_id)
        if context is None:
            context = await eval_runs.run_context(self._pool, run_id)
            if len(self._contexts) >= _CONTEXTS:
                self._contexts.pop(next(iter(self._contexts)))
            self._contexts[run_id] = context
        return context

    async def run(self, job: Job) -> None:
        run_id, item_id = eval_jobs.payload_text(job.payload, "run_id"), eval_jobs.payload_text(job.payload, "item_id")
        context = await self._context(run_id)
        ceiling = context.cost_ceiling_usd
        state = await eval_runs.item_state(
            self._pool, run_id, item_id, context.dataset_id, context.dataset_version, with_cost=ceiling is not None
        )
        if state.run_status != "running":
            raise JobCancelled(f"the run is {state.run_status or 'deleted'}")
        result, item, fresh = state.result, state.item, False
        if result is None:
            if ceiling is not None and state.spent_usd >= ceiling:
                await eval_runs.stop_run(self._pool, run_id, "stopped_cost_ceiling")
                raise JobCancelled(f"the run reached its cost ceiling (${state.spent_usd:.6f} of ${ceiling:g})")
            outcome = await self._ask(context, item_id, item)
            version = item["valid_from"] if item is not None else 0
            result, fresh = await eval_runs.store_outcome(self._pool, run_id, item_id, version, outcome)
            if ceiling is not None and outcome.cost_usd and state.spent_usd + outcome.cost_usd >= ceiling:
                await eval_runs.stop_run(self._pool, run_id, "stopped_cost_ceiling")
        if result["scored_at"] is None and item is not None:
            await self._score(context, result, item, fresh)

    async def _ask(self, context: RunContext, item_id: str, item: Mapping[str, Any] | None) -> TargetOutcome:
        if item is None:
            return TargetOutcome(error=f"item {item_id} is not in version {context.dataset_version} of the dataset")
        spec = target.Target.from_json(context.target)
        upstream = self._upstreams.get(spec.upstream)
        if upstream is None:
            return TargetOutcome(error=f"the target's upstream {spec.upstream!r} is not configured on this worker")
        endpoint = Endpoint(
            spec.upstream, upstream.vendor, spec.model, spec.api_version, upstream.region or "", stream=spec.stream
        )
        trace_id = os.urandom(16).hex()
        headers = {
            "x-glassgate-metadata-experiment": context.experiment_name,
            "x-glassgate-metadata-run": context.run_id,
            "x-glassgate-metadata-item": item_id,
            "traceparent": traceparent(trace_id),
        }
        try:
            check_vendor(endpoint.vendor, "target")
            outcome = await target.ask(
                self._client, endpoint, spec, item, headers=headers, max_retries=context.max_retries
            )
        except ProxyUnreachable:
            raise  # the job is tried again once the proxy answers
        except (target.TemplateError, ValueError, UpstreamError) as exc:
            # CallRefused, or retries spent on 429/5xx: this item's error; the run goes on.
            return TargetOutcome(output_trace_id=trace_id, error=str(exc))
        return replace(outcome, output_trace_id=trace_id)

    async def _score(
        self, context: RunContext, result: Mapping[str, Any], item: Mapping[str, Any], fresh: bool
    ) -> None:
        """Score the output with the evaluators that have not yet (all of them, for a result just stored)."""
        run_id, item_id, span_id = context.run_id, result["item_id"], result["output_span_id"]
        rows = {row["evaluator_id"]: row for row in context.evaluators}
        if not fresh:
            for evaluator_id in await eval_runs.scored_evaluators(self._pool, run_id, item_id, list(rows)):
                rows.pop(evaluator_id)
        metadata = {"experiment": context.experiment_name, "run": run_id, "item": item_id}
        trace = traceparent(result["output_trace_id"]) if result["output_trace_id"] else None
        errors: dict[str, str] = {}
        scorers = []
        for evaluator_id, row in rows.items():
            try:
                scorers.append(runner.bound(self._scorers.scorer(row), metadata, trace))
            except ValueError as exc:
                errors[evaluator_id] = str(exc)
        item_input = runner.input_from_item(item, result["output"], result["latency_ms"], result["cost_usd"])
        scored = await runner.score_all(scorers, item_input)
        scores = []
        for evaluator_id, evaluation in scored.results.items():
            row = rows[evaluator_id]
            encoded = runner.encode(
                evaluation, row["score_kind"], row["categories"], row["min_value"], row["max_value"]
            )
            if span_id is None and not isinstance(encoded, str):
                encoded = "the target's answer came without a span id (x-glassgate-span-id), so it cannot be scored"
            if isinstance(encoded, str):
                errors[evaluator_id] = encoded
                continue
            scores.append(
                Score(
                    eval_key=eval_runs.eval_key(run_id, item_id, evaluator_id),
                    span_id=span_id,
                    trace_id=result["output_trace_id"],
                    span_started_at=None,
                    config_id=row["config_id"],
                    value_number=encoded[0],
                    value_text=encoded[1],
                    comment=evaluation.explanation,
                    author=row["name"],
                    source="llm" if row["kind"] == "llm" else "code",
                )
            )
        unreachable = {key: error for key, error in scored.unreachable.items() if not isinstance(error, CallRefused)}
        errors.update({key: str(error) for key, error in scored.unreachable.items() if key not in unreachable})
        await eval_runs.write_scores(self._pool, run_id, item_id, scores, errors, complete=not unreachable)
        if unreachable:
            raise next(iter(unreachable.values()))  # tried again later: only the missing scores are asked

    async def give_up(self, job: Job, message: str) -> None:
        """A job tried too often: its item's result says why, so the run can end."""
        run_id, item_id = eval_jobs.payload_text(job.payload, "run_id"), eval_jobs.payload_text(job.payload, "item_id")
        result = await eval_runs.get_result(self._pool, run_id, item_id)
        if result is None:
            await eval_runs.record_item_failure(self._pool, run_id, item_id, message)
            return
        context = await self._context(run_id)
        ids = [row["evaluator_id"] for row in context.evaluators]
        missing = set(ids) - await eval_runs.scored_evaluators(self._pool, run_id, item_id, ids)
        await eval_runs.write_scores(self._pool, run_id, item_id, [], dict.fromkeys(missing, message), complete=True)

    async def after(self, job: Job) -> None:
        if await eval_runs.finish_if_done(self._pool, eval_jobs.payload_text(job.payload, "run_id")):
            log.info("experiment run %s completed", job.payload["run_id"])

    async def sweep(self) -> None:
        """End runs whose last worker died before ending them."""
        for run_id in await eval_runs.unfinished_runs(self._pool):
            await eval_runs.finish_if_done(self._pool, run_id)


# --- agreement between machine and human scores ---------------------------------------------------


def agreement(pairs: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Statistics of (machine, human) score pairs, each with `machine_number`, `machine_label`,
    `human_number` and `human_label` (a label is None for numeric scores)."""
    labelled = [(p["machine_label"], p["human_label"]) for p in pairs if p["machine_label"] and p["human_label"]]
    numbers = [
        (float(p["machine_number"]), float(p["human_number"]))
        for p in pairs
        if p["machine_number"] is not None and p["human_number"] is not None
    ]
    result: dict[str, Any] = {"pairs": len(pairs), "spans": len({p["span_id"] for p in pairs})}
    result.update(label_agreement(labelled))
    result.update(number_agreement(numbers))
    return result


def label_agreement(pairs: Sequence[tuple[str, str]]) -> dict[str, Any]:
    """Exact agreement, Cohen's kappa (None when chance agreement is certain) and the confusion counts."""
    if not pairs:
        return {"exact_agreement": None, "cohen_kappa": None, "confusion": []}
    n = len(pairs)
    observed = sum(machine == human for machine, human in pairs) / n
    machine_counts = Counter(machine for machine, _ in pairs)
    human_counts = Counter(human for _, human in pairs)
    expected = sum(machine_counts[label] * human_counts[label] for label in machine_counts) / (n * n)
    kappa = None if expected >= 1.0 else (observed - expected) / (1.0 - expected)
    confusion = Counter(pairs)
    return {
        "exact_agreement": observed,
        "cohen_kappa": kappa,
        "confusion": [
            {"machine": machine, "human": human, "count": count}
            for (machine, human), count in sorted(confusion.items(), key=lambda entry: (-entry[1], entry[0]))
        ],
    }


def number_agreement(pairs: Sequence[tuple[float, float]]) -> dict[str, Any]:
    """Pearson's r (None for fewer than two pairs or a constant side) and the mean absolute error."""
    if not pairs:
        return {"pearson": None, "mae": None}
    n = len(pairs)
    mae = sum(abs(machine - human) for machine, human in pairs) / n
    if n < 2:
        return {"pearson": None, "mae": mae}
    mean_m = sum(machine for machine, _ in pairs) / n
    mean_h = sum(human for _, human in pairs) / n
    covariance = sum((machine - mean_m) * (human - mean_h) for machine, human in pairs)
    spread_m = math.sqrt(sum((machine - mean_m) ** 2 for machine, _ in pairs))
    spread_h = math.sqrt(sum((human - mean_h) ** 2 for _, human in pairs))
    pearson = covariance / (spread_m * spread_h) if spread_m > 0 and spread_h > 0 else None
    return {"pearson": pearson, "mae": mae}
