"""The 429's message and headers, per vendor, as each SDK reads them."""

from __future__ import annotations

import pytest

from glassgate.limits.refusals import Exceeded, go_duration, limits_unavailable, rate_limited
from glassgate.limits.rules import NANO_USD

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
REQUESTS = Exceeded(rule="team-a", counter="project 'team-a'", kind="requests", limit=3, used=3.0, amount=1, wait_s=7.2)


def headers(vendor: str, exceeded: Exceeded) -> dict[str, str]:
    refusal = rate_limited(vendor, exceeded, NOW)
    return {name.decode(): value.decode() for name, value in refusal.headers}


def test_openai_and_azure_get_retry_after_and_x_ratelimit_headers() -> None:
    for vendor in ("openai", "azure"):
        assert headers(vendor, REQUESTS) == {
            "x-should-retry": "true",
            "retry-after": "8",
            "retry-after-ms": "7200",
            "x-ratelimit-limit-requests": "3",
            "x-ratelimit-remaining-requests": "0",
            "x-ratelimit-reset-requests": "7.2s",
        }


def test_anthropic_gets_its_ratelimit_family_with_an_rfc3339_reset() -> None:
    tokens = Exceeded(
        rule="r", counter="model 'claude'", kind="tokens", limit=1000, used=640.4, amount=500, wait_s=30.0
    )
    assert headers("anthropic", tokens) == {
        "x-should-retry": "true",
        "retry-after": "30",
        "anthropic-ratelimit-tokens-limit": "1000",
        "anthropic-ratelimit-tokens-remaining": "359",
        "anthropic-ratelimit-tokens-reset": "2027-01-15T08:00:30Z",
    }


def test_bedrock_gets_retry_after_only() -> None:
    # ThrottlingException comes from the adapter's x-amzn-ErrorType for 429.
    assert headers("bedrock", REQUESTS) == {"x-should-retry": "true", "retry-after": "8"}


def test_the_message_names_the_rule_and_the_counter() -> None:
    refusal = rate_limited("openai", REQUESTS, NOW)
    assert refusal.status == 429
    assert refusal.code == "rate_limit_exceeded"
    assert refusal.message == (
        "Glassgate limit 'team-a' (project 'team-a'): 3 requests per minute reached (3 used, this call needs 1); "
        "try again in 8 s"
    )


def test_a_spent_budget_is_insufficient_quota_and_not_retried() -> None:
    budget = Exceeded(
        rule="daily",
        counter="all the calls it covers",
        kind="usd",
        limit=5 * NANO_USD,
        used=4.9999 * NANO_USD,
        amount=200_000,
        wait_s=3600.0,
    )
    refusal = rate_limited("openai", budget, NOW)
    assert refusal.code == "insufficient_quota"
    assert headers("openai", budget) == {"x-should-retry": "false", "retry-after": "3600"}
    assert "the budget of $5.000000 USD per day is spent" in refusal.message
    assert "resets at 00:00 UTC" in refusal.message


def test_a_call_over_the_limit_alone_is_not_retried() -> None:
    alone = Exceeded(rule="r", counter="c", kind="tokens", limit=1000, used=0.0, amount=5000, wait_s=None)
    refusal = rate_limited("openai", alone, NOW)
    found = headers("openai", alone)
    assert found["x-should-retry"] == "false"
    assert "retry-after" not in found
    assert "over the limit of 1000 tokens per minute on its own; lower max_tokens" in refusal.message


def test_a_wait_over_a_minute_is_not_retried_by_the_sdk() -> None:
    long = Exceeded(rule="r", counter="c", kind="tokens", limit=1000, used=1000.0, amount=900, wait_s=95.0)
    assert headers("openai", long)["x-should-retry"] == "false"


def test_limits_unavailable_is_a_503() -> None:
    refusal = limits_unavailable()
    assert (refusal.status, refusal.code) == (503, "limits_unavailable")
    assert refusal.headers == ((b"retry-after", b"1"),)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0.0064, "7ms"), (0.5, "500ms"), (1.0, "1s"), (6.5, "6.5s"), (60.0, "1m0s"), (90.25, "1m30.25s")],
)
def test_go_durations(seconds: float, text: str) -> None:
    assert go_duration(seconds) == text
