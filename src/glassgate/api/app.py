"""The FastAPI application for /api/v1: authentication, routers, problem+json."""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI

from glassgate.api import spans, stats, traces
from glassgate.api.auth import current_principal
from glassgate.api.problems import install_problem_handlers

# Every router here requires a caller (admin token or signed-in user).
AUTHENTICATED_ROUTERS: list[APIRouter] = [
    spans.router,
    traces.router,
    stats.router,
]


def create_api(admin_token: str) -> FastAPI:
    api = FastAPI(
        title="Glassgate API",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    api.state.admin_token = admin_token.encode()
    install_problem_handlers(api)
    for router in AUTHENTICATED_ROUTERS:
        api.include_router(router, dependencies=[Depends(current_principal)])
    return api
