"""AWS-style key pairs for SigV4 clients: issued once, secrets stored encrypted, verified via a cache.

A SigV4 signature is an HMAC keyed by the secret, so Glassgate must be able to recover the
secret to verify it: it is encrypted (Fernet, AES-128-CBC + HMAC) with a key derived from the
instance's `secret_key`. Replicas sharing a database must share that key. Issuing and
revoking a pair announce it to every replica's cache, as for Glassgate keys (storage/key_cache.py).
"""

from __future__ import annotations

import base64
import hashlib
import logging
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

import asyncpg
from cryptography.fernet import Fernet, InvalidToken

from glassgate.proxy.client_keys import ClientIdentity
from glassgate.storage.key_cache import KeyCache, KeyEvents, notify

log = logging.getLogger(__name__)
_ID_ALPHABET = string.ascii_uppercase + "234567"
ACCESS_KEY_PREFIX = "AKGG"
EVENT_KIND = "aws"  # NOTIFY payloads "aws:<access key id>"


def cipher_for(secret_key: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(secret_key.encode()).digest()))


@dataclass(frozen=True)
class IssuedAwsKey:
    access_key_id: str  # AKIA-shaped, so SDKs and tools accept it
    secret_access_key: str  # shown once
    project: str


async def create_aws_key(pool: asyncpg.Pool, project: str, cipher: Fernet) -> IssuedAwsKey:
    access_key_id = ACCESS_KEY_PREFIX + "".join(secrets.choice(_ID_ALPHABET) for _ in range(16))
    secret = secrets.token_urlsafe(30)[:40]
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("INSERT INTO projects (name) VALUES ($1) ON CONFLICT DO NOTHING", project)
        await connection.execute(
            "INSERT INTO aws_keys (access_key_id, project, secret_encrypted) VALUES ($1, $2, $3)",
            access_key_id,
            project,
            cipher.encrypt(secret.encode()).decode(),
        )
        await notify(connection, EVENT_KIND, access_key_id)
    return IssuedAwsKey(access_key_id, secret, project)


@dataclass(frozen=True)
class ListedAwsKey:
    """An AWS key pair as listed: its ids and dates, never its secret."""

    kind: Literal["aws"] = field(default="aws", init=False)
    key_id: str  # the access key id again: every listed key has the id revocation takes
    access_key_id: str
    project: str
    created_at: datetime
    revoked_at: datetime | None


_LISTED_COLUMNS = "access_key_id, project, created_at, revoked_at"


async def list_aws_keys(pool: asyncpg.Pool, project: str | None = None) -> list[ListedAwsKey]:
    """AWS key pairs, newest first; the encrypted secret never leaves the database."""
    async with pool.acquire() as connection:
        records = await connection.fetch(
            f"SELECT {_LISTED_COLUMNS} FROM aws_keys WHERE $1::text IS NULL OR project = $1 "
            "ORDER BY created_at DESC, access_key_id",
            project,
        )
    return [_listed(record) for record in records]


async def find_aws_key(pool: asyncpg.Pool, access_key_id: str) -> ListedAwsKey | None:
    async with pool.acquire() as connection:
        record = await connection.fetchrow(
            f"SELECT {_LISTED_COLUMNS} FROM aws_keys WHERE access_key_id = $1", access_key_id
        )
    return _listed(record) if record is not None else None


def _listed(record: asyncpg.Record) -> ListedAwsKey:
    return ListedAwsKey(key_id=record["access_key_id"], **dict(record))


async def revoke_aws_key(pool: asyncpg.Pool, access_key_id: str, events: KeyEvents | None = None) -> bool:
    """Revoke; every replica's cache hears of it, and `events` (this process's) at once."""
    async with pool.acquire() as connection, connection.transaction():
        result = await connection.execute(
            "UPDATE aws_keys SET revoked_at = now() WHERE access_key_id = $1 AND revoked_at IS NULL", access_key_id
        )
        revoked = bool(result.endswith(" 1"))
        if revoked:
            await notify(connection, EVENT_KIND, access_key_id)
    if revoked and events is not None:
        events.announce(EVENT_KIND, access_key_id)
    return revoked


class CachedAwsKeyStore:
    """`AwsKeyStore` for the proxy: the secret and identity behind an access key id."""

    def __init__(
        self, cipher: Fernet, events: KeyEvents | None = None, cache: KeyCache[tuple[str, ClientIdentity]] | None = None
    ) -> None:
        self._cipher = cipher
        self._pool: asyncpg.Pool | None = None
        self._cache = cache or KeyCache[tuple[str, ClientIdentity]](EVENT_KIND)
        if events is not None:
            self._cache.listen(events)

    def connect(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def secret_for(self, access_key_id: str) -> tuple[str, ClientIdentity] | None:
        return await self._cache.get(access_key_id, self._lookup)

    async def _lookup(self, access_key_id: str) -> tuple[str, ClientIdentity] | None:
        if self._pool is None:
            return None
        async with self._pool.acquire(timeout=2.0) as connection:
            record = await connection.fetchrow(
                "SELECT project, secret_encrypted FROM aws_keys WHERE access_key_id = $1 AND revoked_at IS NULL",
                access_key_id,
            )
        if record is None:
            return None
        try:
            secret = self._cipher.decrypt(record["secret_encrypted"].encode()).decode()
        except InvalidToken:
            log.error("AWS key %s cannot be decrypted: was secret_key changed?", access_key_id)
            return None
        return secret, ClientIdentity(key_id=access_key_id, project=record["project"])
