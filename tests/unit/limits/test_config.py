"""The `limits` section and `redis_url`: shapes, defaults, and errors that name the field."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from glassgate.config import LimitRule, LimitSettings, load_settings
from glassgate.errors import ConfigError

UPSTREAMS = {"openai": {"vendor": "openai"}, "anthropic": {"vendor": "anthropic"}}


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.upper().startswith("GLASSGATE"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def load(tmp_path: Path, **config: Any) -> Any:
    path = tmp_path / "glassgate.yaml"
    path.write_text(yaml.safe_dump({"upstreams": UPSTREAMS, **config}))
    return load_settings(path)


def problem(tmp_path: Path, **config: Any) -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, **config)
    return str(info.value)


def test_no_limits_by_default(tmp_path: Path) -> None:
    settings = load(tmp_path)
    assert settings.redis_url is None
    assert settings.limits.rules == []
    assert settings.limits.on_redis_error == "open"
    assert settings.limits.redis_timeout_ms == 50


def test_the_documented_example_loads(tmp_path: Path) -> None:
    rule = {
        "name": "team-a",
        "projects": ["team-a"],
        "per": "key",
        "requests_per_minute": 600,
        "tokens_per_minute": 100000,
        "usd_per_day": 50,
    }
    limits = {"on_redis_error": "closed", "rules": [rule]}
    settings = load(tmp_path, redis_url="redis://localhost:6379/0", limits=limits)
    (loaded,) = settings.limits.rules
    assert loaded.projects == ["team-a"]
    assert loaded.dimensions == ("key",)
    assert loaded.usd_per_day == 50
    assert settings.limits.on_redis_error == "closed"


@pytest.mark.parametrize(
    ("per", "dimensions"),
    [("global", ()), ("model", ("model",)), (["project", "model"], ("project", "model")), (["global"], ())],
)
def test_per_names_the_counters_dimensions(per: Any, dimensions: tuple[str, ...]) -> None:
    assert LimitRule(name="r", per=per, requests_per_minute=1).dimensions == dimensions


def test_rules_need_redis_url(tmp_path: Path) -> None:
    message = problem(tmp_path, limits={"rules": [{"name": "r", "requests_per_minute": 1}]})
    assert "redis_url:" in message


def test_redis_url_scheme_is_checked(tmp_path: Path) -> None:
    assert "redis_url:" in problem(tmp_path, redis_url="http://localhost:6379")


def test_a_rule_needs_a_cap(tmp_path: Path) -> None:
    message = problem(tmp_path, redis_url="redis://r", limits={"rules": [{"name": "r", "projects": ["a"]}]})
    assert "limits.rules.0:" in message
    assert "requests_per_minute, tokens_per_minute or usd_per_day" in message


@pytest.mark.parametrize(
    ("field", "value", "named"),
    [
        ("requests_per_minute", 0, "limits.rules.0.requests_per_minute:"),
        ("tokens_per_minute", -5, "limits.rules.0.tokens_per_minute:"),
        ("usd_per_day", 0, "limits.rules.0.usd_per_day:"),
        ("per", "team", "limits.rules.0.per"),
        ("name", "has space", "limits.rules.0.name:"),
        ("colour", "blue", "limits.rules.0.colour:"),
    ],
)
def test_bad_rule_fields_are_named(tmp_path: Path, field: str, value: Any, named: str) -> None:
    rule = {"name": "r", "requests_per_minute": 10, field: value}
    assert named in problem(tmp_path, redis_url="redis://r", limits={"rules": [rule]})


@pytest.mark.parametrize("per", [["key", "key"], ["global", "model"]])
def test_per_lists_are_checked(per: list[str]) -> None:
    with pytest.raises(ValueError, match="per:"):
        LimitRule(name="r", per=per, requests_per_minute=1)


def test_rule_names_are_unique(tmp_path: Path) -> None:
    rules = [{"name": "r", "requests_per_minute": 1}, {"name": "r", "tokens_per_minute": 5}]
    message = problem(tmp_path, redis_url="redis://r", limits={"rules": rules})
    assert "limits.rules:" in message
    assert "unique: r" in message


def test_rule_upstreams_must_be_configured(tmp_path: Path) -> None:
    rules = [{"name": "r", "upstreams": ["openai", "gemini"], "requests_per_minute": 1}]
    message = problem(tmp_path, redis_url="redis://r", limits={"rules": rules})
    assert "limits.rules.0.upstreams: gemini not configured (anthropic, openai)" in message


@pytest.mark.parametrize(("field", "value"), [("redis_timeout_ms", 0), ("on_redis_error", "maybe")])
def test_limit_settings_are_checked(tmp_path: Path, field: str, value: Any) -> None:
    assert f"limits.{field}:" in problem(tmp_path, limits={field: value})


def test_environment_overrides_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GLASSGATE_LIMITS__ON_REDIS_ERROR", "closed")
    monkeypatch.setenv("GLASSGATE_REDIS_URL", "redis://cache:6379/1")
    settings = load(tmp_path)
    assert settings.limits.on_redis_error == "closed"
    assert settings.redis_url == "redis://cache:6379/1"


@pytest.mark.parametrize("model", [LimitRule, LimitSettings])
def test_every_field_is_documented(model: type[LimitRule] | type[LimitSettings]) -> None:
    undocumented = [name for name, field in model.model_fields.items() if not field.description]
    assert undocumented == []


def test_redis_cluster_is_off_by_default_and_set_by_config_or_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert load(tmp_path).limits.redis_cluster is False
    endpoint = "rediss://clustercfg.glassgate.abc123.use1.cache.amazonaws.com:6379"
    settings = load(tmp_path, redis_url=endpoint, limits={"redis_cluster": True})
    assert settings.limits.redis_cluster is True
    monkeypatch.setenv("GLASSGATE_LIMITS__REDIS_CLUSTER", "false")
    assert load(tmp_path, redis_url=endpoint, limits={"redis_cluster": True}).limits.redis_cluster is False


@pytest.mark.parametrize("url", ["unix:///run/redis.sock", "redis://cache:6379/1"])
def test_a_cluster_url_is_tcp_and_database_0(tmp_path: Path, url: str) -> None:
    message = problem(tmp_path, redis_url=url, limits={"redis_cluster": True})
    assert "redis_url: a Redis Cluster (limits.redis_cluster)" in message
    assert load(tmp_path, redis_url="redis://cache:6379/0", limits={"redis_cluster": True}).redis_url
