"""Glassgate keys: issued once, stored as a SHA-256 hash, verified through an in-memory cache.

The keys are 256-bit random tokens, so a fast hash is as safe as a slow one here and keeps
verification cheap. The cache keeps the database off the request path: a known key keeps
working through a database outage; a new key is looked up once, then cached. Issuing and
revoking announce the change to every replica's cache (storage/key_cache.py): a revoked
key is refused everywhere within a second, or within 30 s while a replica's listener is
reconnecting.

Both kinds of client key, these and AWS key pairs (storage/aws_keys.py), are listed, found
and revoked through the `*_client_key(s)` functions here, which the API and the CLI share.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import asyncpg

from glassgate.proxy.client_keys import ClientIdentity
from glassgate.storage import aws_keys
from glassgate.storage.key_cache import KeyCache, KeyEvents, notify

KEY_PREFIX = "gg-"
EVENT_KIND = "key"  # NOTIFY payloads "key:<sha-256 of the key>" (the hash, never the key)


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    key: str  # shown once, never stored
    key_id: str
    project: str


async def create_key(pool: asyncpg.Pool, project: str) -> IssuedKey:
    """Issue a key for `project`, creating the project if it is new."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    key_id = "key_" + secrets.token_hex(6)
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("INSERT INTO projects (name) VALUES ($1) ON CONFLICT DO NOTHING", project)
        await connection.execute(
            "INSERT INTO api_keys (key_id, project, key_hash, prefix) VALUES ($1, $2, $3, $4)",
            key_id,
            project,
            hash_key(key),
            key[:7],
        )
        await notify(connection, EVENT_KIND, hash_key(key))  # replicas drop a cached "unknown key"
    return IssuedKey(key=key, key_id=key_id, project=project)


async def revoke_key(pool: asyncpg.Pool, key_id: str, events: KeyEvents | None = None) -> bool:
    """Revoke; every replica's cache hears of it, and `events` (this process's) at once."""
    async with pool.acquire() as connection, connection.transaction():
        digest = await connection.fetchval(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL RETURNING key_hash", key_id
        )
        if digest is not None:
            await notify(connection, EVENT_KIND, digest)
    if digest is not None and events is not None:
        events.announce(EVENT_KIND, digest)
    return digest is not None


@dataclass(frozen=True)
class ListedKey:
    """A Glassgate key as listed: its id, prefix and dates, never the key or its hash."""

    kind: Literal["glassgate"] = field(default="glassgate", init=False)
    key_id: str
    project: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


# A key issued to a client of the proxy, as listed: a Glassgate key or an AWS key pair. Both
# kinds are found and revoked by the id in their `key_id`, so the API and the CLI take either.
ClientKey = ListedKey | aws_keys.ListedAwsKey
_LISTED_COLUMNS = "key_id, project, prefix, created_at, revoked_at"


async def list_keys(pool: asyncpg.Pool, project: str | None = None) -> list[ListedKey]:
    """Glassgate keys, newest first."""
    async with pool.acquire() as connection:
        records = await connection.fetch(
            f"SELECT {_LISTED_COLUMNS} FROM api_keys WHERE $1::text IS NULL OR project = $1 "
            "ORDER BY created_at DESC, key_id",
            project,
        )
    return [ListedKey(**dict(record)) for record in records]


async def list_client_keys(pool: asyncpg.Pool, project: str | None = None) -> list[ClientKey]:
    """Glassgate keys and AWS key pairs together, newest first (ties by id)."""
    listed: list[ClientKey] = [*await list_keys(pool, project), *await aws_keys.list_aws_keys(pool, project)]
    listed.sort(key=lambda key: key.key_id)
    listed.sort(key=lambda key: key.created_at, reverse=True)  # stable: ties keep the id order
    return listed


async def find_client_key(pool: asyncpg.Pool, key_id: str) -> ClientKey | None:
    """The key with this id (revoked or not), of either kind."""
    if is_aws_key_id(key_id):
        return await aws_keys.find_aws_key(pool, key_id)
    async with pool.acquire() as connection:
        record = await connection.fetchrow(f"SELECT {_LISTED_COLUMNS} FROM api_keys WHERE key_id = $1", key_id)
    return ListedKey(**dict(record)) if record is not None else None


async def revoke_client_key(pool: asyncpg.Pool, key_id: str, events: KeyEvents | None = None) -> bool:
    """Revoke a Glassgate key or an AWS key pair by its id; False if none is active under it.

    The one way in for the API and the CLI alike: each kind announces the revocation to every
    replica's cache.
    """
    if is_aws_key_id(key_id):
        return await aws_keys.revoke_aws_key(pool, key_id, events)
    return await revoke_key(pool, key_id, events)


def is_aws_key_id(key_id: str) -> bool:
    return key_id.startswith(aws_keys.ACCESS_KEY_PREFIX)


class CachedKeyVerifier:
    """`KeyVerifier` for the proxy: cache first, database on a miss, stale entries on outage."""

    def __init__(self, events: KeyEvents | None = None, cache: KeyCache[ClientIdentity] | None = None) -> None:
        self._pool: asyncpg.Pool | None = None
        self._cache = cache or KeyCache[ClientIdentity](EVENT_KIND)
        if events is not None:
            self._cache.listen(events)

    def connect(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def verify(self, presented: str) -> ClientIdentity | None:
        if not presented.startswith(KEY_PREFIX):
            return None
        return await self._cache.get(hash_key(presented), self._lookup)

    async def _lookup(self, digest: str) -> ClientIdentity | None:
        if self._pool is None:
            return None
        async with self._pool.acquire(timeout=2.0) as connection:
            record = await connection.fetchrow(
                "SELECT key_id, project FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", digest
            )
        return ClientIdentity(key_id=record["key_id"], project=record["project"]) if record else None
