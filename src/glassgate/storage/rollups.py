"""Per-minute, per-hour and per-day rollups of proxied calls, kept as spans are written.

Dashboards read these tables, never raw spans: a 30-day chart sums 30 daily rows per
project × upstream × model instead of scanning millions of spans. Latency and time to first
token are kept as fixed-bucket histograms, so percentiles over any range are a sum of
arrays followed by an interpolation, exact to the bucket.

Only spans the insert actually stored are rolled up (the caller passes the ids the INSERT
returned), so a batch replayed after an outage is never counted twice.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

# Upper bounds (ms) of the histogram buckets; one more bucket holds everything above.
# Log-spaced: LLM latencies run from a few milliseconds (cached embeddings) to minutes.
LATENCY_BOUNDS_MS: tuple[float, ...] = (
    5, 10, 25, 50, 75, 100, 150, 200, 300, 400, 500, 750, 1_000, 1_500, 2_000, 3_000, 4_000,
    5_000, 7_500, 10_000, 15_000, 20_000, 30_000, 45_000, 60_000, 90_000, 120_000, 180_000, 300_000,
)  # fmt: skip
BUCKETS = len(LATENCY_BOUNDS_MS) + 1
TABLES = {"minute": "rollups_minute", "hour": "rollups_hour", "day": "rollups_day"}


def bucket_of(value_ms: float) -> int:
    """The histogram bucket a duration falls in (a value equal to a bound belongs below it)."""
    return bisect.bisect_left(LATENCY_BOUNDS_MS, value_ms)


@dataclass(slots=True)
class RollupRow:
    """The additive totals of one (time bucket, project, upstream, model)."""

    requests: int = 0
    errors: int = 0
    cancelled: int = 0
    blocked: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    cost_usd: float = 0.0
    unpriced: int = 0  # calls with usage but no price: their cost is unknown, not zero
    latency_sum_ms: float = 0.0
    latency_hist: list[int] = field(default_factory=lambda: [0] * BUCKETS)
    ttft_count: int = 0
    ttft_sum_ms: float = 0.0
    ttft_hist: list[int] = field(default_factory=lambda: [0] * BUCKETS)


@dataclass(frozen=True, slots=True)
class RolledSpan:
    """The fields of a span a rollup needs (a `Span` has them too, and is passed as it is)."""

    started_at: datetime
    project: str
    upstream: str | None
    model: str | None
    status: str
    input_tokens: int | None
    output_tokens: int | None
    cached_tokens: int | None
    cost_usd: float | None
    cost_status: str | None
    latency_ms: float | None
    ttft_ms: float | None


RollupKey = tuple[datetime, str, str, str]


class RollupSource(Protocol):
    """What `accumulate` reads: a `RolledSpan`, or a `Span` itself."""

    @property
    def started_at(self) -> datetime: ...
    @property
    def project(self) -> str: ...
    @property
    def upstream(self) -> str | None: ...
    @property
    def model(self) -> str | None: ...
    @property
    def status(self) -> str: ...
    @property
    def input_tokens(self) -> int | None: ...
    @property
    def output_tokens(self) -> int | None: ...
    @property
    def cached_tokens(self) -> int | None: ...
    @property
    def cost_usd(self) -> float | None: ...
    @property
    def cost_status(self) -> str | None: ...
    @property
    def latency_ms(self) -> float | None: ...
    @property
    def ttft_ms(self) -> float | None: ...


def _truncate(moment: datetime, resolution: str) -> datetime:
    if resolution == "minute":
        return moment.replace(second=0, microsecond=0)
    if resolution == "hour":
        return moment.replace(minute=0, second=0, microsecond=0)
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


SUMMED = (
    "requests",
    "errors",
    "cancelled",
    "blocked",
    "input_tokens",
    "output_tokens",
    "cached_tokens",
    "cost_usd",
    "unpriced",
    "latency_sum_ms",
    "ttft_count",
    "ttft_sum_ms",
)
_HISTOGRAMS = ("latency_hist", "ttft_hist")
_KEY = ("bucket", "project", "upstream", "model")
_TYPES = {
    "bucket": "timestamptz",
    "project": "text",
    "upstream": "text",
    "model": "text",
    "cost_usd": "float8",
    "latency_sum_ms": "float8",
    "ttft_sum_ms": "float8",
}


def accumulate(spans: Iterable[RollupSource], resolution: str) -> dict[RollupKey, RollupRow]:
    """Sum spans into rows keyed by (bucket start, project, upstream, model); '' stands for none."""
    if resolution != "minute":  # coarser rows are sums of minute rows: one pass over the spans
        return coarsen(accumulate(spans, "minute"), resolution)
    rows: dict[RollupKey, RollupRow] = {}
    for span in spans:
        key = (_truncate(span.started_at, resolution), span.project, span.upstream or "", span.model or "")
        row = rows.get(key)
        if row is None:
            row = rows[key] = RollupRow()
        row.requests += 1
        if span.status == "error":
            row.errors += 1
        elif span.status == "cancelled":
            row.cancelled += 1
        elif span.status == "blocked":
            row.blocked += 1
        row.input_tokens += span.input_tokens or 0
        row.output_tokens += span.output_tokens or 0
        row.cached_tokens += span.cached_tokens or 0
        if span.cost_usd is not None:
            row.cost_usd += span.cost_usd
        elif span.cost_status == "unpriced":
            row.unpriced += 1
        if span.latency_ms is not None:
            row.latency_sum_ms += span.latency_ms
            row.latency_hist[bucket_of(span.latency_ms)] += 1
        if span.ttft_ms is not None:
            row.ttft_count += 1
            row.ttft_sum_ms += span.ttft_ms
            row.ttft_hist[bucket_of(span.ttft_ms)] += 1
    return rows


def coarsen(rows: dict[RollupKey, RollupRow], resolution: str) -> dict[RollupKey, RollupRow]:
    """Minute rows summed into hour or day rows."""
    coarse: dict[RollupKey, RollupRow] = {}
    for (moment, *group), row in rows.items():
        coarse_key: RollupKey = (_truncate(moment, resolution), group[0], group[1], group[2])
        total = coarse.get(coarse_key)
        if total is None:
            copied = RollupRow(**{name: getattr(row, name) for name in SUMMED})
            copied.latency_hist, copied.ttft_hist = list(row.latency_hist), list(row.ttft_hist)
            coarse[coarse_key] = copied
            continue
        for name in SUMMED:
            setattr(total, name, getattr(total, name) + getattr(row, name))
        for name in _HISTOGRAMS:
            histogram = getattr(total, name)
            for index, count in enumerate(getattr(row, name)):
                histogram[index] += count
    return coarse


def upsert_columns() -> list[str]:
    """The columns `upsert_arguments` returns, in order."""
    return [*_KEY, *SUMMED, *_HISTOGRAMS]


def _upsert(table: str, first: int) -> str:
    """INSERT … ON CONFLICT adding rows to `table`, its arrays numbered from `first`."""
    columns = upsert_columns()
    arrays = ", ".join(
        f"${first + i}::{'text' if name in _HISTOGRAMS else _TYPES.get(name, 'int8')}[]"
        for i, name in enumerate(columns)
    )
    selected = ", ".join(
        f"ARRAY(SELECT jsonb_array_elements_text(u.{name}::jsonb)::int8)" if name in _HISTOGRAMS else f"u.{name}"
        for name in columns
    )
    updates = [f"{name} = {table}.{name} + excluded.{name}" for name in SUMMED] + [
        f"{name} = ARRAY(SELECT a + b FROM unnest({table}.{name}, excluded.{name}) AS h(a, b))" for name in _HISTOGRAMS
    ]
    # Rows arrive sorted by key, so concurrent writers (replicas) lock them in the same order
    # and cannot deadlock on each other's batches.
    return (
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {selected} FROM unnest({arrays}) "
        f"AS u({', '.join(columns)}) ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET {', '.join(updates)}"
    )


def upsert_statement() -> str:
    """One statement adding a batch to every resolution's table (one round trip, not three)."""
    return f"WITH {upsert_ctes(first=1)} SELECT 1"  # PostgreSQL runs every data-modifying CTE


def upsert_ctes(first: int) -> str:
    """The upserts as common table expressions of a larger statement, arrays numbered from `first`."""
    width = len(upsert_columns())
    return ", ".join(
        f"rollup_{name} AS ({_upsert(table, first + index * width)})"
        for index, (name, table) in enumerate(TABLES.items())
    )


def upsert_arguments(spans: Sequence[RollupSource]) -> list[list[object]]:
    """The arguments of `upsert_statement` for these spans."""
    minutes = accumulate(spans, "minute")
    arguments: list[list[object]] = []
    for resolution in TABLES:
        arguments += resolution_arguments(minutes if resolution == "minute" else coarsen(minutes, resolution))
    return arguments


def resolution_arguments(rows: dict[RollupKey, RollupRow]) -> list[list[object]]:
    """The column arrays for one table's rows, in key order."""
    ordered = sorted(rows.items())
    arguments: list[list[object]] = [[key[index] for key, _ in ordered] for index in range(len(_KEY))]
    for name in SUMMED:
        arguments.append([getattr(row, name) for _, row in ordered])
    for name in _HISTOGRAMS:
        arguments.append([_json_ints(getattr(row, name)) for _, row in ordered])
    return arguments


def _json_ints(values: Sequence[int]) -> str:
    return "[" + ",".join(map(str, values)) + "]"


def percentiles(histogram: Sequence[int], fractions: Sequence[float]) -> list[float | None]:
    """For each of `fractions` (each above 0), the value below which that fraction of the
    observations fall, interpolated in its bucket; from one pass over the histogram.

    A chart of 30 days of hourly points by upstream asks for ~17,000 of them; a search in the
    running sums is a third of the cost of walking the buckets for each.
    """
    running = list(itertools.accumulate(histogram))
    total = running[-1]
    if total == 0:
        return [None] * len(fractions)
    found: list[float | None] = []
    for fraction in fractions:
        rank = fraction * total
        index = bisect.bisect_left(running, rank)  # the first bucket whose running sum reaches the rank
        if index >= len(LATENCY_BOUNDS_MS):  # the open-ended top bucket: report its floor
            found.append(float(LATENCY_BOUNDS_MS[-1]))
            continue
        seen = running[index - 1] if index > 0 else 0
        lower = LATENCY_BOUNDS_MS[index - 1] if index > 0 else 0.0
        upper = LATENCY_BOUNDS_MS[index]
        found.append(float(lower + (upper - lower) * (rank - seen) / (running[index] - seen)))
    return found
