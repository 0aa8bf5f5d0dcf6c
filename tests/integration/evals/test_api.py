"""The evaluation API over real PostgreSQL: evaluators, rules, experiments, runs, compare and agreement."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest

from glassgate.api.app import create_api
from glassgate.api.eval_models import Comparison, ResultPage
from glassgate.config import Settings, UpstreamConfig
from glassgate.storage.spans import insert_spans
from glassgate.tracing.span import Span
from tests.integration.evals.conftest import new_dataset, run_to_end, wait_for_run

TOKEN = "test-admin-token"
ITEMS = [
    {"input": {"question": f"q{n}"}, "expected_output": f"A: q{n}" if n % 2 else "something else"} for n in range(6)
]


@pytest.fixture
async def http(pool: asyncpg.Pool, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    upstreams = {**settings.upstreams, "bedrock": UpstreamConfig(vendor="bedrock", region="us-east-1")}
    api = create_api(TOKEN, upstreams=upstreams)
    api.state.pool = pool
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://glassgate", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as client:
        yield client


def ok(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    return body


async def test_evaluators_crud_and_their_score_configs(http: httpx.AsyncClient) -> None:
    types = ok(await http.get("/api/v1/evaluators/types"))["data"]
    assert {"exact_match", "contains", "correctness", "hallucination", "llm_judge"} <= set(types)
    bad_type = problem(await http.post("/api/v1/evaluators", json={"name": "x", "type": "nope"}), 422)
    assert bad_type["errors"][0]["field"] == "body.type" and "known:" in bad_type["detail"]
    bad_params = problem(await http.post("/api/v1/evaluators", json={"name": "x", "type": "regex", "params": {}}), 422)
    assert bad_params["errors"][0]["field"] == "body.params" and "pattern" in bad_params["detail"]
    bad_judge = await http.post("/api/v1/evaluators", json={"name": "x", "type": "toxicity", "judge_upstream": "nope"})
    assert problem(bad_judge, 422)["errors"][0]["field"] == "body.judge_upstream"
    bedrock_judge = {
        "name": "toxic",
        "type": "toxicity",
        "judge_upstream": "bedrock",
        "judge_model": "amazon.nova-lite-v1:0",
    }
    assert ok(await http.post("/api/v1/evaluators", json=bedrock_judge), 201)["judge_upstream"] == "bedrock"

    exact = ok(await http.post("/api/v1/evaluators", json={"name": "exact", "type": "exact_match"}), 201)
    assert (exact["kind"], exact["score_kind"]) == ("code", "categorical")
    judged = ok(await http.post("/api/v1/evaluators", json={"name": "correct", "type": "correctness"}), 201)
    config = ok(await http.get(f"/api/v1/score-configs/{judged['config_id']}"))
    assert [(c["label"], c["value"]) for c in config["categories"]] == [
        ("correct", 1.0),
        ("partially_correct", 0.5),
        ("incorrect", 0.0),
    ]
    problem(await http.post("/api/v1/evaluators", json={"name": "exact", "type": "exact_match"}), 409)

    # A config of that name that fits is shared (people and the judge then score on one scale); one that does not: 409.
    rouge = ok(await http.post("/api/v1/score-configs", json={"name": "rouge", "kind": "numeric", "min_value": 0}), 201)
    shared = ok(await http.post("/api/v1/evaluators", json={"name": "rouge", "type": "rouge_l"}), 201)
    assert shared["config_id"] == rouge["config_id"]
    ok(await http.post("/api/v1/score-configs", json={"name": "clash", "kind": "text"}), 201)
    clash = problem(await http.post("/api/v1/evaluators", json={"name": "clash", "type": "exact_match"}), 409)
    assert "cannot hold" in clash["detail"]

    changed = ok(await http.patch(f"/api/v1/evaluators/{exact['evaluator_id']}", json={"description": "strict"}))
    assert changed["description"] == "strict"
    scale = await http.patch(
        f"/api/v1/evaluators/{judged['evaluator_id']}", json={"params": {"labels": {"correct": 1}}}
    )
    assert scale.status_code == 422
    rule = {"name": "r", "evaluator_id": exact["evaluator_id"], "sampling_rate": 1}
    ok(await http.post("/api/v1/eval-rules", json=rule), 201)
    assert "used by rule r" in problem(await http.delete(f"/api/v1/evaluators/{exact['evaluator_id']}"), 409)["detail"]
    assert (await http.delete(f"/api/v1/evaluators/{shared['evaluator_id']}")).status_code == 204
    problem(await http.get(f"/api/v1/evaluators/{shared['evaluator_id']}"), 404)


async def test_rules_crud(http: httpx.AsyncClient) -> None:
    evaluator = ok(await http.post("/api/v1/evaluators", json={"name": "exact", "type": "exact_match"}), 201)
    body = {
        "name": "prod answers",
        "evaluator_id": evaluator["evaluator_id"],
        "filter": {"upstream": "openai", "tags": ["prod"], "status": "ok"},
        "sampling_rate": 0.1,
        "delay_s": 30,
    }
    rule = ok(await http.post("/api/v1/eval-rules", json=body), 201)
    assert rule["filter"]["tags"] == ["prod"] and rule["evaluator_name"] == "exact" and rule["enabled"]
    bad = await http.post("/api/v1/eval-rules", json={**body, "name": "x", "filter": {"colour": "red"}})
    assert problem(bad, 422)["errors"][0]["field"] == "body.filter.colour"
    assert (await http.post("/api/v1/eval-rules", json={**body, "name": "y", "sampling_rate": 2})).status_code == 422
    problem(await http.post("/api/v1/eval-rules", json=body), 409)
    detail = ok(await http.get(f"/api/v1/eval-rules/{rule['rule_id']}"))
    assert detail["jobs"] == {"pending": 0, "running": 0, "done": 0, "failed": 0, "cancelled": 0}
    off = ok(await http.patch(f"/api/v1/eval-rules/{rule['rule_id']}", json={"enabled": False, "filter": {}}))
    assert (off["enabled"], off["filter"]["tags"]) == (False, [])
    assert [r["name"] for r in ok(await http.get("/api/v1/eval-rules"))["data"]] == ["prod answers"]
    assert (await http.delete(f"/api/v1/eval-rules/{rule['rule_id']}")).status_code == 204
    problem(await http.delete(f"/api/v1/eval-rules/{rule['rule_id']}"), 404)


async def test_experiment_runs_results_compare_and_agreement(
    http: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings
) -> None:
    dataset_id = await new_dataset(pool, "qa", ITEMS)
    exact = ok(await http.post("/api/v1/evaluators", json={"name": "exact", "type": "exact_match"}), 201)
    target = {"upstream": "openai", "model": "echo", "prompt_template": "A: {{ question }}"}
    body = {"name": "e1", "dataset_id": dataset_id, "target": target, "evaluator_ids": [exact["evaluator_id"]]}

    changes: list[tuple[dict[str, Any], str]] = [
        ({"target": {**target, "upstream": "nope"}}, "body.target.upstream"),
        ({"target": {**target, "prompt_template": "{{ question"}}, "body.target.prompt_template"),
        ({"target": {**target, "prompt_template": "{{ two words }}"}}, "body.target.prompt_template"),
        ({"target": {**target, "parameters": {"stream": True}}}, "body.target.parameters"),
        ({"dataset_version": 9}, "body.dataset_version"),
        ({"concurrency": 0}, "body.concurrency"),
    ]
    for change, field in changes:
        refusal = problem(await http.post("/api/v1/experiments", json={**body, **change}), 422)
        assert refusal["errors"][0]["field"] == field, (change, refusal)
    problem(await http.post("/api/v1/experiments", json={**body, "dataset_id": "ds_nope"}), 404)
    streamed = {**target, "upstream": "bedrock", "model": "amazon.nova-lite-v1:0", "stream": True}
    on_bedrock = ok(
        await http.post("/api/v1/experiments", json={**body, "name": "on-bedrock", "target": streamed}), 201
    )
    assert (on_bedrock["target"]["upstream"], on_bedrock["target"]["stream"]) == ("bedrock", True)
    problem(await http.post("/api/v1/experiments", json={**body, "evaluator_ids": ["ev_nope"]}), 404)

    first = ok(await http.post("/api/v1/experiments", json={**body, "start": True}), 201)
    assert (first["status"], first["dataset_version"], first["run_count"]) == ("running", 1, 1)
    problem(await http.post(f"/api/v1/experiments/{first['experiment_id']}/runs"), 409)  # one at a time
    runs = ok(await http.get(f"/api/v1/experiments/{first['experiment_id']}/runs"))["data"]
    run_a = runs[0]["run_id"]
    assert (runs[0]["number"], runs[0]["item_count"], runs[0]["pending"]) == (1, 6, 6)
    await run_to_end(pool, settings, run_a)

    summary = ok(await http.get(f"/api/v1/experiments/{first['experiment_id']}/runs/{run_a}"))
    assert (summary["status"], summary["done"], summary["errors"]) == ("completed", 6, 0)
    assert summary["scores"] == [
        {
            "evaluator_id": exact["evaluator_id"],
            "evaluator": "exact",
            "kind": "code",
            "score_kind": "categorical",
            "count": 6,
            "mean": 0.5,
            "errors": 0,
            "labels": {"fail": 3, "pass": 3},
        }
    ]
    assert summary["latency_p50_ms"] > 0 and summary["cost_usd"] > 0
    assert summary["ttft_p50_ms"] is None  # not streamed
    assert ok(await http.get(f"/api/v1/experiments/{first['experiment_id']}"))["status"] == "completed"

    pages: list[dict[str, Any]] = []
    cursor = None
    while True:
        params = {"limit": 4, **({"cursor": cursor} if cursor else {})}
        page = ok(await http.get(f"/api/v1/experiments/{first['experiment_id']}/runs/{run_a}/results", params=params))
        ResultPage.model_validate(page)
        pages += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [row["input"] for row in pages] == [item["input"] for item in ITEMS]
    assert [row["output"] for row in pages] == [f"A: q{n}" for n in range(6)]
    assert [row["scores"][0]["value"] for row in pages] == ["fail", "pass"] * 3
    assert all(row["latency_ms"] > 0 and row["ttft_ms"] is None for row in pages)

    second = ok(
        await http.post(
            "/api/v1/experiments",
            json={**body, "name": "e2", "target": {**target, "prompt_template": "A: q1"}, "start": True},
        ),
        201,
    )
    run_b = ok(await http.get(f"/api/v1/experiments/{second['experiment_id']}/runs"))["data"][0]["run_id"]
    await run_to_end(pool, settings, run_b)

    compared = ok(await http.get("/api/v1/experiments/compare", params=[("run", run_a), ("run", run_b)]))
    Comparison.model_validate(compared)  # sent as it is, without FastAPI's check: it must still fit its model
    assert [run["run_id"] for run in compared["runs"]] == [run_a, run_b]
    assert [run["scores"][0]["mean"] for run in compared["runs"]] == [0.5, pytest.approx(1 / 6)]
    assert len(compared["items"]) == 6 and compared["next_cursor"] is None
    differs = {item["input"]["question"]: item["outputs_differ"] for item in compared["items"]}
    assert differs == {f"q{n}": n != 1 for n in range(6)}
    item = compared["items"][1]
    assert [result["output"] for result in item["results"]] == ["A: q1", "A: q1"]
    assert [result["scores"][0]["label"] for result in item["results"]] == ["pass", "pass"]
    problem(await http.get("/api/v1/experiments/compare", params={"run": run_a}), 422)
    problem(await http.get("/api/v1/experiments/compare", params=[("run", run_a), ("run", "run_nope")]), 404)

    # People review run A's outputs with the evaluator's own config: 4 agree, 2 do not.
    results = ok(await http.get(f"/api/v1/experiments/{first['experiment_id']}/runs/{run_a}/results"))["data"]
    await insert_spans(pool, [reviewed_span(row["output_span_id"]) for row in results])
    human = ["fail", "pass", "fail", "pass", "pass", "fail"]  # the machine said fail, pass, fail, pass, fail, pass
    for row, label in zip(results, human, strict=True):
        annotation = {"config_id": exact["config_id"], "value": label}
        ok(await http.post(f"/api/v1/spans/{row['output_span_id']}/annotations", json=annotation), 201)
    agreement = ok(await http.get(f"/api/v1/evaluators/{exact['evaluator_id']}/agreement", params={"run": run_a}))
    assert (agreement["pairs"], agreement["spans"]) == (6, 6)
    assert agreement["exact_agreement"] == pytest.approx(4 / 6)
    assert agreement["cohen_kappa"] == pytest.approx(1 / 3)
    assert agreement["mae"] == pytest.approx(2 / 6)
    assert {(c["machine"], c["human"]): c["count"] for c in agreement["confusion"]} == {
        ("fail", "fail"): 2,
        ("pass", "pass"): 2,
        ("fail", "pass"): 1,
        ("pass", "fail"): 1,
    }
    other_run = ok(await http.get(f"/api/v1/evaluators/{exact['evaluator_id']}/agreement", params={"run": run_b}))
    assert other_run["pairs"] == 0 and other_run["exact_agreement"] is None


async def test_a_run_can_be_cancelled(http: httpx.AsyncClient, pool: asyncpg.Pool, settings: Settings) -> None:
    dataset_id = await new_dataset(pool, "qa", ITEMS)
    exact = ok(await http.post("/api/v1/evaluators", json={"name": "exact", "type": "exact_match"}), 201)
    body = {
        "name": "slow",
        "dataset_id": dataset_id,
        "target": {"upstream": "openai", "model": "slow-echo", "prompt_template": "{{ question }}"},
        "evaluator_ids": [exact["evaluator_id"]],
    }
    experiment = ok(await http.post("/api/v1/experiments", json=body), 201)
    assert experiment["status"] == "created"
    run = ok(await http.post(f"/api/v1/experiments/{experiment['experiment_id']}/runs"), 201)
    cancelled = ok(await http.post(f"/api/v1/experiments/{experiment['experiment_id']}/runs/{run['run_id']}/cancel"))
    assert (cancelled["status"], cancelled["pending"], cancelled["done"]) == ("cancelled", 0, 0)
    assert (await wait_for_run(pool, run["run_id"]))["status"] == "cancelled"
    problem(await http.get(f"/api/v1/experiments/exp_other/runs/{run['run_id']}"), 404)
    again = ok(await http.post(f"/api/v1/experiments/{experiment['experiment_id']}/runs"), 201)
    assert again["number"] == 2
    assert (await http.delete(f"/api/v1/experiments/{experiment['experiment_id']}")).status_code == 204
    assert await pool.fetchval("SELECT count(*) FROM eval_jobs") == 0


async def test_the_openapi_document_describes_the_routes(http: httpx.AsyncClient) -> None:
    paths = ok(await http.get("/api/v1/openapi.json"))["paths"]
    for path in (
        "/api/v1/evaluators",
        "/api/v1/evaluators/{evaluator_id}/agreement",
        "/api/v1/eval-rules/{rule_id}",
        "/api/v1/experiments/compare",
        "/api/v1/experiments/{experiment_id}/runs/{run_id}/results",
    ):
        assert path in paths
    compare = paths["/api/v1/experiments/compare"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert compare == {"$ref": "#/components/schemas/Comparison"}


def reviewed_span(span_id: str) -> Span:
    return Span(
        span_id=span_id,
        trace_id="0" * 31 + "1",
        project="default",
        kind="llm",
        status="ok",
        started_at=datetime.now(UTC),
    )
