"""GET /api/v1/stats/timeseries and the span list's filters, over real PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import pytest

from glassgate.api.app import create_api
from glassgate.guardrails.engine import Finding
from glassgate.storage import db
from glassgate.storage.search_indexer import index_pending
from glassgate.storage.spans import insert_spans
from tests.integration.storage.test_spans import make_span

TOKEN = "test-admin-token"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, asyncpg.Pool]]:
    pool = await db.create_pool(database_url)
    api = create_api(TOKEN)
    api.state.pool = pool
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://glassgate", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        yield http, pool
    await pool.close()


async def seed(pool: asyncpg.Pool) -> None:
    spans = []
    for number in range(120):  # two hours, one call a minute, alternating models
        spans.append(
            make_span(
                number,
                started_at=T0 + timedelta(minutes=number),
                model="gpt-4o" if number % 2 else "claude",
                status="error" if number % 10 == 0 else "ok",
                latency_ms=float(100 + number),
                ttft_ms=40.0,
                input_tokens=10,
                output_tokens=2,
                cost_usd=0.01,
                cost_status="priced",
            )
        )
    await insert_spans(pool, spans)


async def test_hourly_points_sum_the_calls_and_report_percentiles(
    client: tuple[httpx.AsyncClient, asyncpg.Pool],
) -> None:
    http, pool = client
    await seed(pool)
    response = await http.get(
        "/api/v1/stats/timeseries",
        params={"since": T0.isoformat(), "until": (T0 + timedelta(hours=2)).isoformat(), "interval": 3600},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["interval_seconds"] == 3600
    [series] = body["series"]
    assert [point["requests"] for point in series["points"]] == [60, 60]
    assert [point["errors"] for point in series["points"]] == [6, 6]
    total = series["total"]
    assert total["requests"] == 120 and total["input_tokens"] == 1200
    assert total["cost_usd"] == pytest.approx(1.2)
    assert 150 <= total["latency_ms"]["p50"] <= 200, "true median is 159.5 ms, in the (150, 200] bucket"
    assert total["latency_ms"]["avg"] == pytest.approx(159.5)
    assert total["ttft_ms"]["p99"] <= 50


async def test_grouped_by_model_and_filtered(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    await seed(pool)
    window = {"since": T0.isoformat(), "until": (T0 + timedelta(hours=2)).isoformat()}
    grouped = (await http.get("/api/v1/stats/timeseries", params={**window, "group_by": "model"})).json()
    assert {series["group"]: series["total"]["requests"] for series in grouped["series"]} == {
        "claude": 60,
        "gpt-4o": 60,
    }
    assert grouped["interval_seconds"] == 300, "two hours: 24 five-minute points (120 one-minute ones are too many)"
    only = (await http.get("/api/v1/stats/timeseries", params={**window, "model": "claude"})).json()
    assert only["series"][0]["total"]["requests"] == 60


async def test_bad_ranges_are_problems(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, _ = client
    backwards = await http.get(
        "/api/v1/stats/timeseries", params={"since": T0.isoformat(), "until": (T0 - timedelta(hours=1)).isoformat()}
    )
    assert backwards.status_code == 400
    assert backwards.headers["content-type"].startswith("application/problem+json")
    too_many = await http.get(
        "/api/v1/stats/timeseries",
        params={"since": T0.isoformat(), "until": (T0 + timedelta(days=30)).isoformat(), "interval": 60},
    )
    assert too_many.status_code == 400 and "points" in too_many.json()["detail"]
    odd = await http.get("/api/v1/stats/timeseries", params={"interval": 90})
    assert odd.status_code == 400


async def test_span_list_filters_over_http(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    await insert_spans(
        pool,
        [
            make_span(1, session_id="chat-9", tags=("prod", "eu"), input_preview="refund my order"),
            make_span(2, session_id="chat-9", tags=("prod",), user_id="u-7"),
        ],
    )
    page = (await http.get("/api/v1/spans", params=[("tag", "prod"), ("tag", "eu")])).json()
    assert [row["span_id"] for row in page["data"]] == [f"{1:016x}"]
    page = (await http.get("/api/v1/spans", params={"session_id": "chat-9", "user_id": "u-7"})).json()
    assert [row["span_id"] for row in page["data"]] == [f"{2:016x}"]
    await index_pending(pool)  # what the server's search indexer does within half a second
    page = (await http.get("/api/v1/spans", params={"q": "refund ord"})).json()
    assert [row["input_preview"] for row in page["data"]] == ["refund my order"]
    detail = (await http.get(f"/api/v1/spans/{1:016x}")).json()
    assert detail["request_body"] == {"messages": [{"role": "user", "content": "hi 1"}]}
    assert detail["usage_estimated"] is False


async def test_a_month_is_read_from_daily_rollups(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    await seed(pool)
    month = {"since": (T0 - timedelta(days=29)).isoformat(), "until": (T0 + timedelta(days=1)).isoformat()}
    body = (await http.get("/api/v1/stats/timeseries", params=month)).json()
    assert body["interval_seconds"] == 86400
    [series] = body["series"]
    assert [point["requests"] for point in series["points"]] == [120]
    assert series["total"]["latency_ms"]["p50"] == pytest.approx(
        (await http.get("/api/v1/stats/timeseries", params={**month, "interval": 3600})).json()["series"][0]["total"][
            "latency_ms"
        ]["p50"]
    ), "daily and hourly rollups hold the same histogram"


async def test_ranges_before_the_minutes_kept_are_drawn_from_hours(
    client: tuple[httpx.AsyncClient, asyncpg.Pool],
) -> None:
    _, pool = client
    api = create_api(TOKEN)
    api.state.pool = pool
    api.state.minute_rollup_days = 14  # as the app sets it from tracing.minute_rollup_days
    start = (datetime.now(UTC) - timedelta(days=20)).replace(minute=0, second=0, microsecond=0)
    await insert_spans(pool, [make_span(number, started_at=start + timedelta(minutes=number)) for number in range(30)])
    window = {"since": start.isoformat(), "until": (start + timedelta(hours=1)).isoformat()}
    headers = {"Authorization": f"Bearer {TOKEN}"}
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://glassgate", headers=headers) as http:
        body = (await http.get("/api/v1/stats/timeseries", params=window)).json()
        assert body["interval_seconds"] == 3600
        assert [point["requests"] for point in body["series"][0]["points"]] == [30]
        refused = await http.get("/api/v1/stats/timeseries", params={**window, "interval": 300})
        assert refused.status_code == 400
        assert "minute_rollup_days" in refused.json()["detail"]
        recent = {"since": (datetime.now(UTC) - timedelta(hours=1)).isoformat()}
        assert (await http.get("/api/v1/stats/timeseries", params=recent)).json()["interval_seconds"] == 60


def finding(category: str, action: str, phase: str = "input") -> Finding:
    return Finding("policy", phase, "pii", category, 1.0, action, "messages[0].content", 0, 5)


async def test_guardrail_findings_per_category_and_interval(client: tuple[httpx.AsyncClient, asyncpg.Pool]) -> None:
    http, pool = client
    email, card = finding("EMAIL", "redact"), finding("CREDIT_CARD", "block")
    await insert_spans(
        pool,
        [
            make_span(0, started_at=T0 + timedelta(minutes=5), findings=(email, email)),  # two in one call
            make_span(1, started_at=T0 + timedelta(minutes=50), findings=(email, card), project="other"),
            make_span(2, started_at=T0 + timedelta(minutes=70), findings=(finding("EMAIL", "redact", "output"),)),
            make_span(3, started_at=T0 + timedelta(minutes=80)),  # no finding: not counted anywhere
        ],
    )
    window: dict[str, str | int] = {
        "since": T0.isoformat(),
        "until": (T0 + timedelta(hours=2)).isoformat(),
        "interval": 3600,
    }
    response = await http.get("/api/v1/stats/guardrails", params=window)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["interval_seconds"] == 3600
    counted = [(p["start"][11:16], p["category"], p["action"], p["findings"], p["calls"]) for p in body["points"]]
    assert counted == [
        ("09:00", "CREDIT_CARD", "block", 1, 1),
        ("09:00", "EMAIL", "redact", 3, 2),
        ("10:00", "EMAIL", "redact", 1, 1),
    ]
    only = (await http.get("/api/v1/stats/guardrails", params={**window, "project": "other"})).json()
    assert [(p["category"], p["findings"]) for p in only["points"]] == [("CREDIT_CARD", 1), ("EMAIL", 1)]
    refused = await http.get("/api/v1/stats/guardrails", params={**window, "interval": 90})
    assert refused.status_code == 400 and "whole number of minutes" in refused.json()["detail"]
