"""The FastAPI application for /api/v1: authentication, routers, problem+json."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Depends, FastAPI

from glassgate.api import (
    annotation_queues,
    conversation,
    datasets,
    evals,
    keys,
    projects,
    score_configs,
    session,
    sessions,
    similar,
    spans,
    stats,
    traces,
    users,
)
from glassgate.api import annotations as annotation_routes  # `annotations` is a __future__ name
from glassgate.api import upstreams as upstream_list  # `upstreams` is create_api's parameter
from glassgate.api.auth import current_principal
from glassgate.api.problem_docs import document_problems
from glassgate.api.problems import install_problem_handlers
from glassgate.api.query_names import refuse_unknown_query_names
from glassgate.api.request_bodies import RequestBodies
from glassgate.api.session import LoginThrottle
from glassgate.config import UpstreamConfig
from glassgate.storage.users import Passwords, Sessions

# Every router here requires a caller (admin token or signed-in user).
AUTHENTICATED_ROUTERS: list[APIRouter] = [
    spans.router,
    traces.router,
    stats.router,
    users.router,
    keys.router,
    upstream_list.router,
    projects.router,
    score_configs.router,
    annotation_routes.router,
    annotation_queues.router,
    conversation.router,
    datasets.router,
    sessions.router,
    similar.router,
    evals.router,
]


def create_api(
    admin_token: str,
    *,
    upstreams: Mapping[str, UpstreamConfig] | None = None,
    allow_first_user_setup: bool = False,
) -> FastAPI:
    """The API app; `allow_first_user_setup` lets the first visitor create the admin account (api/session.py)."""
    api = FastAPI(
        title="Glassgate API",
        version="1",
        openapi_url="/api/v1/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    api.state.admin_token = admin_token.encode()
    api.state.upstreams = dict(upstreams or {})
    api.state.allow_first_user_setup = allow_first_user_setup
    api.state.passwords = Passwords()
    api.state.sessions = Sessions()
    api.state.login_throttle = LoginThrottle()
    install_problem_handlers(api)
    api.add_middleware(RequestBodies)  # bounded bodies, JSON that storage can keep
    # signing in cannot require being signed in
    api.include_router(session.router, dependencies=[Depends(refuse_unknown_query_names)])
    for router in AUTHENTICATED_ROUTERS:
        api.include_router(router, dependencies=[Depends(current_principal), Depends(refuse_unknown_query_names)])
    document_problems(api)
    return api
