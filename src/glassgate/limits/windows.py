"""Counting windows, and how long a refused call must wait. Pure arithmetic, no IO.

Per-minute limits use a *sliding window counter*: one counter per calendar minute, and the
use at time t is `previous minute × (1 − elapsed fraction) + current minute`. Unlike a fixed
window it allows no double burst at a minute's edge (a fixed window admits the full limit at
12:00:59 and again at 12:01:00); unlike a sliding log (a sorted set of every call) it costs two
small integers per counter in Redis and O(1) work per check, and a reservation can be settled
by adjusting the one counter it went into.

Daily budgets use the fixed UTC day: money is budgeted and billed by the day, and "resets at
00:00 UTC" is a rule people can plan around.
"""

from __future__ import annotations

from dataclasses import dataclass

MINUTE_S = 60
DAY_S = 86_400


@dataclass(frozen=True, slots=True)
class Window:
    """Where a moment falls: the window's number since the epoch and the fraction of it gone."""

    index: int
    elapsed: float  # 0 ≤ elapsed < 1


def window_at(now: float, length_s: int) -> Window:
    index, into = divmod(now, length_s)
    return Window(int(index), into / length_s)


def sliding_use(current: float, previous: float, elapsed: float) -> float:
    """The use a sliding window counter reports: the previous window weighted by what remains of it."""
    return previous * (1.0 - elapsed) + current


def sliding_wait_s(
    limit: float, amount: float, current: float, previous: float, elapsed: float, length_s: int
) -> float | None:
    """Seconds until a call of `amount` fits, if nothing else arrives; None if it never can."""
    if amount > limit:
        return None
    room = limit - current - amount
    if room >= 0 and previous > 0:
        # Still in this window, once enough of the previous one has slid out.
        fits_at = 1.0 - room / previous
        return max(0.0, (fits_at - elapsed) * length_s)
    # In the next window, when this window's count has become the previous one.
    fits_at = 0.0 if current <= 0 else max(0.0, 1.0 - (limit - amount) / current)
    return (1.0 - elapsed) * length_s + fits_at * length_s


def fixed_wait_s(limit: float, amount: float, elapsed: float, length_s: int) -> float | None:
    """Seconds until a fixed window starts again, or None if the call is over the limit alone."""
    if amount > limit:
        return None
    return (1.0 - elapsed) * length_s
