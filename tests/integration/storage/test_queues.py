"""Annotation queues on real PostgreSQL: no duplicate items, race-free claims, lock expiry, progress."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest

from glassgate.storage import db, queues
from glassgate.storage import score_configs as configs
from glassgate.storage.annotation_errors import Conflict, Invalid, NotFound
from glassgate.storage.spans import insert_spans
from tests.integration.storage.test_spans import make_span

SPANS = 40


def span_id(number: int) -> str:
    return f"{number:016x}"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    # Open connections enough for every concurrent reviewer below to hold its own.
    created = await asyncpg.create_pool(db.asyncpg_dsn(database_url), min_size=16, max_size=16)
    await insert_spans(created, [make_span(number) for number in range(1, SPANS + 1)])
    yield created
    await created.close()


async def make_queue(pool: asyncpg.Pool, spans: range = range(1, 6)) -> str:
    queue = await queues.create_queue(pool, name="review", description="weekly")
    await queues.add_spans(pool, queue["queue_id"], [span_id(number) for number in spans])
    queue_id: str = queue["queue_id"]
    return queue_id


async def test_a_queue_names_live_configs_only(pool: asyncpg.Pool) -> None:
    live = await configs.create_config(pool, name="accuracy", kind="numeric")
    old = await configs.create_config(pool, name="old", kind="boolean")
    await configs.update_config(pool, old.config_id, {"archived": True})
    queue = await queues.create_queue(pool, name="q", config_ids=[live.config_id, live.config_id])
    assert queue["config_ids"] == [live.config_id]
    assert queue["progress"] == {"total": 0, "pending": 0, "in_progress": 0, "completed": 0, "skipped": 0}
    assert queue["reviewers"] == []
    with pytest.raises(NotFound):
        await queues.create_queue(pool, name="q2", config_ids=["sc_missing"])
    with pytest.raises(Invalid) as raised:
        await queues.create_queue(pool, name="q2", config_ids=[old.config_id])
    assert raised.value.field == "config_ids"
    with pytest.raises(Conflict):
        await queues.create_queue(pool, name="q")
    assert await configs.delete_config(pool, live.config_id) == "archived", "a queue uses it"
    with pytest.raises(NotFound):
        await queues.get_queue(pool, "aq_missing")


async def test_adding_spans_never_duplicates_an_item(pool: asyncpg.Pool) -> None:
    queue_id = await make_queue(pool, range(1, 4))
    assert await queues.add_spans(pool, queue_id, [span_id(3), span_id(4), span_id(4), span_id(1)]) == (1, 2)
    results = await asyncio.gather(
        *(queues.add_spans(pool, queue_id, [span_id(n) for n in order]) for order in (range(5, 15), range(14, 4, -1)))
    )
    assert sorted(results) == [(0, 10), (10, 0)], "concurrent overlapping adds neither duplicate nor deadlock"
    with pytest.raises(NotFound) as raised:
        await queues.add_spans(pool, queue_id, [span_id(20), "feedfacefeedface"])
    assert "feedfacefeedface" in str(raised.value)
    assert await pool.fetchval("SELECT count(*) FROM annotation_queue_items WHERE span_id = $1", span_id(20)) == 0
    with pytest.raises(NotFound):
        await queues.add_spans(pool, "aq_missing", [span_id(1)])
    with pytest.raises(Invalid):
        await queues.add_spans(pool, queue_id, [])
    items, _ = await queues.list_items(pool, queue_id, None, 100, None)
    assert [item["span_id"] for item in items][:4] == [span_id(n) for n in (1, 2, 3, 4)], "in the order added"
    assert len(items) == 14


async def test_concurrent_reviewers_never_claim_the_same_item(pool: asyncpg.Pool) -> None:
    queue_id = await make_queue(pool, range(1, SPANS + 1))
    reviewers = [f"reviewer-{number}@example.com" for number in range(12)]
    claimed: list[str] = []
    for _ in range(4):  # 12 at a time, 40 items: the last round finds 4 items for 12 reviewers
        items = await asyncio.gather(*(queues.claim_next(pool, queue_id, reviewer) for reviewer in reviewers))
        got = [item for item in items if item is not None]
        assert len({item["span_id"] for item in got}) == len(got)
        assert {item["locked_by"] for item in got} == {
            reviewer for reviewer, item in zip(reviewers, items, strict=True) if item
        }
        claimed += [item["span_id"] for item in got]
        for item in got:
            await queues.resolve_item(pool, queue_id, item["span_id"], item["locked_by"], "completed")
    assert sorted(claimed) == [span_id(n) for n in range(1, SPANS + 1)]
    assert len(claimed) == len(set(claimed))


async def test_claiming_again_renews_the_lock_on_the_same_item(pool: asyncpg.Pool) -> None:
    queue_id = await make_queue(pool)
    first = await queues.claim_next(pool, queue_id, "ann")
    again = await queues.claim_next(pool, queue_id, "ann")
    assert first is not None and again is not None
    assert again["span_id"] == first["span_id"] == span_id(1)
    assert again["locked_until"] > first["locked_until"]
    other = await queues.claim_next(pool, queue_id, "bob")
    assert other is not None and other["span_id"] == span_id(2)
    with pytest.raises(NotFound):
        await queues.claim_next(pool, "aq_missing", "ann")


async def test_an_expired_lock_hands_the_item_to_another_reviewer(pool: asyncpg.Pool) -> None:
    queue_id = await make_queue(pool, range(1, 2))
    held = await queues.claim_next(pool, queue_id, "ann", lock_seconds=0.3)
    assert held is not None and held["locked_by"] == "ann"
    assert await queues.claim_next(pool, queue_id, "bob") is None, "ann holds the only item"
    with pytest.raises(Conflict):
        await queues.resolve_item(pool, queue_id, span_id(1), "bob", "completed")
    await asyncio.sleep(0.4)
    taken = await queues.claim_next(pool, queue_id, "bob")
    assert taken is not None and (taken["span_id"], taken["locked_by"]) == (span_id(1), "bob")
    with pytest.raises(Conflict) as raised:
        await queues.resolve_item(pool, queue_id, span_id(1), "ann", "completed")
    assert "bob" in str(raised.value)
    done = await queues.resolve_item(pool, queue_id, span_id(1), "bob", "completed")
    assert (done["status"], done["completed_by"], done["locked_by"]) == ("completed", "bob", None)


async def test_assigned_items_go_to_their_reviewer_first(pool: asyncpg.Pool) -> None:
    queue_id = await make_queue(pool)
    await queues.assign_item(pool, queue_id, span_id(4), "bob")
    await queues.assign_item(pool, queue_id, span_id(1), "bob")
    bob_first = await queues.claim_next(pool, queue_id, "bob")
    assert bob_first is not None and bob_first["span_id"] == span_id(1)
    ann_first = await queues.claim_next(pool, queue_id, "ann")
    assert ann_first is not None and ann_first["span_id"] == span_id(2), "bob's items are not ann's"
    await queues.resolve_item(pool, queue_id, span_id(1), "bob", "completed")
    bob_next = await queues.claim_next(pool, queue_id, "bob")
    assert bob_next is not None and bob_next["span_id"] == span_id(4), "assigned before unassigned"
    unassigned = await queues.assign_item(pool, queue_id, span_id(5), None)
    assert unassigned["assigned_to"] is None
    with pytest.raises(NotFound):
        await queues.assign_item(pool, queue_id, span_id(30), "bob")


async def test_complete_skip_and_release_rules(pool: asyncpg.Pool) -> None:
    queue_id = await make_queue(pool)
    await queues.claim_next(pool, queue_id, "ann")
    with pytest.raises(Conflict):
        await queues.release_item(pool, queue_id, span_id(1), "bob")
    with pytest.raises(Conflict):
        await queues.resolve_item(pool, queue_id, span_id(1), "bob", "skipped")
    released = await queues.release_item(pool, queue_id, span_id(1), "ann")
    assert (released["locked_by"], released["locked_until"]) == (None, None)
    skipped = await queues.resolve_item(pool, queue_id, span_id(1), "bob", "skipped")
    assert (skipped["status"], skipped["completed_by"]) == ("skipped", "bob")
    again = await queues.resolve_item(pool, queue_id, span_id(1), "bob", "skipped")
    assert again == skipped, "a retried request changes nothing"
    with pytest.raises(Conflict):
        await queues.resolve_item(pool, queue_id, span_id(1), "ann", "completed")
    done = await queues.resolve_item(pool, queue_id, span_id(2), "ann", "completed")
    assert done["status"] == "completed", "an item nobody holds can be completed directly"
    with pytest.raises(NotFound) as raised:
        await queues.resolve_item(pool, queue_id, span_id(30), "ann", "completed")
    assert raised.value.what == "queue item"
    with pytest.raises(NotFound) as raised:
        await queues.release_item(pool, "aq_missing", span_id(1), "ann")
    assert raised.value.what == "annotation queue"


async def test_progress_counts_per_reviewer(pool: asyncpg.Pool) -> None:
    queue_id = await make_queue(pool, range(1, 9))
    for reviewer, count in (("ann", 3), ("bob", 1)):
        for _ in range(count):
            item = await queues.claim_next(pool, queue_id, reviewer)
            assert item is not None
            await queues.resolve_item(pool, queue_id, item["span_id"], reviewer, "completed")
    skipped = await queues.claim_next(pool, queue_id, "bob")
    assert skipped is not None
    await queues.resolve_item(pool, queue_id, skipped["span_id"], "bob", "skipped")
    await queues.claim_next(pool, queue_id, "cid")  # in progress
    await queues.assign_item(pool, queue_id, span_id(8), "dee")
    [queue] = await queues.list_queues(pool)
    assert queue["progress"] == {"total": 8, "pending": 3, "in_progress": 1, "completed": 4, "skipped": 1}
    assert queue["reviewers"] == [
        {"reviewer": "ann", "completed": 3, "skipped": 0, "assigned_pending": 0},
        {"reviewer": "bob", "completed": 1, "skipped": 1, "assigned_pending": 0},
        {"reviewer": "dee", "completed": 0, "skipped": 0, "assigned_pending": 1},
    ]
    assert await queues.get_queue(pool, queue_id) == queue
    pending, following = await queues.list_items(pool, queue_id, "pending", 2, None)
    assert [item["span_id"] for item in pending] == [span_id(6), span_id(7)]
    rest, last = await queues.list_items(pool, queue_id, "pending", 2, following)
    assert ([item["span_id"] for item in rest], last) == ([span_id(8)], None)
