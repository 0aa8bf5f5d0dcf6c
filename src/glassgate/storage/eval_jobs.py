"""The evaluation job queue (table `eval_jobs`, migration 0011), shared by any number of workers.

A job is claimed with `FOR UPDATE SKIP LOCKED`, so workers claiming at the same moment never
get the same job, and held through a lease (`lease_owner`, `lease_until`) that its worker
renews while it works. A job whose lease ran out, because its worker died or hung, is claimed
again by whoever looks next; each claim counts an attempt, and a job claimed `max_attempts`
times without finishing fails. Finishing names the lease owner: a worker that lost its lease
cannot finish (or fail) a job another worker holds now. The work itself must be idempotent
(its writes are keyed by unique constraints), since a job may run to its end twice.

Experiment items carry their run's id: a run's concurrency limit counts its live leases
across every worker, and claims of one run's jobs are serialised on the run's row, so the
count is exact. `idempotency_key` is unique: enqueueing the same work twice adds one job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import asyncpg
import orjson

Status = Literal["pending", "running", "done", "failed", "cancelled"]
FinalStatus = Literal["done", "failed", "cancelled"]


@dataclass(frozen=True)
class Job:
    job_id: int
    kind: str
    payload: Mapping[str, Any]
    run_id: str | None
    attempts: int  # including this one
    max_attempts: int


@dataclass(frozen=True)
class NewJob:
    kind: str
    payload: Mapping[str, Any]
    idempotency_key: str
    run_id: str | None = None
    delay_s: float = 0.0


_RETURNING = "job_id, kind, payload::text, run_id, attempts, max_attempts"
# Runs whose live leases already fill their concurrency: none of their jobs is claimed now.
_SATURATED = (
    "SELECT j.run_id FROM eval_jobs j JOIN experiment_runs r USING (run_id) JOIN experiments e USING (experiment_id) "
    "WHERE j.status = 'running' AND j.lease_until > now() GROUP BY j.run_id, e.concurrency "
    "HAVING count(*) >= e.concurrency"
)
_READY = (
    "SELECT job_id, run_id FROM eval_jobs WHERE status = 'pending' AND run_after <= now() "
    f"AND (run_id IS NULL OR run_id NOT IN ({_SATURATED})) {{only}} "
    "ORDER BY run_after, job_id LIMIT $1 FOR UPDATE SKIP LOCKED"
)
_EXPIRED = (
    "SELECT job_id, run_id, attempts >= max_attempts AS exhausted FROM eval_jobs "
    "WHERE status = 'running' AND lease_until < now() {only} ORDER BY lease_until LIMIT $1 FOR UPDATE SKIP LOCKED"
)
_RUN_ROOM = (
    "SELECT r.run_id, e.concurrency - (SELECT count(*) FROM eval_jobs j WHERE j.run_id = r.run_id "
    "AND j.status = 'running' AND j.lease_until > now()) AS room "
    "FROM experiment_runs r JOIN experiments e USING (experiment_id) WHERE r.run_id = ANY ($1::text[]) "
    "ORDER BY r.run_id FOR NO KEY UPDATE OF r"
)
_TAKE = (
    "UPDATE eval_jobs SET status = 'running', attempts = attempts + 1, lease_owner = $2, "
    "lease_until = now() + make_interval(secs => $3) WHERE job_id = ANY ($1::bigint[]) "
    f"RETURNING {_RETURNING}"
)


def _job(record: asyncpg.Record) -> Job:
    return Job(
        job_id=record["job_id"],
        kind=record["kind"],
        payload=orjson.loads(record["payload"]),
        run_id=record["run_id"],
        attempts=record["attempts"],
        max_attempts=record["max_attempts"],
    )


async def enqueue(connection: asyncpg.Connection | asyncpg.Pool, jobs: Sequence[NewJob], max_attempts: int = 5) -> int:
    """Add the jobs whose idempotency keys are new; returns how many were added."""
    if not jobs:
        return 0
    added = await connection.fetchval(
        "WITH added AS (INSERT INTO eval_jobs (kind, payload, idempotency_key, run_id, run_after, max_attempts) "
        "SELECT u.kind, u.payload::jsonb, u.key, u.run_id, now() + make_interval(secs => u.delay), $6 FROM "
        "unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::float8[]) AS u(kind, payload, key, run_id, delay) "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1) SELECT count(*) FROM added",
        [job.kind for job in jobs],
        [orjson.dumps(dict(job.payload)).decode() for job in jobs],
        [job.idempotency_key for job in jobs],
        [job.run_id for job in jobs],
        [job.delay_s for job in jobs],
        max_attempts,
    )
    return int(added)


async def claim(
    pool: asyncpg.Pool, owner: str, limit: int, lease_s: float, only_run: str | None = None
) -> tuple[list[Job], list[Job]]:
    """Take up to `limit` jobs for `owner`: (claimed, exhausted).

    Jobs whose lease expired come first; those already tried `max_attempts` times are not
    run again but returned as exhausted (marked failed here) so the caller can record why.
    `only_run` restricts the claim to one experiment run's jobs (the CLI's own worker).
    """
    only = "AND run_id = $2" if only_run is not None else ""
    extra = [only_run] if only_run is not None else []
    async with pool.acquire() as connection, connection.transaction():
        expired = await connection.fetch(_EXPIRED.format(only=only), limit, *extra)
        exhausted_ids = [record["job_id"] for record in expired if record["exhausted"]]
        candidates = [record for record in expired if not record["exhausted"]]
        if len(candidates) < limit:
            candidates += await connection.fetch(_READY.format(only=only), limit - len(candidates), *extra)
        chosen = await _within_run_limits(connection, candidates)
        claimed = await connection.fetch(_TAKE, chosen, owner, lease_s) if chosen else []
        exhausted = []
        if exhausted_ids:
            exhausted = await connection.fetch(
                "UPDATE eval_jobs SET status = 'failed', finished_at = now(), lease_owner = NULL, lease_until = NULL, "
                "last_error = coalesce(last_error, 'its worker stopped before finishing it') "
                f"WHERE job_id = ANY ($1::bigint[]) RETURNING {_RETURNING}",
                exhausted_ids,
            )
    return sorted((_job(record) for record in claimed), key=lambda job: job.job_id), [_job(r) for r in exhausted]


async def _within_run_limits(connection: asyncpg.Connection, candidates: Sequence[asyncpg.Record]) -> list[int]:
    """The candidates' ids, leaving out jobs of runs that have no room for more live leases."""
    run_ids = sorted({record["run_id"] for record in candidates if record["run_id"] is not None})
    room: dict[str, int] = {}
    if run_ids:
        # Locking the runs' rows (in one order: no deadlock) makes concurrent claims of a run
        # take turns, so each counts the leases the others just took.
        room = {record["run_id"]: record["room"] for record in await connection.fetch(_RUN_ROOM, run_ids)}
    chosen = []
    for record in candidates:
        run_id = record["run_id"]
        if run_id is not None:
            if room.get(run_id, 0) <= 0:
                continue
            room[run_id] -= 1
        chosen.append(record["job_id"])
    return chosen


async def renew(pool: asyncpg.Pool, owner: str, job_ids: Sequence[int], lease_s: float) -> set[int]:
    """Extend the leases `owner` still holds; returns the ids it holds (a lost lease is left out)."""
    if not job_ids:
        return set()
    records = await pool.fetch(
        "UPDATE eval_jobs SET lease_until = now() + make_interval(secs => $3) "
        "WHERE job_id = ANY ($1::bigint[]) AND lease_owner = $2 AND status = 'running' RETURNING job_id",
        list(job_ids),
        owner,
        lease_s,
    )
    return {record[0] for record in records}


async def finish(
    connection: asyncpg.Connection | asyncpg.Pool,
    job_id: int,
    owner: str,
    status: FinalStatus = "done",
    error: str | None = None,
) -> bool:
    """End a job `owner` holds; False when the lease went to another worker meanwhile."""
    result = await connection.execute(
        "UPDATE eval_jobs SET status = $3, last_error = coalesce($4, last_error), finished_at = now(), "
        "lease_owner = NULL, lease_until = NULL WHERE job_id = $1 AND lease_owner = $2 AND status = 'running'",
        job_id,
        owner,
        status,
        error,
    )
    return bool(result.endswith(" 1"))


async def retry_later(pool: asyncpg.Pool, job_id: int, owner: str, delay_s: float, error: str) -> bool:
    """Give a held job back to the queue, to run again after `delay_s`."""
    result = await pool.execute(
        "UPDATE eval_jobs SET status = 'pending', run_after = now() + make_interval(secs => $3), last_error = $4, "
        "lease_owner = NULL, lease_until = NULL WHERE job_id = $1 AND lease_owner = $2 AND status = 'running'",
        job_id,
        owner,
        delay_s,
        error,
    )
    return bool(result.endswith(" 1"))


async def release(pool: asyncpg.Pool, owner: str, job_ids: Sequence[int]) -> None:
    """Hand jobs back untried (a worker stopping): others may claim them at once, attempt not counted."""
    if job_ids:
        await pool.execute(
            "UPDATE eval_jobs SET status = 'pending', attempts = greatest(attempts - 1, 0), lease_owner = NULL, "
            "lease_until = NULL WHERE job_id = ANY ($1::bigint[]) AND lease_owner = $2 AND status = 'running'",
            list(job_ids),
            owner,
        )


async def cancel_run_jobs(connection: asyncpg.Connection | asyncpg.Pool, run_id: str, reason: str) -> int:
    """Cancel a run's jobs that nobody runs yet; returns how many."""
    result = await connection.execute(
        "UPDATE eval_jobs SET status = 'cancelled', finished_at = now(), last_error = $2 "
        "WHERE run_id = $1 AND status = 'pending'",
        run_id,
        reason,
    )
    return int(result.rsplit(" ", 1)[1])


async def counts(pool: asyncpg.Pool) -> dict[str, int]:
    """Jobs by status (for metrics and tests)."""
    records = await pool.fetch("SELECT status, count(*) FROM eval_jobs GROUP BY status")
    return {record[0]: record[1] for record in records}


async def prune(pool: asyncpg.Pool, older_than: timedelta) -> int:
    """Delete finished jobs that belong to no run (online ones) after `older_than`; runs keep theirs."""
    result = await pool.execute(
        "DELETE FROM eval_jobs WHERE finished_at < now() - $1::interval AND run_id IS NULL", older_than
    )
    return int(result.rsplit(" ", 1)[1])


def describe(job: Job) -> str:
    return f"{job.kind} job {job.job_id} ({orjson.dumps(dict(job.payload)).decode()})"


def payload_text(payload: Mapping[str, Any], key: str) -> str:
    value = payload.get(key)
    if not isinstance(value, str):
        raise ValueError(f"job payload has no {key!r}")
    return value
