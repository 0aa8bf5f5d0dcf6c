"""Issue 8: 1,000 concurrent streams through one Glassgate, under 300 MB with its PostgreSQL.

The scenario lives in bench/faults/concurrent_streams.py (`python -m bench.faults --scenario
streams`); here the streams last 5 s instead of 10, still all open at once.
"""

from __future__ import annotations

import pytest
from bench.faults.concurrent_streams import TREE_BUDGET_MB, run_streams
from bench.faults.scenario import Options


@pytest.mark.timeout(240)
def test_a_thousand_streams_at_once_arrive_whole_are_traced_and_stay_within_memory() -> None:
    report = run_streams(Options(streams=1000, stream_s=5.0))

    assert report.completed == report.streams == 1000, report
    assert report.traced == 1000, report.span_problems
    assert report.open_at_once >= 950, "the streams overlapped"
    peak = report.peak_mb["tree_pss"]
    assert peak is not None and peak < TREE_BUDGET_MB, report.peak_mb
    baseline = report.baseline_mb["glassgate_rss"]
    glassgate_peak = report.peak_mb["glassgate_rss"]
    assert baseline is not None and glassgate_peak is not None
    assert glassgate_peak - baseline <= 60.0, "1,000 streams cost Glassgate at most ~60 KB each"
    assert report.log_problems == []
