"""Dataset storage on real PostgreSQL: versions pin their items, pages, and concurrent writers."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import pytest

from glassgate.storage import datasets as store
from glassgate.storage.datasets import Changes, ItemEdit, NewItem


async def items_of(pool: asyncpg.Pool, dataset_id: str, version: int | None = None) -> list[dict[str, Any]]:
    _, rows, _ = await store.list_items(pool, dataset_id, version, 500, None)
    return rows


async def test_datasets_are_created_renamed_listed_and_deleted(pool: asyncpg.Pool) -> None:
    first = await store.create_dataset(pool, "golden answers", "what support should say")
    assert first["latest_version"] == 0 and first["item_count"] == 0
    second = await store.create_dataset(pool, "refusals", "")
    with pytest.raises(store.NameTaken):
        await store.create_dataset(pool, "golden answers", "")
    with pytest.raises(store.NameTaken):
        await store.update_dataset(pool, second["dataset_id"], name="golden answers")
    renamed = await store.update_dataset(pool, second["dataset_id"], name="refusals v2")
    assert renamed["name"] == "refusals v2" and renamed["description"] == "", "left-out fields keep their values"
    await store.apply_changes(pool, first["dataset_id"], Changes(add=[NewItem(input="q")]), note="one", author="me")
    listed = {row["name"]: row for row in await store.list_datasets(pool)}
    assert listed["golden answers"]["item_count"] == 1 and listed["golden answers"]["latest_version"] == 1
    assert await store.delete_dataset(pool, first["dataset_id"])
    assert not await store.delete_dataset(pool, first["dataset_id"])
    assert await pool.fetchval("SELECT count(*) FROM dataset_items") == 0, "items go with their dataset"
    with pytest.raises(store.DatasetNotFound):
        await store.update_dataset(pool, first["dataset_id"], description="x")


async def test_an_old_version_still_shows_its_old_items(pool: asyncpg.Pool) -> None:
    dataset_id = (await store.create_dataset(pool, "pinned", ""))["dataset_id"]
    added = await store.apply_changes(
        pool,
        dataset_id,
        Changes(add=[NewItem(input={"q": n}, expected_output=f"a{n}", metadata={"n": n}) for n in range(3)]),
        note="first three",
        author="alice@example.com",
    )
    first, second, third = (item["item_id"] for item in added["items"])
    await store.apply_changes(
        pool, dataset_id, Changes(edit=[ItemEdit(second, {"expected_output": "better"})]), note="fix", author="bob"
    )
    await store.apply_changes(pool, dataset_id, Changes(delete=[third]), note="drop", author="bob")
    await store.apply_changes(pool, dataset_id, Changes(add=[NewItem(input={"q": 9})]), note="more", author="bob")

    v1 = await items_of(pool, dataset_id, 1)
    assert [(item["item_id"], item["expected_output"]) for item in v1] == [(first, "a0"), (second, "a1"), (third, "a2")]
    v2 = await items_of(pool, dataset_id, 2)
    assert [item["expected_output"] for item in v2] == ["a0", "better", "a2"]
    assert v2[1]["metadata"] == {"n": 1} and v2[1]["input"] == {"q": 1}, "an edit keeps the fields it leaves out"
    assert [item["item_id"] for item in await items_of(pool, dataset_id, 3)] == [first, second]
    latest = await items_of(pool, dataset_id)
    assert [item["input"] for item in latest] == [{"q": 0}, {"q": 1}, {"q": 9}]
    assert await items_of(pool, dataset_id, 0) == []
    with pytest.raises(store.VersionNotFound):
        await items_of(pool, dataset_id, 5)

    versions = await store.list_versions(pool, dataset_id)
    assert [(v["version"], v["item_count"], v["note"], v["author"]) for v in versions] == [
        (4, 3, "more", "bob"),
        (3, 2, "drop", "bob"),
        (2, 3, "fix", "bob"),
        (1, 3, "first three", "alice@example.com"),
    ]
    history = await store.item_history(pool, dataset_id, second)
    assert [(row["valid_from"], row["valid_to"]) for row in history] == [(1, 2), (2, None)]
    assert (await store.get_item(pool, dataset_id, third, 2) or {})["expected_output"] == "a2"
    assert await store.get_item(pool, dataset_id, third, None) is None


async def test_keyset_pages_keep_the_order_items_were_added(pool: asyncpg.Pool) -> None:
    dataset_id = (await store.create_dataset(pool, "paged", ""))["dataset_id"]
    for start in (0, 10, 20):  # three batches, so ids come from different milliseconds too
        batch = [NewItem(input=n) for n in range(start, start + 10)]
        await store.apply_changes(pool, dataset_id, Changes(add=batch), note="", author="t")
    seen: list[int] = []
    cursor = None
    while True:
        _, rows, cursor = await store.list_items(pool, dataset_id, None, 7, cursor)
        seen += [row["input"] for row in rows]
        if cursor is None:
            break
    assert seen == list(range(30))
    pages = [[item["input"] for item in page] async for page in store.iter_items(pool, dataset_id, 2, page_size=4)]
    assert [len(page) for page in pages] == [4, 4, 4, 4, 4] and [n for page in pages for n in page] == list(range(20))


async def test_a_failed_batch_changes_nothing(pool: asyncpg.Pool) -> None:
    dataset_id = (await store.create_dataset(pool, "atomic", ""))["dataset_id"]
    added = await store.apply_changes(pool, dataset_id, Changes(add=[NewItem(input=1)]), note="", author="t")
    item_id = added["items"][0]["item_id"]
    with pytest.raises(store.ItemsNotFound) as missing:
        await store.apply_changes(
            pool, dataset_id, Changes(add=[NewItem(input=2)], delete=[item_id, "it_nope"]), note="", author="t"
        )
    assert missing.value.item_ids == ["it_nope"]
    with pytest.raises(store.BadChange):
        await store.apply_changes(
            pool, dataset_id, Changes(edit=[ItemEdit(item_id, {"input": 3})], delete=[item_id]), note="", author="t"
        )
    with pytest.raises(store.BadChange):
        await store.apply_changes(pool, dataset_id, Changes(), note="", author="t")
    assert (await store.get_dataset(pool, dataset_id) or {})["latest_version"] == 1
    assert [item["input"] for item in await items_of(pool, dataset_id)] == [1]


async def test_base_version_refuses_to_overwrite_a_newer_edit(pool: asyncpg.Pool) -> None:
    dataset_id = (await store.create_dataset(pool, "stale", ""))["dataset_id"]
    added = await store.apply_changes(pool, dataset_id, Changes(add=[NewItem(input="q")]), note="", author="a")
    item_id = added["items"][0]["item_id"]
    await store.apply_changes(pool, dataset_id, Changes(edit=[ItemEdit(item_id, {"input": "q2"})]), note="", author="b")
    with pytest.raises(store.StaleItems) as stale:
        await store.apply_changes(
            pool, dataset_id, Changes(edit=[ItemEdit(item_id, {"input": "q3"})]), note="", author="a", base_version=1
        )
    assert stale.value.changed == {item_id: 2}
    done = await store.apply_changes(
        pool, dataset_id, Changes(edit=[ItemEdit(item_id, {"input": "q3"})]), note="", author="a", base_version=2
    )
    assert done["version"]["version"] == 3


async def test_concurrent_writers_each_get_a_version_and_lose_nothing(pool: asyncpg.Pool) -> None:
    dataset_id = (await store.create_dataset(pool, "busy", ""))["dataset_id"]
    added = await store.apply_changes(
        pool, dataset_id, Changes(add=[NewItem(input="a"), NewItem(input="b")]), note="", author="t"
    )
    first, second = (item["item_id"] for item in added["items"])
    # Hold the dataset's lock, so both writers are certainly waiting at once when it is released.
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("SELECT 1 FROM datasets WHERE dataset_id = $1 FOR UPDATE", dataset_id)
        writers = [
            asyncio.create_task(
                store.apply_changes(
                    pool,
                    dataset_id,
                    Changes(edit=[ItemEdit(item_id, {"expected_output": f"by {name}"})]),
                    note=name,
                    author=name,
                )
            )
            for item_id, name in ((first, "alice"), (second, "bob"))
        ]
        writers.append(
            asyncio.create_task(
                store.apply_changes(pool, dataset_id, Changes(add=[NewItem(input="c")]), note="carol", author="carol")
            )
        )
        await asyncio.sleep(0.2)
        assert not any(writer.done() for writer in writers), "the writers wait for the lock"
    results = await asyncio.gather(*writers)
    assert sorted(result["version"]["version"] for result in results) == [2, 3, 4]
    latest = await items_of(pool, dataset_id)
    assert [(item["input"], item["expected_output"]) for item in latest] == [
        ("a", "by alice"),
        ("b", "by bob"),
        ("c", None),
    ]
    assert (await store.list_versions(pool, dataset_id))[0]["item_count"] == 3

    many = await asyncio.gather(
        *(store.apply_changes(pool, dataset_id, Changes(add=[NewItem(input=n)]), note="", author="t") for n in range(8))
    )
    assert sorted(result["version"]["version"] for result in many) == list(range(5, 13))
    assert len(await items_of(pool, dataset_id)) == 11


async def test_metadata_keys_and_awkward_values(pool: asyncpg.Pool) -> None:
    dataset_id = (await store.create_dataset(pool, "odd", ""))["dataset_id"]
    items = [
        NewItem(input="nul \u0000 here", metadata={"b": 1, "a": None}),
        NewItem(input={"deep": [1, {"x": None}]}, expected_output=[], metadata={"c": "é"}),
    ]
    await store.apply_changes(pool, dataset_id, Changes(add=items), note="", author="t")
    assert await store.metadata_keys(pool, dataset_id, 1) == ["a", "b", "c"]
    stored = await items_of(pool, dataset_id)
    assert stored[0]["input"] == "nul \ufffd here", "jsonb cannot hold NUL"
    assert stored[1]["expected_output"] == [] and stored[0]["expected_output"] is None
