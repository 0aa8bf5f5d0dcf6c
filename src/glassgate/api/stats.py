"""GET /api/v1/stats/timeseries: dashboard charts, from the per-minute, per-hour and per-day rollups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel, Field

from glassgate.api.large_json import large_json
from glassgate.api.problem_docs import problems
from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.storage import dashboards

MAX_INTERVAL_S = 366 * 24 * 3600  # a point a year at most (larger ones overflowed timedelta: a 500)

router = APIRouter(prefix="/api/v1/stats", tags=["stats"])


class Percentiles(BaseModel):
    avg: float | None
    p50: float | None
    p95: float | None
    p99: float | None


class SeriesPoint(BaseModel):
    start: datetime = Field(description="Start of the interval (UTC).")
    requests: int
    errors: int
    cancelled: int
    blocked: int
    input_tokens: int
    output_tokens: int
    cached_tokens: int
    cost_usd: float = Field(description="Sum over priced calls; see unpriced_calls for calls without a price.")
    unpriced_calls: int = Field(description="Calls with usage whose model has no price: their cost is unknown.")
    latency_ms: Percentiles = Field(description="Percentiles are interpolated within histogram buckets.")
    ttft_ms: Percentiles


class Series(BaseModel):
    group: str = Field(description="The group-by column's value; empty when not grouped (or unknown model).")
    points: list[SeriesPoint] = Field(description="Intervals without traffic are omitted.")
    total: SeriesPoint


class TimeSeries(BaseModel):
    interval_seconds: int
    since: datetime
    until: datetime
    series: list[Series]


@router.get(
    "/timeseries",
    response_model=TimeSeries,
    summary="Requests, errors, tokens, cost, latency over time",
    responses=problems(400),
)
async def time_series(
    request: Request,
    since: Annotated[datetime | None, Query(description="Start (ISO 8601); default: 24 hours before `until`.")] = None,
    until: Annotated[datetime | None, Query(description="End, exclusive (ISO 8601); default: now.")] = None,
    interval: Annotated[
        int | None,
        Query(
            ge=60,
            le=MAX_INTERVAL_S,
            description=(
                "Seconds per point, whole minutes (days are UTC days); default: automatic. Per-minute figures are "
                "kept `tracing.minute_rollup_days` (14 by default): a range starting earlier needs whole hours."
            ),
        ),
    ] = None,
    group_by: dashboards.GroupBy = "none",
    project: str | None = None,
    upstream: str | None = None,
    model: str | None = None,
) -> Response:
    now = datetime.now(UTC)
    until = until or now
    since = since or until - timedelta(hours=24)
    minute_rollup_days: int | None = getattr(request.app.state, "minute_rollup_days", None)
    query = dashboards.SeriesQuery(
        since=since,
        until=until,
        interval=timedelta(seconds=interval) if interval is not None else None,
        group_by=group_by,
        project=project,
        upstream=upstream,
        model=model,
        minutes_kept_since=(now - timedelta(days=minute_rollup_days) if minute_rollup_days is not None else None),
    )
    try:
        step, series = await dashboards.chart(pool_of(request), query)
    except dashboards.BadRange as exc:
        raise Problem(400, "Invalid time range", str(exc)) from None
    return large_json({"interval_seconds": int(step.total_seconds()), "since": since, "until": until, "series": series})


class FindingPoint(BaseModel):
    start: datetime
    category: str
    action: str = Field(description="block | redact | flag: what the policy that found it does.")
    findings: int
    calls: int = Field(description="Calls with at least one finding of this category in the interval.")


class FindingSeries(BaseModel):
    interval_seconds: int
    since: datetime
    until: datetime
    points: list[FindingPoint] = Field(description="Intervals and categories without findings are omitted.")


@router.get(
    "/guardrails",
    response_model=FindingSeries,
    summary="Guardrail findings per category over time",
    responses=problems(400),
)
async def guardrail_series(
    request: Request,
    since: Annotated[datetime | None, Query(description="Start (ISO 8601); default: 24 hours before `until`.")] = None,
    until: Annotated[datetime | None, Query(description="End, exclusive (ISO 8601); default: now.")] = None,
    interval: Annotated[
        int | None, Query(ge=60, le=MAX_INTERVAL_S, description="Seconds per point, whole minutes.")
    ] = None,
    project: str | None = None,
) -> dict[str, Any]:
    until = until or datetime.now(UTC)
    since = since or until - timedelta(hours=24)
    step_in = timedelta(seconds=interval) if interval is not None else None
    try:
        step, counts = await dashboards.finding_series(pool_of(request), since, until, step_in, project)
    except dashboards.BadRange as exc:
        raise Problem(400, "Invalid time range", str(exc)) from None
    points = [vars(count) for count in counts]
    return {"interval_seconds": int(step.total_seconds()), "since": since, "until": until, "points": points}
