"""`create_app` builds a limiter only for limit rules: without them, no Redis and no check per call."""

from __future__ import annotations

from pathlib import Path

from glassgate.app import create_app
from glassgate.config import Settings
from glassgate.limits.endpoints import ClusterRedis


def settings(tmp_path: Path, **values: object) -> Settings:
    return Settings(
        data_dir=tmp_path,
        database_url="postgresql://nobody@127.0.0.1:1/none",
        admin_token="admin-token-for-the-wiring-test",
        upstreams={"openai": {"vendor": "openai"}},
        guardrails=[],
        **values,  # type: ignore[arg-type]
    )


def test_no_rules_no_limiter(tmp_path: Path) -> None:
    app = create_app(settings(tmp_path, redis_url="redis://127.0.0.1:1/0"))
    assert app.limiter is None
    assert app.forwarder._limits is None
    assert b"glassgate_limit_" not in app.metrics.render()


def test_rules_wire_the_limiter_into_the_relay_and_metrics(tmp_path: Path) -> None:
    limits = {"rules": [{"name": "everyone", "requests_per_minute": 600}]}
    app = create_app(settings(tmp_path, redis_url="redis://127.0.0.1:1/0", limits=limits))
    assert app.limiter is not None
    assert app.forwarder._limits is app.limiter
    assert b'glassgate_limit_checks_total{result="allowed"} 0.0' in app.metrics.render()


def test_redis_cluster_builds_a_cluster_client_without_connecting(tmp_path: Path) -> None:
    limits = {"rules": [{"name": "everyone", "requests_per_minute": 600}], "redis_cluster": True}
    app = create_app(settings(tmp_path, redis_url="redis://127.0.0.1:1", limits=limits))
    assert app.limiter is not None
    assert isinstance(app.limiter._store._endpoint, ClusterRedis)
