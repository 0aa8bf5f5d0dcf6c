"""Evaluation over real PostgreSQL, with the fake judge playing both the models and Glassgate's proxy."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest

from glassgate.config import Settings
from glassgate.evals import base, runner
from glassgate.evals.jobs import Worker, evaluation_worker
from glassgate.storage import datasets, db, eval_runs
from glassgate.storage import evals as store
from tests.fakes.judge_server import FakeJudge
from tests.fakes.vendor_server import ServerThread


@pytest.fixture
def judge() -> Iterator[FakeJudge]:
    fake = FakeJudge(span_ids=True)
    server = ServerThread(fake.app()).start()
    fake.url = server.url
    yield fake
    server.stop()


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(database_url)
    yield created
    await created.close()


def eval_settings(database_url: str, proxy_url: str, **evals: Any) -> Settings:
    """Settings whose `openai` upstream is the fake (reached as if through the proxy), judge `judge-1`."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "upstreams": {"openai": {"vendor": "openai", "url": proxy_url}, "claude": {"vendor": "anthropic"}},
        "evals": {
            "judge": {"upstream": "openai", "model": "judge-1"},
            "proxy_url": proxy_url,
            "poll_interval_s": 0.05,
            "lease_s": 2,
            "rule_scan_interval_s": 0.2,
            **evals,
        },
    }
    return Settings(**values)


@pytest.fixture
def settings(database_url: str, judge: FakeJudge) -> Settings:
    return eval_settings(database_url, judge.url)


async def new_dataset(pool: asyncpg.Pool, name: str, items: Sequence[dict[str, Any]]) -> str:
    created = await datasets.create_dataset(pool, name, "")
    additions = [
        datasets.NewItem(
            input=item["input"], expected_output=item.get("expected_output"), metadata=item.get("metadata", {})
        )
        for item in items
    ]
    await datasets.apply_changes(pool, created["dataset_id"], datasets.Changes(add=additions), note="", author="test")
    return str(created["dataset_id"])


async def new_evaluator(pool: asyncpg.Pool, name: str, kind: str, params: dict[str, Any] | None = None) -> str:
    evaluator = base.create(kind, params or {})
    created = await store.create_evaluator(
        pool,
        name=name,
        evaluator_type=kind,
        kind=evaluator.kind,
        params=params or {},
        shape=runner.score_shape(evaluator),
    )
    return str(created["evaluator_id"])


@dataclass
class Experiment:
    experiment_id: str
    run_id: str
    evaluator_ids: list[str]


async def start_experiment(
    pool: asyncpg.Pool,
    dataset_id: str,
    evaluator_ids: list[str],
    *,
    model: str = "echo",
    name: str = "exp",
    **options: Any,
) -> Experiment:
    target = {"upstream": "openai", "model": model, "parameters": {}}
    target.update(options.pop("target", {}))
    experiment = await store.create_experiment(
        pool,
        name=name,
        dataset_id=dataset_id,
        dataset_version=None,
        target=target,
        evaluator_ids=evaluator_ids,
        **options,
    )
    run = await eval_runs.start_run(pool, experiment["experiment_id"], "test", 5)
    return Experiment(experiment["experiment_id"], run["run_id"], evaluator_ids)


async def wait_for_run(pool: asyncpg.Pool, run_id: str, timeout_s: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while True:
        run = await eval_runs.get_run(pool, run_id)
        if run["status"] != "running":
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still running after {timeout_s}s: {run}")
        await asyncio.sleep(0.05)


async def run_to_end(pool: asyncpg.Pool, settings: Settings, run_id: str, workers: int = 1) -> dict[str, Any]:
    started: list[Worker] = [evaluation_worker(pool, settings) for _ in range(workers)]
    for worker in started:
        worker.start()
    try:
        return await wait_for_run(pool, run_id)
    finally:
        for worker in started:
            await worker.stop()


async def scores_of_run(pool: asyncpg.Pool, run_id: str) -> list[asyncpg.Record]:
    records: list[asyncpg.Record] = await pool.fetch(
        "SELECT eval_key, span_id, value_number, value_text, comment, author, source FROM annotations "
        "WHERE eval_key LIKE $1 ORDER BY eval_key",
        f"run:{run_id}:%",
    )
    return records
