"""Runs compared side by side with their timings: a streamed run's time to first token (per item, and
p50/p95 per run) next to its latency, and null TTFT for a run that was not streamed; storage and API.

The results are stored as a worker would store them (`store_outcome`), with chosen timings, so the
percentiles are exact; the targets that really stream and time their first token are tested in
test_proxy_targets.py.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

import asyncpg
import httpx
import pytest

from glassgate.api.app import create_api
from glassgate.api.eval_models import Comparison, RunSummary
from glassgate.storage import eval_compare, eval_runs
from glassgate.storage.eval_runs import TargetOutcome
from tests.integration.evals.conftest import new_dataset, start_experiment

TOKEN = "test-admin-token"
ITEMS = [{"input": f"q{n}"} for n in range(5)]
LATENCIES = [100.0, 200.0, 300.0, 400.0, 500.0]
TTFTS = [10.0, 20.0, 30.0, 40.0, 50.0]


@pytest.fixture
async def http(pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    api = create_api(TOKEN)
    api.state.pool = pool
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=api),
        base_url="http://glassgate",
        headers={"Authorization": f"Bearer {TOKEN}"},
    ) as client:
        yield client


async def stored_run(
    pool: asyncpg.Pool, dataset_id: str, name: str, *, stream: bool, ttfts: Sequence[float | None]
) -> tuple[str, str]:
    """(experiment id, run id) of a run whose items have these latencies and times to first token."""
    experiment = await start_experiment(pool, dataset_id, [], name=name, target={"stream": stream})
    items = await pool.fetch(
        "SELECT item_id, valid_from FROM dataset_items WHERE dataset_id = $1 ORDER BY item_id", dataset_id
    )
    for item, latency, ttft in zip(items, LATENCIES, ttfts, strict=True):
        outcome = TargetOutcome(output=f"answer {item['item_id']}", latency_ms=latency, ttft_ms=ttft)
        await eval_runs.store_outcome(pool, experiment.run_id, item["item_id"], item["valid_from"], outcome)
    return experiment.experiment_id, experiment.run_id


async def streamed_and_plain(pool: asyncpg.Pool) -> tuple[tuple[str, str], tuple[str, str]]:
    dataset_id = await new_dataset(pool, "timed", ITEMS)
    streamed = await stored_run(pool, dataset_id, "streamed", stream=True, ttfts=TTFTS)
    plain = await stored_run(pool, dataset_id, "plain", stream=False, ttfts=[None] * len(ITEMS))
    return streamed, plain


def timings(run: dict[str, Any]) -> tuple[Any, ...]:
    return (run["latency_p50_ms"], run["latency_p95_ms"], run["ttft_p50_ms"], run["ttft_p95_ms"])


async def test_the_comparison_has_each_runs_ttft_per_item_and_its_percentiles(pool: asyncpg.Pool) -> None:
    (_, streamed), (_, plain) = await streamed_and_plain(pool)

    compared = await eval_compare.compare(pool, [streamed, plain], 100, None)

    # percentile_cont interpolates: p95 of 10..50 is 40 + 0.8 * 10.
    assert timings(compared["runs"][0]) == (300.0, pytest.approx(480.0), 30.0, pytest.approx(48.0))
    assert timings(compared["runs"][1]) == (300.0, pytest.approx(480.0), None, None)
    assert [run["target"]["stream"] for run in compared["runs"]] == [True, False]
    per_item = [[result["ttft_ms"] for result in item["results"]] for item in compared["items"]]
    assert per_item == [[ttft, None] for ttft in TTFTS]
    assert [item["results"][0]["latency_ms"] for item in compared["items"]] == LATENCIES


async def test_a_run_without_results_has_no_ttft_yet(pool: asyncpg.Pool) -> None:
    dataset_id = await new_dataset(pool, "empty", ITEMS)
    experiment = await start_experiment(pool, dataset_id, [], name="waiting", target={"stream": True})

    summary = await eval_compare.run_summary(pool, experiment.run_id)

    assert (summary["item_count"], summary["ttft_p50_ms"], summary["ttft_p95_ms"]) == (5, None, None)


async def test_the_api_compares_and_documents_the_ttft(pool: asyncpg.Pool, http: httpx.AsyncClient) -> None:
    (experiment_id, streamed), (_, plain) = await streamed_and_plain(pool)

    response = await http.get("/api/v1/experiments/compare", params=[("run", plain), ("run", streamed)])

    assert response.status_code == 200, response.text
    compared = response.json()
    Comparison.model_validate(compared)  # sent without FastAPI's check: it must still fit its model
    assert [(run["ttft_p50_ms"], run["ttft_p95_ms"]) for run in compared["runs"]] == [
        (None, None),
        (30.0, pytest.approx(48.0)),
    ]
    assert [item["results"][1]["ttft_ms"] for item in compared["items"]] == TTFTS
    assert {item["results"][0]["ttft_ms"] for item in compared["items"]} == {None}

    summary = await http.get(f"/api/v1/experiments/{experiment_id}/runs/{streamed}")
    assert summary.status_code == 200, summary.text
    assert RunSummary.model_validate(summary.json()).ttft_p95_ms == pytest.approx(48.0)

    schemas = (await http.get("/api/v1/openapi.json")).json()["components"]["schemas"]
    for field in ("ttft_p50_ms", "ttft_p95_ms", "latency_p50_ms", "latency_p95_ms"):
        assert field in schemas["Run"]["required"], field
    assert "not streamed" in schemas["Run"]["properties"]["ttft_p95_ms"]["description"]
    assert "ttft_ms" in schemas["RunResult"]["required"]
