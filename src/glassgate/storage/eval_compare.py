"""Reading runs back: results with their scores, runs side by side, and judge/human score pairs.

A run's scores are found by their `eval_key` (`run:{run_id}:{item_id}:{evaluator_id}`),
through the key's text_pattern_ops index: a page's scores are one range of it per run, a
whole run's totals one prefix scan. A page of two 1,000-item runs is a handful of indexed
queries, whatever the size of the annotations table.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from glassgate.storage.annotation_errors import NotFound
from glassgate.storage.eval_runs import eval_key, get_run
from glassgate.storage.score_configs import decode_value

_RESULTS = (
    "SELECT run_id, item_id, item_version, output::text, output_span_id, output_trace_id, latency_ms, ttft_ms, "
    "cost_usd, input_tokens, output_tokens, error, score_errors::text, scored_at FROM experiment_results "
    "WHERE run_id = ANY ($1::text[]) AND item_id = ANY ($2::text[])"
)
_PAGE = (
    "SELECT DISTINCT item_id FROM experiment_results WHERE run_id = ANY ($1::text[]) "
    "AND ($2::text IS NULL OR item_id > $2) ORDER BY item_id LIMIT $3"
)
_ITEMS = (
    "SELECT d.item_id, d.valid_from, d.input::text, d.expected_output::text FROM dataset_items d "
    "JOIN unnest($1::text[], $2::int[]) AS u(item_id, valid_from) USING (item_id, valid_from)"
)
# One range of the eval_key index per run (the page's items are contiguous in it): cheaper than
# looking up thousands of keys one by one. ~>=~ and ~<=~ compare bytes, as that index sorts.
_SCORES = (
    "SELECT eval_key, value_number, value_text, comment FROM annotations WHERE eval_key ~>=~ $1 AND eval_key ~<=~ $2"
)
_RUN_EVALUATORS = (
    "SELECT e.evaluator_id, e.name, e.kind, c.kind AS score_kind FROM experiment_runs r JOIN experiments x "
    "USING (experiment_id) CROSS JOIN LATERAL unnest(x.evaluator_ids) WITH ORDINALITY AS u(evaluator_id, position) "
    "JOIN evaluators e ON e.evaluator_id = u.evaluator_id JOIN score_configs c ON c.config_id = e.config_id "
    "WHERE r.run_id = $1 ORDER BY u.position"
)
_SCORE_TOTALS = (
    "SELECT split_part(eval_key, ':', 4) AS evaluator_id, count(*) AS count, avg(value_number) AS mean "
    "FROM annotations WHERE eval_key LIKE $1 GROUP BY 1"
)
_LABEL_TOTALS = (
    "SELECT split_part(eval_key, ':', 4) AS evaluator_id, value_text AS label, count(*) AS count "
    "FROM annotations WHERE eval_key LIKE $1 AND value_text IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 3 DESC, 2"
)
_ERROR_TOTALS = (
    "SELECT key AS evaluator_id, count(*) AS count FROM experiment_results, jsonb_object_keys(score_errors) AS key "
    "WHERE run_id = $1 GROUP BY key"
)
_DETAILS = (
    "SELECT x.target::text, x.dataset_id, x.dataset_version FROM experiment_runs r JOIN experiments x "
    "USING (experiment_id) WHERE r.run_id = $1"
)


def _loads(text: str | None) -> Any:
    return orjson.loads(text) if text is not None else None


async def run_summary(pool: asyncpg.Pool, run_id: str) -> dict[str, Any]:
    """A run with its progress and per-evaluator totals: mean, count, errors and labels."""
    async with pool.acquire() as connection:
        run = await get_run(connection, run_id)
        details = await connection.fetchrow(_DETAILS, run_id)
        evaluators = await connection.fetch(_RUN_EVALUATORS, run_id)
        prefix = f"run:{run_id}:%"
        totals = {record["evaluator_id"]: record for record in await connection.fetch(_SCORE_TOTALS, prefix)}
        labels: defaultdict[str, dict[str, int]] = defaultdict(dict)
        for record in await connection.fetch(_LABEL_TOTALS, prefix):
            labels[record["evaluator_id"]][record["label"]] = record["count"]
        errors = {record["evaluator_id"]: record["count"] for record in await connection.fetch(_ERROR_TOTALS, run_id)}
    run.update(target=orjson.loads(details["target"]), dataset_id=details["dataset_id"])
    run["dataset_version"] = details["dataset_version"]
    run["scores"] = [
        {
            "evaluator_id": evaluator["evaluator_id"],
            "evaluator": evaluator["name"],
            "kind": evaluator["kind"],
            "score_kind": evaluator["score_kind"],
            "count": totals[evaluator["evaluator_id"]]["count"] if evaluator["evaluator_id"] in totals else 0,
            "mean": totals[evaluator["evaluator_id"]]["mean"] if evaluator["evaluator_id"] in totals else None,
            "errors": errors.get(evaluator["evaluator_id"], 0),
            "labels": labels.get(evaluator["evaluator_id"], {}),
        }
        for evaluator in evaluators
    ]
    return run


async def _evaluators_of(connection: asyncpg.Connection, run_ids: Sequence[str]) -> dict[str, list[asyncpg.Record]]:
    return {run_id: list(await connection.fetch(_RUN_EVALUATORS, run_id)) for run_id in run_ids}


async def results_with_scores(
    pool: asyncpg.Pool, run_ids: Sequence[str], item_ids: Sequence[str]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The results of these runs for these items, each with its scores; keyed by (run_id, item_id)."""
    scores: dict[str, asyncpg.Record] = {}
    async with pool.acquire() as connection:
        evaluators = await _evaluators_of(connection, run_ids)
        records = await connection.fetch(_RESULTS, list(run_ids), list(item_ids))
        if item_ids:
            first, last = min(item_ids), max(item_ids)
            for run_id in run_ids:
                found = await connection.fetch(_SCORES, f"run:{run_id}:{first}", f"run:{run_id}:{last}:\uffff")
                scores.update((record["eval_key"], record) for record in found)
    results: dict[tuple[str, str], dict[str, Any]] = {}
    for record in records:
        row = dict(record)
        row["output"] = _loads(row["output"])
        score_errors = orjson.loads(row.pop("score_errors"))
        row["scores"] = [
            _score(
                evaluator, scores.get(eval_key(row["run_id"], row["item_id"], evaluator["evaluator_id"])), score_errors
            )
            for evaluator in evaluators[row["run_id"]]
        ]
        results[(row["run_id"], row["item_id"])] = row
    return results


def _score(evaluator: asyncpg.Record, annotation: asyncpg.Record | None, errors: dict[str, str]) -> dict[str, Any]:
    score: dict[str, Any] = {
        "evaluator_id": evaluator["evaluator_id"],
        "evaluator": evaluator["name"],
        "score": None,
        "label": None,
        "value": None,
        "explanation": "",
        "error": errors.get(evaluator["evaluator_id"]),
    }
    if annotation is not None:
        score.update(
            score=annotation["value_number"],
            label=annotation["value_text"],
            value=decode_value(evaluator["score_kind"], annotation["value_number"], annotation["value_text"]),
            explanation=annotation["comment"],
        )
    return score


async def list_results(
    pool: asyncpg.Pool, run_id: str, limit: int, after: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """A run's results in item order with their items and scores: (page, next cursor)."""
    page = [record[0] for record in await pool.fetch(_PAGE, [run_id], after, limit + 1)]
    if not page and after is None:
        await get_run(pool, run_id)  # NotFound for an unknown run
    shown = page[:limit]
    results = await results_with_scores(pool, [run_id], shown)
    items = await _items(pool, [(item_id, results[(run_id, item_id)]["item_version"]) for item_id in shown])
    rows = []
    for item_id in shown:
        row = results[(run_id, item_id)]
        item = items.get((item_id, row["item_version"]), {})
        rows.append({**row, "input": item.get("input"), "expected_output": item.get("expected_output")})
    return rows, shown[-1] if len(page) > limit else None


async def _items(pool: asyncpg.Pool, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
    records = await pool.fetch(_ITEMS, [key[0] for key in keys], [key[1] for key in keys])
    return {
        (record["item_id"], record["valid_from"]): {
            "input": _loads(record["input"]),
            "expected_output": _loads(record["expected_output"]),
        }
        for record in records
    }


async def compare(pool: asyncpg.Pool, run_ids: Sequence[str], limit: int, after: str | None) -> dict[str, Any]:
    """Runs side by side: each run's totals, then per item (in id order) every run's result.

    A run's totals include latency and time-to-first-token p50/p95 (from `get_run`), and each
    result its `latency_ms` and `ttft_ms`: TTFT is null for a run whose target was not streamed,
    so runs of either kind can be compared.
    """
    runs = await asyncio.gather(*(run_summary(pool, run_id) for run_id in run_ids))
    page = [record[0] for record in await pool.fetch(_PAGE, list(run_ids), after, limit + 1)]
    shown = page[:limit]
    results = await results_with_scores(pool, run_ids, shown)
    versions = {}
    for item_id in shown:
        first = next(results[(run_id, item_id)] for run_id in run_ids if (run_id, item_id) in results)
        versions[item_id] = first["item_version"]
    items = await _items(pool, list(versions.items()))
    rows = []
    for item_id in shown:
        item = items.get((item_id, versions[item_id]), {})
        per_run = [results.get((run_id, item_id)) for run_id in run_ids]
        outputs = {orjson.dumps(result["output"], option=orjson.OPT_SORT_KEYS) for result in per_run if result}
        rows.append(
            {
                "item_id": item_id,
                "input": item.get("input"),
                "expected_output": item.get("expected_output"),
                "outputs_differ": len(outputs) > 1 or None in per_run,
                "results": per_run,
            }
        )
    return {"runs": runs, "items": rows, "next_cursor": shown[-1] if len(page) > limit else None}


async def score_pairs(
    pool: asyncpg.Pool, evaluator_id: str, human_config_id: str | None, run_id: str | None
) -> tuple[dict[str, Any], list[asyncpg.Record]]:
    """(the evaluator, every (machine, human) score pair on the same span).

    Machine scores are the evaluator's own (its author name, its config); human ones are the
    annotations people made with `human_config_id` (the evaluator's config when None) on
    those spans. With `run_id`, only the spans of that run's outputs.
    """
    evaluator = await pool.fetchrow(
        "SELECT e.evaluator_id, e.name, e.config_id, c.kind AS score_kind FROM evaluators e "
        "JOIN score_configs c USING (config_id) WHERE e.evaluator_id = $1",
        evaluator_id,
    )
    if evaluator is None:
        raise NotFound("evaluator", evaluator_id)
    human_config = human_config_id or evaluator["config_id"]
    config = await pool.fetchrow("SELECT config_id, kind FROM score_configs WHERE config_id = $1", human_config)
    if config is None:
        raise NotFound("score config", human_config)
    scope = "AND m.eval_key LIKE $4" if run_id is not None else "AND m.eval_key IS NOT NULL"
    extra = [f"run:{run_id}:%"] if run_id is not None else []
    pairs = await pool.fetch(
        "SELECT m.span_id, m.value_number AS machine_number, m.value_text AS machine_label, "
        "h.value_number AS human_number, h.value_text AS human_label, h.author AS human_author "
        "FROM annotations m JOIN annotations h ON h.span_id = m.span_id AND h.source = 'human' AND h.config_id = $3 "
        f"WHERE m.config_id = $1 AND m.author = $2 AND m.source <> 'human' {scope} ORDER BY m.span_id, h.author",
        evaluator["config_id"],
        evaluator["name"],
        human_config,
        *extra,
    )
    info = {**dict(evaluator), "human_config_id": human_config, "human_kind": config["kind"]}
    return info, list(pairs)
