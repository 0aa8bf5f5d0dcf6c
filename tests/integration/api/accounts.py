"""The API over a real database, with users, for the sign-in, users and keys tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

import asyncpg
import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI

from glassgate.api.app import create_api
from glassgate.api.auth import SESSION_COOKIE
from glassgate.config import UpstreamConfig
from glassgate.storage import db, users
from glassgate.storage.users import Passwords, Role

TOKEN = "test-admin-token"
CSRF = {"X-Glassgate-CSRF": "1"}
PASSWORD = "correct horse battery"
# The smallest argon2id parameters: the tests check the logic, not the hashing cost.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@dataclass
class Api:
    app: FastAPI
    pool: asyncpg.Pool

    @property
    def passwords(self) -> Passwords:
        passwords: Passwords = self.app.state.passwords
        return passwords

    def client(self, *, base_url: str = "http://glassgate.test", bearer: bool = False) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {TOKEN}"} if bearer else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url=base_url, headers=headers)

    async def add_user(self, email: str, role: Role = "member", password: str = PASSWORD) -> users.User:
        return await users.create_user(self.pool, self.passwords, email=email, password=password, role=role)

    @asynccontextmanager
    async def signed_in(self, email: str, password: str = PASSWORD) -> AsyncIterator[httpx.AsyncClient]:
        """A client holding the session cookie of `email`."""
        async with self.client() as client:
            body = {"email": email, "password": password}
            response = await client.post("/api/v1/auth/login", json=body, headers=CSRF)
            assert response.status_code == 200, response.text
            assert client.cookies.get(SESSION_COOKIE)
            yield client


@asynccontextmanager
async def running_api(
    database_url: str, *, allow_first_user_setup: bool = False, upstreams: Mapping[str, UpstreamConfig] | None = None
) -> AsyncIterator[Api]:
    pool = await db.create_pool(database_url)
    app = create_api(TOKEN, upstreams=upstreams, allow_first_user_setup=allow_first_user_setup)
    app.state.pool = pool
    app.state.passwords = Passwords(FAST_HASHER)
    try:
        yield Api(app, pool)
    finally:
        await pool.close()
