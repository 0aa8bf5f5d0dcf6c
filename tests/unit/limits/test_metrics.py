"""The limiter's counters on /metrics (no Redis needed: building a limiter connects to nothing)."""

from __future__ import annotations

from glassgate.config import LimitRule, LimitSettings
from glassgate.limits import Limiter
from glassgate.tracing.metrics import Metrics


def test_limit_counters_are_scraped_as_counters() -> None:
    limiter = Limiter(
        LimitSettings(rules=[LimitRule(name="team-a", requests_per_minute=1)]),
        "redis://127.0.0.1:1/0",
        lambda vendor, model, input_tokens, output_tokens: None,
    )
    limiter.counters.allowed = 7
    limiter.counters.unchecked = 2
    limiter.counters.refused[("team-a", "tokens")] = 3
    limiter.counters.refused[("team-a", "requests")] = 1
    metrics = Metrics()
    metrics.watch_limits(limiter)
    text = metrics.render().decode()
    assert 'glassgate_limit_checks_total{result="allowed"} 7.0' in text
    assert 'glassgate_limit_checks_total{result="refused"} 4.0' in text
    assert 'glassgate_limit_checks_total{result="unchecked"} 2.0' in text
    assert 'glassgate_limit_checks_total{result="unavailable"} 0.0' in text
    assert 'glassgate_limit_refusals_total{limit="tokens",rule="team-a"} 3.0' in text
    assert "glassgate_limit_redis_errors_total 0.0" in text
    limiter.counters.allowed = 8  # read at scrape time, not copied
    assert 'glassgate_limit_checks_total{result="allowed"} 8.0' in metrics.render().decode()
