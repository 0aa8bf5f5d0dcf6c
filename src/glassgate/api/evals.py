"""/api/v1/evaluators, /api/v1/eval-rules and /api/v1/experiments: evaluation, defined and read back.

    evaluators      CRUD; /types lists what can be created; /{id}/agreement compares its
                    scores with people's annotations on the same spans
    eval-rules      CRUD for online rules (filter, sampling rate, delay, evaluator)
    experiments     create, list, get, delete; runs: start, list, get (with progress and
                    per-evaluator totals), cancel, results (paged); compare?run=a&run=b

Workers do the work (glassgate.evals.jobs); these routes only define it and read it back.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response

from glassgate.api.annotation_problems import invalid, storage_refusals
from glassgate.api.auth import Principal, current_principal
from glassgate.api.eval_models import (
    Agreement,
    Comparison,
    Evaluator,
    EvaluatorIn,
    EvaluatorList,
    EvaluatorPatch,
    EvaluatorTypes,
    Experiment,
    ExperimentIn,
    ExperimentList,
    ResultPage,
    Rule,
    RuleDetail,
    RuleIn,
    RuleList,
    RulePatch,
    Run,
    RunList,
    RunSummary,
    TargetIn,
)
from glassgate.api.large_json import large_json
from glassgate.api.problem_docs import problems
from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.config import UpstreamConfig
from glassgate.evals import base, chat_wire, runner, target
from glassgate.evals.experiments import agreement
from glassgate.storage import eval_compare, eval_rules, eval_runs
from glassgate.storage import evals as store

router = APIRouter(prefix="/api/v1", tags=["evaluation"])
Caller = Annotated[Principal, Depends(current_principal)]
RUN_MAX_ATTEMPTS = 5
MAX_COMPARED_RUNS = 5


def _upstreams(request: Request) -> dict[str, UpstreamConfig]:
    upstreams: dict[str, UpstreamConfig] = request.app.state.upstreams
    return upstreams


def _check_upstream(request: Request, field: str, name: str | None) -> None:
    if name is None:
        return
    upstream = _upstreams(request).get(name)
    if upstream is None:
        known = ", ".join(sorted(_upstreams(request))) or "none"
        raise invalid("body", field, f"{name!r} is not a configured upstream ({known})")
    if upstream.vendor not in chat_wire.VENDORS:
        speaks = ", ".join(chat_wire.VENDORS)
        raise invalid("body", field, f"{name!r} is {upstream.vendor}: evaluation speaks {speaks}")


def _built(evaluator_type: str, params: dict[str, Any]) -> base.Evaluator:
    try:
        return base.create(evaluator_type, params)
    except base.UnknownEvaluator as exc:
        raise invalid("body", "type", str(exc)) from None
    except ValueError as exc:
        raise invalid("body", "params", str(exc)) from None


# --- evaluators ----------------------------------------------------------------------------------


@router.get("/evaluators", response_model=EvaluatorList, tags=["evaluators"], summary="List evaluators by name")
async def list_evaluators(request: Request) -> dict[str, Any]:
    return {"data": await store.list_evaluators(pool_of(request))}


@router.get("/evaluators/types", response_model=EvaluatorTypes, tags=["evaluators"], summary="Evaluators to create")
async def evaluator_types() -> dict[str, Any]:
    return {"data": base.registered()}


@router.post("/evaluators", response_model=Evaluator, status_code=201, tags=["evaluators"], summary="Create one")
async def create_evaluator(request: Request, body: EvaluatorIn) -> dict[str, Any]:
    evaluator = _built(body.type, body.params)
    _check_upstream(request, "judge_upstream", body.judge_upstream)
    with storage_refusals():
        return await store.create_evaluator(
            pool_of(request),
            name=body.name,
            evaluator_type=body.type,
            kind=evaluator.kind,
            params=body.params,
            shape=runner.score_shape(evaluator),
            judge_upstream=body.judge_upstream,
            judge_model=body.judge_model,
            description=body.description,
        )


@router.get("/evaluators/{evaluator_id}", response_model=Evaluator, tags=["evaluators"], summary="One evaluator")
async def get_evaluator(request: Request, evaluator_id: str) -> dict[str, Any]:
    with storage_refusals():
        return await store.get_evaluator(pool_of(request), evaluator_id)


@router.patch("/evaluators/{evaluator_id}", response_model=Evaluator, tags=["evaluators"], summary="Change one")
async def update_evaluator(request: Request, evaluator_id: str, body: EvaluatorPatch) -> dict[str, Any]:
    pool = pool_of(request)
    # null clears the judge; for params and description (never null) it means "unchanged", as
    # leaving them out does (a null description reached a NOT NULL column: a 500, found by fuzzing).
    changes = {
        name: value
        for name, value in body.model_dump(exclude_unset=True).items()
        if value is not None or name in ("judge_upstream", "judge_model")
    }
    with storage_refusals():
        current = await store.get_evaluator(pool, evaluator_id)
        if body.params is not None:
            shape = runner.score_shape(_built(current["evaluator_type"], body.params))
            before = runner.score_shape(_built(current["evaluator_type"], current["params"]))
            if shape != before:
                raise invalid("body", "params", "these params change the evaluator's scale; create another evaluator")
        _check_upstream(request, "judge_upstream", body.judge_upstream)
        return await store.update_evaluator(pool, evaluator_id, changes)


@router.delete("/evaluators/{evaluator_id}", status_code=204, tags=["evaluators"], summary="Delete an unused one")
async def delete_evaluator(request: Request, evaluator_id: str) -> Response:
    with storage_refusals():
        await store.delete_evaluator(pool_of(request), evaluator_id)
    return Response(status_code=204)


@router.get(
    "/evaluators/{evaluator_id}/agreement",
    response_model=Agreement,
    tags=["evaluators"],
    summary="How the evaluator's scores agree with people's annotations on the same spans",
)
async def evaluator_agreement(
    request: Request,
    evaluator_id: str,
    run: Annotated[str | None, Query(description="Only the spans of this run's outputs.")] = None,
    human_config: Annotated[
        str | None, Query(description="The score config of the human annotations (default: the evaluator's).")
    ] = None,
) -> dict[str, Any]:
    with storage_refusals():
        info, pairs = await eval_compare.score_pairs(pool_of(request), evaluator_id, human_config, run)
    return {
        "evaluator_id": info["evaluator_id"],
        "evaluator": info["name"],
        "config_id": info["config_id"],
        "human_config_id": info["human_config_id"],
        "run_id": run,
        **agreement([dict(pair) for pair in pairs]),
    }


# --- online rules --------------------------------------------------------------------------------


@router.get("/eval-rules", response_model=RuleList, tags=["eval rules"], summary="List online rules by name")
async def list_rules(request: Request) -> dict[str, Any]:
    return {"data": await eval_rules.list_rules(pool_of(request))}


@router.post("/eval-rules", response_model=Rule, status_code=201, tags=["eval rules"], summary="Create a rule")
async def create_rule(request: Request, body: RuleIn) -> dict[str, Any]:
    with storage_refusals():
        return await eval_rules.create_rule(
            pool_of(request),
            name=body.name,
            evaluator_id=body.evaluator_id,
            span_filter=body.filter.model_dump(exclude_defaults=True),
            sampling_rate=body.sampling_rate,
            delay_s=body.delay_s,
            enabled=body.enabled,
        )


@router.get("/eval-rules/{rule_id}", response_model=RuleDetail, tags=["eval rules"], summary="A rule and its jobs")
async def get_rule(request: Request, rule_id: str) -> dict[str, Any]:
    with storage_refusals():
        rule = await eval_rules.get_rule(pool_of(request), rule_id)
    return {**rule, "jobs": await eval_rules.rule_jobs(pool_of(request), rule_id)}


@router.patch("/eval-rules/{rule_id}", response_model=Rule, tags=["eval rules"], summary="Change a rule")
async def update_rule(request: Request, rule_id: str, body: RulePatch) -> dict[str, Any]:
    changes = {name: value for name, value in body.model_dump(exclude_unset=True).items() if value is not None}
    if body.filter is not None:
        changes["filter"] = body.filter.model_dump(exclude_defaults=True)
    with storage_refusals():
        return await eval_rules.update_rule(pool_of(request), rule_id, changes)


@router.delete("/eval-rules/{rule_id}", status_code=204, tags=["eval rules"], summary="Delete a rule")
async def delete_rule(request: Request, rule_id: str) -> Response:
    with storage_refusals():
        await eval_rules.delete_rule(pool_of(request), rule_id)
    return Response(status_code=204)


# --- experiments ---------------------------------------------------------------------------------


def _check_target(request: Request, spec: TargetIn) -> None:
    _check_upstream(request, "target.upstream", spec.upstream)
    if spec.prompt_template is not None:
        template = spec.prompt_template
        try:
            target.check_template(
                template if isinstance(template, str) else [message.model_dump() for message in template]
            )
        except target.TemplateError as exc:
            raise invalid("body", "target.prompt_template", str(exc)) from None
    try:
        target.check_parameters(spec.parameters)
    except ValueError as exc:
        raise invalid("body", "target.parameters", str(exc)) from None


@router.get("/experiments", response_model=ExperimentList, tags=["experiments"], summary="List, newest first")
async def list_experiments(request: Request, dataset_id: str | None = None) -> dict[str, Any]:
    return {"data": await store.list_experiments(pool_of(request), dataset_id)}


@router.post("/experiments", response_model=Experiment, status_code=201, tags=["experiments"], summary="Create one")
async def create_experiment(request: Request, body: ExperimentIn, caller: Caller) -> dict[str, Any]:
    _check_target(request, body.target)
    pool = pool_of(request)
    with storage_refusals():
        experiment = await store.create_experiment(
            pool,
            name=body.name,
            description=body.description,
            dataset_id=body.dataset_id,
            dataset_version=body.dataset_version,
            target=body.target.model_dump(),
            evaluator_ids=body.evaluator_ids,
            concurrency=body.concurrency,
            max_retries=body.max_retries,
            cost_ceiling_usd=body.cost_ceiling_usd,
            created_by=caller.author,
        )
        if body.start:
            await eval_runs.start_run(pool, experiment["experiment_id"], caller.author, RUN_MAX_ATTEMPTS)
            experiment = await store.get_experiment(pool, experiment["experiment_id"])
    return experiment


@router.get(
    "/experiments/compare",
    response_model=Comparison,
    tags=["experiments"],
    summary="Two or more runs side by side: totals per run, then each item's results in every run",
    responses=problems(404),
)
async def compare_runs(
    request: Request,
    run: Annotated[list[str], Query(description="A run id; repeat for each run (2 to 5), in the order shown.")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
    cursor: Annotated[str | None, Query(description="The next_cursor of the previous page.")] = None,
) -> Response:
    if not 2 <= len(run) <= MAX_COMPARED_RUNS or len(set(run)) != len(run):
        raise invalid("query", "run", f"give 2 to {MAX_COMPARED_RUNS} different runs")
    with storage_refusals():
        return large_json(await eval_compare.compare(pool_of(request), run, limit, cursor))


@router.get("/experiments/{experiment_id}", response_model=Experiment, tags=["experiments"], summary="One experiment")
async def get_experiment(request: Request, experiment_id: str) -> dict[str, Any]:
    with storage_refusals():
        return await store.get_experiment(pool_of(request), experiment_id)


@router.delete("/experiments/{experiment_id}", status_code=204, tags=["experiments"], summary="Delete it with its runs")
async def delete_experiment(request: Request, experiment_id: str) -> Response:
    with storage_refusals():
        await store.delete_experiment(pool_of(request), experiment_id)
    return Response(status_code=204)


@router.post(
    "/experiments/{experiment_id}/runs",
    response_model=Run,
    status_code=201,
    tags=["experiments"],
    summary="Start a run: one job per item of the pinned dataset version",
)
async def start_run(request: Request, experiment_id: str, caller: Caller) -> dict[str, Any]:
    with storage_refusals():
        return await eval_runs.start_run(pool_of(request), experiment_id, caller.author, RUN_MAX_ATTEMPTS)


@router.get("/experiments/{experiment_id}/runs", response_model=RunList, tags=["experiments"], summary="Its runs")
async def list_runs(request: Request, experiment_id: str) -> dict[str, Any]:
    with storage_refusals():
        return {"data": await eval_runs.list_runs(pool_of(request), experiment_id)}


async def _run_of(request: Request, experiment_id: str, run_id: str) -> dict[str, Any]:
    with storage_refusals():
        summary = await eval_compare.run_summary(pool_of(request), run_id)
    if summary["experiment_id"] != experiment_id:
        raise Problem(404, "Run not found", f"experiment {experiment_id!r} has no run {run_id!r}")
    return summary


@router.get(
    "/experiments/{experiment_id}/runs/{run_id}",
    response_model=RunSummary,
    tags=["experiments"],
    summary="A run's progress and per-evaluator totals",
)
async def get_run(request: Request, experiment_id: str, run_id: str) -> dict[str, Any]:
    return await _run_of(request, experiment_id, run_id)


@router.post(
    "/experiments/{experiment_id}/runs/{run_id}/cancel",
    response_model=RunSummary,
    tags=["experiments"],
    summary="Cancel a run: items not started are dropped, those in flight finish",
)
async def cancel_run(request: Request, experiment_id: str, run_id: str) -> dict[str, Any]:
    await _run_of(request, experiment_id, run_id)
    with storage_refusals():
        await eval_runs.stop_run(pool_of(request), run_id, "cancelled")
    return await _run_of(request, experiment_id, run_id)


@router.get(
    "/experiments/{experiment_id}/runs/{run_id}/results",
    response_model=ResultPage,
    tags=["experiments"],
    summary="A run's results in item order, each with its item and scores",
)
async def list_results(
    request: Request,
    experiment_id: str,
    run_id: str,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> Response:
    await _run_of(request, experiment_id, run_id)
    rows, next_cursor = await eval_compare.list_results(pool_of(request), run_id, limit, cursor)
    return large_json({"data": rows, "next_cursor": next_cursor})
