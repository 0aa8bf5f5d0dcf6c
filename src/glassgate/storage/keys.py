"""Glassgate keys: issued once, stored as a SHA-256 hash, verified through an in-memory cache.

The keys are 256-bit random tokens, so a fast hash is as safe as a slow one here and keeps
verification cheap. The cache keeps the database off the request path: a known key keeps
working through a database outage; a new key is looked up once, then cached. Issuing and
revoking announce the change to every replica's cache (storage/key_cache.py): a revoked
key is refused everywhere within a second, or within 30 s while a replica's listener is
reconnecting.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import asyncpg

from glassgate.proxy.client_keys import ClientIdentity
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


async def revoke_key(pool: asyncpg.Pool, key_id: str) -> bool:
    async with pool.acquire() as connection, connection.transaction():
        digest = await connection.fetchval(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL RETURNING key_hash", key_id
        )
        if digest is not None:
            await notify(connection, EVENT_KIND, digest)
    return digest is not None


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
