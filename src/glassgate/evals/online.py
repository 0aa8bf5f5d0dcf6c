"""Online evaluation: rules score new spans as they arrive.

Every `evals.rule_scan_interval_s`, a worker asks storage.eval_rules to enqueue one job per
new span that matches a rule's filter and is sampled at its rate (deterministic by span id:
`sampled` below is the same test in Python), to run the rule's delay after the call ended.
The job reads the span, scores it with the rule's evaluator, and stores the score as an
annotation on the span (eval_key `rule:{rule_id}:{span_id}`, so a job that runs twice
scores once). A span the writer has not stored yet sends the job back to wait; an
evaluator with nothing to say fails the job with its reason (shown on the rule's jobs).
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import asyncpg

from glassgate.evals import runner
from glassgate.evals.jobs import JobFailed, RetryLater
from glassgate.evals.judge_client import CallRefused
from glassgate.storage import eval_jobs, eval_rules, eval_runs
from glassgate.storage import spans as span_store
from glassgate.storage.eval_jobs import Job

log = logging.getLogger(__name__)
RULE_JOB = eval_rules.RULE_JOB
SPAN_WAIT_S = 5.0  # between looks for a span the writer has not stored yet
JOB_RETENTION = timedelta(days=7)


def sampled(span_id: str, rate: float) -> bool:
    """Whether a rule at `rate` scores this span: the SQL of storage.eval_rules, in Python."""
    return int(hashlib.md5(span_id.encode()).hexdigest()[:8], 16) / 2**32 < rate


class RuleJobs:
    """Finds new spans for the rules, and runs `online_eval` jobs: one span, one rule's evaluator."""

    def __init__(self, pool: asyncpg.Pool, scorers: runner.Scorers, max_attempts: int) -> None:
        self._pool, self._scorers, self._max_attempts = pool, scorers, max_attempts

    async def scan(self) -> None:
        added = await eval_rules.enqueue_new_spans(self._pool, self._max_attempts)
        if any(added.values()):
            log.debug("online rules enqueued %s", added)

    async def prune(self) -> None:
        """Forget finished online jobs after a week (the scans have long passed their spans)."""
        await eval_jobs.prune(self._pool, JOB_RETENTION)

    async def run(self, job: Job) -> None:
        rule_id, span_id = (
            eval_jobs.payload_text(job.payload, "rule_id"),
            eval_jobs.payload_text(job.payload, "span_id"),
        )
        row = await eval_rules.rule_for_job(self._pool, rule_id)
        if row is None:
            return  # the rule was deleted: nothing to do
        span = await span_store.get_span(self._pool, span_id)
        if span is None:
            raise RetryLater(f"span {span_id} is not stored yet", SPAN_WAIT_S)
        try:
            scorer = runner.bound(self._scorers.scorer(row), {"rule": row["rule_name"], "span": span_id})
        except ValueError as exc:
            raise JobFailed(str(exc)) from None
        scored = await runner.score_all([scorer], runner.input_from_span(span))
        for error in scored.unreachable.values():
            if isinstance(error, CallRefused):
                raise JobFailed(str(error))
            raise error  # the judge could not be reached: tried again later
        evaluation = scored.results[row["evaluator_id"]]
        encoded = runner.encode(evaluation, row["score_kind"], row["categories"], row["min_value"], row["max_value"])
        if isinstance(encoded, str):
            raise JobFailed(encoded)
        await eval_runs.insert_score(
            self._pool,
            eval_runs.Score(
                eval_key=f"rule:{rule_id}:{span_id}",
                span_id=span_id,
                trace_id=span["trace_id"],
                span_started_at=span["started_at"],
                config_id=row["config_id"],
                value_number=encoded[0],
                value_text=encoded[1],
                comment=evaluation.explanation,
                author=row["name"],
                source="llm" if row["kind"] == "llm" else "code",
            ),
        )
