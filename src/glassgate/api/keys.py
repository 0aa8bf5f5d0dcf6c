"""/api/v1/keys: Glassgate keys and AWS key pairs for clients of proxy-held upstreams.

Listed together; issued here (Glassgate keys) or with `glassgate keys create [--aws]`; revoked
by either id. Issuing and revoking need the admin role.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from glassgate.api.auth import require_admin_role
from glassgate.api.problems import Problem
from glassgate.api.state import pool_of
from glassgate.storage import keys

router = APIRouter(prefix="/api/v1/keys", tags=["keys"])


class Key(BaseModel):
    """A Glassgate key: the bearer token of OpenAI-, Azure- and Anthropic-style clients."""

    kind: Literal["glassgate"]
    key_id: str = Field(description="The id that revokes it: `DELETE /api/v1/keys/{key_id}`.")
    project: str
    prefix: str = Field(description="The key's first characters, to recognise it; the key itself is never stored.")
    created_at: datetime
    revoked_at: datetime | None


class AwsKeyPair(BaseModel):
    """An AWS-style key pair for SigV4 clients (boto3), issued by `glassgate keys create --aws`."""

    kind: Literal["aws"]
    key_id: str = Field(description="The access key id again, so every listed key has the id that revokes it.")
    access_key_id: str = Field(description="Not a secret; the secret access key is never shown after issuing.")
    project: str
    created_at: datetime
    revoked_at: datetime | None


class KeyList(BaseModel):
    data: list[Annotated[Key | AwsKeyPair, Field(discriminator="kind")]] = Field(
        description="Glassgate keys and AWS key pairs together, newest first; `kind` tells them apart."
    )


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


@router.get("", response_model=KeyList, summary="List Glassgate keys and AWS key pairs, newest first")
async def list_keys(
    request: Request, project: Annotated[str | None, Query(description="Only this project's keys.")] = None
) -> KeyList:
    listed = await keys.list_client_keys(pool_of(request), project)
    return KeyList.model_validate({"data": listed}, from_attributes=True)


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
    # This replica's caches forget the key at once; the others hear of it through PostgreSQL.
    events = getattr(request.app.state, "key_events", None)
    if not await keys.revoke_client_key(pool_of(request), key_id, events):
        raise Problem(404, "Key not found", f"no active key with id {key_id!r}")
    return Response(status_code=204)
