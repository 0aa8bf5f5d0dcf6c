"""Evaluators, online rules and experiments: what is evaluated, how and when (migration 0011).

An evaluator scores into a score config of its own name, created with it (or an existing
config of that name whose definition fits, so a judge can share a config with human
reviewers and their scores can be compared). Runs, results and scores are in eval_runs.py;
the job queue in eval_jobs.py.

Refusals use the annotation store's tree: NotFound (404), Invalid (422, naming the field),
Conflict (409).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import asyncpg
import orjson

from glassgate.storage.annotation_errors import Conflict, Invalid, NotFound
from glassgate.storage.score_configs import Category, check_definition, check_name

EvaluatorKind = Literal["code", "llm"]


@dataclass(frozen=True)
class ScoreShape:
    """The score config an evaluator's scores need: its kind, and its labels or range."""

    kind: Literal["numeric", "categorical", "boolean"]
    categories: tuple[Category, ...] = ()
    min_value: float | None = None
    max_value: float | None = None


def _json(value: Any) -> str:
    return orjson.dumps(value).replace(b"\\u0000", b"\\ufffd").decode()


def _decoded(record: asyncpg.Record, *names: str) -> dict[str, Any]:
    row = dict(record)
    for name in names:
        if row.get(name) is not None:
            row[name] = orjson.loads(row[name])
    return row


# --- evaluators ----------------------------------------------------------------------------------

_EVALUATOR = (
    "SELECT e.evaluator_id, e.name, e.evaluator_type, e.kind, e.params::text, e.judge_upstream, e.judge_model, "
    "e.config_id, c.kind AS score_kind, e.description, e.created_at FROM evaluators e JOIN score_configs c USING "
    "(config_id)"
)


def _evaluator(record: asyncpg.Record) -> dict[str, Any]:
    return _decoded(record, "params")


async def _config_for(connection: asyncpg.Connection, name: str, shape: ScoreShape, description: str) -> str:
    """The id of the config named `name`: an existing one that fits `shape`, or a new one."""
    categories = check_definition(shape.kind, shape.min_value, shape.max_value, shape.categories)
    record = await connection.fetchrow(
        "SELECT config_id, kind, min_value, max_value, categories::text, archived_at FROM score_configs "
        "WHERE name = $1 FOR SHARE",
        name,
    )
    if record is None:
        config_id = "sc_" + secrets.token_hex(8)
        await connection.execute(
            "INSERT INTO score_configs (config_id, name, kind, min_value, max_value, categories, description) "
            "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7)",
            config_id,
            name,
            shape.kind,
            shape.min_value,
            shape.max_value,
            _json([{"label": c.label, "value": c.value} for c in categories]),
            description,
        )
        return config_id
    existing = {(item["label"], float(item["value"])) for item in orjson.loads(record["categories"])}
    wanted = {(c.label, c.value) for c in categories}
    fits = record["kind"] == shape.kind and record["archived_at"] is None and wanted <= existing
    if shape.kind == "numeric":
        low, high = record["min_value"], record["max_value"]
        fits = fits and (low is None or (shape.min_value is not None and shape.min_value >= low))
        fits = fits and (high is None or (shape.max_value is not None and shape.max_value <= high))
    if not fits:
        raise Conflict(
            f"a score config named {name!r} exists ({record['kind']}{', archived' if record['archived_at'] else ''}) "
            f"that cannot hold this evaluator's {shape.kind} scores: choose another name"
        )
    return str(record["config_id"])


async def create_evaluator(
    pool: asyncpg.Pool,
    *,
    name: str,
    evaluator_type: str,
    kind: EvaluatorKind,
    params: Mapping[str, Any],
    shape: ScoreShape,
    judge_upstream: str | None = None,
    judge_model: str | None = None,
    description: str = "",
) -> dict[str, Any]:
    name = check_name(name)
    evaluator_id = "ev_" + secrets.token_hex(8)
    try:
        async with pool.acquire() as connection, connection.transaction():
            config_id = await _config_for(connection, name, shape, description or f"Scores of evaluator {name}")
            await connection.execute(
                "INSERT INTO evaluators (evaluator_id, name, evaluator_type, kind, params, judge_upstream, "
                "judge_model, config_id, description) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9)",
                evaluator_id,
                name,
                evaluator_type,
                kind,
                _json(dict(params)),
                judge_upstream,
                judge_model,
                config_id,
                description,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"an evaluator named {name!r} exists") from None
    return await get_evaluator(pool, evaluator_id)


async def list_evaluators(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    return [_evaluator(record) for record in await pool.fetch(f"{_EVALUATOR} ORDER BY e.name")]


async def get_evaluator(pool: asyncpg.Pool | asyncpg.Connection, evaluator_id: str) -> dict[str, Any]:
    record = await pool.fetchrow(f"{_EVALUATOR} WHERE e.evaluator_id = $1", evaluator_id)
    if record is None:
        raise NotFound("evaluator", evaluator_id)
    return _evaluator(record)


async def find_evaluator(pool: asyncpg.Pool, name: str) -> dict[str, Any] | None:
    record = await pool.fetchrow(f"{_EVALUATOR} WHERE e.name = $1", name)
    return _evaluator(record) if record is not None else None


async def get_evaluators(pool: asyncpg.Pool | asyncpg.Connection, evaluator_ids: Sequence[str]) -> list[dict[str, Any]]:
    """The evaluators named, in the order given; NotFound for an unknown id."""
    records = await pool.fetch(f"{_EVALUATOR} WHERE e.evaluator_id = ANY ($1::text[])", list(evaluator_ids))
    found = {record["evaluator_id"]: _evaluator(record) for record in records}
    for evaluator_id in evaluator_ids:
        if evaluator_id not in found:
            raise NotFound("evaluator", evaluator_id)
    return [found[evaluator_id] for evaluator_id in evaluator_ids]


async def update_evaluator(pool: asyncpg.Pool, evaluator_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change params, judge_upstream, judge_model or description (the caller checked the params)."""
    current = await get_evaluator(pool, evaluator_id)
    merged = {name: changes.get(name, current[name]) for name in ("params", "judge_upstream", "judge_model")}
    await pool.execute(
        "UPDATE evaluators SET params = $2::jsonb, judge_upstream = $3, judge_model = $4, description = $5 "
        "WHERE evaluator_id = $1",
        evaluator_id,
        _json(dict(merged["params"])),
        merged["judge_upstream"],
        merged["judge_model"],
        changes.get("description", current["description"]),
    )
    return await get_evaluator(pool, evaluator_id)


async def delete_evaluator(pool: asyncpg.Pool, evaluator_id: str) -> None:
    """Delete an evaluator no rule or experiment uses; its score config and scores stay."""
    async with pool.acquire() as connection, connection.transaction():
        await get_evaluator(connection, evaluator_id)
        users = await connection.fetch(
            "SELECT 'rule ' || name FROM eval_rules WHERE evaluator_id = $1 UNION ALL "
            "SELECT 'experiment ' || name FROM experiments WHERE $1 = ANY (evaluator_ids)",
            evaluator_id,
        )
        if users:
            raise Conflict(f"evaluator {evaluator_id!r} is used by {', '.join(r[0] for r in users)}")
        await connection.execute("DELETE FROM evaluators WHERE evaluator_id = $1", evaluator_id)


# --- experiments ---------------------------------------------------------------------------------

_EXPERIMENT = (
    "SELECT x.experiment_id, x.name, x.description, x.dataset_id, d.name AS dataset_name, x.dataset_version, "
    "x.target::text, x.evaluator_ids, x.concurrency, x.max_retries, x.cost_ceiling_usd, x.status, x.created_by, "
    "x.created_at, (SELECT count(*) FROM experiment_runs r WHERE r.experiment_id = x.experiment_id) AS run_count "
    "FROM experiments x LEFT JOIN datasets d USING (dataset_id)"
)


async def create_experiment(
    pool: asyncpg.Pool,
    *,
    name: str,
    dataset_id: str,
    dataset_version: int | None,
    target: Mapping[str, Any],
    evaluator_ids: Sequence[str],
    concurrency: int = 8,
    max_retries: int = 3,
    cost_ceiling_usd: float | None = None,
    description: str = "",
    created_by: str = "",
) -> dict[str, Any]:
    """An experiment on `dataset_version` (the latest when None: pinned now, whatever comes later)."""
    name = check_name(name)
    experiment_id = "exp_" + secrets.token_hex(8)
    try:
        async with pool.acquire() as connection, connection.transaction():
            latest = await connection.fetchval("SELECT latest_version FROM datasets WHERE dataset_id = $1", dataset_id)
            if latest is None:
                raise NotFound("dataset", dataset_id)
            version = latest if dataset_version is None else dataset_version
            if not 1 <= version <= latest:
                raise Invalid("dataset_version", f"version {version} does not exist (1 to {latest})")
            await get_evaluators(connection, evaluator_ids)
            await connection.execute(
                "INSERT INTO experiments (experiment_id, name, description, dataset_id, dataset_version, target, "
                "evaluator_ids, concurrency, max_retries, cost_ceiling_usd, created_by) "
                "VALUES ($1, $2, $3, $4, $5, $6::jsonb, $7, $8, $9, $10, $11)",
                experiment_id,
                name,
                description,
                dataset_id,
                version,
                _json(dict(target)),
                list(evaluator_ids),
                concurrency,
                max_retries,
                cost_ceiling_usd,
                created_by,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"an experiment named {name!r} exists") from None
    return await get_experiment(pool, experiment_id)


async def list_experiments(pool: asyncpg.Pool, dataset_id: str | None = None) -> list[dict[str, Any]]:
    records = await pool.fetch(
        f"{_EXPERIMENT} WHERE $1::text IS NULL OR x.dataset_id = $1 ORDER BY x.created_at DESC, x.experiment_id",
        dataset_id,
    )
    return [_decoded(record, "target") for record in records]


async def get_experiment(pool: asyncpg.Pool | asyncpg.Connection, experiment_id: str) -> dict[str, Any]:
    record = await pool.fetchrow(f"{_EXPERIMENT} WHERE x.experiment_id = $1", experiment_id)
    if record is None:
        raise NotFound("experiment", experiment_id)
    return _decoded(record, "target")


async def find_experiment(pool: asyncpg.Pool, name: str) -> dict[str, Any] | None:
    record = await pool.fetchrow(f"{_EXPERIMENT} WHERE x.name = $1", name)
    return _decoded(record, "target") if record is not None else None


async def delete_experiment(pool: asyncpg.Pool, experiment_id: str) -> None:
    """The experiment, its runs, results and jobs; the scores stay on their spans."""
    result = await pool.execute("DELETE FROM experiments WHERE experiment_id = $1", experiment_id)
    if result.endswith(" 0"):
        raise NotFound("experiment", experiment_id)
