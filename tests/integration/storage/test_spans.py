"""Span storage on real PostgreSQL: idempotent batches, keyset pages, filters, awkward bodies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from glassgate.guardrails.engine import Finding
from glassgate.storage import spans as spans_module
from glassgate.storage.search_indexer import index_pending
from glassgate.storage.spans import SpanFilter, encode, encode_in_slices, get_span, insert_spans, list_spans
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


async def test_batches_are_idempotent(pool: asyncpg.Pool) -> None:
    spans = [make_span(number) for number in range(10)]
    assert await insert_spans(pool, spans) == 10
    # A replayed batch (its commit was never acknowledged) must not duplicate: the plain insert
    # is refused, and the batch is written again skipping what is stored.
    assert await insert_spans(pool, [*spans[5:], make_span(10)]) == 1
    assert await pool.fetchval("SELECT count(*) FROM spans") == 11
    assert await pool.fetchval("SELECT count(*) FROM span_bodies") == 11
    assert await pool.fetchval("SELECT sum(requests) FROM rollups_minute") == 11, "rollups count each call once"


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
    assert first["response_body"] == {"text": "a\u0000b"}, "bodies are stored exactly, NUL included"
    second = await get_span(pool, f"{2:016x}")
    assert second is not None and second["tags"] == ["x", "y"] and second["attributes"] == {"n": 2}
    assert await get_span(pool, "0" * 16) is None


async def test_bodies_live_apart_from_the_hot_row(pool: asyncpg.Pool) -> None:
    await insert_spans(
        pool, [make_span(1), make_span(2, request_body=None, response_body=None), make_span(3, error="bad\u0000byte")]
    )
    assert await pool.fetchval("SELECT count(*) FROM span_bodies") == 2, "a span without bodies needs no body row"
    stored = await pool.fetchval("SELECT request_body FROM span_bodies WHERE span_id = $1", f"{1:016x}")
    assert stored == orjson.dumps(make_span(1).request_body), "a short body is kept as its JSON text"
    assert (await get_span(pool, f"{3:016x}") or {})["error"] == "bad\ufffdbyte", "text columns cannot hold NUL"
    hot_columns = {row["attname"] for row in await pool.fetch(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'spans'::regclass AND attnum > 0"
    )}  # fmt: skip
    assert not hot_columns & {"request_body", "response_body"}
    rows, _ = await list_spans(pool, SpanFilter(), 10, None)
    assert all("request_body" not in row for row in rows), "lists never read bodies"


async def test_filters_by_session_user_tags_and_kind(pool: asyncpg.Pool) -> None:
    await insert_spans(
        pool,
        [
            make_span(1, session_id="s-1", user_id="alice", tags=("prod", "beta")),
            make_span(2, session_id="s-1", user_id="bob", tags=("prod",)),
            make_span(3, session_id="s-2", user_id="alice", kind="app"),
        ],
    )

    async def ids(**fields: object) -> list[int]:
        rows, _ = await list_spans(pool, SpanFilter(**fields), 50, None)  # type: ignore[arg-type]
        return [int(row["span_id"], 16) for row in rows]

    assert await ids(session_id="s-1") == [2, 1]
    assert await ids(user_id="alice") == [3, 1]
    assert await ids(tags=("prod",)) == [2, 1]
    assert await ids(tags=("prod", "beta")) == [1], "every tag asked for must be present"
    assert await ids(kind="app") == [3]
    assert await ids(session_id="s-1", user_id="alice") == [1]


async def test_search_matches_words_in_either_preview_and_prefixes_the_last(pool: asyncpg.Pool) -> None:
    await insert_spans(
        pool,
        [
            make_span(1, input_preview="Where is the Eiffel Tower?", output_preview="In Paris, France."),
            make_span(2, input_preview="Capital of Italy?", output_preview="Rome."),
            make_span(3, input_preview=None, output_preview=None),
        ],
    )
    assert await index_pending(pool) == 2, "a span without text has no words to index"

    async def found(text: str) -> set[int]:
        rows, _ = await list_spans(pool, SpanFilter(search=text), 50, None)
        return {int(row["span_id"], 16) for row in rows}

    assert await found("eiffel") == {1}
    assert await found("PARIS") == {1}, "case does not matter"
    assert await found("tower par") == {1}, "the last word is a prefix"
    assert await found("tower rome") == set(), "every word must appear"
    assert await found("ital") == {2}
    assert await found("'&|!:*()") == set(), "tsquery syntax is never passed through"


async def test_rollups_count_each_stored_call_once(pool: asyncpg.Pool) -> None:
    spans = [
        make_span(number, latency_ms=100.0 + number, ttft_ms=50.0, input_tokens=10, output_tokens=5, cost_usd=0.001)
        for number in range(6)
    ]
    spans.append(make_span(6, status="error", cost_usd=None, cost_status="unpriced", input_tokens=1))
    spans.append(make_span(7, upstream=None, kind="app"))  # an ingested app span: not a proxied call
    assert await insert_spans(pool, spans) == 8
    assert await insert_spans(pool, spans) == 0, "a replayed batch stores nothing"
    for table in ("rollups_minute", "rollups_hour", "rollups_day"):
        totals = await pool.fetchrow(
            f"SELECT sum(requests) AS requests, sum(errors) AS errors, sum(input_tokens) AS input_tokens, "
            f"sum(unpriced) AS unpriced, sum(cost_usd) AS cost, sum(ttft_count) AS ttft FROM {table}"
        )
        assert totals is not None
        assert (totals["requests"], totals["errors"], totals["input_tokens"]) == (7, 1, 61), table
        assert totals["unpriced"] == 1 and totals["ttft"] == 6
        assert totals["cost"] == pytest.approx(0.006)
    hists = await pool.fetch("SELECT upstream, latency_hist FROM rollups_hour ORDER BY upstream")
    assert [row["upstream"] for row in hists] == ["azure", "openai"]
    assert sum(sum(row["latency_hist"]) for row in hists) == 6, "only calls with a latency land in the histogram"


@pytest.mark.parametrize("probe_limit", [2000, 3], ids=["few matches: full-text index", "many: time index"])
async def test_search_pages_are_newest_first_whichever_way_it_runs(
    pool: asyncpg.Pool, probe_limit: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(spans_module, "SEARCH_PROBE_LIMIT", probe_limit)
    await insert_spans(
        pool, [make_span(n, input_preview=f"refund request {n}" if n % 2 else "other") for n in range(20)]
    )
    await index_pending(pool)
    seen: list[int] = []
    cursor = None
    while True:
        rows, cursor = await list_spans(pool, SpanFilter(search="refund", upstream="openai"), 4, cursor)
        seen += [int(row["span_id"], 16) for row in rows]
        if cursor is None:
            break
    assert seen == [n for n in reversed(range(20)) if n % 2]


async def test_the_writers_pool_plans_generically_for_good_and_stores_the_same(database_url: str) -> None:
    from glassgate.storage import db

    writes = await db.create_pool(database_url, for_writes=True, max_size=1)
    try:
        for _ in range(2):  # the pool resets a returned connection: the setting outlives it
            async with writes.acquire() as connection:
                assert await connection.fetchval("SHOW plan_cache_mode") == "force_generic_plan"
        assert await insert_spans(writes, [make_span(n, input_preview="x") for n in range(3)]) == 3
        assert await insert_spans(writes, [make_span(n) for n in range(5)]) == 2, "replayed: the rest is skipped"
        rollup = await writes.fetchval("SELECT sum(requests) FROM rollups_day")
        assert rollup == 5
    finally:
        await writes.close()
    api = await db.create_pool(database_url, max_size=1)
    try:
        assert await api.fetchval("SHOW plan_cache_mode") == "force_custom_plan", "the API's plans see their values"
    finally:
        await api.close()


async def test_a_batch_encoded_in_slices_is_the_batch_encoded_at_once(pool: asyncpg.Pool) -> None:
    finding = Finding("no-pii", "input", "pii", "EMAIL", 1.0, "flag", "messages[0].content", 0, 5)
    spans = [
        make_span(
            number,
            input_preview=f"question {number}\x00",  # NUL: escaped alike in every slice
            request_body=None if number % 3 == 0 else {"n": number},
            response_body=None if number % 3 == 0 else {"choices": []},
            findings=(finding,) if number % 4 == 0 else (),
        )
        for number in range(10)
    ]
    at_once = encode(spans)
    sliced = await encode_in_slices(spans, 3)
    assert sliced.arguments == at_once.arguments
    assert sliced.rollup_arguments == at_once.rollup_arguments
    assert await insert_spans(pool, sliced) == 10
    assert await pool.fetchval("SELECT count(*) FROM span_bodies") == 6
    assert await pool.fetchval("SELECT count(*) FROM guardrail_findings") == 3
