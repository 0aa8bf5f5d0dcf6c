"""Spans stored for a run (plain SQL), and the calls matched against them by the seq each carried."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from dataclasses import dataclass

import asyncpg

from bench.faults.load import Call


@dataclass(frozen=True)
class Stored:
    rows: int  # count(*)
    distinct_span_ids: int
    span_ids_by_seq: dict[int, list[str]]


async def stored_spans(database_url: str, run_id: str) -> Stored:
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        where = "FROM spans WHERE session_id = $1"
        counts = await connection.fetchrow(f"SELECT count(*) AS n, count(DISTINCT span_id) AS ids {where}", run_id)
        records = await connection.fetch(f"SELECT span_id, attributes->'metadata'->>'seq' AS seq {where}", run_id)
    finally:
        await connection.close()
    by_seq: dict[int, list[str]] = {}
    for record in records:
        by_seq.setdefault(int(record["seq"]), []).append(record["span_id"])
    return Stored(int(counts["n"]), int(counts["ids"]), by_seq)


async def wait_for_spans(
    database_url: str, run_id: str, expected: int, timeout_s: float
) -> tuple[Stored, float | None]:
    """Poll until `expected` spans of the run are stored: (the last count, seconds it took or None)."""
    started = time.monotonic()
    stored = Stored(0, 0, {})
    while True:
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):  # a database starting up
            stored = await stored_spans(database_url, run_id)
        if stored.rows >= expected:
            took = time.monotonic() - started
            await asyncio.sleep(1.0)  # anything beyond `expected` (a duplicate) would show now
            return await stored_spans(database_url, run_id), took
        if time.monotonic() - started > timeout_s:
            return stored, None
        await asyncio.sleep(0.25)


@dataclass(frozen=True)
class Audit:
    """Calls against stored spans, matched by the seq each call carried as metadata."""

    sent: int
    answered: int  # 200 with a complete answer
    failed: int
    failed_not_accepted: int  # failed, and no span: Glassgate never took the call
    failed_after_accepted: int  # failed, yet a span exists: Glassgate took the call and did not answer it
    lost: int  # answered, but no span stored
    mismatched: int  # answered, but the stored span is not the one the x-glassgate-span-id header named
    duplicated: int  # calls with more than one span
    rows: int
    distinct_span_ids: int
    failure_kinds: dict[str, int]
    examples: list[str]  # a few failed or lost calls


def audit(calls: list[Call], stored: Stored) -> Audit:
    spans = stored.span_ids_by_seq
    answered = [call for call in calls if call.ok]
    failed = [call for call in calls if not call.ok]
    lost = [call for call in answered if not spans.get(call.seq)]
    mismatched = [call for call in answered if spans.get(call.seq) and call.span_id not in spans[call.seq]]
    kinds = Counter((call.error or f"HTTP {call.status}").split(":")[0] for call in failed)
    examples = [f"#{call.seq} ({call.phase}): {call.error or f'HTTP {call.status}'}" for call in failed[:5]] + [
        f"#{call.seq} ({call.phase}): answered 200, span {call.span_id} not stored" for call in lost[:5]
    ]
    return Audit(
        sent=len(calls),
        answered=len(answered),
        failed=len(failed),
        failed_not_accepted=sum(not spans.get(call.seq) for call in failed),
        failed_after_accepted=sum(bool(spans.get(call.seq)) for call in failed),
        lost=len(lost),
        mismatched=len(mismatched),
        duplicated=sum(len(ids) > 1 for ids in spans.values()),
        rows=stored.rows,
        distinct_span_ids=stored.distinct_span_ids,
        failure_kinds=dict(kinds),
        examples=examples,
    )


@dataclass(frozen=True)
class SpanRow:
    span_id: str
    seq: int
    status: str  # ok, error, blocked, cancelled
    http_status: int | None
    error_type: str | None  # attributes' error.type
    output_tokens: int | None


async def span_rows(database_url: str, run_id: str) -> dict[int, list[SpanRow]]:
    """The run's spans by the seq each call carried (more than one: a duplicate)."""
    connection = await asyncpg.connect(database_url, timeout=10)
    try:
        records = await connection.fetch(
            "SELECT span_id, attributes->'metadata'->>'seq' AS seq, status, http_status,"
            " attributes->>'error.type' AS error_type, output_tokens FROM spans WHERE session_id = $1",
            run_id,
        )
    finally:
        await connection.close()
    by_seq: dict[int, list[SpanRow]] = {}
    for record in records:
        row = SpanRow(
            record["span_id"],
            int(record["seq"]),
            record["status"],
            record["http_status"],
            record["error_type"],
            record["output_tokens"],
        )
        by_seq.setdefault(row.seq, []).append(row)
    return by_seq
