"""Online evaluation rules, and finding the new spans each rule scores (migrations 0011, 0012).

A rule has a span filter (the span list's filters), a sampling rate, a delay and an
evaluator. Workers look for new spans every few seconds: each rule is taken by one worker at
a time (`FOR UPDATE SKIP LOCKED`), which enqueues one job per matching, sampled span stored
since the rule's last scan, to run `delay_s` after the call ended. Jobs are keyed
`rule:{rule_id}:{span_id}`, so a span seen by two scans is scored once.

"Stored since the last scan" is exact, whatever the span's started_at (a spill replayed after
an outage, OTLP spans of last week): each span row carries the id of the transaction that
stored it (`stored_xid`, indexed on every partition), and each rule the snapshot its last scan
took (`scanned_snapshot`). The spans that snapshot did not see are those stored by a
transaction at or past its xmax, or by one in progress then (which may have committed after
later ones did); a scan reads just those through the index, up to its own snapshot's xmax,
which the rule keeps next. A rule therefore starts with the spans stored after it was created
(or switched on again).

A rule with a search filter (`q`) reads `span_search` the same way: a span's words are stored
by the search indexer, in a later transaction than the span (migration 0013), and the span is
"new" to such a rule when they are.

A database restored into another PostgreSQL cluster starts its transaction ids afresh, below
the rules' snapshots: a scan that finds its rule's snapshot ahead of the server's starts the
rule again from now, and says so in the log.

Sampling is deterministic by span id: a span is sampled when the first 32 bits of the MD5
of its id, read as a fraction of 2^32, are below the rate (`glassgate.evals.online.sampled`
computes the same in Python). Rules at the same rate therefore score the same spans, whose
scores can then be compared. Evaluation's own calls (tagged glassgate-eval,
glassgate-experiment, glassgate-internal) are never scored, or judges would judge judges.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import asyncpg
import orjson

from glassgate.storage import search
from glassgate.storage.annotation_errors import Conflict, Invalid, NotFound
from glassgate.storage.evals import get_evaluator
from glassgate.storage.score_configs import check_name

log = logging.getLogger(__name__)
EVALUATION_TAGS = ["glassgate-eval", "glassgate-experiment", "glassgate-internal"]
RULE_JOB = "online_eval"
FILTER_FIELDS = ("upstream", "model", "status", "project", "kind", "session_id", "user_id")
SAMPLE_SQL = "(('x' || substr(md5(s.span_id), 1, 8))::bit(32)::bigint / 4294967296.0)"

_RULE = (
    "SELECT r.rule_id, r.name, r.evaluator_id, e.name AS evaluator_name, r.filter::text, r.sampling_rate, r.delay_s, "
    "r.enabled, r.scanned_until, r.created_at, r.updated_at FROM eval_rules r JOIN evaluators e USING (evaluator_id)"
)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _rule(record: asyncpg.Record) -> dict[str, Any]:
    row = dict(record)
    row["filter"] = orjson.loads(row["filter"])
    return row


def _check_rule(sampling_rate: float, delay_s: float) -> None:
    if not 0.0 <= sampling_rate <= 1.0:
        raise Invalid("sampling_rate", "must be between 0 and 1")
    if delay_s < 0:
        raise Invalid("delay_s", "must be 0 or more")


async def create_rule(
    pool: asyncpg.Pool,
    *,
    name: str,
    evaluator_id: str,
    span_filter: Mapping[str, Any],
    sampling_rate: float,
    delay_s: float = 0.0,
    enabled: bool = True,
) -> dict[str, Any]:
    """A rule that scores spans from now on (not the ones stored before it)."""
    name = check_name(name)
    _check_rule(sampling_rate, delay_s)
    rule_id = "rule_" + secrets.token_hex(8)
    try:
        async with pool.acquire() as connection, connection.transaction():
            await get_evaluator(connection, evaluator_id)
            await connection.execute(
                "INSERT INTO eval_rules (rule_id, name, evaluator_id, filter, sampling_rate, delay_s, enabled) "
                "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)",
                rule_id,
                name,
                evaluator_id,
                _json(dict(span_filter)),
                sampling_rate,
                delay_s,
                enabled,
            )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a rule named {name!r} exists") from None
    return await get_rule(pool, rule_id)


async def list_rules(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    return [_rule(record) for record in await pool.fetch(f"{_RULE} ORDER BY r.name")]


async def get_rule(pool: asyncpg.Pool | asyncpg.Connection, rule_id: str) -> dict[str, Any]:
    record = await pool.fetchrow(f"{_RULE} WHERE r.rule_id = $1", rule_id)
    if record is None:
        raise NotFound("rule", rule_id)
    return _rule(record)


async def update_rule(pool: asyncpg.Pool, rule_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
    """Change name, evaluator_id, filter, sampling_rate, delay_s or enabled.

    A rule switched on again starts from then: spans from while it was off are not scored.
    """
    try:
        async with pool.acquire() as connection, connection.transaction():
            current = await get_rule(connection, rule_id)
            merged = {**current, **changes}
            _check_rule(merged["sampling_rate"], merged["delay_s"])
            if "evaluator_id" in changes:
                await get_evaluator(connection, changes["evaluator_id"])
            await connection.execute(
                "UPDATE eval_rules SET name = $2, evaluator_id = $3, filter = $4::jsonb, sampling_rate = $5, "
                "delay_s = $6, enabled = $7, updated_at = now(), "
                "scanned_until = CASE WHEN $7 AND NOT enabled THEN now() ELSE scanned_until END, "
                "scanned_snapshot = CASE WHEN $7 AND NOT enabled THEN pg_current_snapshot() ELSE scanned_snapshot END "
                "WHERE rule_id = $1",
                rule_id,
                check_name(merged["name"]),
                merged["evaluator_id"],
                _json(dict(merged["filter"])),
                merged["sampling_rate"],
                merged["delay_s"],
                merged["enabled"],
            )
    except asyncpg.UniqueViolationError:
        raise Conflict(f"a rule named {changes.get('name')!r} exists") from None
    return await get_rule(pool, rule_id)


async def delete_rule(pool: asyncpg.Pool, rule_id: str) -> None:
    """Delete a rule; its scores stay, and its jobs not yet run find it gone and do nothing."""
    result = await pool.execute("DELETE FROM eval_rules WHERE rule_id = $1", rule_id)
    if result.endswith(" 0"):
        raise NotFound("rule", rule_id)


async def rule_jobs(pool: asyncpg.Pool, rule_id: str) -> dict[str, int]:
    """The rule's jobs by status (pending, running, done, failed)."""
    records = await pool.fetch(
        "SELECT status, count(*) FROM eval_jobs WHERE kind = $2 AND payload ->> 'rule_id' = $1 GROUP BY status",
        rule_id,
        RULE_JOB,
    )
    return {record[0]: record[1] for record in records}


def _binder(params: list[Any]) -> Callable[[Any], str]:
    """A function that appends a value to `params` and returns its placeholder ($n)."""

    def bind(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    return bind


def filter_sql(span_filter: Mapping[str, Any], bind: Callable[[Any], str]) -> list[str]:
    """Conditions on `spans s` for a rule's filter (the span list's filter fields); `q` on `span_search x`."""
    clauses = [f"s.{name} = {bind(span_filter[name])}" for name in FILTER_FIELDS if span_filter.get(name) is not None]
    if span_filter.get("tags"):
        clauses.append(f"s.tags @> {bind(list(span_filter['tags']))}::text[]")
    if span_filter.get("guardrail_category") is not None:
        clauses.append(f"s.guardrail_categories @> ARRAY[{bind(span_filter['guardrail_category'])}::text]")
    if span_filter.get("q") is not None:
        query = search.query(str(span_filter["q"]))
        clauses.append(f"x.document @@ to_tsquery('simple', {bind(query)})" if query else "false")
    return clauses


async def enqueue_new_spans(pool: asyncpg.Pool, max_attempts: int) -> dict[str, int]:
    """For every enabled rule no other worker is scanning: enqueue its new spans. Returns jobs added per rule."""
    added: dict[str, int] = {}
    async with pool.acquire() as connection, connection.transaction():
        # The snapshot is taken before the spans are read (later statements), so a span committed in
        # between is read now and again next time (one job: the key), never by neither scan.
        rules = await connection.fetch(
            "SELECT rule_id, filter::text, sampling_rate, delay_s, pg_snapshot_xmax(scanned_snapshot) AS since_xmax, "
            "array(SELECT pg_snapshot_xip(scanned_snapshot)) AS since_xip, pg_current_snapshot()::text AS snapshot, "
            "pg_snapshot_xmax(pg_current_snapshot()) AS until_xmax, now() AS scanned_at "
            "FROM eval_rules WHERE enabled ORDER BY rule_id FOR UPDATE SKIP LOCKED"
        )
        for rule in rules:
            count = 0
            if rule["since_xmax"] > rule["until_xmax"]:
                log.warning(
                    "online rule %s: its last scan saw transaction ids up to %d, ahead of this server's %d (a database "
                    "restored into another cluster?); it scores the spans stored from now on",
                    rule["rule_id"],
                    rule["since_xmax"],
                    rule["until_xmax"],
                )
            else:
                count = await _enqueue_for_rule(connection, rule, max_attempts)
            await connection.execute(
                "UPDATE eval_rules SET scanned_snapshot = $2::text::pg_snapshot, scanned_until = $3 WHERE rule_id = $1",
                rule["rule_id"],
                rule["snapshot"],
                rule["scanned_at"],
            )
            added[rule["rule_id"]] = count
    return added


async def _enqueue_for_rule(connection: asyncpg.Connection, rule: asyncpg.Record, max_attempts: int) -> int:
    params: list[Any] = [rule["rule_id"], RULE_JOB, rule["since_xmax"], rule["since_xip"], rule["until_xmax"]]
    params += [EVALUATION_TAGS, rule["sampling_rate"], rule["delay_s"], max_attempts]
    span_filter = orjson.loads(rule["filter"])
    conditions = " AND ".join(["true", *filter_sql(span_filter, _binder(params))])
    if span_filter.get("q") is None:
        new_spans = "spans s"
        stored_xid = "s.stored_xid"
    else:
        # A span can match a search only once the search indexer has stored its words, in a
        # later transaction than the span's: such a rule finds its new spans by that one.
        new_spans = "span_search x JOIN spans s ON s.span_id = x.span_id AND s.started_at = x.started_at"
        stored_xid = "x.stored_xid"
    count = await connection.fetchval(
        "WITH added AS (INSERT INTO eval_jobs (kind, payload, idempotency_key, run_after, max_attempts) "
        "SELECT $2, jsonb_build_object('rule_id', $1::text, 'span_id', s.span_id), "
        "'rule:' || $1 || ':' || s.span_id, s.started_at + make_interval(secs => "
        f"coalesce(s.latency_ms, 0) / 1000.0 + $8), $9 FROM {new_spans} "
        f"WHERE ({stored_xid} >= $3::xid8 OR {stored_xid} = ANY ($4::xid8[])) AND {stored_xid} < $5::xid8 "
        f"AND NOT (s.tags && $6::text[]) AND {SAMPLE_SQL} < $7 AND {conditions} "
        "ON CONFLICT (idempotency_key) DO NOTHING RETURNING 1) SELECT count(*) FROM added",
        *params,
    )
    return int(count)


async def rule_for_job(pool: asyncpg.Pool, rule_id: str) -> dict[str, Any] | None:
    """The rule's evaluator with its score config's definition, or None when the rule is gone."""
    record = await pool.fetchrow(
        "SELECT r.rule_id, r.name AS rule_name, e.evaluator_id, e.name, e.evaluator_type, e.kind, e.params::text, "
        "e.judge_upstream, e.judge_model, e.config_id, c.kind AS score_kind, c.min_value, c.max_value, "
        "c.categories::text FROM eval_rules r JOIN evaluators e USING (evaluator_id) "
        "JOIN score_configs c ON c.config_id = e.config_id WHERE r.rule_id = $1",
        rule_id,
    )
    if record is None:
        return None
    row = dict(record)
    row["params"] = orjson.loads(row["params"])
    row["categories"] = orjson.loads(row["categories"])
    return row
