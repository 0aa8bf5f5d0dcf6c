"""Time series for dashboards, read from the rollup tables only (never from raw spans)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg

from glassgate.storage.rollups import BUCKETS, SUMMED, TABLES, percentiles

GroupBy = Literal["none", "model", "upstream", "project"]
# Intervals a chart can ask for; each is a whole number of the rollup resolution it reads.
NICE_INTERVALS = [
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=15),
    timedelta(hours=1),
    timedelta(hours=6),
    timedelta(days=1),
    timedelta(days=7),
]
MAX_POINTS = 2000
_REPORTED = (0.50, 0.95, 0.99)
_REPORTED_NAMES = ("p50", "p95", "p99")
_ORIGIN = "TIMESTAMPTZ '2000-01-03 00:00:00+00'"  # a Monday, so weekly buckets start on Mondays


class BadRange(ValueError):
    pass


@dataclass(frozen=True)
class SeriesQuery:
    since: datetime
    until: datetime
    interval: timedelta | None = None  # None: chosen for ~100 points at most, from few rollup rows
    group_by: GroupBy = "none"
    project: str | None = None
    upstream: str | None = None
    model: str | None = None
    # Per-minute rollups before this moment are trimmed (tracing.minute_rollup_days): a range
    # that starts earlier is read from hourly rows or coarser. None: all are kept.
    minutes_kept_since: datetime | None = None


@dataclass
class Point:
    start: datetime
    totals: dict[str, float] = field(default_factory=dict)
    latency_hist: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    ttft_hist: list[int] = field(default_factory=lambda: [0] * BUCKETS)


_RESOLUTIONS = [("day", timedelta(days=1)), ("hour", timedelta(hours=1)), ("minute", timedelta(minutes=1))]
# What a chart reads grows with the rollup rows in its range (per project × upstream × model);
# the automatic interval keeps both the points and those rows few.
_AUTO_MAX_POINTS = 100
_AUTO_MAX_ROWS_PER_GROUP = 400


def resolution_of(interval: timedelta) -> tuple[str, timedelta]:
    """The coarsest rollup table whose rows add up exactly to points of `interval`."""
    return next((name, step) for name, step in _RESOLUTIONS if interval % step == timedelta(0))


def choose_interval(query: SeriesQuery) -> timedelta:
    span = query.until - query.since
    if span <= timedelta(0):
        raise BadRange("`until` must be after `since`")
    interval = query.interval
    minutes_gone = query.minutes_kept_since is not None and query.since < query.minutes_kept_since
    if interval is None:
        interval = next(
            (
                nice
                for nice in NICE_INTERVALS
                if span / nice <= _AUTO_MAX_POINTS
                and span / resolution_of(nice)[1] <= _AUTO_MAX_ROWS_PER_GROUP
                and not (minutes_gone and resolution_of(nice)[0] == "minute")
            ),
            NICE_INTERVALS[-1],
        )
    if interval < timedelta(minutes=1) or interval % timedelta(minutes=1):
        raise BadRange("`interval` must be a whole number of minutes")
    if minutes_gone and resolution_of(interval)[0] == "minute":
        raise BadRange(
            f"per-minute figures before {query.minutes_kept_since:%Y-%m-%d %H:%M} UTC are no longer kept "
            "(tracing.minute_rollup_days); for a range that starts earlier, ask for an interval of whole hours"
        )
    if span / interval > MAX_POINTS:
        raise BadRange(f"{span} in steps of {interval} is more than {MAX_POINTS} points; widen the interval")
    return interval


async def time_series(pool: asyncpg.Pool, query: SeriesQuery) -> tuple[timedelta, dict[str, list[Point]]]:
    """Points per group, oldest first; groups keyed by the group-by column's value ('' for none)."""
    interval = choose_interval(query)
    table = TABLES[resolution_of(interval)[0]]
    params: list[Any] = [interval, query.since, query.until]
    clauses = ["bucket >= $2", "bucket < $3"]
    for column in ("project", "upstream", "model"):
        value = getattr(query, column)
        if value is not None:
            params.append(value)
            clauses.append(f"{column} = ${len(params)}")
    group = "''" if query.group_by == "none" else query.group_by
    # As float8: sum(bigint) keeps a numeric state per cell, which the parallel plan serializes
    # and the sort spills to disk (60 cells); float8's state is one machine word, and counts
    # stay exact below 2^53. Hourly points over 30 days: 188 -> 110 ms in PostgreSQL. It also
    # reaches Python as a float, not a Decimal to convert.
    sums = ", ".join(f"sum({name}::float8)" for name in SUMMED)
    # Histograms add position by position. Summing each subscript is a plain columnar
    # aggregate; unnesting the arrays instead multiplied the rows by the bucket count (10× slower).
    # Each comes back as one array, which the driver decodes in C: 30 days of hourly points by
    # upstream are 2,880 points, and converting their 170,000 cells one by one in Python cost
    # as much as PostgreSQL's whole aggregation.
    histograms = ", ".join(
        "ARRAY[" + ", ".join(f"sum({name}[{position}]::float8)" for position in range(1, BUCKETS + 1)) + "]::bigint[]"
        for name in ("latency_hist", "ttft_hist")
    )
    sql = (
        f"SELECT date_bin($1, bucket, {_ORIGIN}) AS t, {group} AS k, {sums}, {histograms} FROM {table} "
        f"WHERE {' AND '.join(clauses)} GROUP BY t, k ORDER BY k, t"
    )
    async with pool.acquire() as connection:
        records = await connection.fetch(sql, *params)
    return interval, _points(records)


async def chart(pool: asyncpg.Pool, query: SeriesQuery) -> tuple[timedelta, list[dict[str, Any]]]:
    """Each group's points and its total over the range, as the API returns them, by group."""
    interval, groups = await time_series(pool, query)
    return interval, [
        {"group": group, "points": [describe(point) for point in points], "total": describe(merge(points, query.since))}
        for group, points in sorted(groups.items())
    ]


def _points(records: list[asyncpg.Record]) -> dict[str, list[Point]]:
    # By position, not by name: 30 days of hourly points by upstream are 2,880 records, and a
    # name lookup per cell cost as much as the query. No sum is NULL: each point has rows.
    last_sum = 2 + len(SUMMED)
    series: dict[str, list[Point]] = {}
    for record in records:
        values = tuple(record)
        point = Point(
            start=values[0],
            totals=dict(zip(SUMMED, values[2:last_sum], strict=True)),
            latency_hist=values[last_sum],
            ttft_hist=values[last_sum + 1],
        )
        series.setdefault(values[1], []).append(point)
    return series


def describe(point: Point) -> dict[str, Any]:
    """A point as the API returns it: sums, averages and percentiles (ms)."""
    totals = point.totals
    requests = totals["requests"]
    timed = sum(point.latency_hist)
    latency = percentiles(point.latency_hist, _REPORTED)
    ttft = percentiles(point.ttft_hist, _REPORTED)
    return {
        "start": point.start,
        "requests": int(requests),
        "errors": int(totals["errors"]),
        "cancelled": int(totals["cancelled"]),
        "blocked": int(totals["blocked"]),
        "input_tokens": int(totals["input_tokens"]),
        "output_tokens": int(totals["output_tokens"]),
        "cached_tokens": int(totals["cached_tokens"]),
        "cost_usd": totals["cost_usd"],
        "unpriced_calls": int(totals["unpriced"]),
        "latency_ms": {
            "avg": totals["latency_sum_ms"] / timed if timed else None,
            **dict(zip(_REPORTED_NAMES, latency, strict=True)),
        },
        "ttft_ms": {
            "avg": totals["ttft_sum_ms"] / totals["ttft_count"] if totals["ttft_count"] else None,
            **dict(zip(_REPORTED_NAMES, ttft, strict=True)),
        },
    }


def merge(points: list[Point], start: datetime) -> Point:
    """The sum of several points (a whole series, for its totals)."""
    if not points:
        return Point(start=start, totals=dict.fromkeys(SUMMED, 0.0))
    return Point(
        start=start,
        totals={name: sum(point.totals[name] for point in points) for name in SUMMED},
        latency_hist=[sum(column) for column in zip(*(point.latency_hist for point in points), strict=True)],
        ttft_hist=[sum(column) for column in zip(*(point.ttft_hist for point in points), strict=True)],
    )


@dataclass(frozen=True)
class FindingCount:
    start: datetime
    category: str
    action: str
    findings: int
    calls: int  # distinct calls with at least one finding of the category


async def finding_series(
    pool: asyncpg.Pool, since: datetime, until: datetime, interval: timedelta | None, project: str | None = None
) -> tuple[timedelta, list[FindingCount]]:
    """Guardrail findings per interval, category and action (from the findings table, by time)."""
    step = choose_interval(SeriesQuery(since=since, until=until, interval=interval))
    params: list[Any] = [step, since, until]
    join, clause = "", ""
    if project is not None:
        params.append(project)
        join = "JOIN spans s ON s.span_id = f.span_id AND s.started_at = f.started_at"
        clause = f"AND s.project = ${len(params)}"
    sql = (
        f"SELECT date_bin($1, f.started_at, {_ORIGIN}) AS t, f.category, f.action, count(*) AS findings, "
        f"count(DISTINCT f.span_id) AS calls FROM guardrail_findings f {join} "
        f"WHERE f.started_at >= $2 AND f.started_at < $3 {clause} GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    async with pool.acquire() as connection:
        records = await connection.fetch(sql, *params)
    return step, [FindingCount(r["t"], r["category"], r["action"], r["findings"], r["calls"]) for r in records]
