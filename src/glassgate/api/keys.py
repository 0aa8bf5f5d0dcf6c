"""/api/v1/keys: Glassgate keys for clients of proxy-held upstreams. Issuing and revoking need the admin role."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from glassgate.api.auth import require_admin_role
from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.storage import aws_keys, keys, projects

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


class Key(BaseModel):
    key_id: str
    project: str
    prefix: str = Field(description="The key's first characters, to recognise it; the key itself is never stored.")
    created_at: datetime
    revoked_at: datetime | None


class KeyList(BaseModel):
    data: list[Key]


class NewKey(BaseModel):
    project: Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            pattern=r"^\S(.*\S)?$",
            description="The project the key belongs to; created if new.",
        ),
    ]


class IssuedKey(BaseModel):
    key: str = Field(description="Shown this once: only its hash is stored.")
    key_id: str
    project: str
    prefix: str


@router.get("", response_model=KeyList, summary="List Glassgate keys, newest first")
async def list_keys(
    request: Request, project: Annotated[str | None, Query(description="Only this project's keys.")] = None
) -> dict[str, Any]:
    return {"data": await projects.list_keys(pool_of(request), project)}


@router.post(
    "",
    response_model=IssuedKey,
    status_code=201,
    summary="Issue a key (shown once)",
    dependencies=[Depends(require_admin_role)],
)
async def create_key(request: Request, new: NewKey) -> dict[str, Any]:
    issued = await keys.create_key(pool_of(request), new.project)
    return {"key": issued.key, "key_id": issued.key_id, "project": issued.project, "prefix": issued.key[:7]}


@router.delete(
    "/{key_id}",
    status_code=204,
    summary="Revoke a key or an AWS key pair (every replica refuses it within a second; 30 s at most)",
    dependencies=[Depends(require_admin_role)],
)
async def revoke_key(request: Request, key_id: str) -> Response:
    pool = pool_of(request)
    if key_id.startswith(aws_keys.ACCESS_KEY_PREFIX):
        revoked = await aws_keys.revoke_aws_key(pool, key_id)
    else:
        revoked = await keys.revoke_key(pool, key_id)
    if not revoked:
        raise Problem(404, "Key not found", f"no active key with id {key_id!r}")
    return Response(status_code=204)
