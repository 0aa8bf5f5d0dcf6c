"""The limiter against a real three-node Redis Cluster (limits.redis_cluster: true).

A check's counters of one project share a hash slot and are checked by one script on the node
that serves it; different projects spread over the nodes; counters shared across projects have
slots of their own, and a check that spans slots is still all or nothing. Redirects (a slot that
moved, or is moving) are followed; a node that is down is an outage that `on_redis_error` decides.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from glassgate.config import LimitRule, LimitSettings
from glassgate.limits import Limiter
from glassgate.limits import store as store_module
from tests.integration.limits.calls import FinishedSpan, call, price
from tests.integration.limits.redis_cluster import RedisClusterNodes

PREFIX = "test"
MakeLimiter = Callable[..., Limiter]


@pytest.fixture
async def make_limiter(redis_cluster: RedisClusterNodes) -> AsyncIterator[MakeLimiter]:
    made: list[Limiter] = []

    def make(*rules: LimitRule, **options: Any) -> Limiter:
        values = {"key_prefix": PREFIX, "redis_timeout_ms": 2000, "redis_cluster": True, **options}
        limiter = Limiter(LimitSettings(rules=list(rules), **values), redis_cluster.url, price)
        made.append(limiter)
        return limiter

    yield make
    for limiter in made:
        await limiter.close()


def minute() -> int:
    return int(time.time() // 60)


def project_served_by(cluster: RedisClusterNodes, node: int, *, besides: int | None = None) -> str:
    """A project name whose counters land on `node` (and not on the node that serves `besides`'s slot)."""
    for number in range(1000):
        project = f"team-{number}"
        slot = cluster.slot_of(f"{{{project}}}")
        if cluster.owner_of(slot) == node and slot != besides:
            return project
    raise LookupError(f"no project name lands on node {node}")


async def test_two_limiters_share_a_counter_through_the_cluster(
    make_limiter: MakeLimiter, redis_cluster: RedisClusterNodes
) -> None:
    rule = LimitRule(name="rpm", per="project", requests_per_minute=10)
    replicas = [make_limiter(rule), make_limiter(rule)]
    for replica in replicas:
        await replica.open()
    results = await asyncio.gather(*(replicas[number % 2].check(call()) for number in range(60)))
    assert sum(result is None for result in results) == 10
    assert {result.status for result in results if result is not None} == {429}
    key = f"{PREFIX}:{{team-a}}:rpm:team-a:r:{minute()}"
    assert redis_cluster.values() == {key: 10}
    # On the node that serves the project's slot (any other would have answered MOVED).
    owner = redis_cluster.owner_of(redis_cluster.slot_of(key))
    assert redis_cluster.keys()[owner] == [key]
    assert sum(replica.counters.allowed for replica in replicas) == 10
    assert sum(replica.redis_errors for replica in replicas) == 0


async def test_projects_spread_over_the_nodes_and_keep_their_counters_together(
    make_limiter: MakeLimiter, redis_cluster: RedisClusterNodes
) -> None:
    limiter = make_limiter(
        LimitRule(name="per-project", per="project", requests_per_minute=100, tokens_per_minute=100_000),
        LimitRule(name="per-key", per="key", requests_per_minute=100),
        LimitRule(name="per-model", per=["project", "model"], tokens_per_minute=100_000),
    )
    projects = [project_served_by(redis_cluster, node) for node in range(3)]
    for project in projects:
        assert await limiter.check(call(project=project, key_id=f"key-of-{project}")) is None
    by_slot: dict[int, set[str]] = {}
    for node, keys in redis_cluster.keys().items():
        for key in keys:
            project = next(project for project in projects if f"{{{project}}}" in key)
            assert redis_cluster.owner_of(redis_cluster.slot_of(key)) == node
            by_slot.setdefault(redis_cluster.slot_of(key), set()).add(project)
    # Four counters per project (its requests and tokens, its key's requests, its model's tokens),
    # in one slot per project, and each project's slot on another node.
    assert len(redis_cluster.values()) == 4 * len(projects)
    assert sorted(map(sorted, by_slot.values())) == sorted([project] for project in projects)
    assert all(keys for keys in redis_cluster.keys().values())
    assert limiter.redis_errors == 0


async def test_a_check_across_slots_is_all_or_nothing(
    make_limiter: MakeLimiter, redis_cluster: RedisClusterNodes
) -> None:
    limiter = make_limiter(
        LimitRule(name="everyone", requests_per_minute=100),  # one counter for every project: its own slot
        LimitRule(name="team", per="project", requests_per_minute=1),
    )
    everyone = f"{PREFIX}:{{everyone:*}}:everyone:*:r:{minute()}"
    team_a = f"{PREFIX}:{{team-a}}:team:team-a:r:{minute()}"
    assert redis_cluster.slot_of(everyone) != redis_cluster.slot_of(team_a)
    assert await limiter.check(call(project="team-a")) is None
    refusal = await limiter.check(call(project="team-a"))
    assert refusal is not None
    assert "'team'" in refusal.message
    await limiter.flush()
    # The slot that had room took the refused call, then gave it back.
    assert redis_cluster.values() == {everyone: 1, team_a: 1}
    assert await limiter.check(call(project="team-b")) is None
    assert redis_cluster.values()[everyone] == 2


async def test_settlements_reach_every_slot(make_limiter: MakeLimiter, redis_cluster: RedisClusterNodes) -> None:
    limiter = make_limiter(
        LimitRule(name="budget", usd_per_day=1),
        LimitRule(name="team", per="project", tokens_per_minute=100_000),
    )
    body = {"model": "gpt-4o-mini", "messages": [], "max_tokens": 1000}
    answered, blocked = call(body), call(body)
    assert await limiter.check(answered) is None
    assert await limiter.check(blocked) is None
    limiter.finish(blocked)  # no answer: gives everything back
    answered.headers_at = 0.1
    limiter.finish(answered)
    limiter.settle(FinishedSpan(answered.span_id, input_tokens=30, output_tokens=20, cost_usd=0.0001))
    await limiter.flush()
    day = int(time.time() // 86_400)
    assert redis_cluster.values() == {
        f"{PREFIX}:{{budget:*}}:budget:*:u:{day}": 100_000,
        f"{PREFIX}:{{team-a}}:team:team-a:t:{minute()}": 50,
    }
    assert limiter.counters.adjust_failures == 0


async def test_a_prefix_with_a_hash_tag_keeps_every_counter_in_one_slot(
    make_limiter: MakeLimiter, redis_cluster: RedisClusterNodes
) -> None:
    limiter = make_limiter(
        LimitRule(name="everyone", requests_per_minute=100),
        LimitRule(name="team", per="project", requests_per_minute=1),
        key_prefix="{glassgate}:limits",
    )
    assert await limiter.check(call(project="team-a")) is None
    assert await limiter.check(call(project="team-a")) is not None
    assert await limiter.check(call(project="team-b")) is None
    values = redis_cluster.values()
    assert {redis_cluster.slot_of(key) for key in values} == {redis_cluster.slot_of("{glassgate}")}
    assert sorted(values.values()) == [1, 1, 2]  # team-a, team-b and everyone: nothing to give back


async def test_a_slot_that_moved_is_followed(make_limiter: MakeLimiter, redis_cluster: RedisClusterNodes) -> None:
    limiter = make_limiter(LimitRule(name="team", per="project", requests_per_minute=5))
    slot = redis_cluster.slot_of("{team-a}")
    owner = redis_cluster.owner_of(slot)
    assert await limiter.check(call(project="team-b")) is None  # the limiter has read the slot map
    redis_cluster.move_empty_slot(slot, to=(owner + 1) % 3)
    assert await limiter.check(call(project="team-a")) is None  # MOVED, followed
    assert await limiter.check(call(project="team-a")) is None  # straight to the new owner
    key = f"{PREFIX}:{{team-a}}:team:team-a:r:{minute()}"
    assert redis_cluster.values()[key] == 2
    assert key in redis_cluster.keys()[(owner + 1) % 3]
    assert limiter.redis_errors == 0


@contextmanager
def slot_moving(cluster: RedisClusterNodes, slot: int, source: int, target: int) -> Iterator[None]:
    """`slot` half-way from one node to another (a resharding), its keys left where they are; then moved."""
    with cluster.client(target) as client:
        client.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", cluster.node_id(source))
    with cluster.client(source) as client:
        client.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", cluster.node_id(target))
    try:
        yield
    finally:
        # The move ends, as a resharding ends it: every node gives the slot to the target.
        for index in range(len(cluster.ports)):
            with cluster.client(index) as client:
                client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", cluster.node_id(target))
        cluster.wait_until_ok()


async def test_a_slot_that_is_moving_is_asked_where_it_goes(
    make_limiter: MakeLimiter, redis_cluster: RedisClusterNodes
) -> None:
    # A daily budget is one key per counter: the script may run on the target of a move.
    limiter = make_limiter(LimitRule(name="budget", per="project", usd_per_day=1))
    slot = redis_cluster.slot_of("{team-a}")
    source = redis_cluster.owner_of(slot)
    target = (source + 1) % 3
    assert await limiter.check(call(project="team-b")) is None  # the limiter has read the slot map
    with slot_moving(redis_cluster, slot, source, target):
        # Not on the source (yet): it answers ASK, and the target runs the script after ASKING.
        answered = call(project="team-a")
        assert await limiter.check(answered) is None
        key = f"{PREFIX}:{{team-a}}:budget:team-a:u:{int(time.time() // 86_400)}"
        assert key in redis_cluster.keys()[target]
        limiter.settle(FinishedSpan(answered.span_id, input_tokens=10, output_tokens=10, cost_usd=0.001))
        await limiter.flush()
        assert redis_cluster.values()[key] == 1_000_000
    assert limiter.redis_errors == 0


async def test_a_check_caught_in_a_slot_move_is_left_to_on_redis_error_alone(
    make_limiter: MakeLimiter, redis_cluster: RedisClusterNodes, caplog: pytest.LogCaptureFixture
) -> None:
    rule = LimitRule(name="team", per="project", requests_per_minute=5)
    open_limiter, closed_limiter = make_limiter(rule), make_limiter(rule, on_redis_error="closed")
    slot = redis_cluster.slot_of("{team-a}")
    source = redis_cluster.owner_of(slot)
    target = (source + 1) % 3
    for limiter in (open_limiter, closed_limiter):
        assert await limiter.check(call(project="team-a")) is None
    with caplog.at_level(logging.WARNING, logger="glassgate.limits"), slot_moving(redis_cluster, slot, source, target):
        # This minute's key is on the source, the previous minute's nowhere: TRYAGAIN, until the move ends.
        assert await open_limiter.check(call(project="team-a")) is None
        refusal = await closed_limiter.check(call(project="team-a"))
        assert refusal is not None
        assert refusal.status == 503
        # Other slots are not held up: no pause after a failure, as for a Redis that is down.
        assert await closed_limiter.check(call(project="team-b")) is None
    assert (open_limiter.counters.unchecked, closed_limiter.counters.unavailable) == (1, 1)
    assert (open_limiter.redis_errors, closed_limiter.redis_errors) == (1, 1)
    assert not any("unreachable" in record.getMessage() for record in caplog.records)
    # The key that was left behind is lost with the move, as in a resharding without MIGRATE.
    assert await closed_limiter.check(call(project="team-a")) is None
    assert limiter_keys_on(redis_cluster, target, "team-a") == 1


def limiter_keys_on(cluster: RedisClusterNodes, node: int, project: str) -> int:
    return sum(f"{{{project}}}" in key for key in cluster.keys()[node])


async def test_a_node_down_is_an_outage_until_it_comes_back(
    make_limiter: MakeLimiter,
    redis_cluster: RedisClusterNodes,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(store_module, "_PAUSE_AFTER_FAILURE_S", 0.05)
    rule = LimitRule(name="team", per="project", requests_per_minute=1)
    open_limiter = make_limiter(rule, redis_timeout_ms=200)
    closed_limiter = make_limiter(rule, redis_timeout_ms=200, on_redis_error="closed")
    # A project served by a node other than the one the limiters were given (node 0).
    project = project_served_by(redis_cluster, 1)
    assert await open_limiter.check(call(project=project)) is None
    assert await closed_limiter.check(call(project="team-a")) is None
    redis_cluster.stop_node(1)
    with caplog.at_level(logging.WARNING, logger="glassgate.limits"):
        assert await open_limiter.check(call(project=project)) is None
        refusal = await closed_limiter.check(call(project=project))
        assert refusal is not None
        assert refusal.status == 503
        assert (open_limiter.counters.unchecked, closed_limiter.counters.unavailable) == (1, 1)
        redis_cluster.start_node(1)  # rejoins with its slots, without its keys
        redis_cluster.wait_until_ok()
        await asyncio.sleep(0.1)
        assert await closed_limiter.check(call(project=project)) is None
        refusal = await open_limiter.check(call(project=project))
    assert refusal is not None
    assert refusal.status == 429
    assert any("Redis answers again" in record.getMessage() for record in caplog.records)
