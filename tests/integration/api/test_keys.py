"""/api/v1/keys and /api/v1/projects: keys are shown once, listed without their hash, revoked by admins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from glassgate.storage.keys import hash_key
from tests.integration.api.accounts import CSRF, Api, running_api


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async with running_api(database_url) as api:
        yield api


async def test_a_key_is_shown_once_and_listed_without_its_hash(api: Api) -> None:
    async with api.client(bearer=True) as http:
        issued = await http.post("/api/v1/keys", json={"project": "checkout"})
        assert issued.status_code == 201, issued.text
        body = issued.json()
        assert body["key"].startswith("gg-") and body["project"] == "checkout"
        assert body["prefix"] == body["key"][:7]
        listed = await http.get("/api/v1/keys")
        [key] = listed.json()["data"]
        assert key == {
            "key_id": body["key_id"],
            "project": "checkout",
            "prefix": body["prefix"],
            "created_at": key["created_at"],
            "revoked_at": None,
        }
        assert body["key"] not in listed.text and hash_key(body["key"]) not in listed.text
        await http.post("/api/v1/keys", json={"project": "search"})
        only = (await http.get("/api/v1/keys", params={"project": "search"})).json()["data"]
        assert [key["project"] for key in only] == ["search"]


async def test_revoking_a_key(api: Api) -> None:
    async with api.client(bearer=True) as http:
        key_id = (await http.post("/api/v1/keys", json={"project": "checkout"})).json()["key_id"]
        assert (await http.delete(f"/api/v1/keys/{key_id}")).status_code == 204
        [key] = (await http.get("/api/v1/keys")).json()["data"]
        assert key["revoked_at"] is not None
        again = await http.delete(f"/api/v1/keys/{key_id}")
        assert again.status_code == 404 and again.headers["content-type"] == "application/problem+json"


async def test_a_project_name_must_not_be_blank(api: Api) -> None:
    async with api.client(bearer=True) as http:
        assert (await http.post("/api/v1/keys", json={"project": " "})).status_code == 422
        assert (await http.post("/api/v1/keys", json={"project": ""})).status_code == 422


async def test_members_list_keys_but_cannot_issue_or_revoke(api: Api) -> None:
    await api.add_user("bob@example.com")
    async with api.client(bearer=True) as admin:
        key_id = (await admin.post("/api/v1/keys", json={"project": "checkout"})).json()["key_id"]
    async with api.signed_in("bob@example.com") as member:
        assert len((await member.get("/api/v1/keys")).json()["data"]) == 1
        assert (await member.post("/api/v1/keys", json={"project": "x"}, headers=CSRF)).status_code == 403
        assert (await member.delete(f"/api/v1/keys/{key_id}", headers=CSRF)).status_code == 403


async def test_an_admin_user_issues_and_revokes_from_the_web_app(api: Api) -> None:
    await api.add_user("root@example.com", role="admin")
    async with api.signed_in("root@example.com") as http:
        issued = await http.post("/api/v1/keys", json={"project": "checkout"}, headers=CSRF)
        assert issued.status_code == 201
        key_id = issued.json()["key_id"]
        assert (await http.delete(f"/api/v1/keys/{key_id}")).status_code == 403, "DELETE needs the CSRF header"
        assert (await http.delete(f"/api/v1/keys/{key_id}", headers=CSRF)).status_code == 204


async def test_projects_are_listed_with_their_key_counts(api: Api) -> None:
    async with api.client(bearer=True) as http:
        for _ in range(2):
            await http.post("/api/v1/keys", json={"project": "checkout"})
        revoked = (await http.post("/api/v1/keys", json={"project": "checkout"})).json()["key_id"]
        await http.delete(f"/api/v1/keys/{revoked}")
        response = await http.get("/api/v1/projects")
    assert response.status_code == 200
    projects = {project["name"]: project for project in response.json()["data"]}
    assert projects["checkout"]["keys"] == {"active": 2, "revoked": 1}
    assert projects["checkout"]["aws_keys"] == {"active": 0, "revoked": 0}
    assert projects["default"]["keys"] == {"active": 0, "revoked": 0}, "the migration's default project"
