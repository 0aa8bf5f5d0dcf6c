"""Online rules over real PostgreSQL: which new spans are sampled, the delay, and scores on the spans."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from glassgate.config import Settings
from glassgate.evals import online
from glassgate.evals.jobs import evaluation_worker
from glassgate.storage import eval_jobs, eval_rules
from glassgate.storage.annotations import ScoreFilter
from glassgate.storage.search_indexer import index_pending
from glassgate.storage.spans import SpanFilter, insert_spans, list_spans
from glassgate.tracing.span import Span
from tests.fakes.judge_server import FakeJudge
from tests.integration.evals.conftest import new_evaluator


def span(number: int, **fields: Any) -> Span:
    values: dict[str, Any] = {
        "span_id": f"{number:04x}{'ab' * 6}",
        "trace_id": f"{number:032x}",
        "project": "default",
        "kind": "llm",
        "status": "ok",
        "started_at": datetime.now(UTC),
        "latency_ms": 10.0,
        "upstream": "openai",
        "vendor": "openai",
        "operation": "chat",
        "model": "gpt-4o-mini",
        "request_body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"question {number}"}]},
        "response_body": {"choices": [{"index": 0, "message": {"role": "assistant", "content": f"answer {number}"}}]},
        **fields,
    }
    return Span(**values)


async def settle(pool: asyncpg.Pool, timeout_s: float = 20.0) -> dict[str, int]:
    """Wait until no job is running or due within two seconds (jobs delayed longer do not count)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        busy = await pool.fetchval(
            "SELECT count(*) FROM eval_jobs WHERE status = 'running' "
            "OR (status = 'pending' AND run_after <= now() + interval '2 seconds')"
        )
        if busy == 0:
            return await eval_jobs.counts(pool)
        await asyncio.sleep(0.05)
    raise AssertionError(f"jobs still busy: {await eval_jobs.counts(pool)}")


async def test_new_matching_spans_are_sampled_by_id_and_scored_on_the_span(
    pool: asyncpg.Pool, settings: Settings
) -> None:
    evaluator = await new_evaluator(pool, "says-answer", "contains", {"values": ["answer"]})
    rule = await eval_rules.create_rule(
        pool, name="half", evaluator_id=evaluator, span_filter={"model": "gpt-4o-mini"}, sampling_rate=0.5
    )
    spans = [span(n) for n in range(200)]
    spans += [span(1000 + n, model="gpt-4o") for n in range(20)]  # the filter leaves these out
    spans += [span(2000 + n, tags=("glassgate-eval",)) for n in range(20)]  # evaluation's own calls: never
    await insert_spans(pool, spans)

    added = await eval_rules.enqueue_new_spans(pool, max_attempts=5)
    expected = {s.span_id for s in spans[:200] if online.sampled(s.span_id, 0.5)}
    assert 70 < len(expected) < 130  # about half
    assert added == {rule["rule_id"]: len(expected)}
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {rule["rule_id"]: 0}  # seen: not again

    async with evaluation_worker(pool, settings):
        await settle(pool)
    scored = await pool.fetch("SELECT span_id, value_text, author, source, eval_key, span_started_at FROM annotations")
    assert {record["span_id"] for record in scored} == expected
    assert {(r["value_text"], r["author"], r["source"]) for r in scored} == {("pass", "says-answer", "code")}
    assert all(r["eval_key"] == f"rule:{rule['rule_id']}:{r['span_id']}" and r["span_started_at"] for r in scored)
    # The scores filter the trace list like a human's.
    rows, _ = await list_spans(pool, SpanFilter(score=ScoreFilter("says-answer", label="pass")), 200, None)
    assert {row["span_id"] for row in rows} == expected


async def test_a_rule_waits_its_delay_and_skips_spans_from_before_it(pool: asyncpg.Pool, settings: Settings) -> None:
    await insert_spans(pool, [span(n, started_at=datetime.now(UTC) - timedelta(seconds=5)) for n in range(5)])
    evaluator = await new_evaluator(pool, "says-answer", "contains", {"values": ["answer"]})
    rule = await eval_rules.create_rule(
        pool, name="later", evaluator_id=evaluator, span_filter={}, sampling_rate=1.0, delay_s=3600
    )
    await insert_spans(pool, [span(10 + n) for n in range(5)])
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {rule["rule_id"]: 5}
    async with evaluation_worker(pool, settings):
        await asyncio.sleep(0.5)
    assert await eval_jobs.counts(pool) == {"pending": 5}  # an hour from now
    delays = await pool.fetch("SELECT run_after - now() AS wait FROM eval_jobs")
    assert all(timedelta(minutes=59) < record["wait"] < timedelta(minutes=61) for record in delays)


async def test_judged_online_a_wrong_answer_fails_its_job_and_a_late_span_is_waited_for(
    pool: asyncpg.Pool, settings: Settings, judge: FakeJudge, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(online, "SPAN_WAIT_S", 0.1)
    evaluator = await new_evaluator(pool, "relevant", "relevance")
    rule = await eval_rules.create_rule(pool, name="judged", evaluator_id=evaluator, span_filter={}, sampling_rate=1)
    good, garbage = span(1), span(2, request_body={"messages": [{"role": "user", "content": "[[judge:garbage]]"}]})
    await insert_spans(pool, [good, garbage])
    await eval_rules.enqueue_new_spans(pool, max_attempts=5)
    late = span(3)  # its job exists before the writer has stored it
    await eval_jobs.enqueue(
        pool,
        [
            eval_jobs.NewJob(
                online.RULE_JOB,
                {"rule_id": rule["rule_id"], "span_id": late.span_id},
                f"rule:{rule['rule_id']}:{late.span_id}",
            )
        ],
    )
    async with evaluation_worker(pool, settings):
        await asyncio.sleep(0.3)
        await insert_spans(pool, [late])
        counts = await settle(pool)
    assert counts == {"done": 2, "failed": 1}
    failed = await pool.fetchval("SELECT last_error FROM eval_jobs WHERE status = 'failed'")
    assert "judge answer matches no label" in failed
    scored = await pool.fetch("SELECT span_id, value_text, source FROM annotations ORDER BY span_id")
    assert [(r["span_id"], r["value_text"], r["source"]) for r in scored] == [
        (good.span_id, "relevant", "llm"),
        (late.span_id, "relevant", "llm"),
    ]
    calls = judge.requests_for("judge")
    assert {call.header("x-glassgate-metadata-rule") for call in calls} == {"judged"}
    assert {call.header("x-glassgate-tags") for call in calls} == {"glassgate-eval"}
    assert await eval_rules.rule_jobs(pool, rule["rule_id"]) == {"done": 2, "failed": 1}


async def test_a_span_stored_after_a_scan_is_enqueued_once_whatever_its_start(
    pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    evaluator = await new_evaluator(pool, "says-answer", "contains", {"values": ["answer"]})
    rule = await eval_rules.create_rule(pool, name="all", evaluator_id=evaluator, span_filter={}, sampling_rate=1.0)
    added = {rule["rule_id"]: 1}
    await insert_spans(pool, [span(1)])
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == added

    # Stored after that scan, started an hour ago (a spill replayed after an outage), or 40 days
    # ago (OTLP spans of another month, stored in its partition or the default one).
    now = datetime.now(UTC)
    late, older = span(2, started_at=now - timedelta(hours=1)), span(3, started_at=now - timedelta(days=40))
    await insert_spans(pool, [late])
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == added
    await insert_spans(pool, [older])
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == added
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {rule["rule_id"]: 0}
    jobs = await pool.fetch("SELECT payload ->> 'span_id' AS span_id, run_after FROM eval_jobs ORDER BY job_id")
    assert [job["span_id"] for job in jobs] == [span(n).span_id for n in (1, 2, 3)]
    assert all(job["run_after"] <= datetime.now(UTC) for job in jobs)  # their delay passed long ago

    # A transaction in progress during a scan commits after it: the next scan still finds its span.
    async with pool.acquire() as connection:
        transaction = connection.transaction()
        await transaction.start()
        await connection.execute(
            "INSERT INTO spans (span_id, trace_id, project, kind, status, started_at) "
            "VALUES ('slowcommit000001', 'ab', 'default', 'llm', 'ok', now() - interval '10 minutes')"
        )
        await insert_spans(pool, [span(4)])  # a later transaction, committed first
        assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == added
        await transaction.commit()
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == added
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {rule["rule_id"]: 0}
    assert await pool.fetchval("SELECT count(*) FROM eval_jobs WHERE payload ->> 'span_id' = 'slowcommit000001'") == 1

    # A database restored into another cluster has younger transaction ids than the rule's scan saw.
    await pool.execute("UPDATE eval_rules SET scanned_snapshot = '9999999999:9999999999:'")
    with caplog.at_level("WARNING", logger="glassgate.storage.eval_rules"):
        assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {rule["rule_id"]: 0}
    assert "restored into another cluster" in caplog.text
    await insert_spans(pool, [span(5)])
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == added


async def test_a_rule_switched_on_again_starts_from_then(pool: asyncpg.Pool) -> None:
    evaluator = await new_evaluator(pool, "says-answer", "contains", {"values": ["answer"]})
    rule = await eval_rules.create_rule(pool, name="r", evaluator_id=evaluator, span_filter={}, sampling_rate=1.0)
    await eval_rules.update_rule(pool, rule["rule_id"], {"enabled": False})
    await insert_spans(pool, [span(1)])
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {}
    await eval_rules.update_rule(pool, rule["rule_id"], {"enabled": True})
    await insert_spans(pool, [span(2)])
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {rule["rule_id"]: 1}
    assert await pool.fetchval("SELECT payload ->> 'span_id' FROM eval_jobs") == span(2).span_id


async def test_a_rule_that_searches_scores_each_span_once_its_words_are_indexed(pool: asyncpg.Pool) -> None:
    evaluator = await new_evaluator(pool, "says-answer", "contains", {"values": ["answer"]})
    rule = await eval_rules.create_rule(
        pool, name="refunds", evaluator_id=evaluator, span_filter={"q": "refund"}, sampling_rate=1.0
    )
    none = {rule["rule_id"]: 0}
    await insert_spans(
        pool, [span(n, input_preview="refund please" if n % 2 else "where is my parcel") for n in range(6)]
    )
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == none, "not searchable yet"
    await index_pending(pool)
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {rule["rule_id"]: 3}
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == none
    await insert_spans(pool, [span(7, input_preview="a refund, again")])
    await index_pending(pool)
    assert await eval_rules.enqueue_new_spans(pool, max_attempts=5) == {rule["rule_id"]: 1}
    jobs = await pool.fetch("SELECT payload ->> 'span_id' AS span_id FROM eval_jobs ORDER BY job_id")
    assert [job["span_id"] for job in jobs] == [span(n).span_id for n in (1, 3, 5, 7)]
