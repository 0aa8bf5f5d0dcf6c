"""Compiled rules: which calls a rule covers, and which counter a call goes into."""

from __future__ import annotations

from typing import Any

from glassgate.config import LimitRule
from glassgate.limits.rules import NANO_USD, NO_KEY, Call, CompiledRule

CALL = Call(key="key-1", project="team-a", upstream="openai", model="gpt-4o-mini")


def compiled(**fields: Any) -> CompiledRule:
    return CompiledRule.of(LimitRule(name="r", **{"requests_per_minute": 10, **fields}))


def test_a_rule_without_scopes_covers_every_call() -> None:
    assert compiled().applies_to(CALL)
    assert compiled().applies_to(Call(key=NO_KEY, project="default", upstream="bedrock", model=None))


def test_each_scope_must_match() -> None:
    assert compiled(projects=["team-a"], upstreams=["openai"], keys=["key-1"], models=["gpt-4o-mini"]).applies_to(CALL)
    assert not compiled(projects=["team-b"]).applies_to(CALL)
    assert not compiled(upstreams=["azure"]).applies_to(CALL)
    assert not compiled(keys=["key-2"]).applies_to(CALL)
    assert not compiled(models=["gpt-4o"]).applies_to(CALL)
    assert not compiled(models=["gpt-4o-mini"]).applies_to(Call(key="k", project="p", upstream="u", model=None))


def test_caps_in_counting_units() -> None:
    rule = compiled(tokens_per_minute=1000, usd_per_day=2.5)
    assert [(cap.kind, cap.limit) for cap in rule.caps] == [
        ("requests", 10),
        ("tokens", 1000),
        ("usd", 2_500_000_000),
    ]
    assert NANO_USD == 10**9
    assert rule.needs_usage
    assert not compiled().needs_usage


def test_model_is_needed_only_when_a_rule_looks_at_it() -> None:
    assert not compiled(per="project").needs_model
    assert compiled(per=["project", "model"]).needs_model
    assert compiled(models=["m"]).needs_model


def test_groups() -> None:
    assert compiled().group(CALL) == "*"
    assert compiled(per="key").group(CALL) == "key-1"
    assert compiled(per=["project", "model"]).group(CALL) == "team-a|gpt-4o-mini"
    assert compiled(per="model").group(Call(key="k", project="p", upstream="u", model=None)) == ""


def test_group_values_cannot_collide_or_grow_keys() -> None:
    rule = compiled(per=["project", "model"])
    one = rule.group(Call(key="k", project="a|b", upstream="u", model="c"))
    other = rule.group(Call(key="k", project="a", upstream="u", model="b|c"))
    assert one != other
    assert rule.group(Call(key="k", project="50%", upstream="u", model="m")) == "50%25|m"
    long = rule.group(Call(key="k", project="p", upstream="u", model="m" * 10_000))
    assert long.startswith("p|#")
    assert len(long) == len("p|#") + 32


def test_describe_names_the_counter() -> None:
    assert compiled().describe(CALL) == "all the calls it covers"
    assert compiled(per=["project", "model"]).describe(CALL) == "project 'team-a', model 'gpt-4o-mini'"


def test_the_slot_tag_keeps_a_projects_counters_together() -> None:
    # Per project, per key (a key belongs to one project), or a rule for one project: the project.
    assert compiled(per="project").slot_tag(CALL) == "team-a"
    assert compiled(per=["key", "model"]).slot_tag(CALL) == "team-a"
    assert compiled(projects=["team-a"], per="model").slot_tag(CALL) == "team-a"
    # Counters shared across projects: a slot of their own.
    assert compiled(per="global").slot_tag(CALL) == "r:*"
    assert compiled(per="model").slot_tag(CALL) == "r:gpt-4o-mini"
    assert compiled(projects=["team-a", "team-b"], per="upstream").slot_tag(CALL) == "r:openai"


def test_the_slot_tag_cannot_be_closed_early() -> None:
    braces = Call(key="k", project="a}b{c", upstream="u", model="m}")
    assert compiled(per="project").slot_tag(braces) == "a%7Db%7Bc"
    assert compiled(per="model").slot_tag(braces) == "r:m%7D"
    assert compiled(per="project").slot_tag(Call(key="k", project="", upstream="u", model=None)) == "-"
