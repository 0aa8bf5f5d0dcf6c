"""/api/v1/datasets: datasets, their versions and items, items made from spans, CSV and JSONL files.

Every change to the items is one new version (see storage.datasets); reads take a `version`
to see the dataset as it was.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from typing import Annotated, Any, Literal

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from starlette.datastructures import UploadFile

from glassgate.api import dataset_files
from glassgate.api.auth import Principal, current_principal
from glassgate.api.dataset_models import (
    AddItems,
    ChangeBatch,
    ChangeResult,
    Dataset,
    DatasetIn,
    DatasetItem,
    DatasetList,
    DatasetPatch,
    DraftList,
    FromSpans,
    ImportLineError,
    ImportProblem,
    ImportResult,
    ItemHistory,
    ItemIn,
    ItemPage,
    ItemPatch,
    SpanIds,
    VersionList,
)
from glassgate.api.problem_docs import problems
from glassgate.api.problems import Problem, problem_response
from glassgate.api.state import pool_of
from glassgate.storage import datasets as store
from glassgate.storage import spans as span_store
from glassgate.tracing.conversation import conversation_of

router = APIRouter(prefix="/api/v1/datasets", tags=["datasets"])
Caller = Annotated[Principal, Depends(current_principal)]
VersionQuery = Annotated[int | None, Query(ge=0, description="A version number; the latest when left out.")]
MAX_UPLOAD_BYTES = 64 * 1024 * 1024
_JSONL_TYPES = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines", "application/json-lines")
_IMPORT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The file, as the body (text/csv or application/x-ndjson) or as the `file` field of a "
        "multipart form (with an optional `note` field).",
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}, "note": {"type": "string"}},
                }
            },
        },
    }
}
_IMPORT_ERRORS: dict[int | str, dict[str, Any]] = {
    422: {"model": ImportProblem, "description": "Lines in error, nothing imported (application/problem+json)."},
    **problems(400, 415),  # 400: a multipart form Starlette cannot parse (too many fields, no boundary)
}


@contextmanager
def storage_errors() -> Iterator[None]:
    """The store's refusals as problem documents, in one place."""
    try:
        yield
    except store.DatasetNotFound as exc:
        raise Problem(404, "Dataset not found", f"no dataset with id {exc}") from None
    except store.VersionNotFound as exc:
        raise Problem(404, "Version not found", str(exc)) from None
    except store.ItemsNotFound as exc:
        raise Problem(404, "Items not found", str(exc)) from None
    except store.NameTaken as exc:
        raise Problem(409, "Name taken", str(exc)) from None
    except store.StaleItems as exc:
        raise Problem(409, "Items changed meanwhile", str(exc)) from None
    except store.BadChange as exc:
        raise Problem(422, "Invalid change", str(exc)) from None


def _new_items(items: list[ItemIn]) -> list[store.NewItem]:
    return [
        store.NewItem(
            input=item.input,
            expected_output=item.expected_output,
            metadata=item.metadata,
            source_span_id=item.source_span_id,
        )
        for item in items
    ]


async def _change(
    request: Request, dataset_id: str, changes: store.Changes, note: str, caller: Principal, base: int | None
) -> dict[str, Any]:
    with storage_errors():
        result = await store.apply_changes(
            pool_of(request), dataset_id, changes, note=note, author=caller.author, base_version=base
        )
    return {"dataset_id": dataset_id, **result}


# --- datasets ------------------------------------------------------------------------------------


@router.get("", response_model=DatasetList, summary="List datasets, most recently changed first")
async def list_datasets(request: Request) -> dict[str, Any]:
    return {"data": await store.list_datasets(pool_of(request))}


@router.post("", response_model=Dataset, status_code=201, summary="Create an empty dataset")
async def create_dataset(request: Request, body: DatasetIn) -> dict[str, Any]:
    with storage_errors():
        return await store.create_dataset(pool_of(request), body.name, body.description)


@router.get("/{dataset_id}", response_model=Dataset, summary="One dataset")
async def get_dataset(request: Request, dataset_id: str) -> dict[str, Any]:
    found = await store.get_dataset(pool_of(request), dataset_id)
    if found is None:
        raise Problem(404, "Dataset not found", f"no dataset with id {dataset_id}")
    return found


@router.patch("/{dataset_id}", response_model=Dataset, summary="Rename or describe a dataset (no new version)")
async def update_dataset(request: Request, dataset_id: str, body: DatasetPatch) -> dict[str, Any]:
    with storage_errors():
        return await store.update_dataset(pool_of(request), dataset_id, name=body.name, description=body.description)


@router.delete("/{dataset_id}", status_code=204, summary="Delete a dataset with all its versions")
async def delete_dataset(request: Request, dataset_id: str) -> Response:
    if not await store.delete_dataset(pool_of(request), dataset_id):
        raise Problem(404, "Dataset not found", f"no dataset with id {dataset_id}")
    return Response(status_code=204)


@router.get("/{dataset_id}/versions", response_model=VersionList, summary="A dataset's versions, newest first")
async def list_versions(request: Request, dataset_id: str) -> dict[str, Any]:
    with storage_errors():
        return {"data": await store.list_versions(pool_of(request), dataset_id)}


# --- items ---------------------------------------------------------------------------------------


@router.get("/{dataset_id}/items", response_model=ItemPage, summary="Items of a version, in the order added")
async def list_items(
    request: Request,
    dataset_id: str,
    version: VersionQuery = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: str | None = None,
) -> dict[str, Any]:
    with storage_errors():
        resolved, items, next_cursor = await store.list_items(pool_of(request), dataset_id, version, limit, cursor)
    return {"dataset_id": dataset_id, "version": resolved, "data": items, "next_cursor": next_cursor}


@router.post("/{dataset_id}/items", response_model=ChangeResult, status_code=201, summary="Add items (one version)")
async def add_items(request: Request, dataset_id: str, body: AddItems, caller: Caller) -> dict[str, Any]:
    return await _change(request, dataset_id, store.Changes(add=_new_items(body.items)), body.note, caller, None)


@router.post("/{dataset_id}/changes", response_model=ChangeResult, summary="Add, edit and delete items as one version")
async def change_items(request: Request, dataset_id: str, body: ChangeBatch, caller: Caller) -> dict[str, Any]:
    changes = store.Changes(
        add=_new_items(body.add),
        edit=[store.ItemEdit(edit.item_id, edit.changed()) for edit in body.edit],
        delete=body.delete,
    )
    return await _change(request, dataset_id, changes, body.note, caller, body.base_version)


@router.get("/{dataset_id}/items/{item_id}", response_model=DatasetItem, summary="An item as it was in a version")
async def get_item(request: Request, dataset_id: str, item_id: str, version: VersionQuery = None) -> dict[str, Any]:
    with storage_errors():
        found = await store.get_item(pool_of(request), dataset_id, item_id, version)
    if found is None:
        raise Problem(404, "Item not found", f"item {item_id} is not in that version of dataset {dataset_id}")
    return found


@router.get("/{dataset_id}/items/{item_id}/history", response_model=ItemHistory, summary="Every row an item has had")
async def item_history(request: Request, dataset_id: str, item_id: str) -> dict[str, Any]:
    rows = await store.item_history(pool_of(request), dataset_id, item_id)
    if not rows:
        raise Problem(404, "Item not found", f"dataset {dataset_id} has no item {item_id}")
    return {"data": rows}


@router.patch("/{dataset_id}/items/{item_id}", response_model=ChangeResult, summary="Edit an item (a new version)")
async def edit_item(request: Request, dataset_id: str, item_id: str, body: ItemPatch, caller: Caller) -> dict[str, Any]:
    changes = store.Changes(edit=[store.ItemEdit(item_id, body.changed())])
    return await _change(request, dataset_id, changes, body.note, caller, body.base_version)


@router.delete("/{dataset_id}/items/{item_id}", response_model=ChangeResult, summary="Delete an item (a new version)")
async def delete_item(
    request: Request,
    dataset_id: str,
    item_id: str,
    caller: Caller,
    note: Annotated[str, Query(max_length=2000)] = "",
    base_version: Annotated[int | None, Query(ge=0)] = None,
) -> dict[str, Any]:
    return await _change(request, dataset_id, store.Changes(delete=[item_id]), note, caller, base_version)


# --- from spans ----------------------------------------------------------------------------------


def draft_from_span(span: dict[str, Any]) -> store.NewItem:
    """input: the call's messages, parameters (and tools); expected_output: its answer."""
    view = conversation_of(
        span["vendor"], span["operation"], span["request_body"], span["response_body"], model=span["model"]
    )
    item_input: dict[str, Any] = {"messages": view["messages"], "parameters": view["parameters"]}
    if view["tools"]:
        item_input["tools"] = view["tools"]
    started = span.get("started_at")
    metadata = {
        "source": "span",
        "span_id": span["span_id"],
        "trace_id": span.get("trace_id"),
        "project": span.get("project"),
        "upstream": span.get("upstream"),
        "vendor": span.get("vendor"),
        "operation": span.get("operation"),
        "model": span.get("model"),
        "response_model": span.get("response_model"),
        "status": span.get("status"),
        "started_at": started.isoformat() if started is not None else None,
        "format": view["format"],
        "conversation_warnings": view["warnings"] or None,
    }
    return store.NewItem(
        input=item_input,
        expected_output={"messages": view["output"]} if view["output"] else None,
        metadata={key: value for key, value in metadata.items() if value is not None},
        source_span_id=span["span_id"],
    )


async def _drafts(pool: asyncpg.Pool, span_ids: list[str]) -> list[store.NewItem]:
    wanted = list(dict.fromkeys(span_ids))
    found = {span_id: await span_store.get_span(pool, span_id) for span_id in wanted}
    missing = [span_id for span_id, span in found.items() if span is None]
    if missing:
        raise Problem(404, "Spans not found", f"no spans with ids {', '.join(missing)}; nothing was added")
    return [draft_from_span(span) for span in found.values() if span is not None]


@router.post("/item-drafts", response_model=DraftList, summary="Items made from spans, to edit before adding")
async def draft_items(request: Request, body: SpanIds) -> dict[str, Any]:
    drafts = await _drafts(pool_of(request), body.span_ids)
    return {"data": [asdict(draft) for draft in drafts]}


@router.post(
    "/{dataset_id}/items/from-spans",
    response_model=ChangeResult,
    status_code=201,
    summary="Add one item per span (one version)",
)
async def add_from_spans(request: Request, dataset_id: str, body: FromSpans, caller: Caller) -> dict[str, Any]:
    if await store.get_dataset(pool_of(request), dataset_id) is None:
        raise Problem(404, "Dataset not found", f"no dataset with id {dataset_id}")
    drafts = await _drafts(pool_of(request), body.span_ids)
    note = body.note or f"{len(drafts)} items from spans"
    return await _change(request, dataset_id, store.Changes(add=drafts), note, caller, None)


# --- files ---------------------------------------------------------------------------------------


def _format_of(content_type: str, filename: str | None) -> Literal["csv", "jsonl"] | None:
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "text/csv" or (filename or "").lower().endswith(".csv"):
        return "csv"
    if media in _JSONL_TYPES or (filename or "").lower().endswith((".jsonl", ".ndjson")):
        return "jsonl"
    return None


def _too_large() -> Problem:
    return Problem(413, "File too large", f"at most {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")


async def _body(request: Request) -> bytes:
    """The request body, refused once it passes the limit (a chunked upload declares no length)."""
    pieces: list[bytes] = []
    size = 0
    async for piece in request.stream():
        size += len(piece)
        if size > MAX_UPLOAD_BYTES:
            raise _too_large()
        pieces.append(piece)
    return b"".join(pieces)


async def _upload(request: Request) -> tuple[bytes, str | None, str | None]:
    """(file bytes, its format when its type or name says, the form's note)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise _too_large()
    content_type = request.headers.get("content-type", "")
    if not content_type.lower().startswith("multipart/form-data"):
        return await _body(request), _format_of(content_type, None), None
    async with request.form(max_files=1, max_fields=5) as form:
        upload, note = form.get("file"), form.get("note")
        if not isinstance(upload, UploadFile):
            raise Problem(422, "No file", "send the file in a multipart field named `file`")
        if (upload.size or 0) > MAX_UPLOAD_BYTES:
            raise _too_large()
        data = await upload.read()
        kind = _format_of(upload.content_type or "", upload.filename)
    return data, kind, note if isinstance(note, str) else None


@router.post(
    "/{dataset_id}/import",
    response_model=ImportResult,
    status_code=201,
    summary="Import items from CSV or JSON Lines (all or nothing, one version)",
    openapi_extra=_IMPORT_BODY,
    responses=_IMPORT_ERRORS,
)
async def import_items(
    request: Request,
    dataset_id: str,
    caller: Caller,
    file_format: Annotated[
        Literal["csv", "jsonl"] | None,
        Query(alias="format", description="When the content type or file name does not say."),
    ] = None,
    columns: Annotated[
        list[str] | None,
        Query(
            alias="map",
            description="column:target, repeatable; target input, expected_output, source_span_id, metadata, "
            "metadata.<key>, input.<key>, expected_output.<key> or ignore.",
        ),
    ] = None,
    note: Annotated[str | None, Query(max_length=2000)] = None,
) -> Any:
    try:
        mapping = dataset_files.parse_mapping(columns or [])
    except ValueError as exc:
        raise Problem(422, "Invalid mapping", str(exc)) from None
    if await store.get_dataset(pool_of(request), dataset_id) is None:
        raise Problem(404, "Dataset not found", f"no dataset with id {dataset_id}")
    data, detected, form_note = await _upload(request)
    kind = file_format or detected
    if kind is None:
        raise Problem(415, "Unsupported file type", "send text/csv or application/x-ndjson, or pass ?format=")
    try:
        items = (dataset_files.read_csv if kind == "csv" else dataset_files.read_jsonl)(data, mapping)
    except dataset_files.ImportFailed as exc:
        errors = [ImportLineError(line=e.line, field=e.field, message=e.message).model_dump() for e in exc.errors]
        return problem_response(422, "Invalid file", f"nothing was imported: {exc}", errors=errors)
    if not items:
        raise Problem(422, "Empty file", "the file holds no items")
    note = note or form_note or f"imported {len(items)} items from {kind.upper()}"
    result = await _change(request, dataset_id, store.Changes(add=items), note, caller, None)
    return {"dataset_id": dataset_id, "version": result["version"], "imported": len(items)}


def _filename(name: str, version: int, extension: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.") or "dataset"
    return f"{slug[:100]}-v{version}.{extension}"


@router.get(
    "/{dataset_id}/export",
    summary="A version's items as a CSV or JSON Lines file",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}, "application/x-ndjson": {}}, "description": "The file, streamed."}},
)
async def export_items(
    request: Request,
    dataset_id: str,
    file_format: Annotated[Literal["csv", "jsonl"], Query(alias="format")] = "jsonl",
    version: VersionQuery = None,
) -> StreamingResponse:
    pool = pool_of(request)
    dataset = await store.get_dataset(pool, dataset_id)
    if dataset is None:
        raise Problem(404, "Dataset not found", f"no dataset with id {dataset_id}")
    async with pool.acquire() as connection:
        with storage_errors():
            resolved = await store.resolve_version(connection, dataset_id, version)
    keys = await store.metadata_keys(pool, dataset_id, resolved) if file_format == "csv" else []

    async def lines() -> AsyncIterator[str]:
        if file_format == "csv":
            yield dataset_files.csv_header(keys)
        async for page in store.iter_items(pool, dataset_id, resolved):
            for line in (
                dataset_files.csv_lines(page, keys) if file_format == "csv" else dataset_files.jsonl_lines(page)
            ):
                yield line

    media = "text/csv; charset=utf-8" if file_format == "csv" else "application/x-ndjson"
    filename = _filename(dataset["name"], resolved, file_format)
    return StreamingResponse(
        lines(), media_type=media, headers={"content-disposition": f'attachment; filename="{filename}"'}
    )
