"""/api/v1/score-configs: what annotations can say (numeric, categorical, boolean, text)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field

from glassgate.api.annotation_problems import storage_refusals
from glassgate.api.state import pool_of
from glassgate.storage import score_configs as config_store

router = APIRouter(prefix="/api/v1/score-configs", tags=["score configs"])

Kind = Literal["numeric", "categorical", "boolean", "text"]


class ScoreCategory(BaseModel):
    label: str = Field(min_length=1, max_length=config_store.MAX_NAME_CHARS)
    value: float = Field(description="The number the label stands for (averages and score filters use it).")


class ScoreConfig(BaseModel):
    config_id: str
    name: str
    kind: Kind
    min_value: float | None = Field(description="numeric only: inclusive lower bound; null for none.")
    max_value: float | None = Field(description="numeric only: inclusive upper bound; null for none.")
    categories: list[ScoreCategory] = Field(description="categorical only: its labels, in order; empty otherwise.")
    description: str
    created_at: datetime
    archived_at: datetime | None = Field(description="When archived (no new annotations); null while live.")


class ScoreConfigCreate(BaseModel):
    name: str = Field(min_length=1, max_length=config_store.MAX_NAME_CHARS, description="Unique.")
    kind: Kind = Field(
        description="numeric: a number within [min_value, max_value]; categorical: one of the labels; "
        "boolean: true or false (stored as 1/0); text: free text."
    )
    min_value: float | None = Field(default=None, description="numeric only.")
    max_value: float | None = Field(default=None, description="numeric only; greater than min_value.")
    categories: list[ScoreCategory] = Field(
        default_factory=list, description="categorical only: 1 to 50, labels and values unique."
    )
    description: str = Field(default="", max_length=2000)


class ScoreConfigChanges(BaseModel):
    """Only the fields sent change. The range and categories are frozen once annotations use the config."""

    name: str | None = Field(default=None, min_length=1, max_length=config_store.MAX_NAME_CHARS)
    description: str | None = Field(default=None, max_length=2000)
    min_value: float | None = Field(default=None, description="Send null to remove the bound.")
    max_value: float | None = Field(default=None, description="Send null to remove the bound.")
    categories: list[ScoreCategory] | None = None
    archived: bool | None = Field(default=None, description="true archives, false restores.")


class ScoreConfigList(BaseModel):
    data: list[ScoreConfig]


class ScoreConfigDeletion(BaseModel):
    config_id: str
    outcome: Literal["deleted", "archived"] = Field(
        description="archived when annotations or queues use the config: their scores keep their meaning."
    )


def _categories(categories: list[ScoreCategory]) -> list[config_store.Category]:
    return [config_store.Category(category.label, category.value) for category in categories]


@router.get("", response_model=ScoreConfigList, summary="List score configs by name")
async def list_configs(
    request: Request,
    include_archived: Annotated[bool, Query(description="Include archived configs.")] = False,
) -> dict[str, Any]:
    configs = await config_store.list_configs(pool_of(request), include_archived)
    return {"data": [asdict(config) for config in configs]}


@router.post("", response_model=ScoreConfig, status_code=201, summary="Create a score config")
async def create_config(request: Request, body: ScoreConfigCreate) -> dict[str, Any]:
    with storage_refusals():
        config = await config_store.create_config(
            pool_of(request),
            name=body.name,
            kind=body.kind,
            min_value=body.min_value,
            max_value=body.max_value,
            categories=_categories(body.categories),
            description=body.description,
        )
    return asdict(config)


@router.get("/{config_id}", response_model=ScoreConfig, summary="One score config")
async def get_config(request: Request, config_id: str) -> dict[str, Any]:
    with storage_refusals():
        return asdict(await config_store.get_config(pool_of(request), config_id))


@router.patch("/{config_id}", response_model=ScoreConfig, summary="Rename, describe, archive or redefine")
async def update_config(request: Request, config_id: str, body: ScoreConfigChanges) -> dict[str, Any]:
    changes: dict[str, Any] = {
        name: value
        for name, value in body.model_dump(exclude_unset=True).items()
        if value is not None or name in ("min_value", "max_value")
    }
    if body.categories is not None:
        changes["categories"] = _categories(body.categories)
    with storage_refusals():
        return asdict(await config_store.update_config(pool_of(request), config_id, changes))


@router.delete("/{config_id}", response_model=ScoreConfigDeletion, summary="Delete a score config (archived if in use)")
async def delete_config(request: Request, config_id: str) -> dict[str, Any]:
    with storage_refusals():
        outcome = await config_store.delete_config(pool_of(request), config_id)
    return {"config_id": config_id, "outcome": outcome}
