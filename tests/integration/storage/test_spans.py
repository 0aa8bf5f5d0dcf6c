"""Span storage on real PostgreSQL: idempotent batches, keyset pages, filters, awkward bodies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from glassgate.storage import db
from glassgate.storage.spans import SpanFilter, get_span, insert_spans, list_spans
from glassgate.tracing.span import Span

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


def make_span(number: int, **fields: object) -> Span:
    values: dict[str, object] = {
        "span_id": f"{number:016x}",
        "trace_id": f"{number:032x}",
        "project": "default",
        "kind": "llm",
        "status": "ok",
        "started_at": T0 + timedelta(seconds=number),
        "upstream": "openai" if number % 2 else "azure",
        "model": "gpt-4o-mini",
        "request_body": {"messages": [{"role": "user", "content": f"hi {number}"}]},
        "response_body": {"choices": []},
        "attributes": {"n": number},
        **fields,
    }
    return Span(**values)  # type: ignore[arg-type]


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(database_url)
    yield created
    await created.close()


async def test_batches_are_idempotent(pool: asyncpg.Pool) -> None:
    spans = [make_span(number) for number in range(10)]
    await insert_spans(pool, spans)
    await insert_spans(pool, [*spans[5:], make_span(10)])  # a replayed batch must not duplicate
    assert await pool.fetchval("SELECT count(*) FROM spans") == 11


async def test_keyset_pages_cover_everything_once_newest_first(pool: asyncpg.Pool) -> None:
    await insert_spans(pool, [make_span(number) for number in range(25)])
    seen: list[str] = []
    cursor = None
    while True:
        rows, cursor = await list_spans(pool, SpanFilter(), 10, cursor)
        seen += [row["span_id"] for row in rows]
        if cursor is None:
            break
    assert seen == [f"{number:016x}" for number in reversed(range(25))]


async def test_filters(pool: asyncpg.Pool) -> None:
    await insert_spans(pool, [make_span(number, status="error" if number % 3 == 0 else "ok") for number in range(12)])
    rows, _ = await list_spans(pool, SpanFilter(upstream="openai", status="error"), 50, None)
    assert {row["span_id"] for row in rows} == {f"{n:016x}" for n in range(12) if n % 2 and n % 3 == 0}
    window = SpanFilter(since=T0 + timedelta(seconds=3), until=T0 + timedelta(seconds=6))
    rows, _ = await list_spans(pool, window, 50, None)
    assert [row["span_id"] for row in rows] == [f"{n:016x}" for n in (5, 4, 3)]


async def test_bodies_round_trip_including_nul_and_text(pool: asyncpg.Pool) -> None:
    await insert_spans(
        pool,
        [
            make_span(1, request_body="plain text, not JSON", response_body={"text": "a\u0000b"}),
            make_span(2, request_body=None, tags=("x", "y")),
        ],
    )
    first = await get_span(pool, f"{1:016x}")
    assert first is not None
    assert first["request_body"] == "plain text, not JSON"
    assert first["response_body"] == {"text": "a\ufffdb"}, "jsonb cannot store NUL; it is replaced, not lost"
    second = await get_span(pool, f"{2:016x}")
    assert second is not None and second["tags"] == ["x", "y"] and second["attributes"] == {"n": 2}
    assert await get_span(pool, "0" * 16) is None
