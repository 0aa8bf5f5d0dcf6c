"""The evaluation worker: claims jobs from PostgreSQL, runs them, and keeps its leases alive.

One loop, the same in the serving process (started by the app when `evals.worker` is on)
and in `glassgate worker` on other hosts:

    claim (FOR UPDATE SKIP LOCKED, up to `concurrency` jobs at once) ─► run each as a task
        done            ─► finished
        JobFailed       ─► failed, with its message (the job's own content is at fault)
        anything else   ─► back in the queue after a backoff; after max_attempts, failed
    every lease_s / 3   ─► renew the leases of the jobs in flight
    periodic tasks      ─► online rules look for new spans; runs nobody ended are ended

A worker that dies leaves its leases to expire: whoever claims next takes those jobs again.
Jobs are written to be idempotent (storage.eval_runs), so one that ran twice writes once.
`stop()` stops claiming, lets the jobs in flight finish for a grace period, then hands the
rest back untried so another worker takes them at once.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import socket
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import TYPE_CHECKING

import asyncpg

from glassgate.background import being_cancelled
from glassgate.storage import db, eval_jobs
from glassgate.storage.eval_jobs import Job

if TYPE_CHECKING:
    from glassgate.config import Settings

log = logging.getLogger(__name__)
MAX_BACKOFF_S = 300.0


class JobFailed(Exception):
    """The job cannot succeed (its input is at fault): fail it now, with this message, untried again."""


class JobCancelled(Exception):
    """The job's work is no longer wanted (its run was cancelled or stopped)."""


class RetryLater(Exception):
    """Not yet (the span is not stored yet, the judge is down): try again after `delay_s`."""

    def __init__(self, message: str, delay_s: float = 5.0) -> None:
        super().__init__(message)
        self.delay_s = delay_s


@dataclass(frozen=True)
class JobKind:
    """How to run one kind of job, and what to record when it is given up on."""

    run: Callable[[Job], Awaitable[None]]
    give_up: Callable[[Job, str], Awaitable[None]] | None = None
    after: Callable[[Job], Awaitable[None]] | None = None  # once the job has ended, whichever way


@dataclass(frozen=True)
class Periodic:
    interval_s: float
    run: Callable[[], Awaitable[None]]
    name: str


@dataclass
class Counters:
    claimed: int = 0
    done: int = 0
    failed: int = 0
    retried: int = 0
    released: int = 0


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{os.urandom(3).hex()}"


@dataclass
class Worker:
    pool: asyncpg.Pool
    kinds: Mapping[str, JobKind]
    concurrency: int = 16
    lease_s: float = 60.0
    poll_s: float = 0.5
    periodic: Sequence[Periodic] = ()
    only_run: str | None = None  # claim this run's jobs only (the CLI's own worker)
    grace_s: float = 10.0
    backoff_s: float = 2.0
    owner: str = field(default_factory=worker_name)
    counters: Counters = field(default_factory=Counters)
    on_close: Callable[[], Awaitable[None]] | None = None  # releases what the job kinds hold (HTTP sessions)

    def __post_init__(self) -> None:
        self._running: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    @property
    def in_flight(self) -> int:
        return len(self._running)

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._claim_loop(), name="eval-worker-claims"),
            asyncio.create_task(self._heartbeat(), name="eval-worker-leases"),
            *(asyncio.create_task(self._every(task), name=f"eval-worker-{task.name}") for task in self.periodic),
        ]
        log.info("evaluation worker %s started (%d at once)", self.owner, self.concurrency)

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if not self._tasks:
            return
        # The claim loop ends by itself at its next turn: cancelling it mid-claim could leave
        # jobs leased to this worker with nobody working on them until their leases expire.
        claims, *others = self._tasks
        _, late = await asyncio.wait({claims}, timeout=self.grace_s)
        for task in late:
            task.cancel()
        await asyncio.gather(claims, return_exceptions=True)
        if self._running:
            _, pending = await asyncio.wait(set(self._running.values()), timeout=self.grace_s)
            unfinished = [job_id for job_id, task in self._running.items() if task in pending]
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            try:
                await eval_jobs.release(self.pool, self.owner, unfinished)
                self.counters.released += len(unfinished)
            except db.UNAVAILABLE as exc:
                log.warning("could not hand back %d jobs (their leases will expire): %s", len(unfinished), exc)
        for task in others:
            task.cancel()  # the leases are renewed until the jobs in flight have ended
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self.on_close is not None:
            await self.on_close()
        log.info("evaluation worker %s stopped: %s", self.owner, self.counters)

    async def __aenter__(self) -> Worker:
        self.start()
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        await self.stop()

    async def _claim_loop(self) -> None:
        failures = 0
        # Claims come in batches: a claim is a transaction of several statements, too much to pay
        # for each job that ends. While jobs run, the loop waits for a quarter of its slots to
        # free up (or for the poll interval) before it claims again.
        batch = max(1, self.concurrency // 4)
        waited = False
        while not self._stopping:
            room = self.concurrency - len(self._running)
            claimed: list[Job] = []
            if room >= batch or (room > 0 and (waited or not self._running)):
                try:
                    claimed, exhausted = await eval_jobs.claim(self.pool, self.owner, room, self.lease_s, self.only_run)
                except db.UNAVAILABLE as exc:
                    failures += 1
                    log.warning("claiming evaluation jobs failed (%s); trying again", exc)
                    await asyncio.sleep(min(self.backoff_s * 2**failures, 30.0))
                    continue
                failures = 0
                for job in exhausted:
                    await self._give_up(job, "its worker stopped before finishing it, too many times")
                for job in claimed:
                    self.counters.claimed += 1
                    task = asyncio.create_task(self._run(job), name=f"eval-job-{job.job_id}")
                    self._running[job.job_id] = task
                    task.add_done_callback(functools.partial(self._done, job.job_id))
            if claimed and len(self._running) < self.concurrency:
                continue  # more may be ready
            self._wake.clear()
            waited = False
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll_s)
            except TimeoutError:
                waited = True

    def _done(self, job_id: int, _: asyncio.Task[None]) -> None:
        self._running.pop(job_id, None)
        self._wake.set()

    async def _run(self, job: Job) -> None:
        kind = self.kinds.get(job.kind)
        try:
            if kind is None:
                raise JobFailed(f"no worker knows jobs of kind {job.kind!r}")
            await kind.run(job)
        except asyncio.CancelledError:
            raise
        except JobFailed as exc:
            await self._finish(job, "failed", str(exc))
        except JobCancelled as exc:
            await self._finish(job, "cancelled", str(exc))
        except Exception as exc:  # whatever stopped the job is recorded on it, and it is retried
            if being_cancelled():  # stopping, reworded by a library's clean-up: the lease lapses, another takes it
                raise asyncio.CancelledError from exc
            await self._retry(job, exc)
        else:
            await self._finish(job, "done")

    async def _retry(self, job: Job, exc: Exception) -> None:
        message = f"{type(exc).__name__}: {exc}"
        if job.attempts >= job.max_attempts:
            log.warning("giving up %s after %d attempts: %s", eval_jobs.describe(job), job.attempts, message)
            await self._give_up(job, f"gave up after {job.attempts} attempts (last: {message})")
            return
        if not isinstance(exc, (RetryLater, *db.UNAVAILABLE)):
            log.warning("%s failed (attempt %d), will retry: %s", eval_jobs.describe(job), job.attempts, message)
        delay = exc.delay_s if isinstance(exc, RetryLater) else min(self.backoff_s * 2**job.attempts, MAX_BACKOFF_S)
        try:
            if await eval_jobs.retry_later(self.pool, job.job_id, self.owner, delay, message):
                self.counters.retried += 1
        except db.UNAVAILABLE as error:
            log.warning("could not reschedule job %d (its lease will expire): %s", job.job_id, error)

    async def _give_up(self, job: Job, message: str) -> None:
        kind = self.kinds.get(job.kind)
        try:
            if kind is not None and kind.give_up is not None:
                await kind.give_up(job, message)
            await self._finish(job, "failed", message)
        except db.UNAVAILABLE as exc:
            log.warning("could not record that job %d was given up: %s", job.job_id, exc)

    async def _finish(self, job: Job, status: eval_jobs.FinalStatus, error: str | None = None) -> None:
        try:
            finished = await eval_jobs.finish(self.pool, job.job_id, self.owner, status, error)
        except db.UNAVAILABLE as exc:
            log.warning(
                "could not mark job %d %s (it will run again; its writes are idempotent): %s", job.job_id, status, exc
            )
            return
        if status == "done":
            self.counters.done += 1
        else:
            self.counters.failed += 1
        if not finished:
            log.info("job %d was finished by a worker that took over its expired lease", job.job_id)
        kind = self.kinds.get(job.kind)
        if kind is not None and kind.after is not None:
            try:
                await kind.after(job)
            except db.UNAVAILABLE as exc:
                log.warning("after job %d: %s (the periodic sweep will see to it)", job.job_id, exc)

    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(self.lease_s / 3)
            try:
                held = await eval_jobs.renew(self.pool, self.owner, list(self._running), self.lease_s)
            except db.UNAVAILABLE as exc:
                log.warning("renewing evaluation job leases failed: %s", exc)
                continue
            lost = set(self._running) - held
            if lost:
                log.info("lost the leases of jobs %s (another worker took them over)", sorted(lost))

    async def _every(self, task: Periodic) -> None:
        while True:
            try:
                await task.run()
            except Exception as exc:
                if being_cancelled():
                    raise asyncio.CancelledError from exc
                if isinstance(exc, db.UNAVAILABLE):  # an outage: said once per round, without a traceback
                    log.warning(
                        "evaluation task %s failed (%s: %s); the next round tries again",
                        task.name,
                        type(exc).__name__,
                        exc,
                    )
                else:  # a bug: logged with its traceback; the next round tries again
                    log.exception("evaluation task %s failed", task.name)
            await asyncio.sleep(task.interval_s)


def evaluation_worker(pool: asyncpg.Pool, settings: Settings, *, only_run: str | None = None) -> Worker:
    """The worker with every job kind evaluation has, configured from `settings.evals`."""
    # Imported here: the job kinds raise this module's JobFailed and RetryLater.
    from glassgate.evals import experiments, online
    from glassgate.evals.judge_client import ProxyClient
    from glassgate.evals.runner import Scorers

    evals = settings.evals
    client = ProxyClient.from_settings(settings)
    scorers = Scorers(client, settings)
    items = experiments.ItemJobs(pool, client, scorers, settings.upstreams)
    rules = online.RuleJobs(pool, scorers, evals.max_attempts)
    periodic = [Periodic(30.0, items.sweep, "runs")]
    if only_run is None:
        periodic.append(Periodic(evals.rule_scan_interval_s, rules.scan, "rules"))
        periodic.append(Periodic(3600.0, rules.prune, "prune"))
    return Worker(
        pool,
        {experiments.ITEM_JOB: JobKind(items.run, items.give_up, items.after), online.RULE_JOB: JobKind(rules.run)},
        concurrency=evals.concurrency,
        lease_s=evals.lease_s,
        poll_s=evals.poll_interval_s,
        periodic=periodic,
        only_run=only_run,
        on_close=client.close,
    )
