"""/api/v1/datasets over real PostgreSQL: versions, items from spans, CSV and JSONL files, concurrency."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import orjson
import pytest

from glassgate.api.app import create_api
from glassgate.storage import db
from glassgate.storage.spans import insert_spans
from tests.fakes import anthropic_fixtures as anthropic_fake
from tests.fakes import openai_fixtures as openai_fake
from tests.integration.storage.test_spans import make_span

TOKEN = "test-admin-token"
Client = tuple[httpx.AsyncClient, asyncpg.Pool]
# Values that a careless CSV round trip would change: text that looks like JSON, empty text,
# separators and newlines, nested objects, nulls, non-ASCII.
AWKWARD_ITEMS: list[dict[str, Any]] = [
    {"input": "42", "expected_output": "true", "metadata": {"kind": "text that reads as JSON"}},
    {"input": {"question": 'a, b; "c"\nnext line', "context": ["x", 1, None]}, "expected_output": None},
    {"input": "", "expected_output": {"answer": "é ✓"}, "metadata": {"n": 3, "none": None, "flag": False}},
    {"input": [1, 2], "expected_output": "plain", "metadata": {"kind": ""}, "source_span_id": "0000000000000001"},
    {"input": "null", "expected_output": 1.5, "source_span_id": "1234567890123456"},
]


@pytest.fixture
async def client(database_url: str) -> AsyncIterator[Client]:
    pool = await db.create_pool(database_url)
    api = create_api(TOKEN)
    api.state.pool = pool
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://glassgate", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as http:
        yield http, pool
    await pool.close()


async def new_dataset(http: httpx.AsyncClient, name: str) -> str:
    response = await http.post("/api/v1/datasets", json={"name": name, "description": "for tests"})
    assert response.status_code == 201, response.text
    dataset_id: str = response.json()["dataset_id"]
    return dataset_id


async def all_items(http: httpx.AsyncClient, dataset_id: str, version: int | None = None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": 2}
    if version is not None:
        params["version"] = version
    while True:
        page = (await http.get(f"/api/v1/datasets/{dataset_id}/items", params=params)).json()
        items += page["data"]
        if page["next_cursor"] is None:
            return items
        params["cursor"] = page["next_cursor"]


def comparable(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "input": item["input"],
            "expected_output": item.get("expected_output"),
            "metadata": item.get("metadata") or {},
            "source_span_id": item.get("source_span_id"),
        }
        for item in items
    ]


async def test_dataset_lifecycle(client: Client) -> None:
    http, _ = client
    dataset_id = await new_dataset(http, "support answers")
    duplicate = await http.post("/api/v1/datasets", json={"name": "support answers"})
    assert duplicate.status_code == 409
    assert duplicate.headers["content-type"].startswith("application/problem+json")
    assert "support answers" in duplicate.json()["detail"]
    renamed = await http.patch(f"/api/v1/datasets/{dataset_id}", json={"name": "support v2"})
    assert renamed.json()["name"] == "support v2" and renamed.json()["description"] == "for tests"
    listed = (await http.get("/api/v1/datasets")).json()["data"]
    assert [(row["name"], row["latest_version"], row["item_count"]) for row in listed] == [("support v2", 0, 0)]
    assert (await http.delete(f"/api/v1/datasets/{dataset_id}")).status_code == 204
    assert (await http.get(f"/api/v1/datasets/{dataset_id}")).status_code == 404
    assert (await http.get(f"/api/v1/datasets/{dataset_id}/items")).status_code == 404
    invalid = await http.post("/api/v1/datasets", json={"name": ""})
    assert invalid.status_code == 422 and "name" in invalid.json()["detail"]


async def test_changes_make_versions_and_old_versions_keep_their_items(client: Client) -> None:
    http, _ = client
    dataset_id = await new_dataset(http, "pinned")
    added = await http.post(
        f"/api/v1/datasets/{dataset_id}/items",
        json={"items": [{"input": {"q": n}, "expected_output": f"a{n}"} for n in range(3)], "note": "seed"},
    )
    assert added.status_code == 201, added.text
    first, second, third = (item["item_id"] for item in added.json()["items"])
    assert added.json()["version"]["version"] == 1 and added.json()["version"]["author"] == "admin-token"

    edited = await http.patch(
        f"/api/v1/datasets/{dataset_id}/items/{second}",
        json={"expected_output": "better", "note": "fix answer", "base_version": 1},
    )
    assert edited.status_code == 200, edited.text
    [row] = edited.json()["items"]
    assert (row["item_id"], row["input"], row["expected_output"], row["valid_from"]) == (second, {"q": 1}, "better", 2)

    deleted = await http.delete(f"/api/v1/datasets/{dataset_id}/items/{third}", params={"note": "drop"})
    assert deleted.json()["deleted"] == [third] and deleted.json()["version"]["version"] == 3

    batch = await http.post(
        f"/api/v1/datasets/{dataset_id}/changes",
        json={
            "add": [{"input": "new"}],
            "edit": [{"item_id": first, "metadata": {"checked": True}}],
            "delete": [second],
            "note": "one batch",
        },
    )
    assert batch.json()["version"] == {**batch.json()["version"], "version": 4, "item_count": 2, "note": "one batch"}

    assert [item["expected_output"] for item in await all_items(http, dataset_id, 1)] == ["a0", "a1", "a2"]
    assert [item["expected_output"] for item in await all_items(http, dataset_id, 2)] == ["a0", "better", "a2"]
    latest = await all_items(http, dataset_id)
    assert [(item["input"], item["metadata"]) for item in latest] == [({"q": 0}, {"checked": True}), ("new", {})]
    old = await http.get(f"/api/v1/datasets/{dataset_id}/items/{third}", params={"version": 2})
    assert old.json()["expected_output"] == "a2"
    assert (await http.get(f"/api/v1/datasets/{dataset_id}/items/{third}")).status_code == 404
    history = (await http.get(f"/api/v1/datasets/{dataset_id}/items/{second}/history")).json()["data"]
    assert [(row["valid_from"], row["valid_to"]) for row in history] == [(1, 2), (2, 4)]

    versions = (await http.get(f"/api/v1/datasets/{dataset_id}/versions")).json()["data"]
    assert [(v["version"], v["note"], v["item_count"]) for v in versions] == [
        (4, "one batch", 2),
        (3, "drop", 2),
        (2, "fix answer", 3),
        (1, "seed", 3),
    ]
    dataset = (await http.get(f"/api/v1/datasets/{dataset_id}")).json()
    assert (dataset["latest_version"], dataset["item_count"]) == (4, 2)
    assert (await http.get(f"/api/v1/datasets/{dataset_id}/items", params={"version": 9})).status_code == 404


async def test_refusals_name_what_is_wrong(client: Client) -> None:
    http, _ = client
    dataset_id = await new_dataset(http, "refusals")
    added = await http.post(f"/api/v1/datasets/{dataset_id}/items", json={"items": [{"input": "q"}]})
    item_id = added.json()["items"][0]["item_id"]
    null_input = await http.post(f"/api/v1/datasets/{dataset_id}/items", json={"items": [{"input": None}]})
    assert null_input.status_code == 422 and "items.0.input" in null_input.json()["detail"]
    missing = await http.patch(f"/api/v1/datasets/{dataset_id}/items/it_nope", json={"input": "x"})
    assert missing.status_code == 404 and "it_nope" in missing.json()["detail"]
    await http.patch(f"/api/v1/datasets/{dataset_id}/items/{item_id}", json={"input": "q2"})
    stale = await http.patch(f"/api/v1/datasets/{dataset_id}/items/{item_id}", json={"input": "q3", "base_version": 1})
    assert stale.status_code == 409 and item_id in stale.json()["detail"]
    twice = await http.post(
        f"/api/v1/datasets/{dataset_id}/changes", json={"edit": [{"item_id": item_id}], "delete": [item_id]}
    )
    assert twice.status_code == 422 and item_id in twice.json()["detail"]
    empty = await http.post(f"/api/v1/datasets/{dataset_id}/changes", json={})
    assert empty.status_code == 422
    assert (await http.get(f"/api/v1/datasets/{dataset_id}")).json()["latest_version"] == 2


async def test_concurrent_edits_both_land(client: Client) -> None:
    http, _ = client
    dataset_id = await new_dataset(http, "busy")
    added = await http.post(f"/api/v1/datasets/{dataset_id}/items", json={"items": [{"input": n} for n in range(6)]})
    ids = [item["item_id"] for item in added.json()["items"]]
    responses = await asyncio.gather(
        *(
            http.patch(f"/api/v1/datasets/{dataset_id}/items/{item_id}", json={"expected_output": f"edit {n}"})
            for n, item_id in enumerate(ids)
        )
    )
    assert all(response.status_code == 200 for response in responses), [r.text for r in responses]
    assert sorted(response.json()["version"]["version"] for response in responses) == list(range(2, 8))
    assert [item["expected_output"] for item in await all_items(http, dataset_id)] == [f"edit {n}" for n in range(6)]


async def seed_spans(pool: asyncpg.Pool) -> None:
    chat_request = {
        "model": "gpt-4o-mini",
        "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        "temperature": 0.2,
    }
    anthropic_request = {
        "model": "claude-sonnet-4-5",
        "max_tokens": 64,
        "messages": [{"role": "user", "content": "Hi"}],
    }
    await insert_spans(
        pool,
        [
            make_span(
                1,
                vendor="openai",
                operation="chat",
                request_body=chat_request,
                response_body=openai_fake.chat_completion({}, azure=False),
                response_model=openai_fake.SERVED_MODEL,
            ),
            make_span(
                2,
                vendor="anthropic",
                operation="messages",
                model="claude-sonnet-4-5",
                request_body=anthropic_request,
                response_body=anthropic_fake.message(anthropic_request),
            ),
        ],
    )


async def test_items_from_spans(client: Client) -> None:
    http, pool = client
    await seed_spans(pool)
    dataset_id = await new_dataset(http, "from traffic")
    span_ids = [f"{1:016x}", f"{2:016x}", f"{1:016x}"]
    drafts = await http.post("/api/v1/datasets/item-drafts", json={"span_ids": span_ids})
    assert drafts.status_code == 200 and len(drafts.json()["data"]) == 2, "repeats are taken once"
    assert (await http.get(f"/api/v1/datasets/{dataset_id}")).json()["latest_version"] == 0, "drafts are not saved"

    response = await http.post(
        f"/api/v1/datasets/{dataset_id}/items/from-spans", json={"span_ids": span_ids, "note": "good answers"}
    )
    assert response.status_code == 201, response.text
    chat, claude = response.json()["items"]
    assert chat["input"] == {
        "messages": [
            {"role": "system", "parts": [{"type": "text", "text": "Be brief."}]},
            {"role": "user", "parts": [{"type": "text", "text": "Hi"}]},
        ],
        "parameters": {"model": "gpt-4o-mini", "temperature": 0.2},
    }
    assert chat["expected_output"] == {
        "messages": [
            {
                "role": "assistant",
                "parts": [{"type": "text", "text": openai_fake.TEXT}],
                "choice": 0,
                "finish_reason": "stop",
            }
        ]
    }
    assert chat["source_span_id"] == f"{1:016x}"
    assert chat["metadata"] == {
        **chat["metadata"],
        "source": "span",
        "span_id": f"{1:016x}",
        "upstream": "openai",
        "vendor": "openai",
        "model": "gpt-4o-mini",
        "response_model": openai_fake.SERVED_MODEL,
        "format": "openai.chat",
    }
    assert claude["expected_output"]["messages"][0]["parts"] == [{"type": "text", "text": anthropic_fake.TEXT}]
    assert claude["metadata"]["upstream"] == "azure" and claude["metadata"]["model"] == "claude-sonnet-4-5"
    assert drafts.json()["data"][0]["input"] == chat["input"], "a draft is what would be added"

    missing = await http.post(
        f"/api/v1/datasets/{dataset_id}/items/from-spans", json={"span_ids": [f"{1:016x}", "ffffffffffffffff"]}
    )
    assert missing.status_code == 404 and "ffffffffffffffff" in missing.json()["detail"]
    assert (await http.get(f"/api/v1/datasets/{dataset_id}")).json()["item_count"] == 2, "nothing partly added"


async def export(
    http: httpx.AsyncClient, dataset_id: str, file_format: str, version: int | None = None
) -> httpx.Response:
    params: dict[str, Any] = {"format": file_format}
    if version is not None:
        params["version"] = version
    response = await http.get(f"/api/v1/datasets/{dataset_id}/export", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    return response


@pytest.mark.parametrize(("file_format", "content_type"), [("csv", "text/csv"), ("jsonl", "application/x-ndjson")])
async def test_export_then_import_gives_the_same_items(client: Client, file_format: str, content_type: str) -> None:
    http, _ = client
    source = await new_dataset(http, f"source {file_format}")
    await http.post(f"/api/v1/datasets/{source}/items", json={"items": AWKWARD_ITEMS})
    await http.post(f"/api/v1/datasets/{source}/items", json={"items": [{"input": "only in version 2"}]})
    exported = await export(http, source, file_format, version=1)
    assert exported.headers["content-type"].startswith(content_type)
    assert f'-v1.{file_format}"' in exported.headers["content-disposition"]

    target = await new_dataset(http, f"target {file_format}")
    imported = await http.post(
        f"/api/v1/datasets/{target}/import", content=exported.content, headers={"content-type": content_type}
    )
    assert imported.status_code == 201, imported.text
    assert imported.json()["imported"] == len(AWKWARD_ITEMS) and imported.json()["version"]["version"] == 1
    assert comparable(await all_items(http, target)) == comparable(AWKWARD_ITEMS)
    again = await export(http, target, file_format)
    strip_ids = (
        (lambda text: [row[1:] for row in csv.reader(io.StringIO(text))])
        if file_format == "csv"
        else (lambda text: [{**orjson.loads(line), "item_id": None} for line in text.splitlines()])
    )
    assert strip_ids(again.text) == strip_ids(exported.text), "the files match too, ids aside"


async def test_a_bad_csv_line_imports_nothing(client: Client) -> None:
    http, _ = client
    dataset_id = await new_dataset(http, "strict")
    body = (
        'input,expected_output,metadata.lang\n"hello",hi,en\n,"no input",fr\nok,fine,de,extra\n"x",y,"{""not"": 1}"\n'
    )
    response = await http.post(
        f"/api/v1/datasets/{dataset_id}/import", content=body.encode(), headers={"content-type": "text/csv"}
    )
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert [(error["line"], error["field"]) for error in problem["errors"]] == [(3, "input"), (4, None)]
    assert "line 3: input: missing" in problem["detail"] and "line 4" in problem["detail"]
    dataset = (await http.get(f"/api/v1/datasets/{dataset_id}")).json()
    assert (dataset["latest_version"], dataset["item_count"]) == (0, 0), "nothing was imported"

    unknown = await http.post(
        f"/api/v1/datasets/{dataset_id}/import", content=b"question,answer\nq,a\n", headers={"content-type": "text/csv"}
    )
    assert unknown.status_code == 422 and {error["field"] for error in unknown.json()["errors"]} == {
        "question",
        "answer",
    }
    broken_json = await http.post(
        f"/api/v1/datasets/{dataset_id}/import",
        content=b'{"input": "ok"}\n\n{"input": oops}\n["not an object"]\n',
        headers={"content-type": "application/x-ndjson"},
    )
    assert [error["line"] for error in broken_json.json()["errors"]] == [3, 4]


async def test_import_with_a_mapping_and_as_a_multipart_file(client: Client) -> None:
    http, _ = client
    dataset_id = await new_dataset(http, "mapped")
    csv_body = "question,answer,difficulty,notes\nWhat is 2+2?,4,1,skip me\n"
    response = await http.post(
        f"/api/v1/datasets/{dataset_id}/import",
        params=[
            ("map", "question:input.question"),
            ("map", "answer:expected_output"),
            ("map", "difficulty:metadata.difficulty"),
            ("map", "notes:ignore"),
            ("note", "from the spreadsheet"),
        ],
        content=csv_body.encode(),
        headers={"content-type": "text/csv; charset=utf-8"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["version"]["note"] == "from the spreadsheet"
    [item] = await all_items(http, dataset_id)
    assert (item["input"], item["expected_output"], item["metadata"]) == (
        {"question": "What is 2+2?"},
        4,
        {"difficulty": 1},
    )

    jsonl = b'{"input": {"q": "hi"}, "metadata": {"lang": "en"}}\n'
    upload = await http.post(
        f"/api/v1/datasets/{dataset_id}/import",
        files={"file": ("golden.jsonl", jsonl, "application/octet-stream")},
        data={"note": "uploaded"},
    )
    assert upload.status_code == 201, upload.text
    assert upload.json()["version"] == {**upload.json()["version"], "version": 2, "note": "uploaded", "item_count": 2}
    bad_map = await http.post(
        f"/api/v1/datasets/{dataset_id}/import",
        params={"map": "question"},
        content=b"x",
        headers={"content-type": "text/csv"},
    )
    assert bad_map.status_code == 422 and "question" in bad_map.json()["detail"]
    unknown_type = await http.post(
        f"/api/v1/datasets/{dataset_id}/import", content=b"x", headers={"content-type": "application/pdf"}
    )
    assert unknown_type.status_code == 415


def test_the_openapi_spec_describes_files_and_problems() -> None:
    spec = create_api(TOKEN).openapi()
    imported = spec["paths"]["/api/v1/datasets/{dataset_id}/import"]["post"]
    assert set(imported["requestBody"]["content"]) == {"text/csv", "application/x-ndjson", "multipart/form-data"}
    lines_in_error = imported["responses"]["422"]["content"]["application/problem+json"]["schema"]["anyOf"][0]
    assert lines_in_error["$ref"].endswith("/ImportProblem")
    exported = spec["paths"]["/api/v1/datasets/{dataset_id}/export"]["get"]
    assert set(exported["responses"]["200"]["content"]) == {"text/csv", "application/x-ndjson"}
    assert [parameter["name"] for parameter in exported["parameters"]] == ["dataset_id", "format", "version"]
