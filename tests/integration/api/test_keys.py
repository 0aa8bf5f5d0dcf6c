"""/api/v1/keys and /api/v1/projects: keys are shown once, listed (with AWS key pairs) without their hash or
secret, revoked by admins."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from glassgate.api.app import create_api
from glassgate.storage import aws_keys
from glassgate.storage.keys import hash_key
from tests.integration.api.accounts import CSRF, Api, running_api

CIPHER = aws_keys.cipher_for("test-secret-key")


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
            "kind": "glassgate",
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


async def test_aws_key_pairs_are_listed_with_glassgate_keys_without_their_secret(api: Api) -> None:
    pair = await aws_keys.create_aws_key(api.pool, "bedrock-team", CIPHER)
    async with api.client(bearer=True) as http:
        key_id = (await http.post("/api/v1/keys", json={"project": "checkout"})).json()["key_id"]
        listed = await http.get("/api/v1/keys")
        assert listed.status_code == 200, listed.text
        newest, oldest = listed.json()["data"]
        assert newest["kind"] == "glassgate" and newest["key_id"] == key_id
        assert oldest == {
            "kind": "aws",
            "key_id": pair.access_key_id,
            "access_key_id": pair.access_key_id,
            "project": "bedrock-team",
            "created_at": oldest["created_at"],
            "revoked_at": None,
        }
        encrypted = await api.pool.fetchval("SELECT secret_encrypted FROM aws_keys")
        assert pair.secret_access_key not in listed.text and encrypted not in listed.text
        only = (await http.get("/api/v1/keys", params={"project": "bedrock-team"})).json()["data"]
        assert [key["key_id"] for key in only] == [pair.access_key_id]


async def test_revoking_an_aws_key_pair_by_its_access_key_id(api: Api) -> None:
    pair = await aws_keys.create_aws_key(api.pool, "bedrock-team", CIPHER)
    async with api.client(bearer=True) as http:
        assert (await http.delete(f"/api/v1/keys/{pair.access_key_id}")).status_code == 204
        [listed] = (await http.get("/api/v1/keys")).json()["data"]
        assert listed["kind"] == "aws" and listed["revoked_at"] is not None
        assert (await http.delete(f"/api/v1/keys/{pair.access_key_id}")).status_code == 404


def test_the_openapi_spec_tells_the_two_kinds_apart() -> None:
    schemas = create_api("x").openapi()["components"]["schemas"]
    items = schemas["KeyList"]["properties"]["data"]["items"]
    assert items["discriminator"] == {
        "propertyName": "kind",
        "mapping": {"glassgate": "#/components/schemas/Key", "aws": "#/components/schemas/AwsKeyPair"},
    }
    for name in ("Key", "AwsKeyPair"):
        assert set(schemas[name]["required"]) >= {"kind", "key_id", "project", "created_at", "revoked_at"}
        assert not any("secret" in field for field in schemas[name]["properties"]), name


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
