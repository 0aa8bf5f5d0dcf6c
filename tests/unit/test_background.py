"""The background daemons' loop: ticks, wake-ups, back-off, and no death by exception."""

from __future__ import annotations

import asyncio
import time

import pytest

from glassgate.background import tick_forever


class Flaky:
    """Fails with the given errors in turn, then succeeds; records when each tick ran."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.ran: list[float] = []
        self.failures = 0

    async def tick(self) -> None:
        self.ran.append(time.monotonic())
        if self.errors:
            raise self.errors.pop(0)

    def failed(self) -> None:
        self.failures += 1


async def run_until(flaky: Flaky, ticks: int, wake: asyncio.Event | None = None, interval_s: float = 0.01) -> None:
    task = asyncio.create_task(
        tick_forever(
            flaky.tick,
            doing="testing",
            interval_s=interval_s,
            max_backoff_s=0.3,
            expected=(OSError,),
            on_failure=flaky.failed,
            wake=wake,
        )
    )
    try:
        async with asyncio.timeout(5):
            while len(flaky.ran) < ticks:
                await asyncio.sleep(0.001)
    finally:
        task.cancel()


async def test_expected_failures_back_off_and_a_bug_waits_longest_without_ending_the_loop(
    caplog: pytest.LogCaptureFixture,
) -> None:
    flaky = Flaky(OSError("down"), OSError("down"), RuntimeError("bug"))
    await run_until(flaky, ticks=5)
    gaps = [later - earlier for earlier, later in zip(flaky.ran, flaky.ran[1:], strict=False)]
    assert flaky.failures == 3
    assert gaps[0] >= 0.02 and gaps[1] >= 0.04, "twice the interval, then twice that"
    assert gaps[2] >= 0.3, "after a bug: the longest wait"
    assert gaps[3] < 0.25, "a tick that succeeds restores the interval"
    assert "testing failed (OSError: down)" in caplog.text
    assert "testing failed unexpectedly" in caplog.text and "RuntimeError: bug" in caplog.text


async def test_a_wake_runs_the_next_tick_at_once() -> None:
    flaky = Flaky()
    wake = asyncio.Event()
    task = asyncio.create_task(run_until(flaky, ticks=2, wake=wake, interval_s=60))
    await asyncio.sleep(0.01)
    started = time.monotonic()
    wake.set()
    await asyncio.sleep(0.01)
    wake.set()
    await task
    assert time.monotonic() - started < 1, "woken twice, not after the 60 s interval"
