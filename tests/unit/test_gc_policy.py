import gc
from collections.abc import Iterator

import pytest

from glassgate import gc_policy


@pytest.fixture
def restored_collector() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restored_collector")
def test_settle_exempts_what_start_up_built_and_collects_young_objects_less_often() -> None:
    kept = [{"built": "at start-up"} for _ in range(1000)]
    gc_policy.settle()
    assert gc.get_freeze_count() >= len(kept)
    assert gc.get_threshold()[0] == gc_policy.YOUNG_THRESHOLD
    assert gc.isenabled()


@pytest.mark.usefixtures("restored_collector")
def test_cycles_made_after_settling_are_still_collected() -> None:
    gc_policy.settle()

    class Node:
        partner: object = None

    first, second = Node(), Node()
    first.partner, second.partner = second, first
    del first, second
    assert gc.collect() >= 2
