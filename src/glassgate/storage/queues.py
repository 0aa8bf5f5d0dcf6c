"""Annotation queues: spans waiting for review, handed to reviewers one at a time.

Claiming the next item locks it for its reviewer until `locked_until` (LOCK_SECONDS, renewed
by claiming again: a reviewer holding a live lock gets that item back). The candidate row is
taken with `FOR UPDATE SKIP LOCKED` and must be free (never locked, or its lock expired), so
reviewers claiming at the same moment, from any number of processes, never get the same
item, and an abandoned item returns to the others once its lock expires. A reviewer's
assigned items come first, then unassigned ones, each in the order they were added; items
assigned to someone else are left to them. Completing, skipping and releasing lock the row
first and then check who holds it, so they race neither with claims nor with each other.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Literal

import asyncpg
import orjson

from glassgate.storage.annotation_errors import Conflict, Invalid, NotFound
from glassgate.storage.score_configs import check_name, configs_for_use

LOCK_SECONDS = 300.0
MAX_SPANS_PER_ADD = 1000
ItemStatus = Literal["pending", "completed", "skipped"]

_QUEUE = """
SELECT q.queue_id, q.name, q.description, q.config_ids, q.created_at,
  p.total, p.pending, p.in_progress, p.completed, p.skipped, coalesce(r.reviewers::text, '[]') AS reviewers
FROM annotation_queues q
CROSS JOIN LATERAL (
  SELECT count(*) AS total,
    count(*) FILTER (WHERE i.status = 'pending') AS pending,
    count(*) FILTER (WHERE i.status = 'pending' AND i.locked_until > now()) AS in_progress,
    count(*) FILTER (WHERE i.status = 'completed') AS completed,
    count(*) FILTER (WHERE i.status = 'skipped') AS skipped
  FROM annotation_queue_items i WHERE i.queue_id = q.queue_id) AS p
CROSS JOIN LATERAL (
  SELECT jsonb_agg(jsonb_build_object('reviewer', who, 'completed', completed, 'skipped', skipped,
    'assigned_pending', assigned_pending) ORDER BY completed DESC, who) AS reviewers
  FROM (
    SELECT who, sum(completed) AS completed, sum(skipped) AS skipped, sum(assigned_pending) AS assigned_pending
    FROM (
      SELECT completed_by AS who, (status = 'completed')::int AS completed, (status = 'skipped')::int AS skipped,
        0 AS assigned_pending
      FROM annotation_queue_items WHERE queue_id = q.queue_id AND status <> 'pending' AND completed_by IS NOT NULL
      UNION ALL
      SELECT assigned_to, 0, 0, 1 FROM annotation_queue_items
      WHERE queue_id = q.queue_id AND status = 'pending' AND assigned_to IS NOT NULL
    ) AS work GROUP BY who
  ) AS per_reviewer) AS r
"""
# A lock that has expired is shown as no lock.
_ITEM = (
    "i.queue_id, i.span_id, i.status, i.assigned_to, "
    "CASE WHEN i.locked_until > now() THEN i.locked_by END AS locked_by, "
    "CASE WHEN i.locked_until > now() THEN i.locked_until END AS locked_until, "
    "i.completed_by, i.completed_at, i.created_at, i.position"
)
_LOCK = "locked_by = $2, locked_until = now() + make_interval(secs => $3)"
_RENEW = (
    "WITH held AS (SELECT queue_id, span_id FROM annotation_queue_items WHERE queue_id = $1 AND status = 'pending' "
    "AND locked_by = $2 AND locked_until > now() ORDER BY position LIMIT 1 FOR UPDATE) "
    f"UPDATE annotation_queue_items i SET {_LOCK} FROM held "
    f"WHERE i.queue_id = held.queue_id AND i.span_id = held.span_id RETURNING {_ITEM}"
)
_CLAIM = (
    "WITH free AS (SELECT queue_id, span_id FROM annotation_queue_items WHERE queue_id = $1 AND status = 'pending' "
    "AND {assignee} AND (locked_by IS NULL OR locked_by = $2 OR locked_until <= now()) "
    "ORDER BY position LIMIT 1 FOR UPDATE SKIP LOCKED) "
    f"UPDATE annotation_queue_items i SET {_LOCK} FROM free "
    f"WHERE i.queue_id = free.queue_id AND i.span_id = free.span_id RETURNING {_ITEM}"
)
_CLAIMS = (
    _RENEW,
    _CLAIM.format(assignee="assigned_to = $2"),
    _CLAIM.format(assignee="assigned_to IS NULL"),
)


def _queue(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    row["progress"] = {name: row.pop(name) for name in ("total", "pending", "in_progress", "completed", "skipped")}
    row["reviewers"] = orjson.loads(row["reviewers"])
    return row


def _item(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    del row["position"]
    return row


async def _serialize(connection: asyncpg.Connection, *key: str) -> None:
    """Hold a transaction-scoped lock on `key` (across processes) until the transaction ends."""
    await connection.execute("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", "\x1f".join(key))


async def _check_queue(connection: asyncpg.Connection, queue_id: str) -> None:
    if await connection.fetchval("SELECT 1 FROM annotation_queues WHERE queue_id = $1", queue_id) is None:
        raise NotFound("annotation queue", queue_id)


async def create_queue(
    pool: asyncpg.Pool, *, name: str, description: str = "", config_ids: Sequence[str] = ()
) -> dict[str, Any]:
    """A new, empty queue whose items are scored with `config_ids` (live score configs)."""
    name = check_name(name)
    wanted = list(dict.fromkeys(config_ids))
    try:
        async with pool.acquire() as connection, connection.transaction():
            await configs_for_use(connection, wanted, "config_ids")
            queue_id = "aq_" + secrets.token_hex(8)
            await connection.execute(
                "INSERT INTO annotation_queues (queue_id, name, description, config_ids) VALUES ($1, $2, $3, $4)",
                queue_id,
                name,
                description,
                wanted,
            )
            record = await connection.fetchrow(f"{_QUEUE} WHERE q.queue_id = $1", queue_id)
    except asyncpg.UniqueViolationError:
        raise Conflict(f"an annotation queue named {name!r} already exists") from None
    return _queue(record)


async def list_queues(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Every queue with its progress, newest first."""
    return [_queue(record) for record in await pool.fetch(f"{_QUEUE} ORDER BY q.created_at DESC, q.queue_id")]


async def get_queue(pool: asyncpg.Pool, queue_id: str) -> dict[str, Any]:
    record = await pool.fetchrow(f"{_QUEUE} WHERE q.queue_id = $1", queue_id)
    if record is None:
        raise NotFound("annotation queue", queue_id)
    return _queue(record)


async def add_spans(pool: asyncpg.Pool, queue_id: str, span_ids: Sequence[str]) -> tuple[int, int]:
    """Queue spans in the order given. Returns (added, already queued); NotFound if any span is unknown."""
    wanted = list(dict.fromkeys(span_ids))
    if not wanted or len(wanted) > MAX_SPANS_PER_ADD:
        raise Invalid("span_ids", f"must name 1 to {MAX_SPANS_PER_ADD} spans")
    async with pool.acquire() as connection, connection.transaction():
        await _check_queue(connection, queue_id)
        # Concurrent adds of overlapping spans in different orders would otherwise deadlock.
        await _serialize(connection, "annotation-queue-add", queue_id)
        found = await connection.fetch(
            "SELECT DISTINCT ON (span_id) span_id, started_at FROM spans WHERE span_id = ANY ($1::text[]) "
            "ORDER BY span_id, started_at DESC",
            wanted,
        )
        started = {record["span_id"]: record["started_at"] for record in found}
        missing = [span_id for span_id in wanted if span_id not in started]
        if missing:
            shown = ", ".join(repr(span_id) for span_id in missing[:5]) + (", …" if len(missing) > 5 else "")
            raise NotFound("span", missing[0], f"{len(missing)} span(s) not found: {shown}")
        added = await connection.fetch(
            "INSERT INTO annotation_queue_items (queue_id, span_id, span_started_at) "
            "SELECT $1, s.span_id, s.started_at FROM unnest($2::text[], $3::timestamptz[]) WITH ORDINALITY "
            "AS s(span_id, started_at, n) ORDER BY s.n ON CONFLICT (queue_id, span_id) DO NOTHING RETURNING span_id",
            queue_id,
            wanted,
            [started[span_id] for span_id in wanted],
        )
    return len(added), len(wanted) - len(added)


async def list_items(
    pool: asyncpg.Pool, queue_id: str, status: ItemStatus | None, limit: int, after: int | None
) -> tuple[list[dict[str, Any]], int | None]:
    """Items in queue order. Returns (items, position to pass as `after` for the next page, or None)."""
    async with pool.acquire() as connection:
        await _check_queue(connection, queue_id)
        records = await connection.fetch(
            f"SELECT {_ITEM} FROM annotation_queue_items i WHERE i.queue_id = $1 "
            "AND ($2::text IS NULL OR i.status = $2) AND i.position > $3 ORDER BY i.position LIMIT $4",
            queue_id,
            status,
            after or 0,
            limit + 1,
        )
    following = records[limit - 1]["position"] if len(records) > limit else None
    return [_item(record) for record in records[:limit]], following


async def claim_next(
    pool: asyncpg.Pool, queue_id: str, reviewer: str, lock_seconds: float = LOCK_SECONDS
) -> dict[str, Any] | None:
    """Lock the reviewer's next item for `lock_seconds`; None when nothing is left for them."""
    async with pool.acquire() as connection, connection.transaction():
        await _check_queue(connection, queue_id)
        # One claim at a time per reviewer (two browser tabs), so a reviewer holds one item.
        await _serialize(connection, "annotation-queue-claim", queue_id, reviewer)
        for statement in _CLAIMS:
            record = await connection.fetchrow(statement, queue_id, reviewer, float(lock_seconds))
            if record is not None:
                return _item(record)
    return None


async def _locked_item(connection: asyncpg.Connection, queue_id: str, span_id: str) -> asyncpg.Record:
    record = await connection.fetchrow(
        f"SELECT {_ITEM} FROM annotation_queue_items i WHERE i.queue_id = $1 AND i.span_id = $2 FOR UPDATE",
        queue_id,
        span_id,
    )
    if record is None:
        await _check_queue(connection, queue_id)
        raise NotFound("queue item", span_id, f"span {span_id!r} is not in annotation queue {queue_id!r}")
    return record


def _check_holder(item: asyncpg.Record, reviewer: str) -> None:
    if item["locked_by"] not in (None, reviewer):
        raise Conflict(f"{item['locked_by']} is reviewing this item until {item['locked_until'].isoformat()}")


async def resolve_item(
    pool: asyncpg.Pool, queue_id: str, span_id: str, reviewer: str, status: Literal["completed", "skipped"]
) -> dict[str, Any]:
    """Mark a pending item completed or skipped by `reviewer`, who must hold its lock or find it free."""
    async with pool.acquire() as connection, connection.transaction():
        item = await _locked_item(connection, queue_id, span_id)
        if item["status"] == status and item["completed_by"] == reviewer:
            return _item(item)  # a retried request
        if item["status"] != "pending":
            raise Conflict(f"this item was already {item['status']} by {item['completed_by']}")
        _check_holder(item, reviewer)
        record = await connection.fetchrow(
            "UPDATE annotation_queue_items i SET status = $3, completed_by = $4, completed_at = now(), "
            f"locked_by = NULL, locked_until = NULL WHERE i.queue_id = $1 AND i.span_id = $2 RETURNING {_ITEM}",
            queue_id,
            span_id,
            status,
            reviewer,
        )
    return _item(record)


async def release_item(pool: asyncpg.Pool, queue_id: str, span_id: str, reviewer: str) -> dict[str, Any]:
    """Give up `reviewer`'s lock on an item (nothing to do when it is free)."""
    async with pool.acquire() as connection, connection.transaction():
        _check_holder(await _locked_item(connection, queue_id, span_id), reviewer)
        record = await connection.fetchrow(
            "UPDATE annotation_queue_items i SET locked_by = NULL, locked_until = NULL "
            f"WHERE i.queue_id = $1 AND i.span_id = $2 RETURNING {_ITEM}",
            queue_id,
            span_id,
        )
    return _item(record)


async def assign_item(pool: asyncpg.Pool, queue_id: str, span_id: str, reviewer: str | None) -> dict[str, Any]:
    """Reserve an item for `reviewer` (None: for anyone). A lock someone holds on it stays theirs."""
    async with pool.acquire() as connection, connection.transaction():
        await _locked_item(connection, queue_id, span_id)
        record = await connection.fetchrow(
            f"UPDATE annotation_queue_items i SET assigned_to = $3 WHERE i.queue_id = $1 AND i.span_id = $2 "
            f"RETURNING {_ITEM}",
            queue_id,
            span_id,
            reviewer,
        )
    return _item(record)
