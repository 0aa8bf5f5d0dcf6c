"""GET /api/v1/upstreams: the configured upstreams, read-only.

Each field is copied out by name, never by dumping the config, so no credential (static
keys, client secrets, AWS secrets) can reach the answer, whatever auth types are added later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from glassgate.config import UpstreamConfig, Vendor

router = APIRouter(prefix="/api/v1/upstreams", tags=["upstreams"])

AuthType = Literal["passthrough", "static", "azure_service_principal", "azure_identity", "aws"]


class Upstream(BaseModel):
    name: str
    path: str = Field(description="Where clients send this upstream's calls, e.g. /openai.")
    vendor: Vendor
    url: str = Field(description="The base URL calls are forwarded to.")
    region: str | None = Field(description="AWS region (bedrock).")
    auth_type: AuthType = Field(
        description="passthrough: clients send their own vendor key; otherwise clients send a Glassgate key "
        "(or, with aws, sign with a Glassgate AWS key pair) and Glassgate sends its own credential."
    )


class UpstreamList(BaseModel):
    data: list[Upstream]


def upstream_json(name: str, upstream: UpstreamConfig) -> dict[str, Any]:
    return {
        "name": name,
        "path": f"/{name}",
        "vendor": upstream.vendor,
        "url": upstream.url,
        "region": upstream.region,
        "auth_type": upstream.auth.type,
    }


@router.get("", response_model=UpstreamList, summary="List the configured upstreams (never their credentials)")
async def list_upstreams(request: Request) -> dict[str, Any]:
    configured: Mapping[str, UpstreamConfig] = request.app.state.upstreams
    return {"data": [upstream_json(name, configured[name]) for name in sorted(configured)]}
