"""Background daemons: the loop of one that works in ticks (the search indexer, the embedder),
and stopping one's task.

A tick runs every `interval_s`, or at once when `wake` is set. A tick that fails with an
expected error (the database or a service away) is logged as a warning and the next one waits
twice as long, up to `max_backoff_s`; any other exception is a bug, logged with its traceback,
and waits `max_backoff_s`: a daemon never dies of one. A tick that succeeds restores the interval.

Stopping cancels the task. A library's clean-up can turn that cancellation into an error of its
own (asyncpg, cancelled mid-query, fails to reset the connection it hands back to the pool:
"cannot switch to state 15"): when the task is being cancelled, any error ends the loop quietly
(`being_cancelled` lets other loops that catch every error do the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def tick_forever(
    tick: Callable[[], Awaitable[object]],
    *,
    doing: str,
    interval_s: float,
    max_backoff_s: float,
    expected: tuple[type[BaseException], ...],
    on_failure: Callable[[], None],
    wake: asyncio.Event | None = None,
) -> None:
    """Run `tick` until cancelled; `doing` names the work in log lines ("indexing spans for search")."""
    delay = interval_s
    while True:
        if wake is None:
            await asyncio.sleep(delay)
        else:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), delay)
            wake.clear()
        try:
            await tick()
        except Exception as exc:
            if being_cancelled():
                raise asyncio.CancelledError from exc
            on_failure()
            if isinstance(exc, expected):
                delay = min(max(delay * 2, interval_s), max_backoff_s)
                log.warning("%s failed (%s: %s); next try in %.0f s", doing, type(exc).__name__, exc, delay)
            else:
                delay = max_backoff_s
                log.exception("%s failed unexpectedly; next try in %.0f s", doing, delay)
        else:
            delay = interval_s


def being_cancelled() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


async def cancel(task: asyncio.Task[None] | None) -> None:
    """Cancel a daemon's task and wait until it has ended (its cancellation is not an error)."""
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
