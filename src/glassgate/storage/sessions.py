"""Sessions: the spans that share a `session_id`, listed by their latest activity.

There is no sessions table: a session is found by walking the spans' time index newest first
(`spans_started_idx`). The first time the walk meets a session id is that session's latest
span, so sessions come out in the order of their last activity, and a page is full as soon
as the walk has met `limit` sessions: usually after a few hundred spans, however many millions
are stored. The page's sessions are then summed up through the session index (count, tokens,
cost, users, models), which reads only their own spans.

A page's cursor is the latest span of its last session. The next walk starts below it, and a
session it meets is skipped when it has a span at or above the cursor: a page before showed it.

While walking, the sessions already met are left out in the database (`<> ALL`), so a session
with thousands of recent calls costs index reads, not rows sent back.

`prefix` keeps the sessions whose id starts with it. A common prefix is walked like the whole
list; a rare one would make that walk read every span, so the spans matching it are counted
first (up to PREFIX_PROBE_LIMIT) and, when they are few, grouped directly. Both find them
through the session index when the database sorts text by code point (collation C, POSIX or
C.UTF-8: the strings that start with a prefix are then one range of the index); under a
language's collation they do not form a range, and a rare prefix reads every span with a session.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

PREFIX_PROBE_LIMIT = 2000
MAX_NAMES = 20  # users and models listed per session
_FIRST_WALK = 256  # spans read by the walk's first step; each next step reads twice as many, up to _MAX_WALK
_MAX_WALK = 16_384
_SUMMARIES = f"""
SELECT session_id, min(started_at) AS first_at, max(started_at) AS last_at, count(*) AS calls,
  count(*) FILTER (WHERE status <> 'ok') AS errors,
  coalesce(sum(input_tokens), 0) AS input_tokens, coalesce(sum(output_tokens), 0) AS output_tokens,
  sum(cost_usd) AS cost_usd, count(*) FILTER (WHERE cost_status = 'unpriced') AS unpriced_calls,
  (array_agg(DISTINCT user_id) FILTER (WHERE user_id IS NOT NULL))[1:{MAX_NAMES}] AS users,
  (array_agg(DISTINCT coalesce(response_model, model)) FILTER (WHERE coalesce(response_model, model) IS NOT NULL))
    [1:{MAX_NAMES}] AS models
FROM spans WHERE session_id = ANY ($1::text[]) GROUP BY session_id
"""
# Whether text sorts by code point here (the behaviour is checked too: an ICU default can hide behind datcollate).
_CODE_POINT_ORDER = (
    "SELECT (datcollate IN ('C', 'POSIX') OR lower(datcollate) IN ('c.utf-8', 'c.utf8')) "
    "AND 'B' < 'a' AND 'a-c' < 'ab' FROM pg_database WHERE datname = current_database()"
)
_SHOWN_BEFORE = (
    "SELECT DISTINCT session_id FROM spans WHERE session_id = ANY ($1::text[]) AND (started_at, span_id) >= ($2, $3)"
)


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class Position:
    """A span's place in the time index: where a session's latest activity is, and where a page ends."""

    started_at: datetime
    span_id: str

    def encode(self) -> str:
        raw = f"{self.started_at.isoformat()}|{self.span_id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> Position:
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
            stamp, span_id = raw.split("|", 1)
            return cls(datetime.fromisoformat(stamp), span_id)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadCursor("cursor is not one this API returned") from exc


def like_prefix(prefix: str) -> str:
    """A LIKE pattern matching strings that start with `prefix` (its wildcards escaped)."""
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return escaped + "%"


def after_prefix(prefix: str) -> str | None:
    """The first string, in code point order, after every string that starts with `prefix` (None: no end)."""
    chars = list(prefix)
    while chars:
        following = ord(chars.pop()) + 1
        if 0xD800 <= following <= 0xDFFF:  # surrogates cannot be stored: the next character is U+E000
            following = 0xE000
        if following <= 0x10FFFF:
            return "".join(chars) + chr(following)
    return None


@dataclass(frozen=True)
class Matching:
    """The spans of the sessions listed: all with a session id, or those whose id starts with a prefix."""

    sql: str
    params: tuple[str, ...]


async def _matching(connection: asyncpg.Connection, prefix: str | None, first: int) -> Matching:
    """The condition, its parameters numbered from `first`."""
    if not prefix:
        return Matching("session_id IS NOT NULL", ())
    like = f"session_id LIKE ${first}"
    if not await connection.fetchval(_CODE_POINT_ORDER):
        return Matching(like, (like_prefix(prefix),))
    end = after_prefix(prefix)
    if end is None:
        return Matching(f"{like} AND session_id >= ${first + 1}", (like_prefix(prefix), prefix))
    return Matching(
        f"{like} AND session_id >= ${first + 1} AND session_id < ${first + 2}", (like_prefix(prefix), prefix, end)
    )


async def list_sessions(
    pool: asyncpg.Pool, limit: int, cursor: str | None = None, prefix: str | None = None
) -> tuple[list[dict[str, Any]], str | None]:
    """Sessions by latest activity, newest first. Returns (sessions, next_cursor); None on the last page."""
    after = Position.decode(cursor) if cursor else None
    async with pool.acquire() as connection:
        matching = await _matching(connection, prefix, 1)
        if prefix and await _few_matches(connection, matching):
            latest = await _grouped(connection, matching, after, limit + 1)
        else:
            latest = await _walk(connection, prefix, after, limit + 1)
        page = latest[:limit]
        async with connection.transaction():
            # A busy session's many spans make PostgreSQL pick a scan of whole partitions; its
            # spans, written together, are a few pages of them: read them through the session index.
            await connection.execute("SET LOCAL enable_seqscan = off")
            records = await connection.fetch(_SUMMARIES, [session_id for session_id, _ in page])
    summaries = {record["session_id"]: dict(record) for record in records}
    rows = []
    for session_id, position in page:
        row = summaries[session_id]
        row["users"] = row["users"] or []
        row["models"] = row["models"] or []
        row["last_span_id"] = position.span_id
        rows.append(row)
    next_cursor = page[-1][1].encode() if len(latest) > limit else None
    return rows, next_cursor


async def _few_matches(connection: asyncpg.Connection, matching: Matching) -> bool:
    count: int = await connection.fetchval(
        f"SELECT count(*) FROM (SELECT 1 FROM spans WHERE {matching.sql} LIMIT {PREFIX_PROBE_LIMIT}) AS hits",
        *matching.params,
    )
    return count < PREFIX_PROBE_LIMIT


async def _grouped(
    connection: asyncpg.Connection, matching: Matching, after: Position | None, wanted: int
) -> list[tuple[str, Position]]:
    """The matching sessions' latest spans, when the matching spans are few: grouped, not walked."""
    params: list[Any] = list(matching.params)
    below = ""
    if after is not None:
        params += [after.started_at, after.span_id]
        below = f"WHERE (started_at, span_id) < (${len(params) - 1}, ${len(params)})"
    records = await connection.fetch(
        "SELECT session_id, started_at, span_id FROM (SELECT DISTINCT ON (session_id) session_id, started_at, span_id "
        f"FROM spans WHERE {matching.sql} ORDER BY session_id, started_at DESC, span_id DESC) AS latest "
        f"{below} ORDER BY started_at DESC, span_id DESC LIMIT {int(wanted)}",
        *params,
    )
    return [(record["session_id"], Position(record["started_at"], record["span_id"])) for record in records]


async def _walk(
    connection: asyncpg.Connection, prefix: str | None, after: Position | None, wanted: int
) -> list[tuple[str, Position]]:
    """Walk the time index newest first until `wanted` sessions are met (or the spans run out)."""
    # $1: how many spans a step reads, $2: the sessions met so far; then the prefix, then the position.
    matching = await _matching(connection, prefix, 3)
    first = 3 + len(matching.params)
    where = f"{matching.sql} AND session_id <> ALL ($2::text[])"
    order = "ORDER BY started_at DESC, span_id DESC LIMIT $1"
    from_top = f"SELECT session_id, started_at, span_id FROM spans WHERE {where} {order}"
    below = (
        f"SELECT session_id, started_at, span_id FROM spans WHERE {where} "
        f"AND (started_at, span_id) < (${first}, ${first + 1}) {order}"
    )
    found: list[tuple[str, Position]] = []
    met: dict[str, None] = {}
    position = after
    step = _FIRST_WALK
    while len(found) < wanted:
        arguments = [step, list(met), *matching.params]
        if position is None:
            records = await connection.fetch(from_top, *arguments)
        else:
            records = await connection.fetch(below, *arguments, position.started_at, position.span_id)
        fresh: list[tuple[str, Position]] = []
        for record in records:
            if record["session_id"] not in met:
                met[record["session_id"]] = None
                fresh.append((record["session_id"], Position(record["started_at"], record["span_id"])))
        if after is not None and fresh:
            shown = await connection.fetch(
                _SHOWN_BEFORE, [session_id for session_id, _ in fresh], after.started_at, after.span_id
            )
            earlier = {record["session_id"] for record in shown}
            fresh = [entry for entry in fresh if entry[0] not in earlier]
        found += fresh
        if len(records) < step:
            break
        last = records[-1]
        position = Position(last["started_at"], last["span_id"])
        step = min(step * 2, _MAX_WALK)
    return found[:wanted]
