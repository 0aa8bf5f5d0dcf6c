"""The background daemons' loop: ticks, wake-ups, back-off, and no death by exception."""

from __future__ import annotations

import asyncio
import time

import pytest

from glassgate.background import cancel, tick_forever


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


async def test_a_cancellation_that_a_clean_up_turns_into_another_error_still_ends_the_loop_quietly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    started = asyncio.Event()

    async def tick_whose_clean_up_fails() -> None:
        # What asyncpg does when cancelled mid-query: resetting the connection raises instead.
        started.set()
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("cannot switch to state 15; another operation (2) is in progress") from None

    failures: list[None] = []
    task = asyncio.create_task(
        tick_forever(
            tick_whose_clean_up_fails,
            doing="testing",
            interval_s=0.001,
            max_backoff_s=0.3,
            expected=(OSError,),
            on_failure=lambda: failures.append(None),
        )
    )
    await asyncio.wait_for(started.wait(), 5)
    task.cancel()
    await asyncio.wait({task}, timeout=2)
    assert task.done(), "the loop went on after its cancellation"
    await cancel(task)
    assert task.cancelled()
    assert failures == [] and "failed" not in caplog.text
