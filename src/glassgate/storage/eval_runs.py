"""Experiment runs, their results, and the scores evaluators give (migrations 0011, 0012).

Starting a run enqueues one job per item of the experiment's pinned dataset version, in the
same transaction, so workers anywhere share the run and a dead worker's items go to another.
A result is written once per (run, item) (its primary key): the target's output first, then
each evaluator's score, then `scored_at`. A job that runs again after a crash finds what is
already there and does only the rest, so the target is not called twice for an item whose
output was stored, and each evaluator scores each item once.

Scores are rows of `annotations` with `eval_key` = `run:{run_id}:{item_id}:{evaluator_id}`
(online rules: `rule:{rule_id}:{span_id}`), unique, written with ON CONFLICT DO NOTHING.
A live run's totals are summed from its results; they are stored on the run when it ends.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg
import orjson

from glassgate.storage import eval_jobs
from glassgate.storage.annotation_errors import Conflict, NotFound
from glassgate.storage.score_configs import MAX_TEXT_CHARS

RunStatus = Literal["running", "completed", "cancelled", "stopped_cost_ceiling"]
ITEM_JOB = "experiment_item"
MAX_ERROR_CHARS = 2000

_PROGRESS = (
    "SELECT r.run_id, r.experiment_id, x.name AS experiment_name, r.number, r.status, r.item_count, r.started_at, "
    "r.finished_at, r.created_by, p.done, p.errors, p.cost_usd, p.latency_p50_ms, p.latency_p95_ms, p.ttft_p50_ms, "
    "p.ttft_p95_ms, j.pending, j.running FROM experiment_runs r JOIN experiments x USING (experiment_id) "
    "CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE scored_at IS NOT NULL) AS done, "
    "count(*) FILTER (WHERE error IS NOT NULL OR score_errors <> '{}') AS errors, sum(cost_usd) AS cost_usd, "
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY latency_ms) AS latency_p50_ms, "
    "percentile_cont(0.95) WITHIN GROUP (ORDER BY latency_ms) AS latency_p95_ms, "
    "percentile_cont(0.5) WITHIN GROUP (ORDER BY ttft_ms) AS ttft_p50_ms, "
    "percentile_cont(0.95) WITHIN GROUP (ORDER BY ttft_ms) AS ttft_p95_ms "
    "FROM experiment_results res WHERE res.run_id = r.run_id) AS p "
    "CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE status = 'pending') AS pending, "
    "count(*) FILTER (WHERE status = 'running') AS running FROM eval_jobs oj "
    "WHERE oj.run_id = r.run_id AND oj.status IN ('pending', 'running')) AS j"
)
_RESULT_COLUMNS = (
    "run_id, item_id, item_version, output::text, output_span_id, output_trace_id, latency_ms, ttft_ms, cost_usd, "
    "input_tokens, output_tokens, error, score_errors::text, scored_at, created_at"
)


@dataclass(frozen=True)
class RunContext:
    """What a worker needs to run a run's items: fixed for the run's life."""

    run_id: str
    experiment_id: str
    experiment_name: str
    dataset_id: str
    dataset_version: int
    target: Mapping[str, Any]
    evaluators: tuple[Mapping[str, Any], ...]  # rows of storage.evals, with their score configs' definitions
    max_retries: int
    cost_ceiling_usd: float | None


@dataclass(frozen=True)
class TargetOutcome:
    """What the target did with one item: an output, or the error that kept it from giving one."""

    output: Any = None
    output_span_id: str | None = None
    output_trace_id: str | None = None
    latency_ms: float | None = None
    ttft_ms: float | None = None  # a streamed answer's first content, from the request
    cost_usd: float | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    error: str | None = None


def eval_key(run_id: str, item_id: str, evaluator_id: str) -> str:
    return f"run:{run_id}:{item_id}:{evaluator_id}"


def _result(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    row["output"] = orjson.loads(row["output"]) if row["output"] is not None else None
    row["score_errors"] = orjson.loads(row["score_errors"])
    return row


# --- runs ------------------------------------------------------------------------------------------


async def start_run(pool: asyncpg.Pool, experiment_id: str, created_by: str, max_attempts: int) -> dict[str, Any]:
    """A new run of every item of the experiment's pinned version, one job each; Conflict while one runs."""
    run_id = "run_" + secrets.token_hex(8)
    async with pool.acquire() as connection, connection.transaction():
        experiment = await connection.fetchrow(
            "SELECT dataset_id, dataset_version FROM experiments WHERE experiment_id = $1 FOR UPDATE", experiment_id
        )
        if experiment is None:
            raise NotFound("experiment", experiment_id)
        if await connection.fetchval(
            "SELECT EXISTS (SELECT 1 FROM experiment_runs WHERE experiment_id = $1 AND status = 'running')",
            experiment_id,
        ):
            raise Conflict(f"experiment {experiment_id!r} has a run in progress: cancel it or wait for it to end")
        if await connection.fetchval("SELECT 1 FROM datasets WHERE dataset_id = $1", experiment["dataset_id"]) is None:
            raise NotFound("dataset", experiment["dataset_id"], f"the dataset {experiment['dataset_id']!r} was deleted")
        number = await connection.fetchval(
            "SELECT coalesce(max(number), 0) + 1 FROM experiment_runs WHERE experiment_id = $1", experiment_id
        )
        await connection.execute(
            "INSERT INTO experiment_runs (run_id, experiment_id, number, item_count, created_by) "
            "VALUES ($1, $2, $3, 0, $4)",
            run_id,
            experiment_id,
            number,
            created_by,
        )
        count = await connection.fetchval(
            "WITH added AS (INSERT INTO eval_jobs (kind, payload, idempotency_key, run_id, max_attempts) "
            "SELECT $4, jsonb_build_object('run_id', $1::text, 'item_id', item_id), 'run:' || $1 || ':' || item_id, "
            "$1, $5 FROM dataset_items WHERE dataset_id = $2 AND valid_from <= $3 "
            "AND (valid_to IS NULL OR valid_to > $3) "
            "ORDER BY item_id RETURNING 1) SELECT count(*) FROM added",
            run_id,
            experiment["dataset_id"],
            experiment["dataset_version"],
            ITEM_JOB,
            max_attempts,
        )
        await connection.execute("UPDATE experiment_runs SET item_count = $2 WHERE run_id = $1", run_id, count)
        await _set_status(connection, run_id, "running")
        if count == 0:
            await _end(connection, run_id, "completed")
    return await get_run(pool, run_id)


async def get_run(pool: asyncpg.Pool | asyncpg.Connection, run_id: str) -> dict[str, Any]:
    record = await pool.fetchrow(f"{_PROGRESS} WHERE r.run_id = $1", run_id)
    if record is None:
        raise NotFound("run", run_id)
    return dict(record)


async def list_runs(pool: asyncpg.Pool, experiment_id: str) -> list[dict[str, Any]]:
    async with pool.acquire() as connection:
        if await connection.fetchval("SELECT 1 FROM experiments WHERE experiment_id = $1", experiment_id) is None:
            raise NotFound("experiment", experiment_id)
        records = await connection.fetch(
            f"{_PROGRESS} WHERE r.experiment_id = $1 ORDER BY r.number DESC", experiment_id
        )
    return [dict(record) for record in records]


async def run_context(pool: asyncpg.Pool, run_id: str) -> RunContext:
    record = await pool.fetchrow(
        "SELECT r.run_id, x.experiment_id, x.name, x.dataset_id, x.dataset_version, x.target::text, x.evaluator_ids, "
        "x.max_retries, x.cost_ceiling_usd FROM experiment_runs r JOIN experiments x USING (experiment_id) "
        "WHERE r.run_id = $1",
        run_id,
    )
    if record is None:
        raise NotFound("run", run_id)
    evaluators = await pool.fetch(
        "SELECT e.evaluator_id, e.name, e.evaluator_type, e.kind, e.params::text, e.judge_upstream, e.judge_model, "
        "e.config_id, c.kind AS score_kind, c.min_value, c.max_value, c.categories::text "
        "FROM evaluators e JOIN score_configs c USING (config_id) WHERE e.evaluator_id = ANY ($1::text[])",
        record["evaluator_ids"],
    )
    by_id = {row["evaluator_id"]: row for row in evaluators}
    return RunContext(
        run_id=run_id,
        experiment_id=record["experiment_id"],
        experiment_name=record["name"],
        dataset_id=record["dataset_id"],
        dataset_version=record["dataset_version"],
        target=orjson.loads(record["target"]),
        evaluators=tuple(
            evaluator_row(by_id[evaluator_id]) for evaluator_id in record["evaluator_ids"] if evaluator_id in by_id
        ),
        max_retries=record["max_retries"],
        cost_ceiling_usd=record["cost_ceiling_usd"],
    )


def evaluator_row(record: asyncpg.Record) -> dict[str, Any]:
    """An evaluator with its score config's definition (params and categories decoded)."""
    row = dict(record)
    row["params"] = orjson.loads(row["params"])
    row["categories"] = orjson.loads(row["categories"])
    return row


async def _set_status(connection: asyncpg.Connection, run_id: str, status: RunStatus) -> None:
    await connection.execute(
        "UPDATE experiments SET status = $2 WHERE experiment_id = (SELECT experiment_id FROM experiment_runs "
        "WHERE run_id = $1) AND (SELECT max(number) FROM experiment_runs r WHERE r.experiment_id = "
        "experiments.experiment_id) = (SELECT number FROM experiment_runs WHERE run_id = $1)",
        run_id,
        status,
    )


# Ends a running run with its totals, and marks its experiment when it is the latest run. With
# the guard, only when no job of the run is open: one statement, so a worker pays one round trip
# per item to find out whether it finished the run.
_END = (
    "WITH ended AS (UPDATE experiment_runs r SET status = $2, finished_at = now(), completed = t.done, "
    "errors = t.errors, cost_usd = t.cost FROM (SELECT count(*) FILTER (WHERE scored_at IS NOT NULL) AS done, "
    "count(*) FILTER (WHERE error IS NOT NULL OR score_errors <> '{{}}') AS errors, sum(cost_usd) AS cost "
    "FROM experiment_results WHERE run_id = $1) AS t WHERE r.run_id = $1 AND r.status = 'running' {guard} "
    "RETURNING r.experiment_id, r.number), "
    "latest AS (UPDATE experiments x SET status = $2 FROM ended WHERE x.experiment_id = ended.experiment_id "
    "AND ended.number = (SELECT max(number) FROM experiment_runs m WHERE m.experiment_id = ended.experiment_id)) "
    "SELECT count(*) FROM ended"
)
_NO_OPEN_JOBS = "AND NOT EXISTS (SELECT 1 FROM eval_jobs WHERE run_id = $1 AND status IN ('pending', 'running'))"


async def _end(connection: asyncpg.Connection | asyncpg.Pool, run_id: str, status: RunStatus, guard: str = "") -> bool:
    """Move a running run to `status` with its totals; False when it had ended already (or the guard held)."""
    return bool(await connection.fetchval(_END.format(guard=guard), run_id, status))


async def stop_run(pool: asyncpg.Pool, run_id: str, status: Literal["cancelled", "stopped_cost_ceiling"]) -> bool:
    """End a running run early: its pending items are cancelled; items in flight still finish."""
    reason = "the run was cancelled" if status == "cancelled" else "the run reached its cost ceiling"
    async with pool.acquire() as connection, connection.transaction():
        if await connection.fetchval("SELECT 1 FROM experiment_runs WHERE run_id = $1 FOR UPDATE", run_id) is None:
            raise NotFound("run", run_id)
        await eval_jobs.cancel_run_jobs(connection, run_id, reason)
        return await _end(connection, run_id, status)


async def finish_if_done(pool: asyncpg.Pool, run_id: str) -> bool:
    """Mark the run completed when no job of it is left; True when this call ended it."""
    return await _end(pool, run_id, "completed", _NO_OPEN_JOBS)


async def unfinished_runs(pool: asyncpg.Pool) -> list[str]:
    """Running runs with no job left: their last worker died between finishing and ending them."""
    records = await pool.fetch(
        "SELECT run_id FROM experiment_runs r WHERE status = 'running' AND NOT EXISTS "
        "(SELECT 1 FROM eval_jobs j WHERE j.run_id = r.run_id AND j.status IN ('pending', 'running'))"
    )
    return [record[0] for record in records]


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemState:
    """What a job finds when it starts on an item."""

    run_status: str | None  # None: the run was deleted
    spent_usd: float  # the run's target cost so far (0 unless asked for)
    result: dict[str, Any] | None  # the item's result, when a job got that far before
    item: dict[str, Any] | None  # the item as in the pinned version; None when it is not in it


_ITEM_STATE = (
    "SELECT r.status, CASE WHEN $5 THEN (SELECT coalesce(sum(cost_usd), 0) FROM experiment_results "
    "WHERE run_id = $1) ELSE 0 END AS spent, "
    f"(SELECT row_to_json(x)::text FROM (SELECT {_RESULT_COLUMNS.replace('::text', '')} FROM experiment_results "
    "WHERE run_id = $1 AND item_id = $2) AS x) AS result, "
    "(SELECT row_to_json(i)::text FROM (SELECT item_id, valid_from, input, expected_output, metadata "
    "FROM dataset_items WHERE dataset_id = $3 AND item_id = $2 AND valid_from <= $4 "
    "AND (valid_to IS NULL OR valid_to > $4)) AS i) AS item "
    "FROM experiment_runs r WHERE r.run_id = $1"
)


async def item_state(
    pool: asyncpg.Pool, run_id: str, item_id: str, dataset_id: str, version: int, *, with_cost: bool
) -> ItemState:
    """The run's status (and cost so far), the item's result, and the item: one round trip."""
    record = await pool.fetchrow(_ITEM_STATE, run_id, item_id, dataset_id, version, with_cost)
    if record is None:
        return ItemState(None, 0.0, None, None)
    result = orjson.loads(record["result"]) if record["result"] is not None else None
    item = orjson.loads(record["item"]) if record["item"] is not None else None
    return ItemState(record["status"], float(record["spent"]), result, item)


async def get_result(pool: asyncpg.Pool, run_id: str, item_id: str) -> dict[str, Any] | None:
    record = await pool.fetchrow(
        f"SELECT {_RESULT_COLUMNS} FROM experiment_results WHERE run_id = $1 AND item_id = $2", run_id, item_id
    )
    return _result(record) if record is not None else None


async def store_outcome(
    pool: asyncpg.Pool, run_id: str, item_id: str, item_version: int, outcome: TargetOutcome
) -> tuple[dict[str, Any], bool]:
    """Write the target's outcome for an item once: (the stored result, whether this call stored it)."""
    output = (
        orjson.dumps(outcome.output).replace(b"\\u0000", b"\\ufffd").decode() if outcome.output is not None else None
    )
    error = outcome.error[:MAX_ERROR_CHARS] if outcome.error is not None else None
    record = await pool.fetchrow(
        "INSERT INTO experiment_results (run_id, item_id, item_version, output, output_span_id, output_trace_id, "
        "latency_ms, cost_usd, input_tokens, output_tokens, error, ttft_ms, scored_at) VALUES ($1, $2, $3, $4::jsonb, "
        "$5, $6, $7, $8, $9, $10, $11, $12, CASE WHEN $11::text IS NULL THEN NULL ELSE now() END) "
        f"ON CONFLICT (run_id, item_id) DO NOTHING RETURNING {_RESULT_COLUMNS}",
        run_id,
        item_id,
        item_version,
        output,
        outcome.output_span_id,
        outcome.output_trace_id,
        outcome.latency_ms,
        outcome.cost_usd,
        outcome.input_tokens,
        outcome.output_tokens,
        error,
        outcome.ttft_ms,
    )
    if record is not None:
        return _result(record), True
    stored = await get_result(pool, run_id, item_id)
    assert stored is not None, "a result that conflicted is there"
    return stored, False


async def scored_evaluators(pool: asyncpg.Pool, run_id: str, item_id: str, evaluator_ids: Sequence[str]) -> set[str]:
    """The evaluators that have scored the item, or recorded why they could not."""
    keys = [eval_key(run_id, item_id, evaluator_id) for evaluator_id in evaluator_ids]
    record = await pool.fetchrow(
        "SELECT (SELECT array_agg(eval_key) FROM annotations WHERE eval_key = ANY ($1::text[])) AS keys, "
        "(SELECT array(SELECT jsonb_object_keys(score_errors)) FROM experiment_results "
        "WHERE run_id = $2 AND item_id = $3) AS errors",
        keys,
        run_id,
        item_id,
    )
    done = {key.rsplit(":", 1)[1] for key in record["keys"] or ()}
    return done | set(record["errors"] or ())


@dataclass(frozen=True)
class Score:
    """One score to store as an annotation, already encoded for its config."""

    eval_key: str
    span_id: str
    trace_id: str | None
    span_started_at: datetime | None
    config_id: str
    value_number: float | None
    value_text: str | None
    comment: str
    author: str
    source: Literal["llm", "code"]


_SCORE_ROWS = (
    "SELECT u.id, u.span_id, u.started_at, u.trace_id, u.config_id, u.number, u.label, u.comment, u.author, "
    "u.source, u.key FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], "
    "$7::float8[], $8::text[], $9::text[], $10::text[], $11::text[]) "
    "AS u(id, key, span_id, started_at, trace_id, config_id, number, label, comment, author, source)"
)
_INSERT_SCORES = (
    "INSERT INTO annotations (annotation_id, span_id, span_started_at, trace_id, config_id, value_number, value_text, "
    f"comment, author, source, eval_key) {_SCORE_ROWS} ON CONFLICT DO NOTHING"
)


def _score_arrays(scores: Sequence[Score]) -> list[list[Any]]:
    return [
        ["ann_" + secrets.token_hex(8) for _ in scores],
        [score.eval_key for score in scores],
        [score.span_id for score in scores],
        [score.span_started_at for score in scores],
        [score.trace_id for score in scores],
        [score.config_id for score in scores],
        [score.value_number for score in scores],
        [score.value_text for score in scores],
        [score.comment[:MAX_TEXT_CHARS] for score in scores],
        [score.author for score in scores],
        [score.source for score in scores],
    ]


async def insert_score(connection: asyncpg.Connection | asyncpg.Pool, score: Score) -> bool:
    """Store a score once; False when its eval_key was there already."""
    result = await connection.execute(_INSERT_SCORES, *_score_arrays([score]))
    return bool(result.endswith(" 1"))


async def write_scores(
    pool: asyncpg.Pool,
    run_id: str,
    item_id: str,
    scores: Sequence[Score],
    errors: Mapping[str, str],
    *,
    complete: bool,
) -> None:
    """An item's scores (each once), the reasons of the evaluators that gave none, and, when
    `complete`, that every evaluator is through with it: one statement."""
    await pool.execute(
        f"WITH added AS ({_INSERT_SCORES}) UPDATE experiment_results SET score_errors = score_errors || $12::jsonb, "
        "scored_at = CASE WHEN $15 THEN coalesce(scored_at, now()) ELSE scored_at END "
        "WHERE run_id = $13 AND item_id = $14",
        *_score_arrays(scores),
        orjson.dumps({key: message[:MAX_ERROR_CHARS] for key, message in errors.items()}).decode(),
        run_id,
        item_id,
        complete,
    )


async def record_item_failure(pool: asyncpg.Pool, run_id: str, item_id: str, error: str) -> None:
    """An item given up on before the target answered: its result says why."""
    await pool.execute(
        "INSERT INTO experiment_results (run_id, item_id, item_version, error, scored_at) "
        "VALUES ($1, $2, 0, $3, now()) "
        "ON CONFLICT (run_id, item_id) DO NOTHING",
        run_id,
        item_id,
        error[:MAX_ERROR_CHARS],
    )


async def first_errors(pool: asyncpg.Pool, run_id: str, limit: int) -> list[dict[str, Any]]:
    """A few of the run's items with an error (the target's, or evaluators' by evaluator name), in item order."""
    records = await pool.fetch(
        "SELECT r.item_id, r.error, (SELECT jsonb_object_agg(coalesce(e.name, k.key), k.value) "
        "FROM jsonb_each_text(r.score_errors) AS k LEFT JOIN evaluators e ON e.evaluator_id = k.key)::text AS scores "
        "FROM experiment_results r WHERE r.run_id = $1 AND (r.error IS NOT NULL OR r.score_errors <> '{}') "
        "ORDER BY r.item_id LIMIT $2",
        run_id,
        limit,
    )
    return [
        {"item_id": record["item_id"], "error": record["error"], "score_errors": orjson.loads(record["scores"] or "{}")}
        for record in records
    ]
