"""Run the demo: the simulated vendor and Glassgate in this process, the plan sent through the proxy.

The calls take the real path: plain HTTP requests in each vendor's format to Glassgate's data
plane (uvicorn on a loopback port), which guards, forwards to the simulated vendor, relays the
answers and hands each exchange to its span writer. The run ends when the writer has stored a
span for every call; shutting the app down then drains anything left, as `serve` does.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp
import orjson
import uvicorn

from glassgate.app import Glassgate, create_app
from glassgate.config import GuardrailPolicy, OtlpSettings, Settings, UpstreamConfig
from glassgate.demo import DEFAULT_CALLS
from glassgate.demo.plan import ANTHROPIC_UPSTREAM, OPENAI_UPSTREAM, Call, Episode, make_plan
from glassgate.demo.simulated_vendor import SimulatedVendor
from glassgate.errors import GlassgateError
from glassgate.guardrails.policy import DEFAULT_POLICIES
from glassgate.storage import db
from glassgate.storage.spans import SpanFilter, list_spans


def demo_policies() -> list[GuardrailPolicy]:
    """With no guardrails configured: the defaults (flag PII, secrets and injection in requests)
    and two more, so that the demo also shows a blocked call and a finding in an answer."""
    return [
        *DEFAULT_POLICIES,
        GuardrailPolicy(name="demo-block-secrets", detectors=["secrets"], action="block"),
        GuardrailPolicy(name="demo-flag-answers", detectors=["pii"], phases=["output"], action="flag"),
    ]


_VENDOR_KEYS = {
    OPENAI_UPSTREAM: {"authorization": "Bearer demo-key"},
    ANTHROPIC_UPSTREAM: {"x-api-key": "demo-key", "anthropic-version": "2023-06-01"},
}
_STORE_TIMEOUT_S = 60.0


@dataclass
class DemoResult:
    statuses: Counter[int] = field(default_factory=Counter)  # HTTP status of each call; 0: no answer
    written: int = 0  # spans the writer stored
    dropped: int = 0  # spans the writer had to drop (queue full, spill full)
    seconds: float = 0.0

    @property
    def calls(self) -> int:
        return sum(self.statuses.values())


async def has_spans(database_url: str) -> bool:
    pool = await db.create_pool(database_url)
    try:
        rows, _ = await list_spans(pool, SpanFilter(), limit=1, cursor=None)
    finally:
        await pool.close()
    return bool(rows)


def demo_settings(settings: Settings, vendor_url: str) -> Settings:
    """The instance's own settings (database, data_dir, tracing, guardrails) with the simulated
    vendor as the only upstreams, and no OTLP export of the made-up traffic."""
    upstreams = {
        OPENAI_UPSTREAM: UpstreamConfig(vendor="openai", url=vendor_url),
        ANTHROPIC_UPSTREAM: UpstreamConfig(vendor="anthropic", url=vendor_url),
    }
    guardrails = settings.guardrails if settings.guardrails is not None else demo_policies()
    return settings.model_copy(update={"upstreams": upstreams, "otlp": OtlpSettings(), "guardrails": guardrails})


async def run_demo(
    settings: Settings,
    calls: int = DEFAULT_CALLS,
    *,
    latency_scale: float = 1.0,
    concurrency: int = 16,
    seed: int = 7,
    on_call: Callable[[int], None] | None = None,
) -> DemoResult:
    """Send `calls` calls through Glassgate and wait until their spans are stored."""
    if settings.database_url is None:
        raise ValueError("run_demo needs settings.database_url")
    plan = make_plan(calls, seed)
    started = time.monotonic()
    async with SimulatedVendor(latency_scale=latency_scale) as vendor:
        app = create_app(demo_settings(settings, vendor.url))
        async with _Served(app) as base_url:
            result = DemoResult()

            def record(status: int) -> None:
                result.statuses[status] += 1
                if on_call is not None:
                    on_call(status)

            await _send(base_url, plan, concurrency, latency_scale, random.Random(seed), record)
            await _stored(app, calls - result.statuses[0])
        counters = app.writer.counters  # final: the shutdown drained what was left
    result.written, result.dropped = counters.written, counters.dropped
    result.seconds = time.monotonic() - started
    return result


class _Served:
    """Glassgate under uvicorn on a free loopback port, for the length of an `async with`."""

    def __init__(self, app: Glassgate) -> None:
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        config = uvicorn.Config(
            app,
            lifespan="on",
            log_config=None,
            log_level="warning",
            access_log=False,
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=30,
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> str:
        self._task = asyncio.create_task(self._serve(), name="glassgate-demo-server")
        while not self._server.started:
            if self._task.done():
                self._sock.close()
                self._task.result()  # raises what stopped it
                raise GlassgateError("Glassgate stopped before it started serving the demo")
            await asyncio.sleep(0.02)
        host, port = self._sock.getsockname()[:2]
        return f"http://{host}:{port}"

    async def _serve(self) -> None:
        try:
            await self._server.serve(sockets=[self._sock])
        except SystemExit as exc:  # uvicorn exits when the app's startup fails
            raise GlassgateError(f"Glassgate did not start for the demo (exit code {exc.code})") from None

    async def __aexit__(self, *exc_info: object) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._sock.close()


async def _send(
    base_url: str,
    plan: list[Episode],
    concurrency: int,
    latency_scale: float,
    rng: random.Random,
    record: Callable[[int], None],
) -> None:
    limit = asyncio.Semaphore(concurrency)
    # Pauses between a session's calls (a user reading the answer), drawn up front: deterministic.
    pauses = [[rng.uniform(0.05, 0.4) * latency_scale for _ in episode.calls] for episode in plan]
    user_agent = "glassgate-demo"
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as client:

        async def run(episode: Episode, episode_pauses: list[float]) -> None:
            async with limit:
                for number, call in enumerate(episode.calls):
                    if number:
                        await asyncio.sleep(episode_pauses[number])
                    record(await _call(client, base_url, call, user_agent))

        await asyncio.gather(*(run(episode, pause) for episode, pause in zip(plan, pauses, strict=True)))


async def _call(client: aiohttp.ClientSession, base_url: str, call: Call, user_agent: str) -> int:
    headers = {
        "content-type": "application/json",
        "user-agent": user_agent,
        **_VENDOR_KEYS[call.upstream],
        **call.headers,
    }
    try:
        async with client.post(
            f"{base_url}/{call.upstream}{call.path}", data=orjson.dumps(call.body), headers=headers
        ) as response:
            await response.read()  # a stream is read to its end, as a client would
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def _stored(app: Glassgate, expected: int) -> None:
    """Wait until the writer has stored (or dropped) a span for each of the `expected` calls."""
    deadline = time.monotonic() + _STORE_TIMEOUT_S
    while time.monotonic() < deadline:
        counters = app.writer.counters
        if counters.written + counters.dropped >= expected:
            return
        await asyncio.sleep(0.05)
