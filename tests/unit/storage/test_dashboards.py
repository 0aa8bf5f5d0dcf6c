"""How a chart's interval is chosen: few points, few rollup rows, and no per-minute rows that are gone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from glassgate.storage.dashboards import BadRange, SeriesQuery, choose_interval

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
KEPT_SINCE = NOW - timedelta(days=14)


def test_a_short_recent_range_is_drawn_from_minutes() -> None:
    query = SeriesQuery(since=NOW - timedelta(hours=1), until=NOW, minutes_kept_since=KEPT_SINCE)
    assert choose_interval(query) == timedelta(minutes=1)


def test_a_short_range_before_the_minutes_kept_is_drawn_from_hours() -> None:
    since = NOW - timedelta(days=20)
    query = SeriesQuery(since=since, until=since + timedelta(hours=1), minutes_kept_since=KEPT_SINCE)
    assert choose_interval(query) == timedelta(hours=1)
    straddling = SeriesQuery(since=KEPT_SINCE - timedelta(minutes=30), until=KEPT_SINCE + timedelta(hours=3))
    assert choose_interval(straddling) == timedelta(minutes=5), "all minutes kept: none gone"
    gone = SeriesQuery(straddling.since, straddling.until, minutes_kept_since=KEPT_SINCE)
    assert choose_interval(gone) == timedelta(hours=1)


def test_asking_for_minutes_that_are_gone_is_refused_with_what_to_do() -> None:
    since = NOW - timedelta(days=20)
    query = SeriesQuery(
        since=since, until=since + timedelta(hours=2), interval=timedelta(minutes=5), minutes_kept_since=KEPT_SINCE
    )
    with pytest.raises(BadRange, match=r"before 2026-11-15 12:00 UTC .*minute_rollup_days.*whole hours"):
        choose_interval(query)
    hourly = SeriesQuery(query.since, query.until, interval=timedelta(hours=1), minutes_kept_since=KEPT_SINCE)
    assert choose_interval(hourly) == timedelta(hours=1)
