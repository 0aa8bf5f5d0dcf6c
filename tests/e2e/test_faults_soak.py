"""Issue 8: steady mixed traffic (answers, 5xx, resets, clients hanging up) with RSS sampled.

The scenario lives in bench/faults/soak.py (`python -m bench.faults --scenario soak`, 10 minutes
under `make faults`); here it runs for 20 seconds, held to the same checks and the same RSS
budget (in so short a run a leak shows less, so the slope is not held to anything).
"""

from __future__ import annotations

import pytest
from bench.faults.scenario import Options
from bench.faults.soak import MIX, RSS_GROWTH_BUDGET_MB, run_soak


@pytest.mark.timeout(240)
def test_a_short_soak_of_mixed_traffic_loses_no_span_and_grows_no_memory() -> None:
    report = run_soak(Options(warmup_s=3.0, soak_minutes=20 / 60, soak_sample_s=1.0))
    checks = report.checks

    assert set(checks.by_kind) == {kind.name for kind in MIX}, "every kind of call was in the mix"
    assert checks.failed == 0, checks.examples
    assert (checks.spans_lost, checks.spans_duplicated, checks.spans_wrong) == (0, 0, 0), checks.examples
    assert checks.by_kind["hang-up"].spans_as_expected == checks.by_kind["hang-up"].calls, "hang-ups: cancelled"
    assert len(report.samples) >= 15
    assert report.rss_mb["growth"] <= RSS_GROWTH_BUDGET_MB, report.rss_mb
    assert report.log_problems == []
