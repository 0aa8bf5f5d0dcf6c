"""Costs: our fast per-token rates agree with genai-prices' exact calculation; unknown is not $0."""

from __future__ import annotations

import random

import pytest
from genai_prices import Usage, calc_price

from glassgate.tracing.pricing import PRICE_VERSION, price

MODELS = [
    ("openai", "openai", "gpt-4o-mini-2024-07-18"),
    ("azure", "azure", "gpt-4o-2024-11-20"),
    ("anthropic", "anthropic", "claude-3-5-sonnet-20241022"),
    ("anthropic", "anthropic", "claude-sonnet-4-5"),  # tiered above 200k input tokens
    ("bedrock", "aws", "us.anthropic.claude-3-5-sonnet-20241022-v2:0"),
    ("bedrock", "aws", "amazon.nova-lite-v1:0"),
]


@pytest.mark.parametrize(("vendor", "provider", "model"), MODELS)
def test_matches_genai_prices_exactly(vendor: str, provider: str, model: str) -> None:
    generator = random.Random(model)
    for _ in range(25):
        tokens_in = generator.randint(0, 400_000)
        read, write = generator.randint(0, tokens_in // 3), generator.randint(0, tokens_in // 3)
        tokens_out = generator.randint(0, 8_000)
        ours = price(
            vendor,
            model,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cache_read_tokens=read,
            cache_write_tokens=write,
        )
        usage = Usage(
            input_tokens=tokens_in, output_tokens=tokens_out, cache_read_tokens=read, cache_write_tokens=write
        )
        reference = float(calc_price(usage, model, provider_id=provider).total_price)
        assert ours.status == "priced" and ours.price_version == PRICE_VERSION
        assert ours.usd == pytest.approx(reference, rel=1e-9, abs=1e-12)


def test_cached_tokens_are_cheaper_than_fresh_ones() -> None:
    fresh = price(
        "openai",
        "gpt-4o-mini-2024-07-18",
        input_tokens=1000,
        output_tokens=0,
        cache_read_tokens=0,
        cache_write_tokens=None,
    )
    cached = price(
        "openai",
        "gpt-4o-mini-2024-07-18",
        input_tokens=1000,
        output_tokens=0,
        cache_read_tokens=1000,
        cache_write_tokens=None,
    )
    assert fresh.usd is not None and cached.usd is not None and cached.usd == pytest.approx(fresh.usd / 2)


@pytest.mark.parametrize(
    ("vendor", "model"),
    [
        ("openai", "my-fine-tune-xyz"),
        ("bedrock", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/x"),
        ("unknown", "gpt-4o"),
        ("openai", None),
    ],
)
def test_unknown_models_are_unpriced_not_free(vendor: str, model: str | None) -> None:
    cost = price(vendor, model, input_tokens=10, output_tokens=5, cache_read_tokens=None, cache_write_tokens=None)
    assert (cost.usd, cost.status) == (None, "unpriced")


def test_no_usage_means_no_cost() -> None:
    cost = price(
        "openai", "gpt-4o-mini", input_tokens=None, output_tokens=None, cache_read_tokens=None, cache_write_tokens=None
    )
    assert (cost.usd, cost.status, cost.price_version) == (None, "no_usage", None)
