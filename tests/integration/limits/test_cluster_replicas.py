"""Two `glassgate serve` replicas counting in one Redis Cluster (`limits.redis_cluster: true`).

The config path a user takes (YAML, create_app, serve) and the OpenAI SDK's own 429, with the
counters shared through the cluster: the replicas admit the limit between them, not each.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest

from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, create_database, start_glassgate
from tests.integration.limits.redis_cluster import RedisClusterNodes

RULES = [
    {"name": "team", "per": "project", "requests_per_minute": 3},
    {"name": "budget", "usd_per_day": 100},  # a slot of its own: each call is checked in two slots
]


@pytest.fixture(scope="module")
def cluster_replicas(
    tmp_path_factory: pytest.TempPathFactory,
    postgres_url: str,
    template_database: str,
    redis_cluster_nodes: RedisClusterNodes,
) -> Iterator[list[GlassgateProcess]]:
    vendor = ServerThread(FakeVendor().app()).start()
    database_url = create_database(postgres_url, "limits_cluster", template=template_database)
    root = tmp_path_factory.mktemp("limits-cluster")
    started: list[GlassgateProcess] = []

    def config(name: str) -> dict[str, Any]:
        return {
            "data_dir": str(root / name / "data"),
            "database_url": database_url,
            "admin_token": ADMIN_TOKEN,
            "secret_key": "limits-cluster-test-secret-key-shared",
            "tracing": {"flush_interval_ms": 10},
            "upstreams": {"openai": {"vendor": "openai", "url": vendor.url}},
            "redis_url": redis_cluster_nodes.url,
            "limits": {"redis_cluster": True, "redis_timeout_ms": 1000, "rules": RULES},
        }

    try:
        for name in ("a", "b"):
            started.append(start_glassgate(config(name), root / name))
        yield started
    finally:
        for process in started:
            assert process.stop() in (0, -15), process.log()
        vendor.stop()
    for process in started:
        assert "Traceback" not in process.log(), process.log()


def chat(replica: GlassgateProcess) -> Any:
    with openai.OpenAI(base_url=f"{replica.url}/openai/v1", api_key="sk-client", max_retries=0) as client:
        return client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], max_tokens=10
        )


def test_replicas_share_their_counters_through_the_cluster(
    cluster_replicas: list[GlassgateProcess], redis_cluster: RedisClusterNodes
) -> None:
    a, b = cluster_replicas
    for replica in (a, b, a):
        assert chat(replica).choices[0].message.content
    with pytest.raises(openai.RateLimitError) as raised:
        chat(b)
    assert "Glassgate limit 'team'" in raised.value.message
    assert raised.value.response.headers["x-ratelimit-limit-requests"] == "3"
    minute = int(time.time() // 60)
    values = redis_cluster.values()
    team = f"glassgate:limits:{{default}}:team:default:r:{minute}"
    assert values[team] == 3
    # The budget's counter lives in another slot: each call was checked in both.
    budget = next(key for key in values if key.startswith("glassgate:limits:{budget:*}:budget:*:u:"))
    assert redis_cluster.slot_of(budget) != redis_cluster.slot_of(team)
    assert values[budget] > 0
