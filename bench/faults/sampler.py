"""Memory and open files of a process (and optionally of its PostgreSQL), sampled in the background.

Unlike monitor.py, which follows the span writer through /metrics, this only reads /proc: it
keeps every sample, so a soak can fit a slope to them and a burst can report its peak.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

import psutil

from bench.procs import Tree, memory

_MB = 1024 * 1024


@dataclass(frozen=True)
class Sample:
    at_s: float  # seconds since the sampler started
    phase: str
    rss_mb: float  # the process itself
    fds: int  # its open file descriptors (sockets included)
    tree_rss_mb: float | None  # the process and its PostgreSQL, summed (shared pages counted in each)
    tree_pss_mb: float | None  # the same with shared pages split between their sharers


class Sampler:
    """Every `interval_s`: the process's RSS and open files; with `tree`, also the whole tree's RSS and PSS
    (PSS reads /proc/<pid>/smaps_rollup of every process: tens of milliseconds, so not too often)."""

    def __init__(self, pid: int, interval_s: float, phase: Callable[[], str], tree: Tree | None = None) -> None:
        self._process = psutil.Process(pid)
        self._interval_s = interval_s
        self._phase = phase
        self._tree = tree
        self.samples: list[Sample] = []
        self._started = time.monotonic()
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def sample(self) -> Sample:
        rss = self._process.memory_info().rss / _MB
        fds = self._process.num_fds()
        tree_rss = tree_pss = None
        if self._tree is not None:
            usage = memory(self._tree)
            tree_rss, tree_pss = usage.tree_rss_mb, usage.tree_pss_mb
        taken = Sample(round(time.monotonic() - self._started, 2), self._phase(), rss, fds, tree_rss, tree_pss)
        self.samples.append(taken)
        return taken

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await asyncio.wait_for(self._task, 30)

    async def _run(self) -> None:
        while not self._stop.is_set():
            with contextlib.suppress(psutil.NoSuchProcess):
                # In a thread: reading smaps of a dozen processes must not stall the client's loop.
                await asyncio.to_thread(self.sample)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), self._interval_s)

    def of_phase(self, *phases: str) -> list[Sample]:
        return [sample for sample in self.samples if sample.phase in phases]


def peak(samples: list[Sample], field: str) -> float | None:
    values = [getattr(sample, field) for sample in samples if getattr(sample, field) is not None]
    return round(max(values), 1) if values else None


def slope_mb_per_hour(samples: list[Sample]) -> float | None:
    """Least-squares slope of RSS over time: what a leak would add per hour."""
    if len(samples) < 3:
        return None
    xs = [sample.at_s for sample in samples]
    ys = [sample.rss_mb for sample in samples]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    spread = sum((x - mean_x) ** 2 for x in xs)
    if spread == 0:
        return None
    slope_per_s = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / spread
    return round(slope_per_s * 3600, 2)
