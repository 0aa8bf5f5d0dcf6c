"""/api/v1/users and the user store: admins manage users; passwords are argon2id and rehashed when due."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Literal

import pytest
from argon2 import PasswordHasher

from glassgate.storage import users
from glassgate.storage.users import Passwords
from tests.integration.api.accounts import CSRF, FAST_HASHER, PASSWORD, Api, running_api


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async with running_api(database_url) as api:
        yield api


async def test_admin_lists_creates_and_updates_users(api: Api) -> None:
    await api.add_user("root@example.com", role="admin")
    async with api.signed_in("root@example.com") as http:
        created = await http.post(
            "/api/v1/users",
            json={"email": " Bob@Example.com ", "password": PASSWORD, "name": "Bob", "role": "member"},
            headers=CSRF,
        )
        assert created.status_code == 201, created.text
        bob = created.json()
        assert bob["email"] == "Bob@Example.com" and bob["role"] == "member" and bob["disabled_at"] is None
        assert set(bob) == {"user_id", "email", "name", "role", "created_at", "disabled_at"}
        listed = (await http.get("/api/v1/users")).json()["data"]
        assert [user["email"] for user in listed] == ["Bob@Example.com", "root@example.com"]
        renamed = await http.patch(
            f"/api/v1/users/{bob['user_id']}", json={"name": "Robert", "role": "admin"}, headers=CSRF
        )
        assert renamed.status_code == 200
        assert renamed.json()["name"] == "Robert" and renamed.json()["role"] == "admin"
        missing = await http.patch("/api/v1/users/usr_nope", json={"name": "x"}, headers=CSRF)
        assert missing.status_code == 404


async def test_emails_are_unique_in_any_letter_case(api: Api) -> None:
    await api.add_user("bob@example.com")
    async with api.client(bearer=True) as http:
        taken = await http.post("/api/v1/users", json={"email": "BOB@example.com", "password": PASSWORD})
    assert taken.status_code == 409 and taken.json()["title"] == "Email taken"


async def test_a_new_password_signs_the_user_out_and_works_at_the_next_sign_in(api: Api) -> None:
    bob = await api.add_user("bob@example.com")
    async with api.signed_in("bob@example.com") as session, api.client(bearer=True) as admin:
        short = await admin.patch(f"/api/v1/users/{bob.user_id}", json={"password": "short"})
        assert short.status_code == 422 and "at least 8 characters" in short.json()["detail"]
        changed = await admin.patch(f"/api/v1/users/{bob.user_id}", json={"password": "a brand new secret"})
        assert changed.status_code == 200
        assert (await session.get("/api/v1/projects")).status_code == 401
    assert await users.authenticate(api.pool, api.passwords, "bob@example.com", PASSWORD) is None
    assert await users.authenticate(api.pool, api.passwords, "bob@example.com", "a brand new secret") is not None


async def test_a_disabled_user_can_be_enabled_again(api: Api) -> None:
    bob = await api.add_user("bob@example.com")
    async with api.client(bearer=True) as admin:
        await admin.patch(f"/api/v1/users/{bob.user_id}", json={"disabled": True})
        assert await users.authenticate(api.pool, api.passwords, "bob@example.com", PASSWORD) is None
        enabled = await admin.patch(f"/api/v1/users/{bob.user_id}", json={"disabled": False})
        assert enabled.json()["disabled_at"] is None
    assert await users.authenticate(api.pool, api.passwords, "bob@example.com", PASSWORD) is not None


async def test_the_last_admin_can_be_neither_demoted_nor_disabled(api: Api) -> None:
    root = await api.add_user("root@example.com", role="admin")
    other = await api.add_user("other@example.com", role="admin")
    async with api.client(bearer=True) as admin:
        assert (await admin.patch(f"/api/v1/users/{other.user_id}", json={"role": "member"})).status_code == 200
        demoted = await admin.patch(f"/api/v1/users/{root.user_id}", json={"role": "member"})
        assert demoted.status_code == 409 and demoted.json()["title"] == "Last admin"
        disabled = await admin.patch(f"/api/v1/users/{root.user_id}", json={"disabled": True})
        assert disabled.status_code == 409


async def test_two_admins_demoting_each_other_at_once_leave_one(api: Api) -> None:
    first = await api.add_user("first@example.com", role="admin")
    second = await api.add_user("second@example.com", role="admin")

    async def demote(user_id: str) -> bool:
        try:
            await users.update_user(api.pool, api.passwords, user_id, role="member")
        except users.LastAdmin:
            return False
        return True

    outcomes = await asyncio.gather(demote(first.user_id), demote(second.user_id))
    assert sorted(outcomes) == [False, True]
    assert [user.role for user in await users.list_users(api.pool)].count("admin") == 1


async def test_members_cannot_use_the_users_api(api: Api) -> None:
    bob = await api.add_user("bob@example.com")
    async with api.signed_in("bob@example.com") as http:
        promoted = await http.patch(f"/api/v1/users/{bob.user_id}", json={"role": "admin"}, headers=CSRF)
        assert promoted.status_code == 403
    assert (await users.list_users(api.pool))[0].role == "member"


async def test_a_hash_made_with_older_parameters_is_replaced_at_sign_in(api: Api) -> None:
    await api.add_user("bob@example.com")  # hashed with FAST_HASHER
    stronger = Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    assert await users.authenticate(api.pool, stronger, "bob@example.com", PASSWORD) is not None
    async with api.pool.acquire() as connection:
        stored = await connection.fetchval("SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$") and "m=16,t=2,p=1" in stored
    assert FAST_HASHER.check_needs_rehash(stored), "no longer the old parameters"
    assert await users.authenticate(api.pool, stronger, "bob@example.com", PASSWORD) is not None


async def test_an_unknown_email_costs_a_hash_check_too(api: Api) -> None:
    checked: list[str] = []

    class CountingHasher(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> Literal[True]:
            checked.append(str(hash))
            return super().verify(hash, password)

    passwords = Passwords(CountingHasher(time_cost=1, memory_cost=8, parallelism=1))
    assert await users.authenticate(api.pool, passwords, "nobody@example.com", PASSWORD) is None
    assert len(checked) == 1, "a dummy hash was checked, so timing does not reveal unknown emails"
