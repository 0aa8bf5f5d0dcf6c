"""The FastAPI application for /api/v1: authentication, routers, problem+json."""

from __future__ import annotations

import hmac

from fastapi import Depends, FastAPI, Request

from glassgate.api import spans, stats, traces
from glassgate.api.problems import Problem, install_problem_handlers


def create_api(admin_token: str) -> FastAPI:
    expected = admin_token.encode()

    async def require_admin(request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Problem(
                401, "Unauthorized", "send Authorization: Bearer <admin token>", {"www-authenticate": "Bearer"}
            )
        if not hmac.compare_digest(token.strip().encode(), expected):
            raise Problem(401, "Unauthorized", "the admin token is not valid", {"www-authenticate": "Bearer"})

    api = FastAPI(
        title="Glassgate API",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    install_problem_handlers(api)
    api.include_router(spans.router, dependencies=[Depends(require_admin)])
    api.include_router(traces.router, dependencies=[Depends(require_admin)])
    api.include_router(stats.router, dependencies=[Depends(require_admin)])
    return api
