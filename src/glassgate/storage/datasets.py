"""Datasets, their versions and their items (the tables of migration 0009).

Every change to the items (a batch of additions, edits and deletions) is one new version, with
a note and an author. Rows are never rewritten: an edit closes the item's current row
(`valid_to` = the new version) and writes a new row under the same item id, so any version's
items stay readable as they were. A writer holds the dataset row's lock for its transaction,
so two writers at once get consecutive versions and neither change is lost.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson

_DATASET_COLUMNS = (
    "d.dataset_id, d.name, d.description, d.latest_version, coalesce(v.item_count, 0) AS item_count, "
    "d.created_at, d.updated_at"
)
_DATASET_FROM = (
    "FROM datasets d LEFT JOIN dataset_versions v ON v.dataset_id = d.dataset_id AND v.version = d.latest_version"
)
_VERSION_COLUMNS = "version, note, author, item_count, created_at"
_ITEM_COLUMNS = "item_id, valid_from, valid_to, input, expected_output, metadata, source_span_id, created_at"
_IN_VERSION = "dataset_id = $1 AND valid_from <= $2 AND (valid_to IS NULL OR valid_to > $2)"
_INSERT_ITEMS = (
    "INSERT INTO dataset_items (item_id, dataset_id, valid_from, input, expected_output, metadata, source_span_id) "
    "SELECT u.item_id, $1, $2, u.input::jsonb, u.expected_output::jsonb, u.metadata::jsonb, u.source_span_id "
    "FROM unnest($3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) "
    "AS u(item_id, input, expected_output, metadata, source_span_id) "
    f"RETURNING {_ITEM_COLUMNS}"
)
_CLOSE_ITEMS = (
    "UPDATE dataset_items SET valid_to = $3 WHERE dataset_id = $1 AND item_id = ANY($2::text[]) AND valid_to IS NULL "
    f"RETURNING {_ITEM_COLUMNS}"
)
EDITABLE = frozenset({"input", "expected_output", "metadata"})


class DatasetNotFound(LookupError):
    pass


class VersionNotFound(LookupError):
    pass


class ItemsNotFound(LookupError):
    def __init__(self, item_ids: Sequence[str]) -> None:
        super().__init__(f"not in the latest version: {', '.join(item_ids)}")
        self.item_ids = list(item_ids)


class NameTaken(ValueError):
    pass


class StaleItems(ValueError):
    """Items changed by someone else after the version the caller edited from."""

    def __init__(self, changed: Mapping[str, int], base_version: int) -> None:
        listed = ", ".join(f"{item_id} (in version {version})" for item_id, version in changed.items())
        super().__init__(f"changed since version {base_version}: {listed}")
        self.changed = dict(changed)


class BadChange(ValueError):
    pass


@dataclass(frozen=True)
class NewItem:
    input: Any
    expected_output: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    source_span_id: str | None = None


@dataclass(frozen=True)
class ItemEdit:
    item_id: str
    fields: Mapping[str, Any]  # a subset of EDITABLE; fields left out keep their values


@dataclass(frozen=True)
class Changes:
    """One batch: it becomes one version."""

    add: Sequence[NewItem] = ()
    edit: Sequence[ItemEdit] = ()
    delete: Sequence[str] = ()


def _json(value: Any) -> str | None:
    """A value for a jsonb column; None is SQL NULL. PostgreSQL's jsonb cannot hold NUL characters."""
    if value is None:
        return None
    return orjson.dumps(value).replace(b"\\u0000", b"\\ufffd").decode()


def _item(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    for name in ("input", "expected_output", "metadata"):
        row[name] = orjson.loads(row[name]) if row[name] is not None else None
    return row


def new_item_ids(count: int) -> list[str]:
    """Ids that sort by creation (milliseconds, then position in the batch), so pages keep insertion order."""
    now = time.time_ns() // 1_000_000
    return [f"it_{now:012x}{index:06x}{secrets.token_hex(3)}" for index in range(count)]


# --- datasets ----------------------------------------------------------------------------------


async def create_dataset(pool: asyncpg.Pool, name: str, description: str) -> dict[str, Any]:
    dataset_id = "ds_" + secrets.token_hex(8)
    try:
        await pool.execute(
            "INSERT INTO datasets (dataset_id, name, description) VALUES ($1, $2, $3)", dataset_id, name, description
        )
    except asyncpg.UniqueViolationError:
        raise NameTaken(f"a dataset named {name!r} exists") from None
    created = await get_dataset(pool, dataset_id)
    assert created is not None
    return created


async def list_datasets(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Every dataset with its latest version's item count, most recently changed first."""
    records = await pool.fetch(f"SELECT {_DATASET_COLUMNS} {_DATASET_FROM} ORDER BY d.updated_at DESC, d.dataset_id")
    return [dict(record) for record in records]


async def get_dataset(pool: asyncpg.Pool, dataset_id: str) -> dict[str, Any] | None:
    record = await pool.fetchrow(f"SELECT {_DATASET_COLUMNS} {_DATASET_FROM} WHERE d.dataset_id = $1", dataset_id)
    return dict(record) if record is not None else None


async def update_dataset(
    pool: asyncpg.Pool, dataset_id: str, *, name: str | None = None, description: str | None = None
) -> dict[str, Any]:
    """Rename or describe a dataset: not a change of its items, so no new version."""
    try:
        status = await pool.execute(
            "UPDATE datasets SET name = coalesce($2, name), description = coalesce($3, description), "
            "updated_at = now() WHERE dataset_id = $1",
            dataset_id,
            name,
            description,
        )
    except asyncpg.UniqueViolationError:
        raise NameTaken(f"a dataset named {name!r} exists") from None
    updated = await get_dataset(pool, dataset_id) if status.endswith(" 1") else None
    if updated is None:
        raise DatasetNotFound(dataset_id)
    return updated


async def delete_dataset(pool: asyncpg.Pool, dataset_id: str) -> bool:
    """The dataset, its versions and its items; False when there was none."""
    status = await pool.execute("DELETE FROM datasets WHERE dataset_id = $1", dataset_id)
    return bool(status.endswith(" 1"))


async def list_versions(pool: asyncpg.Pool, dataset_id: str) -> list[dict[str, Any]]:
    """Newest first."""
    async with pool.acquire() as connection:
        if await connection.fetchval("SELECT 1 FROM datasets WHERE dataset_id = $1", dataset_id) is None:
            raise DatasetNotFound(dataset_id)
        records = await connection.fetch(
            f"SELECT {_VERSION_COLUMNS} FROM dataset_versions WHERE dataset_id = $1 ORDER BY version DESC", dataset_id
        )
    return [dict(record) for record in records]


# --- items ---------------------------------------------------------------------------------------


async def resolve_version(connection: asyncpg.Connection, dataset_id: str, version: int | None) -> int:
    """The version asked for (the latest when None), checked to exist. Version 0 is the empty start."""
    latest = await connection.fetchval("SELECT latest_version FROM datasets WHERE dataset_id = $1", dataset_id)
    if latest is None:
        raise DatasetNotFound(dataset_id)
    if version is None:
        return int(latest)
    if not 0 <= version <= latest:
        raise VersionNotFound(f"version {version} does not exist; the latest is {latest}")
    return version


async def list_items(
    pool: asyncpg.Pool, dataset_id: str, version: int | None, limit: int, after: str | None
) -> tuple[int, list[dict[str, Any]], str | None]:
    """(version, items in creation order, the cursor of the next page or None)."""
    async with pool.acquire() as connection:
        resolved = await resolve_version(connection, dataset_id, version)
        records = await _page(connection, dataset_id, resolved, limit + 1, after)
    items = [_item(record) for record in records[:limit]]
    return resolved, items, items[-1]["item_id"] if len(records) > limit else None


async def _page(
    connection: asyncpg.Connection, dataset_id: str, version: int, limit: int, after: str | None
) -> list[asyncpg.Record]:
    if after is None:
        query = f"SELECT {_ITEM_COLUMNS} FROM dataset_items WHERE {_IN_VERSION} ORDER BY item_id LIMIT $3"
        records: list[asyncpg.Record] = await connection.fetch(query, dataset_id, version, limit)
    else:
        query = (
            f"SELECT {_ITEM_COLUMNS} FROM dataset_items WHERE {_IN_VERSION} AND item_id > $4 ORDER BY item_id LIMIT $3"
        )
        records = await connection.fetch(query, dataset_id, version, limit, after)
    return records


async def iter_items(
    pool: asyncpg.Pool, dataset_id: str, version: int, page_size: int = 1000
) -> AsyncIterator[list[dict[str, Any]]]:
    """A version's items page by page (a pinned version never changes, so pages are consistent)."""
    after: str | None = None
    while True:
        async with pool.acquire() as connection:
            records = await _page(connection, dataset_id, version, page_size, after)
        if not records:
            return
        yield [_item(record) for record in records]
        if len(records) < page_size:
            return
        after = records[-1]["item_id"]


async def metadata_keys(pool: asyncpg.Pool, dataset_id: str, version: int) -> list[str]:
    """Every metadata key used by a version's items, sorted (the CSV export's columns)."""
    records = await pool.fetch(
        f"SELECT DISTINCT jsonb_object_keys(metadata) AS key FROM dataset_items WHERE {_IN_VERSION} "
        "AND jsonb_typeof(metadata) = 'object' ORDER BY key",
        dataset_id,
        version,
    )
    return [record["key"] for record in records]


async def get_item(pool: asyncpg.Pool, dataset_id: str, item_id: str, version: int | None) -> dict[str, Any] | None:
    """The item as it was in a version (the latest when None); None when it was not in it."""
    async with pool.acquire() as connection:
        resolved = await resolve_version(connection, dataset_id, version)
        record = await connection.fetchrow(
            f"SELECT {_ITEM_COLUMNS} FROM dataset_items WHERE {_IN_VERSION} AND item_id = $3",
            dataset_id,
            resolved,
            item_id,
        )
    return _item(record) if record is not None else None


async def item_history(pool: asyncpg.Pool, dataset_id: str, item_id: str) -> list[dict[str, Any]]:
    """Every row an item has had, oldest first."""
    records = await pool.fetch(
        f"SELECT {_ITEM_COLUMNS} FROM dataset_items WHERE dataset_id = $1 AND item_id = $2 ORDER BY valid_from",
        dataset_id,
        item_id,
    )
    return [_item(record) for record in records]


def _check(changes: Changes) -> None:
    if not (changes.add or changes.edit or changes.delete):
        raise BadChange("nothing to change: give items to add, edit or delete")
    touched = [edit.item_id for edit in changes.edit] + list(changes.delete)
    repeated = sorted({item_id for item_id in touched if touched.count(item_id) > 1})
    if repeated:
        raise BadChange(f"each item can change once in a batch: {', '.join(repeated)}")
    for edit in changes.edit:
        unknown = set(edit.fields) - EDITABLE
        if unknown:
            raise BadChange(f"{edit.item_id}: {', '.join(sorted(unknown))} cannot be edited")
        if "input" in edit.fields and edit.fields["input"] is None:
            raise BadChange(f"{edit.item_id}: input cannot be null")
    if any(item.input is None for item in changes.add):
        raise BadChange("input cannot be null")


async def apply_changes(
    pool: asyncpg.Pool,
    dataset_id: str,
    changes: Changes,
    *,
    note: str,
    author: str,
    base_version: int | None = None,
) -> dict[str, Any]:
    """Apply one batch as one new version. With `base_version`, refuse (StaleItems) to edit or
    delete an item someone changed after that version. Returns the version, the rows written
    (additions then edits, in the order given) and the deleted ids."""
    _check(changes)
    async with pool.acquire() as connection, connection.transaction():
        latest = await connection.fetchval(
            "SELECT latest_version FROM datasets WHERE dataset_id = $1 FOR UPDATE", dataset_id
        )
        if latest is None:
            raise DatasetNotFound(dataset_id)
        if base_version is not None and not 0 <= base_version <= latest:
            raise BadChange(f"base_version {base_version} does not exist; the latest is {latest}")
        version = latest + 1
        current = await _close(connection, dataset_id, changes, version, base_version)
        rows = [*changes.add, *(_edited(current[edit.item_id], edit) for edit in changes.edit)]
        ids = new_item_ids(len(changes.add)) + [edit.item_id for edit in changes.edit]
        written = await connection.fetch(
            _INSERT_ITEMS,
            dataset_id,
            version,
            ids,
            [_json(row.input) for row in rows],
            [_json(row.expected_output) for row in rows],
            [_json(dict(row.metadata)) for row in rows],
            [row.source_span_id for row in rows],
        )
        previous = await connection.fetchval(
            "SELECT item_count FROM dataset_versions WHERE dataset_id = $1 AND version = $2", dataset_id, latest
        )
        count = (previous or 0) + len(changes.add) - len(changes.delete)
        stored = await connection.fetchrow(
            "INSERT INTO dataset_versions (dataset_id, version, note, author, item_count) VALUES ($1, $2, $3, $4, $5) "
            f"RETURNING {_VERSION_COLUMNS}",
            dataset_id,
            version,
            note,
            author,
            count,
        )
        await connection.execute(
            "UPDATE datasets SET latest_version = $2, updated_at = now() WHERE dataset_id = $1", dataset_id, version
        )
    by_id = {record["item_id"]: _item(record) for record in written}
    return {"version": dict(stored), "items": [by_id[item_id] for item_id in ids], "deleted": list(changes.delete)}


async def _close(
    connection: asyncpg.Connection, dataset_id: str, changes: Changes, version: int, base_version: int | None
) -> dict[str, dict[str, Any]]:
    """End the current rows of the items edited or deleted; returns them by id."""
    touched = [edit.item_id for edit in changes.edit] + list(changes.delete)
    if not touched:
        return {}
    closed = {
        record["item_id"]: _item(record)
        for record in await connection.fetch(_CLOSE_ITEMS, dataset_id, touched, version)
    }
    missing = [item_id for item_id in touched if item_id not in closed]
    if missing:
        raise ItemsNotFound(missing)
    if base_version is not None:
        changed = {item_id: row["valid_from"] for item_id, row in closed.items() if row["valid_from"] > base_version}
        if changed:
            raise StaleItems(changed, base_version)
    return closed


def _edited(current: dict[str, Any], edit: ItemEdit) -> NewItem:
    values = {name: edit.fields.get(name, current[name]) for name in EDITABLE}
    return NewItem(
        input=values["input"],
        expected_output=values["expected_output"],
        metadata=values["metadata"] or {},
        source_span_id=current["source_span_id"],
    )
