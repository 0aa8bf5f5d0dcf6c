"""Score configs, annotations and annotation queues over HTTP, with real users and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from glassgate.storage.spans import insert_spans
from tests.integration.api.accounts import CSRF, Api, running_api
from tests.integration.storage.test_spans import make_span

PROBLEM = "application/problem+json"
TONE = [{"label": "bad", "value": 0}, {"label": "good", "value": 1}]


def span_id(number: int) -> str:
    return f"{number:016x}"


@pytest.fixture
async def api(database_url: str) -> AsyncIterator[Api]:
    async with running_api(database_url) as running:
        await insert_spans(running.pool, [make_span(number) for number in range(1, 7)])
        yield running


@asynccontextmanager
async def member(api: Api, email: str) -> AsyncIterator[httpx.AsyncClient]:
    """A signed-in member's client, sending the CSRF header the web app sends."""
    await api.add_user(email)
    async with api.signed_in(email) as client:
        client.headers.update(CSRF)
        yield client


async def create_configs(http: httpx.AsyncClient) -> dict[str, str]:
    bodies: list[dict[str, Any]] = [
        {"name": "accuracy", "kind": "numeric", "min_value": 0, "max_value": 5, "description": "How right"},
        {"name": "tone", "kind": "categorical", "categories": TONE},
        {"name": "correct", "kind": "boolean"},
        {"name": "notes", "kind": "text"},
    ]  # fmt: skip
    ids = {}
    for body in bodies:
        response = await http.post("/api/v1/score-configs", json=body)
        assert response.status_code == 201, response.text
        ids[body["name"]] = response.json()["config_id"]
    return ids


def assert_problem(response: httpx.Response, status: int, field: str | None = None) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM
    if field is not None:
        assert [error["field"] for error in response.json()["errors"]] == [field]


async def test_score_configs_over_http(api: Api) -> None:
    async with api.client(bearer=True) as http:
        ids = await create_configs(http)
        tone = (await http.get(f"/api/v1/score-configs/{ids['tone']}")).json()
        assert tone["categories"] == [{"label": "bad", "value": 0.0}, {"label": "good", "value": 1.0}]
        assert (tone["kind"], tone["min_value"], tone["archived_at"]) == ("categorical", None, None)
        listed = (await http.get("/api/v1/score-configs")).json()["data"]
        assert [config["name"] for config in listed] == ["accuracy", "correct", "notes", "tone"]

        bad_range = await http.post(
            "/api/v1/score-configs", json={"name": "x", "kind": "numeric", "min_value": 3, "max_value": 1}
        )
        assert_problem(bad_range, 422, "body.max_value")
        assert "greater than min_value" in bad_range.json()["detail"]
        twice = {
            "name": "x",
            "kind": "categorical",
            "categories": [{"label": "a", "value": 1}, {"label": "a", "value": 2}],
        }
        assert_problem(await http.post("/api/v1/score-configs", json=twice), 422, "body.categories.1.label")
        assert_problem(await http.post("/api/v1/score-configs", json={"name": "x", "kind": "stars"}), 422, "body.kind")
        assert_problem(await http.post("/api/v1/score-configs", json={"name": "tone", "kind": "boolean"}), 409)
        assert_problem(await http.get("/api/v1/score-configs/sc_missing"), 404)

        renamed = await http.patch(
            f"/api/v1/score-configs/{ids['accuracy']}", json={"name": "accuracy v2", "max_value": None}
        )
        assert renamed.status_code == 200, renamed.text
        assert (renamed.json()["name"], renamed.json()["max_value"], renamed.json()["min_value"]) == (
            "accuracy v2",
            None,
            0,
        )
        await http.post(f"/api/v1/spans/{span_id(1)}/annotations", json={"config_id": ids["tone"], "value": "good"})
        frozen = await http.patch(
            f"/api/v1/score-configs/{ids['tone']}", json={"categories": [{"label": "bad", "value": 0}]}
        )
        assert_problem(frozen, 409)
        deleted = (await http.delete(f"/api/v1/score-configs/{ids['notes']}")).json()
        assert deleted == {"config_id": ids["notes"], "outcome": "deleted"}
        archived = (await http.delete(f"/api/v1/score-configs/{ids['tone']}")).json()
        assert archived["outcome"] == "archived"
        with_archived = (await http.get("/api/v1/score-configs", params={"include_archived": "true"})).json()["data"]
        archived_names = [config["name"] for config in with_archived if config["archived_at"] is not None]
        assert ([config["name"] for config in with_archived], archived_names) == (
            ["accuracy v2", "correct", "tone"],
            ["tone"],
        )


async def test_annotating_a_span_over_http(api: Api) -> None:
    async with api.client(bearer=True) as http:
        ids = await create_configs(http)
        url = f"/api/v1/spans/{span_id(1)}/annotations"
        created = await http.post(url, json={"config_id": ids["accuracy"], "value": 4, "comment": "close"})
        assert created.status_code == 201, created.text
        body = created.json()
        assert {key: body[key] for key in ("span_id", "config_name", "kind", "value", "value_number", "author")} == {
            "span_id": span_id(1),
            "config_name": "accuracy",
            "kind": "numeric",
            "value": 4.0,
            "value_number": 4.0,
            "author": "admin-token",
        }
        updated = await http.post(url, json={"config_id": ids["accuracy"], "value": 5})
        assert updated.status_code == 200 and updated.json()["annotation_id"] == body["annotation_id"]
        boolean = (await http.post(url, json={"config_id": ids["correct"], "value": False})).json()
        assert (boolean["value"], boolean["value_text"]) == (False, "false")
        judged = await http.post(url, json={"config_id": ids["tone"], "value": "bad", "source": "llm"})
        assert judged.status_code == 201 and judged.json()["source"] == "llm"

        listed = (await http.get(url)).json()["data"]
        values = [(row["config_name"], row["value"]) for row in listed]
        assert values == [("accuracy", 5.0), ("correct", False), ("tone", "bad")]
        assert_problem(await http.post(url, json={"config_id": ids["accuracy"], "value": 6}), 422, "body.value")
        assert_problem(await http.post(url, json={"config_id": ids["tone"], "value": "great"}), 422, "body.value")
        assert_problem(await http.post(url, json={"config_id": ids["accuracy"]}), 422, "body.value")
        assert_problem(await http.post(url, json={"config_id": "sc_missing", "value": 1}), 404)
        unknown_span = "/api/v1/spans/feedfacefeedface/annotations"
        assert_problem(await http.post(unknown_span, json={"config_id": ids["accuracy"], "value": 1}), 404)
        assert_problem(await http.get(unknown_span), 404)

        annotation_url = f"/api/v1/annotations/{body['annotation_id']}"
        patched = await http.patch(annotation_url, json={"comment": "exact"})
        assert (patched.json()["value"], patched.json()["comment"]) == (5.0, "exact")
        assert_problem(await http.patch(annotation_url, json={"value": -1}), 422, "body.value")
        deleted = await http.delete(annotation_url)
        assert deleted.status_code == 204 and deleted.content == b""
        assert_problem(await http.patch(annotation_url, json={"comment": "gone"}), 404)
        assert_problem(await http.delete(annotation_url), 404)


async def test_members_change_only_their_own_annotations(api: Api) -> None:
    async with api.client(bearer=True) as admin:
        ids = await create_configs(admin)
        async with member(api, "ann@example.com") as ann, member(api, "bob@example.com") as bob:
            url = f"/api/v1/spans/{span_id(2)}/annotations"
            mine = (await ann.post(url, json={"config_id": ids["tone"], "value": "good"})).json()
            assert mine["author"] == "ann@example.com"
            theirs = await bob.post(url, json={"config_id": ids["tone"], "value": "bad"})
            assert theirs.status_code == 201, "one human annotation per author: bob's is his own"
            annotation_url = f"/api/v1/annotations/{mine['annotation_id']}"
            assert_problem(await bob.patch(annotation_url, json={"value": "bad"}), 403)
            assert_problem(await bob.delete(annotation_url), 403)
            assert (await ann.patch(annotation_url, json={"value": "bad"})).json()["value"] == "bad"
            assert (await admin.patch(annotation_url, json={"comment": "checked"})).status_code == 200
            assert (await ann.delete(annotation_url)).status_code == 204


async def test_the_span_list_and_detail_carry_scores_and_filter_on_them(api: Api) -> None:
    async with api.client(bearer=True) as http:
        ids = await create_configs(http)
        for number, value in ((1, 1), (2, 4), (3, 5)):
            url = f"/api/v1/spans/{span_id(number)}/annotations"
            await http.post(url, json={"config_id": ids["accuracy"], "value": value})
        await http.post(f"/api/v1/spans/{span_id(3)}/annotations", json={"config_id": ids["tone"], "value": "good"})

        page = (await http.get("/api/v1/spans")).json()["data"]
        scores = {row["span_id"]: row["scores"] for row in page}
        assert scores[span_id(6)] == []
        accuracy, tone = scores[span_id(3)]
        assert accuracy == {
            "config_id": ids["accuracy"],
            "name": "accuracy",
            "kind": "numeric",
            "count": 1,
            "avg": 5.0,
            "value": 5.0,
            "label": None,
        }
        assert (tone["name"], tone["kind"], tone["avg"], tone["label"]) == ("tone", "categorical", 1.0, "good")
        detail = (await http.get(f"/api/v1/spans/{span_id(3)}")).json()
        assert detail["scores"] == scores[span_id(3)]

        async def listed(**params: Any) -> list[str]:
            response = await http.get("/api/v1/spans", params=params)
            assert response.status_code == 200, response.text
            return [row["span_id"] for row in response.json()["data"]]

        assert await listed(score_config="accuracy", score_min=4) == [span_id(3), span_id(2)]
        assert await listed(score_config=ids["accuracy"], score_min=2, score_max=4.5) == [span_id(2)]
        assert await listed(score_config="tone", score_label="good") == [span_id(3)]
        assert await listed(score_config="correct") == []
        assert_problem(await http.get("/api/v1/spans", params={"score_min": 1}), 422, "query.score_config")


async def test_a_review_queue_over_http(api: Api) -> None:
    async with api.client(bearer=True) as admin:
        ids = await create_configs(admin)
        created = await admin.post(
            "/api/v1/annotation-queues", json={"name": "weekly", "config_ids": [ids["accuracy"], ids["tone"]]}
        )
        assert created.status_code == 201, created.text
        queue = created.json()
        assert queue["config_ids"] == [ids["accuracy"], ids["tone"]] and queue["progress"]["total"] == 0
        assert_problem(await admin.post("/api/v1/annotation-queues", json={"name": "weekly"}), 409)
        assert_problem(await admin.post("/api/v1/annotation-queues", json={"name": "x", "config_ids": ["sc_no"]}), 404)
        base = f"/api/v1/annotation-queues/{queue['queue_id']}"
        added = await admin.post(f"{base}/items", json={"span_ids": [span_id(1), span_id(2), span_id(1)]})
        assert added.json() == {"added": 2, "already_queued": 0}
        again = await admin.post(f"{base}/items", json={"span_ids": [span_id(2), span_id(3)]})
        assert again.json() == {"added": 1, "already_queued": 1}
        assert_problem(await admin.post(f"{base}/items", json={"span_ids": ["feedfacefeedface"]}), 404)
        assert_problem(await admin.post(f"{base}/items", json={"span_ids": []}), 422, "body.span_ids")
        assert_problem(await admin.post("/api/v1/annotation-queues/aq_missing/next"), 404)

        async with member(api, "ann@example.com") as ann, member(api, "bob@example.com") as bob:
            claimed = await ann.post(f"{base}/next")
            assert claimed.status_code == 200, claimed.text
            item, span = claimed.json()["item"], claimed.json()["span"]
            assert (item["span_id"], item["locked_by"], item["status"]) == (span_id(1), "ann@example.com", "pending")
            assert span["span_id"] == span_id(1) and span["scores"] == [] and "request_body" in span
            bobs = (await bob.post(f"{base}/next")).json()["item"]
            assert bobs["span_id"] == span_id(2)
            assert_problem(await bob.post(f"{base}/items/{span_id(1)}/complete"), 409)
            assert_problem(await bob.post(f"{base}/items/{span_id(1)}/release"), 409)
            await ann.post(f"/api/v1/spans/{span_id(1)}/annotations", json={"config_id": ids["accuracy"], "value": 3})
            done = await ann.post(f"{base}/items/{span_id(1)}/complete")
            assert (done.json()["status"], done.json()["completed_by"]) == ("completed", "ann@example.com")
            assert (await bob.post(f"{base}/items/{span_id(2)}/skip")).json()["status"] == "skipped"
            assigned = await admin.post(f"{base}/items/{span_id(3)}/assign", json={"reviewer": "bob@example.com"})
            assert assigned.json()["assigned_to"] == "bob@example.com"
            assert (await ann.post(f"{base}/next")).status_code == 204, "the last item is bob's"
            bobs = (await bob.post(f"{base}/next")).json()["item"]
            assert bobs["span_id"] == span_id(3)
            released = (await bob.post(f"{base}/items/{span_id(3)}/release")).json()
            assert released["locked_by"] is None and released["status"] == "pending"
            assert_problem(await bob.post(f"{base}/items/{span_id(6)}/complete"), 404)

        progress = (await admin.get(base)).json()
        assert progress["progress"] == {"total": 3, "pending": 1, "in_progress": 0, "completed": 1, "skipped": 1}
        assert progress["reviewers"] == [
            {"reviewer": "ann@example.com", "completed": 1, "skipped": 0, "assigned_pending": 0},
            {"reviewer": "bob@example.com", "completed": 0, "skipped": 1, "assigned_pending": 1},
        ]
        assert [row["queue_id"] for row in (await admin.get("/api/v1/annotation-queues")).json()["data"]] == [
            queue["queue_id"]
        ]
        first = (await admin.get(f"{base}/items", params={"limit": 2})).json()
        assert [row["span_id"] for row in first["data"]] == [span_id(1), span_id(2)]
        rest = (await admin.get(f"{base}/items", params={"limit": 2, "cursor": first["next_cursor"]})).json()
        assert ([row["span_id"] for row in rest["data"]], rest["next_cursor"]) == ([span_id(3)], None)
        pending = (await admin.get(f"{base}/items", params={"status": "pending"})).json()["data"]
        assert [row["span_id"] for row in pending] == [span_id(3)]


async def test_the_openapi_spec_describes_annotation_routes(api: Api) -> None:
    async with api.client() as http:
        spec = (await http.get("/api/v1/openapi.json")).json()
    paths = spec["paths"]
    assert {"get", "post"} <= paths["/api/v1/spans/{span_id}/annotations"].keys()
    assert {"patch", "delete"} <= paths["/api/v1/annotations/{annotation_id}"].keys()
    assert {"get", "patch", "delete"} <= paths["/api/v1/score-configs/{config_id}"].keys()
    assert "204" in paths["/api/v1/annotation-queues/{queue_id}/next"]["post"]["responses"]
    for action in ("complete", "skip", "release", "assign"):
        assert "post" in paths[f"/api/v1/annotation-queues/{{queue_id}}/items/{{span_id}}/{action}"]
    schemas = spec["components"]["schemas"]
    assert schemas["ScoredSpan"]["properties"]["scores"]["items"] == {"$ref": "#/components/schemas/ScoreSummary"}
    assert "scores" not in schemas["SpanSummary"]["properties"], "traces carry no scores"
