"""The limiter against a real redis-server: atomic reservations, settlement, release, windows, outages."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import redis.asyncio

from glassgate.config import LimitRule, LimitSettings
from glassgate.limits import Limiter, LimitRefusal
from glassgate.limits import store as store_module
from tests.conftest import RedisServer
from tests.harness import free_port
from tests.integration.limits.calls import FinishedSpan, call, price

PREFIX = "test"
MINUTE_100 = 100 * 60.0  # the start of minute number 100 since the epoch


@pytest.fixture
async def counters(redis_server: RedisServer) -> AsyncIterator[redis.asyncio.Redis]:
    """A client to look at the counters; the database starts empty for each test."""
    client = redis.asyncio.Redis.from_url(redis_server.url, decode_responses=True)
    await client.flushall()
    yield client
    await client.aclose()


MakeLimiter = Callable[..., Limiter]


@pytest.fixture
async def make_limiter(redis_server: RedisServer) -> AsyncIterator[MakeLimiter]:
    made: list[Limiter] = []

    def make(
        *rules: LimitRule, url: str | None = None, clock: Callable[[], float] = time.time, **options: Any
    ) -> Limiter:
        settings = LimitSettings(rules=list(rules), key_prefix=PREFIX, **{"redis_timeout_ms": 2000, **options})
        limiter = Limiter(settings, url or redis_server.url, price, clock=clock)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.close()


async def total(client: redis.asyncio.Redis, pattern: str) -> int:
    keys = [key async for key in client.scan_iter(f"{PREFIX}:{pattern}")]
    return sum(int(value) for value in await client.mget(keys) if value is not None) if keys else 0


async def test_concurrent_checks_admit_exactly_the_limit_across_replicas(
    make_limiter: MakeLimiter, counters: redis.asyncio.Redis
) -> None:
    rule = LimitRule(name="rpm", requests_per_minute=10)
    replicas = [make_limiter(rule), make_limiter(rule)]
    checks = [replicas[number % 2].check(call()) for number in range(60)]
    results = await asyncio.gather(*checks)
    assert sum(result is None for result in results) == 10
    refusals = [result for result in results if result is not None]
    assert len(refusals) == 50
    assert {refusal.status for refusal in refusals} == {429}
    assert await total(counters, "rpm:*:r:*") == 10
    assert sum(replica.counters.allowed for replica in replicas) == 10
    assert sum(replica.counters.refused[("rpm", "requests")] for replica in replicas) == 50


async def test_per_key_counters_are_apart(make_limiter: MakeLimiter, counters: redis.asyncio.Redis) -> None:
    limiter = make_limiter(LimitRule(name="per-key", per="key", requests_per_minute=1))
    assert await limiter.check(call(key_id="k1")) is None
    assert await limiter.check(call(key_id="k2")) is None
    assert await limiter.check(call(key_id=None)) is None  # no Glassgate key: the key '-'
    refusal = await limiter.check(call(key_id="k1"))
    assert refusal is not None
    assert "key 'k1'" in refusal.message
    assert sorted([key async for key in counters.scan_iter(f"{PREFIX}:per-key:*")]) == sorted(
        f"{PREFIX}:per-key:{key}:r:{int(time.time() // 60)}" for key in ("k1", "k2", "-")
    )


async def test_every_matching_rule_must_have_room(make_limiter: MakeLimiter, counters: redis.asyncio.Redis) -> None:
    limiter = make_limiter(
        LimitRule(name="wide", requests_per_minute=100),
        LimitRule(name="narrow", projects=["team-a"], requests_per_minute=1),
    )
    assert await limiter.check(call(project="team-a")) is None
    refusal = await limiter.check(call(project="team-a"))
    assert refusal is not None
    assert "'narrow'" in refusal.message
    # The refused call took nothing from the rule that had room: all or nothing.
    assert await total(counters, "wide:*") == 1
    assert await limiter.check(call(project="team-b")) is None
    assert await total(counters, "wide:*") == 2


async def test_settling_frees_the_unused_reservation(make_limiter: MakeLimiter, counters: redis.asyncio.Redis) -> None:
    limiter = make_limiter(LimitRule(name="tpm", tokens_per_minute=1000))
    body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x" * 40}], "max_tokens": 600}
    first = call(body)
    assert await limiter.check(first) is None
    reserved = await total(counters, "tpm:*:t:*")
    assert reserved == 14 + 600  # the prompt estimate (55 characters) + max_tokens
    second = await limiter.check(call(body))
    assert second is not None
    assert "1000 tokens per minute reached (614 used, this call needs 614)" in second.message
    first.headers_at = 0.1  # it was answered: its span settles it
    limiter.finish(first)
    limiter.settle(FinishedSpan(first.span_id, input_tokens=12, output_tokens=6))
    await limiter.flush()
    assert await total(counters, "tpm:*:t:*") == 18
    assert await limiter.check(call(body)) is None
    assert await total(counters, "tpm:*:t:*") == 18 + 614


async def test_a_call_without_an_answer_gives_everything_back(
    make_limiter: MakeLimiter, counters: redis.asyncio.Redis
) -> None:
    limiter = make_limiter(LimitRule(name="all", requests_per_minute=5, tokens_per_minute=10_000, usd_per_day=1))
    refused_upstream = call()
    assert await limiter.check(refused_upstream) is None
    assert await total(counters, "all:*:r:*") == 1
    assert await total(counters, "all:*:u:*") > 0
    limiter.finish(refused_upstream)  # no headers_at: a guardrail blocked it, or the upstream was unreachable
    await limiter.flush()
    assert await total(counters, "all:*") == 0
    limiter.settle(FinishedSpan(refused_upstream.span_id, input_tokens=1000, output_tokens=1000))
    await limiter.flush()
    assert await total(counters, "all:*") == 0  # released once, never settled after


async def test_answers_without_usage(make_limiter: MakeLimiter, counters: redis.asyncio.Redis) -> None:
    limiter = make_limiter(LimitRule(name="tpm", tokens_per_minute=100_000))
    body = {"model": "gpt-4o-mini", "messages": [], "max_tokens": 1000}
    # An answer without usage (and no estimate) keeps its worst case ...
    answered = call(body)
    assert await limiter.check(answered) is None
    limiter.settle(FinishedSpan(answered.span_id, http_status=200))
    # ... a vendor error without usage used nothing.
    failed = call(body)
    assert await limiter.check(failed) is None
    limiter.settle(FinishedSpan(failed.span_id, http_status=500))
    await limiter.flush()
    worst = 3 + 1000  # "gpt-4o-mini" → 3 tokens, + max_tokens
    assert await total(counters, "tpm:*") == worst


async def test_daily_budget_reserves_the_worst_price_and_settles_the_real_cost(
    make_limiter: MakeLimiter, counters: redis.asyncio.Redis
) -> None:
    limiter = make_limiter(LimitRule(name="usd", usd_per_day=0.01))
    body = {"model": "gpt-4o-mini", "messages": [], "max_tokens": 4000}  # worst case $0.008003
    first = call(body)
    assert await limiter.check(first) is None
    assert await total(counters, "usd:*:u:*") == 8_003_000
    refusal = await limiter.check(call(body))
    assert refusal is not None
    assert refusal.code == "insufficient_quota"
    assert dict(refusal.headers)[b"x-should-retry"] == b"false"
    limiter.settle(FinishedSpan(first.span_id, input_tokens=100, output_tokens=50, cost_usd=0.0002))
    await limiter.flush()
    assert await total(counters, "usd:*:u:*") == 200_000
    assert await limiter.check(call(body)) is None


async def test_an_unpriced_model_counts_nothing_but_a_spent_budget_still_refuses(
    make_limiter: MakeLimiter, counters: redis.asyncio.Redis
) -> None:
    limiter = make_limiter(LimitRule(name="usd", usd_per_day=0.001))
    free = {"model": "free-model", "messages": [], "max_tokens": 10}
    assert await limiter.check(call(free)) is None
    assert await total(counters, "usd:*") == 0
    spent = call({"model": "gpt-4o-mini", "messages": [], "max_tokens": 10})
    assert await limiter.check(spent) is None
    limiter.settle(FinishedSpan(spent.span_id, input_tokens=1, output_tokens=1, cost_usd=0.001))
    await limiter.flush()
    refusal = await limiter.check(call(free))
    assert refusal is not None
    assert "is spent" in refusal.message


async def test_the_minute_slides(make_limiter: MakeLimiter, counters: redis.asyncio.Redis) -> None:
    now = [MINUTE_100 + 59.0]
    limiter = make_limiter(LimitRule(name="slide", requests_per_minute=10), clock=lambda: now[0])
    assert [await limiter.check(call()) for _ in range(10)] == [None] * 10
    # One second into the next minute the last one still weighs 59/60 × 10: no second burst.
    now[0] = MINUTE_100 + 61.0
    refusal = await limiter.check(call())
    assert refusal is not None
    wanted = dict(refusal.headers)
    # 10·(1−g) + 1 ≤ 10 → g ≥ 0.1: 6 s into the minute, 5 s from now.
    assert wanted[b"retry-after"] == b"5"
    assert wanted[b"x-ratelimit-reset-requests"] == b"5s"
    # Half way through, half of the previous minute is left: five more fit, not six.
    now[0] = MINUTE_100 + 90.0
    results = [await limiter.check(call()) for _ in range(6)]
    assert [result is None for result in results] == [True] * 5 + [False]
    # Keys expire on their own once they cannot matter.
    ttl = await counters.pttl(f"{PREFIX}:slide:*:r:101")
    assert 0 < ttl <= 120_000


async def test_a_call_larger_than_the_limit_is_refused_for_good(make_limiter: MakeLimiter) -> None:
    limiter = make_limiter(LimitRule(name="tpm", tokens_per_minute=500))
    refusal = await limiter.check(call({"model": "m", "max_tokens": 1000}))
    assert isinstance(refusal, LimitRefusal)
    assert "on its own" in refusal.message
    assert b"retry-after" not in dict(refusal.headers)


async def test_redis_down_open_forwards_and_closed_refuses(
    make_limiter: MakeLimiter, caplog: pytest.LogCaptureFixture
) -> None:
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    rule = LimitRule(name="rpm", requests_per_minute=1)
    open_limiter = make_limiter(rule, url=nowhere)
    closed_limiter = make_limiter(rule, url=nowhere, on_redis_error="closed")
    with caplog.at_level(logging.WARNING, logger="glassgate.limits"):
        assert [await open_limiter.check(call()) for _ in range(5)] == [None] * 5
        refusals = [await closed_limiter.check(call()) for _ in range(5)]
    assert {(refusal.status, refusal.code) for refusal in refusals if refusal} == {(503, "limits_unavailable")}
    assert len(refusals) == 5
    assert (open_limiter.counters.unchecked, closed_limiter.counters.unavailable) == (5, 5)
    # One failed call each; the others did not wait on a server known to be down.
    assert (open_limiter.redis_errors, closed_limiter.redis_errors) == (1, 1)
    outage_logs = [record for record in caplog.records if "Redis unreachable" in record.getMessage()]
    assert len(outage_logs) == 2  # once per limiter and outage, not per call


async def test_a_hung_redis_costs_one_timeout(make_limiter: MakeLimiter) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # accepts, reads, never answers
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        limiter = make_limiter(
            LimitRule(name="rpm", requests_per_minute=1), url=f"redis://127.0.0.1:{port}/0", redis_timeout_ms=50
        )
        started = time.perf_counter()
        assert await limiter.check(call()) is None
        assert await limiter.check(call()) is None
        elapsed = time.perf_counter() - started
        assert limiter.counters.unchecked == 2
        assert limiter.redis_errors == 1
        assert elapsed < 0.5  # one 50 ms timeout (plus a loaded machine's slack), not one per call
    finally:
        server.close()
        await server.wait_closed()


async def test_checks_resume_when_redis_comes_back(
    make_limiter: MakeLimiter,
    redis_server: RedisServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(store_module, "_PAUSE_AFTER_FAILURE_S", 0.05)
    limiter = make_limiter(LimitRule(name="rpm", requests_per_minute=1), on_redis_error="closed")
    assert await limiter.check(call()) is None
    redis_server.stop()
    try:
        refusal = await limiter.check(call())
        assert refusal is not None
        assert refusal.status == 503
    finally:
        redis_server.start()
    await asyncio.sleep(0.1)
    with caplog.at_level(logging.WARNING, logger="glassgate.limits"):
        assert await limiter.check(call()) is None  # the restarted Redis is empty: the minute starts over
        refusal = await limiter.check(call())
    assert refusal is not None
    assert refusal.status == 429
    assert any("Redis answers again" in record.getMessage() for record in caplog.records)


async def test_settlements_are_kept_out_of_an_empty_redis(
    make_limiter: MakeLimiter, counters: redis.asyncio.Redis
) -> None:
    limiter = make_limiter(LimitRule(name="tpm", tokens_per_minute=10_000))
    answered = call()
    assert await limiter.check(answered) is None
    await counters.flushall()  # the window expired, or Redis restarted
    limiter.settle(FinishedSpan(answered.span_id, input_tokens=5000, output_tokens=5000))
    await limiter.flush()
    assert [key async for key in counters.scan_iter("*")] == []


async def test_reservations_whose_span_never_comes_are_forgotten(
    make_limiter: MakeLimiter, counters: redis.asyncio.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    from glassgate.limits import limiter as limiter_module

    limiter = make_limiter(LimitRule(name="rpm", requests_per_minute=100))
    assert await limiter.check(call()) is None
    monkeypatch.setattr(limiter_module, "_PENDING_MAX_AGE_S", 0.0)
    assert await limiter.check(call()) is None
    assert limiter.counters.unsettled == 2  # the old one, and the new one at once with an age limit of 0
