"""Glassgate's RSS and its span writer's counters (/metrics), sampled while the load runs."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter

import httpx
import psutil

from bench.faults.load import Load
from bench.faults.stack import Glassgate

_MB = 1024 * 1024


def writer_counters(metrics_text: str) -> dict[str, float]:
    """The span writer's gauges from /metrics, without the `glassgate_trace_` prefix."""
    counters = {}
    for line in metrics_text.splitlines():
        if line.startswith("glassgate_trace_"):
            name, _, value = line.partition(" ")
            counters[name.removeprefix("glassgate_trace_")] = float(value)
    return counters


def rss_mb(pid: int) -> float:
    return float(psutil.Process(pid).memory_info().rss) / _MB


class Monitor:
    """Samples every `interval_s`, and keeps per phase of the load the highest RSS and queue depth."""

    def __init__(self, glassgate: Glassgate, load: Load, interval_s: float = 0.25) -> None:
        self._pid = glassgate.child.pid
        self._metrics_url = glassgate.url + "/metrics"
        self._load = load
        self._interval_s = interval_s
        self.rss_start_mb = self.rss_mb()
        self.rss_max_mb = self.rss_start_mb
        self.rss_max_by_phase_mb: dict[str, float] = {}
        self.writer: dict[str, float] = {}  # the last /metrics that answered
        self.metrics_samples_by_phase: Counter[str] = Counter()  # /metrics answers
        self.queue_depth_max_by_phase: dict[str, float] = {}
        self.database_back_at: float | None = None
        self.drained_at: float | None = None  # first sample after database_back_at with the spill replayed
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def rss_mb(self) -> float:
        return rss_mb(self._pid)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 10)

    async def _run(self) -> None:
        async with httpx.AsyncClient(timeout=5) as client:
            while not self._stop.is_set():
                rss, phase = self.rss_mb(), self._load.phase
                self.rss_max_mb = max(self.rss_max_mb, rss)
                self.rss_max_by_phase_mb[phase] = round(max(self.rss_max_by_phase_mb.get(phase, 0.0), rss), 1)
                with contextlib.suppress(httpx.HTTPError):
                    self.writer = writer_counters((await client.get(self._metrics_url)).text)
                    self.metrics_samples_by_phase[phase] += 1
                    depth = self.writer.get("queue_depth", 0.0)
                    self.queue_depth_max_by_phase[phase] = max(self.queue_depth_max_by_phase.get(phase, 0.0), depth)
                spilled, replayed = self.writer.get("spilled", 0.0), self.writer.get("replayed", 0.0)
                back = self.database_back_at is not None and self.drained_at is None
                if back and 0 < spilled <= replayed and self.writer.get("queue_depth") == 0:
                    self.drained_at = time.monotonic()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self._interval_s)
