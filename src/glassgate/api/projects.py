"""GET /api/v1/projects: the projects keys are issued for, with their key counts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from glassgate.api.state import pool_of
from glassgate.storage import projects

router = APIRouter(prefix="/api/v1/projects", tags=["projects"])


class KeyCounts(BaseModel):
    active: int
    revoked: int


class Project(BaseModel):
    name: str
    created_at: datetime
    keys: KeyCounts
    aws_keys: KeyCounts


class ProjectList(BaseModel):
    data: list[Project]


@router.get("", response_model=ProjectList, summary="List projects with their key counts")
async def list_projects(request: Request) -> dict[str, Any]:
    return {"data": await projects.list_projects(pool_of(request))}
