"""Glassgate keys: issued once, stored as a SHA-256 hash, verified through an in-memory cache.

The keys are 256-bit random tokens, so a fast hash is as safe as a slow one here and keeps
verification cheap. The cache keeps the database off the request path: a known key keeps
working through a database outage; a new key is looked up once, then cached.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass

import asyncpg

from glassgate.proxy.client_keys import ClientIdentity

log = logging.getLogger(__name__)
KEY_PREFIX = "gg-"
_POSITIVE_TTL_S = 30.0  # how long a revocation can take to reach every replica
_NEGATIVE_TTL_S = 5.0
_MAX_CACHED = 100_000


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
    return IssuedKey(key=key, key_id=key_id, project=project)


async def revoke_key(pool: asyncpg.Pool, key_id: str) -> bool:
    async with pool.acquire() as connection:
        result = await connection.execute(
            "UPDATE api_keys SET revoked_at = now() WHERE key_id = $1 AND revoked_at IS NULL", key_id
        )
    return bool(result.endswith(" 1"))


class CachedKeyVerifier:
    """`KeyVerifier` for the proxy: cache first, database on a miss, stale entries on outage."""

    def __init__(self) -> None:
        self._pool: asyncpg.Pool | None = None
        self._cache: dict[str, tuple[ClientIdentity | None, float]] = {}

    def connect(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def verify(self, presented: str) -> ClientIdentity | None:
        if not presented.startswith(KEY_PREFIX):
            return None
        digest = hash_key(presented)
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            return cached[0]
        try:
            identity = await self._lookup(digest)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("key lookup failed (%s); using the cached answer", type(exc).__name__)
            return cached[0] if cached is not None else None
        if len(self._cache) >= _MAX_CACHED:
            self._cache.clear()
        self._cache[digest] = (identity, now + (_POSITIVE_TTL_S if identity else _NEGATIVE_TTL_S))
        return identity

    async def _lookup(self, digest: str) -> ClientIdentity | None:
        if self._pool is None:
            return None
        async with self._pool.acquire(timeout=2.0) as connection:
            record = await connection.fetchrow(
                "SELECT key_id, project FROM api_keys WHERE key_hash = $1 AND revoked_at IS NULL", digest
            )
        return ClientIdentity(key_id=record["key_id"], project=record["project"]) if record else None
