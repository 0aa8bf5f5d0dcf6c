"""/api/v1/annotation-queues: spans waiting for review, handed out one at a time per reviewer.

The reviewer is the caller (`Principal.author`). `POST /{queue_id}/next` locks an item for
five minutes; calling it again while holding that lock renews it and returns the same item.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from glassgate.api.annotation_problems import storage_refusals
from glassgate.api.auth import Principal, current_principal
from glassgate.api.spans import SpanDetail, span_detail
from glassgate.api.state import pool_of
from glassgate.storage import queues as queue_store
from glassgate.storage.score_configs import MAX_NAME_CHARS

router = APIRouter(prefix="/api/v1/annotation-queues", tags=["annotation queues"])

ItemStatus = Literal["pending", "completed", "skipped"]
Caller = Annotated[Principal, Depends(current_principal)]


class QueueProgress(BaseModel):
    total: int
    pending: int = Field(description="Not yet completed or skipped (in_progress included).")
    in_progress: int = Field(description="Pending items a reviewer holds a live lock on.")
    completed: int
    skipped: int


class ReviewerProgress(BaseModel):
    reviewer: str
    completed: int
    skipped: int
    assigned_pending: int = Field(description="Pending items assigned to this reviewer.")


class AnnotationQueue(BaseModel):
    queue_id: str
    name: str
    description: str
    config_ids: list[str] = Field(description="The score configs reviewers fill in, in order.")
    created_at: datetime
    progress: QueueProgress
    reviewers: list[ReviewerProgress] = Field(
        description="Everyone who completed, skipped or is assigned items; most completed first."
    )


class AnnotationQueueCreate(BaseModel):
    name: str = Field(min_length=1, max_length=MAX_NAME_CHARS, description="Unique.")
    description: str = Field(default="", max_length=2000)
    config_ids: list[str] = Field(default_factory=list, description="Live score configs.")


class AnnotationQueueList(BaseModel):
    data: list[AnnotationQueue]


class SpansToQueue(BaseModel):
    span_ids: list[str] = Field(
        min_length=1,
        max_length=queue_store.MAX_SPANS_PER_ADD,
        description="Queued in this order; spans already in the queue are left as they are.",
    )


class QueuedSpans(BaseModel):
    added: int
    already_queued: int


class QueueItem(BaseModel):
    queue_id: str
    span_id: str
    status: ItemStatus
    assigned_to: str | None = Field(description="Reserved for this reviewer; null: for anyone.")
    locked_by: str | None = Field(description="The reviewer holding the item now; null when free or expired.")
    locked_until: datetime | None
    completed_by: str | None = Field(description="Who completed or skipped it.")
    completed_at: datetime | None
    created_at: datetime


class QueueItemPage(BaseModel):
    data: list[QueueItem]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")


class ClaimedItem(BaseModel):
    item: QueueItem
    span: SpanDetail | None = Field(description="The span under review; null if retention has dropped it.")


class Assignment(BaseModel):
    reviewer: str | None = Field(description="The reviewer (as recorded: a user's email); null unassigns.")


@router.get("", response_model=AnnotationQueueList, summary="Annotation queues with their progress, newest first")
async def list_queues(request: Request) -> dict[str, Any]:
    return {"data": await queue_store.list_queues(pool_of(request))}


@router.post("", response_model=AnnotationQueue, status_code=201, summary="Create an annotation queue")
async def create_queue(request: Request, body: AnnotationQueueCreate) -> dict[str, Any]:
    with storage_refusals():
        return await queue_store.create_queue(
            pool_of(request), name=body.name, description=body.description, config_ids=body.config_ids
        )


@router.get("/{queue_id}", response_model=AnnotationQueue, summary="One annotation queue with its progress")
async def get_queue(request: Request, queue_id: str) -> dict[str, Any]:
    with storage_refusals():
        return await queue_store.get_queue(pool_of(request), queue_id)


@router.post("/{queue_id}/items", response_model=QueuedSpans, summary="Add spans to a queue")
async def add_spans(request: Request, queue_id: str, body: SpansToQueue) -> dict[str, Any]:
    with storage_refusals():
        added, already = await queue_store.add_spans(pool_of(request), queue_id, body.span_ids)
    return {"added": added, "already_queued": already}


@router.get("/{queue_id}/items", response_model=QueueItemPage, summary="A queue's items, in queue order")
async def list_items(
    request: Request,
    queue_id: str,
    status: ItemStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    cursor: Annotated[str | None, Query(pattern=r"^\d{1,18}$")] = None,
) -> dict[str, Any]:
    with storage_refusals():
        items, following = await queue_store.list_items(
            pool_of(request), queue_id, status, limit, int(cursor) if cursor else None
        )
    return {"data": items, "next_cursor": None if following is None else str(following)}


@router.post(
    "/{queue_id}/next",
    response_model=ClaimedItem,
    summary="Claim the caller's next item (locked to them for five minutes)",
    responses={204: {"description": "Nothing left for this reviewer."}},
)
async def claim_next(request: Request, queue_id: str, principal: Caller) -> Any:
    pool = pool_of(request)
    with storage_refusals():
        item = await queue_store.claim_next(pool, queue_id, principal.author)
    if item is None:
        return Response(status_code=204)
    return {"item": item, "span": await span_detail(pool, item["span_id"])}


def _item_route(action: str, summary: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    return router.post(
        f"/{{queue_id}}/items/{{span_id}}/{action}",
        response_model=QueueItem,
        summary=summary,
        responses={409: {"description": "Another reviewer holds the item, or it is already done."}},
    )


@_item_route("complete", "Mark an item completed (by its lock holder, or anyone once it is free)")
async def complete_item(request: Request, queue_id: str, span_id: str, principal: Caller) -> dict[str, Any]:
    with storage_refusals():
        return await queue_store.resolve_item(pool_of(request), queue_id, span_id, principal.author, "completed")


@_item_route("skip", "Skip an item (by its lock holder, or anyone once it is free)")
async def skip_item(request: Request, queue_id: str, span_id: str, principal: Caller) -> dict[str, Any]:
    with storage_refusals():
        return await queue_store.resolve_item(pool_of(request), queue_id, span_id, principal.author, "skipped")


@_item_route("release", "Give up the caller's lock on an item")
async def release_item(request: Request, queue_id: str, span_id: str, principal: Caller) -> dict[str, Any]:
    with storage_refusals():
        return await queue_store.release_item(pool_of(request), queue_id, span_id, principal.author)


@router.post("/{queue_id}/items/{span_id}/assign", response_model=QueueItem, summary="Assign an item to a reviewer")
async def assign_item(request: Request, queue_id: str, span_id: str, body: Assignment) -> dict[str, Any]:
    with storage_refusals():
        return await queue_store.assign_item(pool_of(request), queue_id, span_id, body.reviewer)
