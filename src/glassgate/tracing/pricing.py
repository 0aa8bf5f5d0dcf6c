"""The cost of a call in USD, from genai-prices' bundled price table (offline; no update fetch).

Usage follows genai-prices' convention, which is ours too: input tokens include cache reads
and writes. Each provider's own rule (OpenAI counts cached tokens inside prompt tokens,
Anthropic and Bedrock apart) was applied by the vendor adapters when they normalised usage.

genai-prices takes ~190 µs per call here, too much per span, so each model's flat rates are
derived once (by pricing one million tokens of each kind) and applied as a linear formula;
models with tiered prices keep the library's exact calculation. A model the table does not
know is "unpriced", never $0.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from importlib.metadata import version

from genai_prices import Usage, calc_price
from genai_prices.types import ModelPrice, TieredPrices

PRICE_VERSION = f"genai-prices {version('genai-prices')}"
_MILLION = 1_000_000
# Our vendor names → genai-prices provider ids.
_PROVIDERS = {"openai": "openai", "azure": "azure", "anthropic": "anthropic", "bedrock": "aws"}


@dataclass(frozen=True, slots=True)
class Cost:
    usd: float | None  # None: unpriced or no usage
    status: str  # priced | unpriced | no_usage
    price_version: str | None


@dataclass(frozen=True, slots=True)
class _Rates:
    """USD per token of each kind (input excludes the cache reads and writes)."""

    input: float
    output: float
    cache_read: float
    cache_write: float


def _price_once(model_price: ModelPrice, **tokens: int) -> float:
    return float(model_price.calc_price(Usage(**tokens))["total_price"]) / _MILLION


@lru_cache(maxsize=2048)
def _lookup(provider: str, model: str) -> tuple[ModelPrice, _Rates | None] | None:
    """The model's price and, when its prices are flat, its per-token rates; None if unknown."""
    try:
        model_price = calc_price(Usage(input_tokens=0, output_tokens=0), model, provider_id=provider).model_price
    except LookupError:
        return None
    if any(isinstance(value, TieredPrices) for value in vars(model_price).values()):
        return model_price, None
    base = _price_once(model_price, input_tokens=_MILLION)
    rates = _Rates(
        input=base,
        output=_price_once(model_price, output_tokens=_MILLION),
        cache_read=_price_once(model_price, input_tokens=_MILLION, cache_read_tokens=_MILLION),
        cache_write=_price_once(model_price, input_tokens=_MILLION, cache_write_tokens=_MILLION),
    )
    return model_price, rates


def price(
    vendor: str | None,
    model: str | None,
    *,
    input_tokens: int | None,
    output_tokens: int | None,
    cache_read_tokens: int | None,
    cache_write_tokens: int | None,
) -> Cost:
    if input_tokens is None and output_tokens is None:
        return Cost(None, "no_usage", None)
    provider = _PROVIDERS.get(vendor or "")
    found = _lookup(provider, model) if provider and model else None
    if found is None:
        return Cost(None, "unpriced", PRICE_VERSION)
    model_price, rates = found
    tokens_in, tokens_out = input_tokens or 0, output_tokens or 0
    read, write = cache_read_tokens or 0, cache_write_tokens or 0
    if rates is None:
        usage = Usage(
            input_tokens=tokens_in, output_tokens=tokens_out, cache_read_tokens=read, cache_write_tokens=write
        )
        total: Decimal = model_price.calc_price(usage)["total_price"]
        return Cost(float(total), "priced", PRICE_VERSION)
    usd = (
        max(tokens_in - read - write, 0) * rates.input
        + read * rates.cache_read
        + write * rates.cache_write
        + tokens_out * rates.output
    )
    return Cost(round(usd, 10), "priced", PRICE_VERSION)


def warm_up() -> None:
    """Load genai-prices' table now (~0.3 s, blocking: run it in a thread at start-up), not at the first span."""
    _lookup("openai", "gpt-4o-mini")


def worst_case_usd(vendor: str, model: str | None, input_tokens: int, output_tokens: int) -> float | None:
    """A call's price before it is sent (the rate limiter's reservation): no cache discount, every
    output token it may generate. None for a model without a price."""
    return price(
        vendor,
        model,
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=None,
        cache_write_tokens=None,
    ).usd
