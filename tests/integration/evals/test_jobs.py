"""The job queue over real PostgreSQL: claims, leases, retries, run limits, and workers that die or share."""

from __future__ import annotations

import asyncio

import asyncpg

from glassgate.config import Settings
from glassgate.evals.jobs import JobKind, Worker, evaluation_worker
from glassgate.storage import eval_jobs
from glassgate.storage.eval_jobs import Job, NewJob
from tests.fakes.judge_server import FakeJudge
from tests.integration.evals.conftest import (
    new_dataset,
    new_evaluator,
    run_to_end,
    scores_of_run,
    start_experiment,
    wait_for_run,
)


def jobs(count: int, kind: str = "test") -> list[NewJob]:
    return [NewJob(kind, {"n": n}, f"{kind}:{n}") for n in range(count)]


async def test_enqueueing_the_same_key_twice_adds_one_job(pool: asyncpg.Pool) -> None:
    assert await eval_jobs.enqueue(pool, jobs(5)) == 5
    assert await eval_jobs.enqueue(pool, jobs(7)) == 2
    assert await eval_jobs.counts(pool) == {"pending": 7}


async def test_concurrent_claims_never_share_a_job(pool: asyncpg.Pool) -> None:
    await eval_jobs.enqueue(pool, jobs(50))
    claims = await asyncio.gather(*(eval_jobs.claim(pool, f"w{n}", 10, 30) for n in range(8)))
    claimed = [job.job_id for got, _ in claims for job in got]
    assert len(claimed) == len(set(claimed)) == 50


async def test_an_expired_lease_is_claimed_again_and_its_old_owner_cannot_finish(pool: asyncpg.Pool) -> None:
    await eval_jobs.enqueue(pool, jobs(1))
    (first,), _ = await eval_jobs.claim(pool, "dead", 5, 0.2)
    assert (await eval_jobs.claim(pool, "other", 5, 30))[0] == []  # leased
    await asyncio.sleep(0.3)
    (again,), _ = await eval_jobs.claim(pool, "other", 5, 30)
    assert again.job_id == first.job_id and again.attempts == 2
    assert await eval_jobs.renew(pool, "dead", [first.job_id], 30) == set()
    assert not await eval_jobs.finish(pool, first.job_id, "dead")
    assert await eval_jobs.finish(pool, again.job_id, "other")
    assert await eval_jobs.counts(pool) == {"done": 1}


async def test_a_job_whose_workers_keep_dying_fails_after_max_attempts(pool: asyncpg.Pool) -> None:
    await eval_jobs.enqueue(pool, jobs(1), max_attempts=2)
    for _ in range(2):
        claimed, exhausted = await eval_jobs.claim(pool, "dying", 5, 0.05)
        assert len(claimed) == 1 and exhausted == []
        await asyncio.sleep(0.1)
    claimed, exhausted = await eval_jobs.claim(pool, "dying", 5, 0.05)
    assert claimed == [] and [job.attempts for job in exhausted] == [2]
    failed = await pool.fetchrow("SELECT status, last_error FROM eval_jobs")
    assert failed["status"] == "failed" and "stopped before finishing" in failed["last_error"]


async def test_a_worker_retries_failures_with_backoff_and_fails_what_cannot_succeed(pool: asyncpg.Pool) -> None:
    seen: list[int] = []

    async def run(job: Job) -> None:
        seen.append(job.attempts)
        if job.payload["n"] == 0 and job.attempts < 3:
            raise OSError("the database blinked")
        if job.payload["n"] == 1:
            from glassgate.evals.jobs import JobFailed

            raise JobFailed("this input can never work")

    await eval_jobs.enqueue(pool, jobs(3))
    async with Worker(pool, {"test": JobKind(run)}, poll_s=0.02, backoff_s=0.01):
        async with asyncio.timeout(30):  # a bound for a slow host; a few tenths of a second here usually
            while True:
                counts = await eval_jobs.counts(pool)
                if counts.get("pending", 0) + counts.get("running", 0) == 0:
                    break
                await asyncio.sleep(0.02)
    rows = {
        r["n"]: r for r in await pool.fetch("SELECT payload->>'n' AS n, status, attempts, last_error FROM eval_jobs")
    }
    assert (rows["0"]["status"], rows["0"]["attempts"]) == ("done", 3)
    assert (rows["1"]["status"], rows["1"]["last_error"]) == ("failed", "this input can never work")
    assert (rows["2"]["status"], rows["2"]["attempts"]) == ("done", 1)


async def test_a_runs_concurrency_limit_holds_across_workers(
    pool: asyncpg.Pool, settings: Settings, judge: FakeJudge
) -> None:
    dataset_id = await new_dataset(pool, "slow", [{"input": f"q{n}"} for n in range(12)])
    evaluator = await new_evaluator(pool, "contains-q", "contains", {"values": ["q"]})
    experiment = await start_experiment(pool, dataset_id, [evaluator], model="slow-echo", concurrency=3)
    run = await run_to_end(pool, settings, experiment.run_id, workers=2)
    assert (run["status"], run["done"]) == ("completed", 12)
    assert judge.max_in_flight == 3


async def test_two_workers_share_one_queue_and_score_each_item_once(
    pool: asyncpg.Pool, settings: Settings, judge: FakeJudge
) -> None:
    dataset_id = await new_dataset(pool, "shared", [{"input": f"q{n}", "expected_output": f"q{n}"} for n in range(30)])
    evaluators = [
        await new_evaluator(pool, "exact", "exact_match"),
        await new_evaluator(pool, "correct", "correctness"),
    ]
    # Each worker runs 4 jobs at once and the run allows 16: it takes both to keep the run busy.
    experiment = await start_experiment(pool, dataset_id, evaluators, model="slow-echo", concurrency=16)
    small = settings.model_copy(update={"evals": settings.evals.model_copy(update={"concurrency": 4})})
    workers = [evaluation_worker(pool, small), evaluation_worker(pool, small)]
    for worker in workers:
        worker.start()
    try:
        run = await wait_for_run(pool, experiment.run_id)
    finally:
        for worker in workers:
            await worker.stop()
    assert (run["status"], run["done"], run["errors"]) == ("completed", 30, 0)
    done = [worker.counters.done for worker in workers]
    assert sum(done) == 30 and min(done) > 0, done
    scores = await scores_of_run(pool, experiment.run_id)
    assert len(scores) == len({score["eval_key"] for score in scores}) == 60
    assert len(judge.requests_for("slow-echo")) == 30


async def test_a_dead_workers_items_are_finished_by_another_and_scored_once(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    dataset_id = await new_dataset(pool, "crash", [{"input": f"q{n}", "expected_output": f"q{n}"} for n in range(10)])
    evaluator = await new_evaluator(pool, "exact", "exact_match")
    experiment = await start_experiment(pool, dataset_id, [evaluator], concurrency=10)
    # A worker claims four items and dies without a word: its leases simply run out.
    held, _ = await eval_jobs.claim(pool, "dead-worker", 4, 0.5)
    assert len(held) == 4
    run = await run_to_end(pool, settings, experiment.run_id)
    assert (run["status"], run["done"]) == ("completed", 10)
    assert len(await scores_of_run(pool, experiment.run_id)) == 10
    attempts = await pool.fetch("SELECT attempts FROM eval_jobs WHERE run_id = $1 ORDER BY job_id", experiment.run_id)
    assert sorted(record[0] for record in attempts) == [1] * 6 + [2] * 4


async def test_a_job_that_ran_twice_writes_once(pool: asyncpg.Pool, settings: Settings, judge: FakeJudge) -> None:
    dataset_id = await new_dataset(pool, "twice", [{"input": "q", "expected_output": "q"}])
    evaluator = await new_evaluator(pool, "correct", "correctness")
    experiment = await start_experiment(pool, dataset_id, [evaluator])
    await run_to_end(pool, settings, experiment.run_id)
    # Run the finished job's work again, as a worker whose lease had expired would.
    await pool.execute(
        "UPDATE eval_jobs SET status = 'pending', run_after = now() WHERE run_id = $1", experiment.run_id
    )
    await pool.execute("UPDATE experiment_runs SET status = 'running' WHERE run_id = $1", experiment.run_id)
    await pool.execute("UPDATE experiment_results SET scored_at = NULL WHERE run_id = $1", experiment.run_id)
    await pool.execute("DELETE FROM annotations WHERE eval_key LIKE $1", f"run:{experiment.run_id}:%")
    await run_to_end(pool, settings, experiment.run_id)
    assert len(judge.requests_for("echo")) == 1  # the stored output was reused, not asked again
    assert len(judge.requests_for("judge")) == 2  # the missing score was asked again
    assert len(await scores_of_run(pool, experiment.run_id)) == 1


async def test_stopping_a_worker_hands_its_jobs_back_untried(pool: asyncpg.Pool, settings: Settings) -> None:
    dataset_id = await new_dataset(pool, "stop", [{"input": f"q{n}"} for n in range(6)])
    evaluator = await new_evaluator(pool, "contains-q", "contains", {"values": ["q"]})
    experiment = await start_experiment(pool, dataset_id, [evaluator], model="slow-echo", concurrency=6)
    worker = evaluation_worker(pool, settings)
    worker.grace_s = 0.0
    worker.start()
    for _ in range(100):
        if worker.in_flight == 6:
            break
        await asyncio.sleep(0.01)
    await worker.stop()
    assert worker.counters.released == 6
    rows = await pool.fetch("SELECT status, attempts, lease_owner FROM eval_jobs WHERE run_id = $1", experiment.run_id)
    assert {(r["status"], r["attempts"], r["lease_owner"]) for r in rows} == {("pending", 0, None)}
    run = await run_to_end(pool, settings, experiment.run_id)
    assert (run["status"], run["done"]) == ("completed", 6)
