"""Sliding minute and fixed day windows: the use they report, and how long a refused call waits."""

from __future__ import annotations

import pytest

from glassgate.limits.windows import DAY_S, MINUTE_S, fixed_wait_s, sliding_use, sliding_wait_s, window_at


def test_window_at() -> None:
    window = window_at(120.0 * 60 + 15.0, MINUTE_S)
    assert (window.index, window.elapsed) == (120, 0.25)
    day = window_at(3 * DAY_S + 6 * 3600, DAY_S)
    assert (day.index, day.elapsed) == (3, 0.25)


def test_sliding_use_weighs_the_previous_window_by_what_remains_of_it() -> None:
    assert sliding_use(current=2, previous=8, elapsed=0.25) == 8.0
    assert sliding_use(current=2, previous=8, elapsed=0.0) == 10.0
    assert sliding_use(current=2, previous=8, elapsed=0.999) == pytest.approx(2.008)


def test_no_double_burst_at_the_edge_of_a_minute() -> None:
    # 10 per minute, all used in the last second of a minute: a second later, still full.
    assert sliding_use(current=0, previous=10, elapsed=1 / 60) == pytest.approx(9.83, abs=0.01)


def test_wait_within_the_window_while_the_previous_one_slides_out() -> None:
    # limit 10, previous 8, current 2, 15 s in: use 8; a call of 1 fits at once (8 + 1 ≤ 10)... but
    # a call of 4 needs 8·(1−g) + 2 + 4 ≤ 10 → g ≥ 0.5: 30 s in, so 15 s from now.
    assert sliding_wait_s(10, 4, current=2, previous=8, elapsed=0.25, length_s=60) == pytest.approx(15.0)


def test_wait_into_the_next_window_when_this_one_is_full() -> None:
    # limit 10, current 10, 45 s in: the next window starts in 15 s with previous = 10; a call of 5
    # needs 10·(1−g) + 5 ≤ 10 → g ≥ 0.5 → 30 s into it: 45 s from now.
    assert sliding_wait_s(10, 5, current=10, previous=0, elapsed=0.75, length_s=60) == pytest.approx(45.0)


def test_a_call_over_the_limit_alone_never_fits() -> None:
    assert sliding_wait_s(10, 11, current=0, previous=0, elapsed=0.5, length_s=60) is None
    assert fixed_wait_s(10, 11, elapsed=0.5, length_s=DAY_S) is None


def test_a_spent_day_waits_for_midnight() -> None:
    assert fixed_wait_s(100, 1, elapsed=0.75, length_s=DAY_S) == 6 * 3600
