"""CPU per proxied call spent on rate limits: `Limiter.check` + its settlement, against a real Redis.

Starts a private redis-server (Debian's package) on a free port, then runs sequential checks of
a 1.5 KB chat request matching three rules (project: requests and tokens per minute; project ×
model: tokens per minute; global: USD per day), each settled as its span would settle it. Reports
the Glassgate process's CPU per check (and the part spent without Redis: the same checks with
the store answering "admitted" in-process: body, rules, estimate, price, command) and the
Redis server's own CPU per check. On uvloop, as `glassgate serve` runs. `--cluster` runs against
an existing Redis Cluster (`--redis-url` names one of its nodes); there the global budget has a
slot of its own, so each check is two scripts.

    python -m bench.limits_bench [--iterations N] [--redis-url URL [--cluster]]
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import orjson
import redis
import uvloop

from bench.procs import free_port
from glassgate.config import LimitRule, LimitSettings
from glassgate.limits import Limiter
from glassgate.proxy.exchange import Exchange
from glassgate.tracing import pricing

RULES = [
    LimitRule(name="team", projects=["team-a"], per="project", requests_per_minute=10**9, tokens_per_minute=10**12),
    LimitRule(name="team-model", per=["project", "model"], tokens_per_minute=10**12),
    LimitRule(name="budget", usd_per_day=10**6),
]
BODY = orjson.dumps(
    {
        "model": "gpt-4o-mini",
        "max_tokens": 256,
        "messages": [
            {"role": "system", "content": "You are a helpful support assistant for an online shop. " * 6},
            {
                "role": "user",
                "content": "Where is my order? It was due last week and the tracking page is empty. " * 14,
            },
        ],
    }
)


@dataclass
class Span:
    span_id: str
    http_status: int | None = 200
    input_tokens: int | None = 310
    output_tokens: int | None = 42
    cost_usd: float | None = 0.00007


def exchange(number: int) -> Exchange:
    return Exchange(
        span_id=f"{number:016x}",
        upstream="openai",
        vendor="openai",
        method="POST",
        path="/v1/chat/completions",
        query="",
        started_at=time.time(),
        project="team-a",
        key_id="key-1",
        request_body=BODY,
    )


@contextmanager
def redis_server() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (apt-get install redis-server), or pass --redis-url")
    port = free_port()
    with tempfile.TemporaryDirectory() as directory:
        options = ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory]
        process = subprocess.Popen([binary, *options], stdout=subprocess.DEVNULL)
        url = f"redis://127.0.0.1:{port}/0"
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    redis.Redis.from_url(url).ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
            yield url
        finally:
            process.terminate()
            process.wait()


def redis_cpu_s(url: str, cluster: bool) -> float:
    """The server's CPU since it started (a cluster's: all its primaries')."""
    if not cluster:
        infos = [redis.Redis.from_url(url).info("cpu")]
    else:
        client = redis.RedisCluster.from_url(url)
        primaries = client.get_primaries()  # type: ignore[no-untyped-call]  # unannotated in redis-py
        infos = [client.info("cpu", target_nodes=node) for node in primaries]
        client.close()
    return sum(float(info["used_cpu_user"]) + float(info["used_cpu_sys"]) for info in infos)


class _AdmitAll:
    """Stands in for the Redis store: every check admitted at once, in-process (the part without Redis)."""

    errors = 0

    async def check(self, batch: object, amounts: bytes) -> list[int]:
        return [0]

    async def adjust(self, deltas: dict[bytes, int]) -> int:
        return 0

    async def close(self) -> None:
        pass


async def measure(url: str, iterations: int, cluster: bool) -> dict[str, float]:
    settings = LimitSettings(rules=RULES, redis_timeout_ms=1000, redis_cluster=cluster)
    limiter = Limiter(settings, url, pricing.worst_case_usd)
    await limiter.open()
    await asyncio.to_thread(pricing.warm_up)

    async def round_of(limiter: Limiter, count: int, start: int) -> None:
        finished: list[str] = []
        for number in range(start, start + count):
            call = exchange(number)
            refusal = await limiter.check(call)
            assert refusal is None, refusal
            call.headers_at = 0.5
            limiter.finish(call)
            finished.append(call.span_id)
            if len(finished) == 64:
                # Spans settle in batches, as the span writer builds them: one Redis call per batch.
                for span_id in finished:
                    limiter.settle(Span(span_id))
                finished.clear()
                await limiter.flush()
        await limiter.flush()

    await round_of(limiter, 500, 0)  # warm up: connections, scripts, caches
    redis_before = redis_cpu_s(url, cluster)
    cpu, wall = time.process_time(), time.perf_counter()
    await round_of(limiter, iterations, 1000)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    redis_used = redis_cpu_s(url, cluster) - redis_before
    assert limiter.counters.allowed == iterations + 500 and limiter.redis_errors == 0
    await limiter.close()
    # The same checks and settlements with the store answering in-process: the bench looks inside on purpose.
    local_limiter = Limiter(settings, url, pricing.worst_case_usd)
    local_limiter._store = _AdmitAll()  # type: ignore[assignment]
    await round_of(local_limiter, 500, 0)
    local = time.process_time()
    await round_of(local_limiter, iterations, 1000)
    local = time.process_time() - local
    return {
        "check_cpu_us": cpu / iterations * 1e6,
        "local_cpu_us": local / iterations * 1e6,
        "redis_cpu_us": redis_used / iterations * 1e6,
        "wall_us": wall / iterations * 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--iterations", type=int, default=5000)
    parser.add_argument("--redis-url", help="an existing Redis (its database is written to under glassgate:limits:)")
    parser.add_argument("--cluster", action="store_true", help="--redis-url is a node of a Redis Cluster")
    args = parser.parse_args()
    if args.cluster and not args.redis_url:
        parser.error("--cluster needs --redis-url (a node of a running cluster)")

    def run(url: str) -> dict[str, float]:
        return uvloop.run(measure(url, args.iterations, args.cluster))

    if args.redis_url:
        results = run(args.redis_url)
    else:
        with redis_server() as url:
            results = run(url)
    where = "a Redis Cluster" if args.cluster else "one Redis"
    print(f"limits: {args.iterations} checks of 3 rules (5 counters) in {where}, each settled")  # noqa: T201
    print(f"  glassgate CPU per check + settlement  {results['check_cpu_us']:8.1f} µs")  # noqa: T201
    print(f"    of which without Redis              {results['local_cpu_us']:8.1f} µs")  # noqa: T201
    print(f"  redis-server CPU per check            {results['redis_cpu_us']:8.1f} µs")  # noqa: T201
    print(f"  wall time per check, sequential       {results['wall_us']:8.1f} µs")  # noqa: T201


if __name__ == "__main__":
    main()
