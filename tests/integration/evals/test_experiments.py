"""Experiments over real PostgreSQL: outputs, scores as annotations, per-item errors, cost ceiling, retries."""

from __future__ import annotations

import asyncpg
import orjson

from glassgate.config import Settings
from glassgate.storage import eval_compare, eval_runs
from tests.fakes.judge_server import FakeJudge
from tests.fakes.vendor_server import Received
from tests.integration.evals.conftest import (
    new_dataset,
    new_evaluator,
    run_to_end,
    scores_of_run,
    start_experiment,
)

QUESTIONS = [{"input": f"What is {n} + {n}?", "expected_output": f"What is {n} + {n}?"} for n in range(12)]


async def test_every_item_is_answered_and_scored_once_by_each_evaluator(
    pool: asyncpg.Pool, settings: Settings, judge: FakeJudge
) -> None:
    dataset_id = await new_dataset(pool, "qa", QUESTIONS)
    evaluators = [
        await new_evaluator(pool, "exact", "exact_match"),
        await new_evaluator(pool, "correct", "correctness"),
        await new_evaluator(pool, "similar", "levenshtein"),
    ]
    experiment = await start_experiment(pool, dataset_id, evaluators)
    run = await run_to_end(pool, settings, experiment.run_id)

    assert run["status"] == "completed"
    assert (run["item_count"], run["done"], run["errors"]) == (12, 12, 0)
    assert run["cost_usd"] is not None and run["cost_usd"] > 0  # the fake answers with a priced model's usage
    scores = await scores_of_run(pool, experiment.run_id)
    assert len(scores) == 12 * 3
    assert len({score["eval_key"] for score in scores}) == 36
    by_author = {author: [s for s in scores if s["author"] == author] for author in ("exact", "correct", "similar")}
    assert {(s["value_text"], s["value_number"], s["source"]) for s in by_author["exact"]} == {("pass", 1.0, "code")}
    assert {(s["value_text"], s["value_number"], s["source"]) for s in by_author["correct"]} == {
        ("correct", 1.0, "llm")
    }
    assert {(s["value_text"], s["value_number"]) for s in by_author["similar"]} == {(None, 1.0)}
    assert all("deterministic verdict" in s["comment"] for s in by_author["correct"])

    results, _ = await eval_compare.list_results(pool, experiment.run_id, 100, None)
    assert [row["output"] for row in results] == [item["input"] for item in QUESTIONS]
    spans = {row["output_span_id"] for row in results}
    assert len(spans) == 12 and {s["span_id"] for s in scores} == spans  # scores sit on the output spans

    # Target and judge calls were tagged and named as evaluation traffic, in one trace per item.
    target_calls = judge.requests_for("echo")
    judge_calls = judge.requests_for("judge")
    assert len(target_calls) == 12 and len(judge_calls) == 12
    assert {call.header("x-glassgate-tags") for call in target_calls} == {"glassgate-experiment"}
    assert {call.header("x-glassgate-tags") for call in judge_calls} == {"glassgate-eval"}
    assert {call.header("x-glassgate-metadata-evaluator") for call in judge_calls} == {"correct"}
    assert {call.header("x-glassgate-metadata-run") for call in judge_calls} == {experiment.run_id}
    trace_of_item = {call.header("x-glassgate-metadata-item"): trace_id(call) for call in target_calls}
    for call in judge_calls:
        assert trace_id(call) == trace_of_item[call.header("x-glassgate-metadata-item")]


def trace_id(call: Received) -> str:
    traceparent = call.header("traceparent")
    assert traceparent is not None
    return traceparent.split("-")[1]


async def test_bad_input_is_a_per_item_error_and_the_run_goes_on(pool: asyncpg.Pool, settings: Settings) -> None:
    items = [
        {"input": {"question": "fine one"}, "expected_output": "x"},
        {"input": {"question": "[[judge:garbage]] a judge answer that names no label"}, "expected_output": "x"},
        {"input": {"prompt": "this item has no question column"}, "expected_output": "x"},
        {"input": {"question": "fine two"}, "expected_output": "x"},
    ]
    dataset_id = await new_dataset(pool, "bad", items)
    evaluators = [await new_evaluator(pool, "correct", "correctness"), await new_evaluator(pool, "json", "valid_json")]
    template = [{"role": "system", "content": "Answer briefly."}, {"role": "user", "content": "Q: {{ question }}"}]
    experiment = await start_experiment(pool, dataset_id, evaluators, target={"prompt_template": template})
    run = await run_to_end(pool, settings, experiment.run_id)

    assert run["status"] == "completed"
    assert (run["done"], run["errors"]) == (4, 2)  # the missing column and the judge's answer
    results, _ = await eval_compare.list_results(pool, experiment.run_id, 100, None)
    by_question = {orjson.dumps(row["input"]).decode(): row for row in results}
    missing = by_question['{"prompt":"this item has no question column"}']
    assert missing["output"] is None and missing["output_span_id"] is None
    assert "template variable {{question}} is unknown" in missing["error"]
    assert "its input has prompt" in missing["error"]
    garbage = by_question['{"question":"[[judge:garbage]] a judge answer that names no label"}']
    correctness = next(score for score in garbage["scores"] if score["evaluator"] == "correct")
    assert correctness["score"] is None and "judge answer matches no label" in correctness["error"]
    fine = by_question['{"question":"fine one"}']
    assert fine["output"] == "Q: fine one" and fine["error"] is None
    assert next(s for s in fine["scores"] if s["evaluator"] == "correct")["label"] == "correct"
    assert next(s for s in fine["scores"] if s["evaluator"] == "json")["label"] == "fail"  # a score, not an error


async def test_cost_ceiling_stops_scheduling(pool: asyncpg.Pool, settings: Settings) -> None:
    dataset_id = await new_dataset(pool, "many", [{"input": f"q{n}"} for n in range(40)])
    exact = await new_evaluator(pool, "contains-q", "contains", {"values": ["q"]})
    experiment = await start_experiment(pool, dataset_id, [exact], concurrency=1, cost_ceiling_usd=0.00002)
    run = await run_to_end(pool, settings, experiment.run_id)

    assert run["status"] == "stopped_cost_ceiling"
    one_call = (await eval_runs.get_result(pool, experiment.run_id, (await first_item(pool, dataset_id))))["cost_usd"]  # type: ignore[index]
    stored = await pool.fetchval("SELECT count(*) FROM experiment_results WHERE run_id = $1", experiment.run_id)
    assert stored == -(-0.00002 // one_call)  # items until the summed cost reached the ceiling
    assert run["cost_usd"] >= 0.00002
    statuses = dict(
        await pool.fetch("SELECT status, count(*) FROM eval_jobs WHERE run_id = $1 GROUP BY status", experiment.run_id)
    )
    assert statuses["cancelled"] == 40 - stored
    assert len(await scores_of_run(pool, experiment.run_id)) == stored


async def first_item(pool: asyncpg.Pool, dataset_id: str) -> str:
    item_id: str = await pool.fetchval("SELECT min(item_id) FROM dataset_items WHERE dataset_id = $1", dataset_id)
    return item_id


async def test_429_and_5xx_are_retried_and_exhausted_retries_are_the_items_error(
    pool: asyncpg.Pool, settings: Settings, judge: FakeJudge
) -> None:
    dataset_id = await new_dataset(pool, "flaky", [{"input": f"q{n}"} for n in range(3)])
    exact = await new_evaluator(pool, "contains-q", "contains", {"values": ["q"]})
    flaky = await start_experiment(pool, dataset_id, [exact], model="flaky", name="flaky", max_retries=2)
    run = await run_to_end(pool, settings, flaky.run_id)
    assert (run["status"], run["done"], run["errors"]) == ("completed", 3, 0)
    assert len(judge.requests_for("flaky")) == 6  # each prompt failed once, then answered

    limited = await start_experiment(pool, dataset_id, [exact], model="rate-limited", name="limited", max_retries=1)
    run = await run_to_end(pool, settings, limited.run_id)
    assert (run["status"], run["done"], run["errors"]) == ("completed", 3, 3)
    results, _ = await eval_compare.list_results(pool, limited.run_id, 10, None)
    assert all("failed 2 time(s) (last: HTTP 429" in row["error"] for row in results)

    refused = await start_experiment(pool, dataset_id, [exact], model="refuse", name="refused", max_retries=3)
    run = await run_to_end(pool, settings, refused.run_id)
    results, _ = await eval_compare.list_results(pool, refused.run_id, 10, None)
    assert all("refused the call (HTTP 400: This model refuses everything.)" in row["error"] for row in results)
    assert len(judge.requests_for("refuse")) == 3  # a 400 is not retried
