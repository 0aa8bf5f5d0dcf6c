"""/api/v1/spans/{span_id}/annotations and /api/v1/annotations/{annotation_id}: scoring spans."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from glassgate.api.annotation_problems import storage_refusals
from glassgate.api.auth import Principal, current_principal
from glassgate.api.score_configs import Kind
from glassgate.api.state import pool_of
from glassgate.storage import annotations as annotation_store
from glassgate.storage.score_configs import MAX_TEXT_CHARS

router = APIRouter(tags=["annotations"])

Source = Literal["human", "llm", "code"]
ScoreValue = bool | float | str


class ScoreSummary(BaseModel):
    """A span's annotations under one score config, summed up for the trace list."""

    config_id: str
    name: str
    kind: Kind
    count: int = Field(description="How many annotations (one per human author, plus judge and code runs).")
    avg: float | None = Field(description="Average of the numbers (category values, 1/0 for booleans); null for text.")
    value: float | None = Field(description="The latest annotation's number; null for text.")
    label: str | None = Field(
        description="The latest annotation's label, 'true'/'false', or text (cut to 200 characters); null for numeric."
    )


class Annotation(BaseModel):
    annotation_id: str
    span_id: str
    trace_id: str | None
    config_id: str
    config_name: str
    kind: Kind
    value: ScoreValue | None = Field(
        description="As sent: a number (numeric), a label (categorical), true/false (boolean), text (text)."
    )
    value_number: float | None = Field(description="The stored number: the value, a category's value, or 1/0.")
    value_text: str | None = Field(description="The stored text: a label, 'true'/'false', or the text.")
    comment: str
    author: str
    source: Source
    created_at: datetime
    updated_at: datetime


class AnnotationCreate(BaseModel):
    config_id: str
    value: ScoreValue = Field(
        description="A number within the config's range (numeric), one of its labels (categorical), "
        "true or false (boolean), or non-empty text (text)."
    )
    comment: str = Field(default="", max_length=MAX_TEXT_CHARS)
    source: Source = Field(
        default="human",
        description="human: one per author, span and config (posting again updates it); "
        "llm, code: a new one each time.",
    )


class AnnotationChanges(BaseModel):
    """Only the fields sent change."""

    value: ScoreValue | None = Field(default=None, description="Validated against the annotation's score config.")
    comment: str | None = Field(default=None, max_length=MAX_TEXT_CHARS)


class AnnotationList(BaseModel):
    data: list[Annotation]


def _editor(principal: Principal) -> str | None:
    """Members change only their own annotations; admins (and the admin token) any."""
    return None if principal.role == "admin" else principal.author


@router.get(
    "/api/v1/spans/{span_id}/annotations",
    response_model=AnnotationList,
    summary="A span's annotations, by score config name",
)
async def list_annotations(request: Request, span_id: str) -> dict[str, Any]:
    with storage_refusals():
        return {"data": await annotation_store.list_annotations(pool_of(request), span_id)}


@router.post(
    "/api/v1/spans/{span_id}/annotations",
    response_model=Annotation,
    status_code=201,
    summary="Score a span (a human's second score for the same config updates the first)",
    responses={200: {"model": Annotation, "description": "The caller's existing human annotation, updated."}},
)
async def annotate(
    request: Request,
    response: Response,
    span_id: str,
    body: AnnotationCreate,
    principal: Annotated[Principal, Depends(current_principal)],
) -> dict[str, Any]:
    with storage_refusals():
        annotation, created = await annotation_store.annotate(
            pool_of(request),
            span_id,
            config_id=body.config_id,
            value=body.value,
            comment=body.comment,
            source=body.source,
            author=principal.author,
        )
    if not created:
        response.status_code = 200
    return annotation


@router.patch(
    "/api/v1/annotations/{annotation_id}", response_model=Annotation, summary="Change an annotation's value or comment"
)
async def update_annotation(
    request: Request,
    annotation_id: str,
    body: AnnotationChanges,
    principal: Annotated[Principal, Depends(current_principal)],
) -> dict[str, Any]:
    changes: dict[str, Any] = {
        name: value for name, value in body.model_dump(exclude_unset=True).items() if value is not None
    }
    with storage_refusals():
        return await annotation_store.update_annotation(
            pool_of(request), annotation_id, **changes, editor=_editor(principal)
        )


@router.delete("/api/v1/annotations/{annotation_id}", status_code=204, summary="Delete an annotation")
async def delete_annotation(
    request: Request, annotation_id: str, principal: Annotated[Principal, Depends(current_principal)]
) -> Response:
    with storage_refusals():
        await annotation_store.delete_annotation(pool_of(request), annotation_id, editor=_editor(principal))
    return Response(status_code=204)
