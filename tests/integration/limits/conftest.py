"""Two `glassgate serve` replicas sharing one redis-server, in front of the fake vendors; and a
private three-node Redis Cluster for the cluster tests.

    replica A   limits.on_redis_error: open
    replica B   limits.on_redis_error: closed        (the same rules, the same Redis and database)

Each rule covers its own upstream(s), so the tests never share a counter by accident; Redis is
emptied before each test.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.conftest import RedisServer
from tests.fakes.anthropic_server import FakeAnthropic
from tests.fakes.bedrock_server import FakeBedrock
from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, create_database, start_glassgate
from tests.integration.limits.redis_cluster import RedisClusterNodes

BEDROCK_REGION = "us-east-1"
UPSTREAM_AWS_KEY = ("AKIAUPSTREAMFAKE0002", "upstream-secret-for-limits")
HELD_VENDOR_KEY = "sk-held-by-glassgate"
USD_PER_DAY = 0.00001

RULES: list[dict[str, Any]] = [
    {"name": "rpm", "upstreams": ["openai-rpm"], "requests_per_minute": 2},
    {"name": "tpm", "upstreams": ["openai-tpm"], "tokens_per_minute": 1000},
    {"name": "usd", "upstreams": ["openai-usd"], "usd_per_day": USD_PER_DAY},
    {"name": "keys", "upstreams": ["openai-held"], "projects": ["team-a"], "per": "key", "requests_per_minute": 1},
    {"name": "vendors", "upstreams": ["anthropic", "bedrock"], "per": "upstream", "requests_per_minute": 1},
    {"name": "shared", "upstreams": ["openai-shared"], "requests_per_minute": 3},
    {"name": "outage", "upstreams": ["openai-outage"], "requests_per_minute": 1000},
]


@dataclass
class Replicas:
    a: GlassgateProcess  # on_redis_error: open
    b: GlassgateProcess  # on_redis_error: closed
    redis: RedisServer
    vendor: FakeVendor
    aws_key: dict[str, str]  # a Glassgate-issued pair (project team-b)

    def create_key(self, project: str) -> dict[str, str]:
        response = httpx.post(
            f"{self.a.url}/api/v1/keys",
            json={"project": project},
            headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
            timeout=10,
        )
        response.raise_for_status()
        issued: dict[str, str] = response.json()
        return issued


@pytest.fixture(scope="session")
def replicas(
    tmp_path_factory: pytest.TempPathFactory, postgres_url: str, template_database: str, redis_server: RedisServer
) -> Iterator[Replicas]:
    vendor = FakeVendor()
    vendor_server = ServerThread(vendor.app()).start()
    anthropic_server = ServerThread(FakeAnthropic().app()).start()
    bedrock_server = ServerThread(FakeBedrock(*UPSTREAM_AWS_KEY, region=BEDROCK_REGION).app()).start()
    database_url = create_database(postgres_url, "limits", template=template_database)
    openai = {"vendor": "openai", "url": vendor_server.url}
    upstreams: dict[str, Any] = {
        name: openai for name in ("openai-rpm", "openai-tpm", "openai-usd", "openai-shared", "openai-outage")
    }
    upstreams |= {
        "openai-held": {**openai, "auth": {"type": "static", "key": HELD_VENDOR_KEY}},
        "anthropic": {"vendor": "anthropic", "url": anthropic_server.url},
        "bedrock": {
            "vendor": "bedrock",
            "region": BEDROCK_REGION,
            "url": bedrock_server.url,
            "auth": {"type": "aws", "access_key_id": UPSTREAM_AWS_KEY[0], "secret_access_key": UPSTREAM_AWS_KEY[1]},
        },
    }
    root = tmp_path_factory.mktemp("limits")
    started: list[GlassgateProcess] = []

    def config(name: str, on_redis_error: str) -> dict[str, Any]:
        return {
            "data_dir": str(root / name / "data"),
            "database_url": database_url,
            "admin_token": ADMIN_TOKEN,
            "secret_key": "limits-test-secret-key-shared-by-both-replicas",
            "tracing": {"flush_interval_ms": 10},
            "upstreams": upstreams,
            "redis_url": redis_server.url,
            # A loaded 2-core machine answers in more than the default 50 ms now and then.
            "limits": {"on_redis_error": on_redis_error, "redis_timeout_ms": 1000, "rules": RULES},
        }

    try:
        for name, mode in (("a", "open"), ("b", "closed")):
            started.append(start_glassgate(config(name, mode), root / name))
        create_aws_key = ["keys", "create", "--project", "team-b", "--aws", "--json"]
        issued = subprocess.run(
            [sys.executable, "-m", "glassgate", *create_aws_key, "--config", str(root / "a" / "glassgate.yaml")],
            capture_output=True,
            check=True,
            env={key: value for key, value in os.environ.items() if not key.startswith("GLASSGATE_")},
            cwd=root / "a",
        )
        yield Replicas(started[0], started[1], redis_server, vendor, json.loads(issued.stdout))
    finally:
        for process in started:
            # uvicorn drains, then re-raises SIGTERM so the exit status says how the process ended.
            assert process.stop() in (0, -15), process.log()
        vendor_server.stop()
        anthropic_server.stop()
        bedrock_server.stop()
    for process in started:
        assert "Traceback" not in process.log(), process.log()


@pytest.fixture
def stack(replicas: Replicas) -> Replicas:
    """The replicas, with every counter gone (and Redis running, whatever the last test did)."""
    assert replicas.redis.command("FLUSHALL") == "+OK"
    return replicas


@pytest.fixture(scope="session")
def redis_cluster_nodes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisClusterNodes]:
    """Three cluster-enabled redis-servers joined into one cluster, for this test session."""
    nodes = RedisClusterNodes(tmp_path_factory.mktemp("redis-cluster"))
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture
def redis_cluster(redis_cluster_nodes: RedisClusterNodes) -> RedisClusterNodes:
    """The cluster with every node up (whatever the last test stopped) and every counter gone."""
    for index in range(len(redis_cluster_nodes.ports)):
        if not redis_cluster_nodes.running(index):
            redis_cluster_nodes.start_node(index)
    redis_cluster_nodes.wait_until_ok()
    redis_cluster_nodes.flush()
    return redis_cluster_nodes
