"""Dashboard series read back from the rollup tables, checked against the rollups computed in Python."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from glassgate.storage import dashboards, rollups
from glassgate.storage.spans import insert_spans
from tests.integration.storage.test_spans import make_span

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


async def test_every_total_and_histogram_cell_comes_back_for_its_own_point(pool: asyncpg.Pool) -> None:
    # Every summed column and bucket gets a distinct value, so a column read into the wrong
    # field (a total, or a latency cell taken for a TTFT cell) cannot go unnoticed.
    spans = [
        make_span(
            number,
            started_at=T0 + timedelta(minutes=number % 120),
            upstream=("openai", "azure", "bedrock")[number % 3],
            status=("ok", "ok", "error", "cancelled", "blocked")[number % 5],
            input_tokens=10 + number,
            output_tokens=3 * number,
            cached_tokens=number % 7,
            cost_usd=0.001 * number if number % 4 else None,
            cost_status="priced" if number % 4 else "unpriced",
            latency_ms=float(3 + 997 * number % 250_000),
            ttft_ms=float(1 + 37 * number % 40_000) if number % 3 else None,
        )
        for number in range(600)
    ]
    await insert_spans(pool, spans)
    query = dashboards.SeriesQuery(
        since=T0, until=T0 + timedelta(hours=2), interval=timedelta(hours=1), group_by="upstream"
    )
    interval, series = await dashboards.time_series(pool, query)
    assert interval == timedelta(hours=1)
    expected = rollups.accumulate(spans, "hour")
    assert set(series) == {"openai", "azure", "bedrock"}
    for upstream, points in series.items():
        assert [point.start for point in points] == [T0, T0 + timedelta(hours=1)]
        for point in points:
            rows = [row for (bucket, _, up, _), row in expected.items() if up == upstream and bucket == point.start]
            for name in rollups.SUMMED:
                assert point.totals[name] == pytest.approx(sum(getattr(row, name) for row in rows)), name
            assert point.latency_hist == [sum(cells) for cells in zip(*(row.latency_hist for row in rows), strict=True)]
            assert point.ttft_hist == [sum(cells) for cells in zip(*(row.ttft_hist for row in rows), strict=True)]
            assert sum(point.latency_hist) > 0 and point.latency_hist != point.ttft_hist
