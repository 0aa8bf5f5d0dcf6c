"""Rollup arithmetic: buckets, accumulation by key and resolution, percentiles from histograms."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from glassgate.storage.rollups import (
    BUCKETS,
    LATENCY_BOUNDS_MS,
    RolledSpan,
    accumulate,
    bucket_of,
    percentiles,
)

T0 = datetime(2026, 11, 27, 10, 41, 13, 500_000, tzinfo=UTC)


def rolled(**fields: object) -> RolledSpan:
    values: dict[str, object] = {
        "started_at": T0,
        "project": "default",
        "upstream": "openai",
        "model": "gpt-4o",
        "status": "ok",
        "input_tokens": 10,
        "output_tokens": 4,
        "cached_tokens": None,
        "cost_usd": 0.5,
        "cost_status": "priced",
        "latency_ms": 120.0,
        "ttft_ms": None,
        **fields,
    }
    return RolledSpan(**values)  # type: ignore[arg-type]


def test_a_value_on_a_bound_belongs_to_the_bucket_below() -> None:
    assert bucket_of(0.0) == 0
    assert bucket_of(5.0) == 0
    assert bucket_of(5.01) == 1
    assert bucket_of(10**9) == BUCKETS - 1


def test_accumulate_keys_by_truncated_time_and_sums() -> None:
    spans = [
        rolled(),
        rolled(started_at=T0.replace(second=59), status="error", cost_usd=None, cost_status="unpriced"),
        rolled(started_at=T0.replace(minute=42), model=None, upstream=None, ttft_ms=30.0),
    ]
    minutes = accumulate(spans, "minute")
    assert set(minutes) == {
        (T0.replace(second=0, microsecond=0), "default", "openai", "gpt-4o"),
        (T0.replace(minute=42, second=0, microsecond=0), "default", "", ""),
    }
    first = minutes[(T0.replace(second=0, microsecond=0), "default", "openai", "gpt-4o")]
    assert (first.requests, first.errors, first.unpriced, first.input_tokens) == (2, 1, 1, 20)
    assert first.cost_usd == 0.5, "an unpriced call adds nothing to the cost: it is counted apart"
    assert sum(first.latency_hist) == 2 and first.ttft_count == 0
    hours = accumulate(spans, "hour")
    assert len(hours) == 2 and sum(row.requests for row in hours.values()) == 3
    days = accumulate([*spans, rolled(started_at=T0.replace(hour=23, minute=59))], "day")
    assert [key[0] for key in days] == [datetime(2026, 11, 27, tzinfo=UTC)] * 2, "UTC days"


def test_percentiles_from_the_histogram_are_within_one_bucket_of_the_truth() -> None:
    generator = random.Random(7)
    values = [generator.lognormvariate(6.5, 0.8) for _ in range(5000)]  # ~665 ms median, long tail
    histogram = [0] * BUCKETS
    for value in values:
        histogram[bucket_of(value)] += 1
    ordered = sorted(values)
    for fraction in (0.5, 0.95, 0.99):
        truth = ordered[int(fraction * len(ordered)) - 1]
        [estimate] = percentiles(histogram, (fraction,))
        assert estimate is not None
        bucket = bucket_of(truth)
        lower = LATENCY_BOUNDS_MS[bucket - 1] if bucket else 0.0
        assert lower <= estimate <= LATENCY_BOUNDS_MS[bucket], (fraction, truth, estimate)


def test_percentile_edges() -> None:
    assert percentiles([0] * BUCKETS, (0.5,)) == [None]
    top = [0] * BUCKETS
    top[-1] = 3
    assert percentiles(top, (0.99,)) == [LATENCY_BOUNDS_MS[-1]], "the open top bucket reports its floor"
    single = [0] * BUCKETS
    single[bucket_of(120.0)] = 1
    assert percentiles(single, (0.5,)) == [pytest.approx(125.0)]


def walked_percentile(histogram: list[int], fraction: float) -> float | None:
    """The definition, bucket by bucket: the first bucket whose running count reaches the rank."""
    total = sum(histogram)
    if total == 0:
        return None
    rank, seen = fraction * total, 0
    for index, count in enumerate(histogram):
        if count and seen + count >= rank:
            if index >= len(LATENCY_BOUNDS_MS):
                return float(LATENCY_BOUNDS_MS[-1])
            lower = LATENCY_BOUNDS_MS[index - 1] if index else 0.0
            return lower + (LATENCY_BOUNDS_MS[index] - lower) * (rank - seen) / count
        seen += count
    raise AssertionError("unreachable for a fraction in (0, 1]")


def test_percentiles_in_one_pass_agree_with_the_walk_over_sparse_histograms() -> None:
    generator = random.Random(11)
    fractions = (0.01, 0.5, 0.95, 0.99, 1.0)
    for _ in range(2000):
        histogram = [generator.choice((0, 0, 0, 1, 7, 300)) for _ in range(BUCKETS)]
        assert percentiles(histogram, fractions) == pytest.approx([walked_percentile(histogram, f) for f in fractions])
