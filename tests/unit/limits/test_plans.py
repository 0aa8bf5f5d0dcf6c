"""Plans: a kind of call's counters, their Redis keys (hash tags in a cluster) and the encoded commands."""

from __future__ import annotations

import hiredis
import pytest
from redis.crc import key_slot

from glassgate.config import LimitRule
from glassgate.limits import plans as plans_module
from glassgate.limits.plans import Plan, Plans, encode_amounts
from glassgate.limits.resp import bulk, command
from glassgate.limits.rules import Call, CompiledRule

MINUTE, DAY = 1000, 0
TEAM_A = Call(key="key-1", project="team-a", upstream="openai", model="gpt-4o-mini")
TEAM_B = Call(key="key-2", project="team-b", upstream="openai", model="gpt-4o-mini")
RULES = (
    LimitRule(name="team", per="project", requests_per_minute=10, tokens_per_minute=1000),
    LimitRule(name="keys", per="key", requests_per_minute=5),
    LimitRule(name="budget", usd_per_day=1),
)


def plans(*rules: LimitRule, cluster: bool = True, prefix: str = "gg") -> Plans:
    return Plans(tuple(CompiledRule.of(rule) for rule in rules or RULES), prefix, cluster=cluster)


def sent(plan: Plan, batch: int, amounts: bytes = encode_amounts(0.5, 30, 40)) -> list[bytes]:
    """What Redis reads: the batch's command, with the script's place taken by EVALSHA and its sha."""
    part = plan.batches[batch]
    reader = hiredis.Reader()
    reader.feed(part.header + bulk(b"EVALSHA") + bulk(b"sha") + part.keys + amounts + part.limits)
    parsed: list[bytes] = reader.gets()
    assert reader.gets() is False  # nothing left over: the header counted every part
    return parsed


def test_a_single_redis_keeps_the_key_names_without_tags() -> None:
    plan = plans(cluster=False).plan(TEAM_A, MINUTE, DAY)
    assert [key for key, _ in plan.taken] == [
        b"gg:team:team-a:r:1000",
        b"gg:team:team-a:t:1000",
        b"gg:keys:key-1:r:1000",
        b"gg:budget:*:u:0",
    ]
    assert len(plan.batches) == 1  # every counter in one script


def test_in_a_cluster_a_projects_counters_share_a_slot_and_shared_counters_have_their_own() -> None:
    plan = plans().plan(TEAM_A, MINUTE, DAY)
    assert [key for key, _ in plan.taken] == [
        b"gg:{team-a}:team:team-a:r:1000",
        b"gg:{team-a}:team:team-a:t:1000",
        b"gg:{team-a}:keys:key-1:r:1000",
        b"gg:{budget:*}:budget:*:u:0",
    ]
    assert [(batch.slot, batch.counters) for batch in plan.batches] == [
        (key_slot(b"team-a"), (0, 1, 2)),
        (key_slot(b"budget:*"), (3,)),
    ]
    other = plans().plan(TEAM_B, MINUTE, DAY)
    assert other.batches[0].slot == key_slot(b"team-b") != key_slot(b"team-a")
    assert other.batches[1].slot == key_slot(b"budget:*")


def test_a_prefix_with_a_hash_tag_puts_everything_in_one_slot() -> None:
    plan = plans(prefix="{gg}:limits").plan(TEAM_A, MINUTE, DAY)
    assert [(batch.slot, batch.counters) for batch in plan.batches] == [(key_slot(b"gg"), (0, 1, 2, 3))]


def test_the_command_carries_keys_amounts_kinds_and_limits() -> None:
    plan = plans().plan(TEAM_A, MINUTE, DAY)
    assert sent(plan, 0) == [
        b"EVALSHA",
        b"sha",
        b"6",
        *(b"gg:{team-a}:team:team-a:r:1000", b"gg:{team-a}:team:team-a:r:999"),
        *(b"gg:{team-a}:team:team-a:t:1000", b"gg:{team-a}:team:team-a:t:999"),
        *(b"gg:{team-a}:keys:key-1:r:1000", b"gg:{team-a}:keys:key-1:r:999"),
        *(b"0.500000", b"30", b"40"),
        *(b"r", b"10", b"t", b"1000", b"r", b"5"),
    ]
    # A day's counter names its day twice: the script reads no previous window for it.
    assert sent(plan, 1) == [
        *(b"EVALSHA", b"sha", b"2", b"gg:{budget:*}:budget:*:u:0", b"gg:{budget:*}:budget:*:u:0"),
        *(b"0.500000", b"30", b"40", b"u", b"1000000000"),
    ]


def test_a_new_minute_makes_a_new_plan_and_leaves_the_old_one_as_it_was() -> None:
    cache = plans()
    first = cache.plan(TEAM_A, MINUTE, DAY)
    assert cache.plan(TEAM_A, MINUTE, DAY) is first
    second = cache.plan(TEAM_A, MINUTE + 1, DAY)
    assert second is not first
    assert second.counters is first.counters  # the rules are not matched again
    assert first.taken[0][0] == b"gg:{team-a}:team:team-a:r:1000"  # a check still waiting keeps its keys
    assert second.taken[0][0] == b"gg:{team-a}:team:team-a:r:1001"


def test_calls_no_rule_covers_have_an_empty_plan() -> None:
    plan = plans(LimitRule(name="only-b", projects=["team-b"], requests_per_minute=1)).plan(TEAM_A, MINUTE, DAY)
    assert plan.batches == ()
    assert not plan.needs_usage


def test_too_many_kinds_of_call_start_the_cache_over(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plans_module, "_MAX_PLANS", 2)
    cache = plans(LimitRule(name="models", per="model", requests_per_minute=1))
    made = [cache.plan(Call("k", "p", "u", f"model-{number}"), MINUTE, DAY) for number in range(3)]
    assert cache.plan(Call("k", "p", "u", "model-2"), MINUTE, DAY) is made[2]
    assert cache.plan(Call("k", "p", "u", "model-0"), MINUTE, DAY) is not made[0]  # forgotten, rebuilt


def test_resp_commands() -> None:
    assert command(b"SCRIPT", b"LOAD", b"return 1") == b"*3\r\n$6\r\nSCRIPT\r\n$4\r\nLOAD\r\n$8\r\nreturn 1\r\n"
