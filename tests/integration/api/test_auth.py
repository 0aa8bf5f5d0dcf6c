"""Signing in to the web app: first-user setup, login, logout, cookies, CSRF, session lifetime."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest

from glassgate.api.auth import SESSION_COOKIE
from glassgate.api.session import LoginThrottle
from glassgate.storage import users
from tests.integration.api.accounts import CSRF, PASSWORD, Api, running_api

SETUP = {"email": "Ada@Example.com", "password": PASSWORD, "name": "Ada"}


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async with running_api(database_url, allow_first_user_setup=True) as api:
        yield api


def cookie_attributes(response: httpx.Response) -> dict[str, str]:
    [header] = [value for name, value in response.headers.multi_items() if name == "set-cookie"]
    _, *attributes = (part.strip() for part in header.split(";"))
    return {name.lower(): value for name, _, value in (attribute.partition("=") for attribute in attributes)}


async def test_first_visit_setup_creates_one_admin_and_signs_in(api: Api) -> None:
    async with api.client() as http:
        state = (await http.get("/api/v1/auth/state")).json()
        assert state == {"signed_in": False, "user": None, "setup_required": True}
        created = await http.post("/api/v1/auth/setup", json=SETUP, headers=CSRF)
        assert created.status_code == 201, created.text
        assert created.json()["role"] == "admin" and created.json()["email"] == "Ada@Example.com"
        assert "password" not in created.text
        state = (await http.get("/api/v1/auth/state")).json()
        assert state["signed_in"] is True and state["setup_required"] is False
        assert state["user"]["user_id"] == created.json()["user_id"]
        again = await http.post("/api/v1/auth/setup", json={**SETUP, "email": "eve@example.com"}, headers=CSRF)
        assert again.status_code == 409
        assert again.headers["content-type"] == "application/problem+json"
    async with api.client() as stranger:
        assert (await stranger.get("/api/v1/auth/state")).json()["setup_required"] is False


async def test_concurrent_setups_let_exactly_one_through(api: Api) -> None:
    async def attempt(number: int) -> int:
        async with api.client() as http:
            body = {**SETUP, "email": f"admin{number}@example.com"}
            return (await http.post("/api/v1/auth/setup", json=body, headers=CSRF)).status_code

    statuses = await asyncio.gather(*(attempt(number) for number in range(6)))
    assert sorted(statuses) == [201, 409, 409, 409, 409, 409]
    assert len(await users.list_users(api.pool)) == 1


async def test_setup_is_refused_unless_this_instance_allows_it(database_url: str) -> None:
    async with running_api(database_url) as api, api.client() as http:
        assert (await http.get("/api/v1/auth/state")).json()["setup_required"] is False
        refused = await http.post("/api/v1/auth/setup", json=SETUP, headers=CSRF)
        assert refused.status_code == 403 and "glassgate users create" in refused.json()["detail"]
        assert await users.list_users(api.pool) == []


async def test_password_policy_is_a_clear_422(api: Api) -> None:
    async with api.client() as http:
        short = await http.post("/api/v1/auth/setup", json={**SETUP, "password": "short"}, headers=CSRF)
        assert short.status_code == 422
        assert "at least 8 characters" in short.json()["detail"]
        bad_email = await http.post("/api/v1/auth/setup", json={**SETUP, "email": "not an email"}, headers=CSRF)
        assert bad_email.status_code == 422 and "email" in bad_email.json()["detail"]


async def test_login_sets_a_locked_down_cookie_and_logout_ends_the_session(api: Api) -> None:
    await api.add_user("bob@example.com")
    async with api.client() as http:
        response = await http.post(
            "/api/v1/auth/login", json={"email": "BOB@example.com", "password": PASSWORD}, headers=CSRF
        )
        assert response.status_code == 200, response.text
        assert response.json()["email"] == "bob@example.com"
        attributes = cookie_attributes(response)
        assert {"httponly", "path", "samesite", "max-age"} <= attributes.keys()
        assert attributes["path"] == "/" and attributes["samesite"].lower() == "lax"
        assert int(attributes["max-age"]) == int(timedelta(days=14).total_seconds())
        assert "secure" not in attributes, "plain http: a Secure cookie would never come back"
        token = http.cookies[SESSION_COOKIE]
        assert (await http.get("/api/v1/keys")).status_code == 200
        logout = await http.post("/api/v1/auth/logout", headers=CSRF)
        assert logout.status_code == 204
        assert cookie_attributes(logout)["max-age"] == "0"
    async with api.client() as replay:
        replay.cookies.set(SESSION_COOKIE, token)
        refused = await replay.get("/api/v1/keys")
        assert refused.status_code == 401
        assert "max-age=0" in refused.headers["set-cookie"].lower(), "a dead cookie is cleared"


@pytest.mark.parametrize(
    ("base_url", "headers"),
    [("https://glassgate.test", {}), ("http://glassgate.test", {"X-Forwarded-Proto": "https"})],
)
async def test_cookie_is_secure_over_https(api: Api, base_url: str, headers: dict[str, str]) -> None:
    await api.add_user("bob@example.com")
    async with api.client(base_url=base_url) as http:
        response = await http.post(
            "/api/v1/auth/login", json={"email": "bob@example.com", "password": PASSWORD}, headers={**CSRF, **headers}
        )
        assert response.status_code == 200
        assert "secure" in cookie_attributes(response)


async def test_wrong_password_and_unknown_email_get_the_same_answer(api: Api) -> None:
    await api.add_user("bob@example.com")
    async with api.client() as http:
        wrong = await http.post(
            "/api/v1/auth/login", json={"email": "bob@example.com", "password": "not the password"}, headers=CSRF
        )
        unknown = await http.post(
            "/api/v1/auth/login", json={"email": "nobody@example.com", "password": PASSWORD}, headers=CSRF
        )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert SESSION_COOKIE not in wrong.headers.get("set-cookie", "")


async def test_repeated_failures_lock_the_email_for_a_while(api: Api) -> None:
    api.app.state.login_throttle = LoginThrottle(free_attempts=2)
    await api.add_user("bob@example.com")
    async with api.client() as http:
        for _ in range(3):
            failed = await http.post(
                "/api/v1/auth/login", json={"email": "bob@example.com", "password": "guess-guess"}, headers=CSRF
            )
            assert failed.status_code == 401
        locked = await http.post(
            "/api/v1/auth/login", json={"email": "Bob@example.com", "password": PASSWORD}, headers=CSRF
        )
        assert locked.status_code == 429 and 0 < int(locked.headers["retry-after"]) <= 30
        other = await http.post(
            "/api/v1/auth/login", json={"email": "carol@example.com", "password": "guess-guess"}, headers=CSRF
        )
        assert other.status_code == 401, "only the guessed email is locked"


async def test_cookie_requests_that_change_something_need_the_csrf_header(api: Api) -> None:
    await api.add_user("root@example.com", role="admin")
    async with api.signed_in("root@example.com") as http:
        assert (await http.get("/api/v1/keys")).status_code == 200, "reads need no header"
        forged = await http.post("/api/v1/keys", json={"project": "p"})
        assert forged.status_code == 403 and "X-Glassgate-CSRF" in forged.json()["detail"]
        assert (await http.post("/api/v1/keys", json={"project": "p"}, headers=CSRF)).status_code == 201
        login = await http.post("/api/v1/auth/login", json={"email": "root@example.com", "password": PASSWORD})
        assert login.status_code == 403, "login CSRF: the sign-in routes need the header too"
    async with api.client(bearer=True) as automation:
        assert (await automation.post("/api/v1/keys", json={"project": "p"})).status_code == 201


async def test_a_wrong_bearer_token_is_refused_even_with_a_cookie(api: Api) -> None:
    await api.add_user("root@example.com", role="admin")
    async with api.signed_in("root@example.com") as http:
        refused = await http.get("/api/v1/keys", headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 401
    async with api.client() as anonymous:
        assert (await anonymous.get("/api/v1/keys")).status_code == 401


async def test_disabling_a_user_ends_its_sessions(api: Api) -> None:
    member = await api.add_user("bob@example.com")
    async with api.signed_in("bob@example.com") as http:
        assert (await http.get("/api/v1/projects")).status_code == 200
        async with api.client(bearer=True) as admin:
            disabled = await admin.patch(f"/api/v1/users/{member.user_id}", json={"disabled": True})
            assert disabled.status_code == 200 and disabled.json()["disabled_at"] is not None
        assert (await http.get("/api/v1/projects")).status_code == 401
        again = await http.post(
            "/api/v1/auth/login", json={"email": "bob@example.com", "password": PASSWORD}, headers=CSRF
        )
        assert again.status_code == 401
    async with api.pool.acquire() as connection:
        assert await connection.fetchval("SELECT count(*) FROM user_sessions") == 0


async def test_an_expired_session_is_refused(api: Api) -> None:
    await api.add_user("bob@example.com")
    async with api.signed_in("bob@example.com") as http:
        async with api.pool.acquire() as connection:
            await connection.execute("UPDATE user_sessions SET expires_at = now() - interval '1 second'")
        assert (await http.get("/api/v1/projects")).status_code == 401
        state = (await http.get("/api/v1/auth/state")).json()
        assert state["signed_in"] is False


async def test_a_session_in_use_slides_its_expiry_forward(api: Api) -> None:
    await api.add_user("bob@example.com")
    async with api.signed_in("bob@example.com") as http:
        async with api.pool.acquire() as connection:
            await connection.execute(
                "UPDATE user_sessions SET expires_at = now() + interval '1 day', "
                "last_seen_at = now() - interval '5 minutes'"
            )
        response = await http.get("/api/v1/projects")
        assert response.status_code == 200
        assert SESSION_COOKIE in response.headers["set-cookie"], "the browser's expiry moves too"
        async with api.pool.acquire() as connection:
            left = await connection.fetchval("SELECT expires_at - now() FROM user_sessions")
        assert left > timedelta(days=13)
        assert "set-cookie" not in (await http.get("/api/v1/projects")).headers, "touched at most once a minute"


async def test_members_cannot_manage_users_or_keys(api: Api) -> None:
    await api.add_user("bob@example.com")
    async with api.signed_in("bob@example.com") as http:
        created = await http.post(
            "/api/v1/users", json={"email": "eve@example.com", "password": PASSWORD}, headers=CSRF
        )
        assert created.status_code == 403 and created.json()["detail"] == "this needs the admin role"
        assert (await http.get("/api/v1/users")).status_code == 403
        assert (await http.post("/api/v1/keys", json={"project": "p"}, headers=CSRF)).status_code == 403
        assert (await http.get("/api/v1/keys")).status_code == 200
        state = (await http.get("/api/v1/auth/state")).json()
        assert state["user"]["role"] == "member"


async def test_state_with_the_admin_token(api: Api) -> None:
    async with api.client(bearer=True) as http:
        state = (await http.get("/api/v1/auth/state")).json()
    assert state == {"signed_in": True, "user": None, "setup_required": False}
