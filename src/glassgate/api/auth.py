"""Who is calling the management API: the admin token (automation) or a signed-in user."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal

from fastapi import Request

from glassgate.api.problems import Problem


@dataclass(frozen=True)
class Principal:
    kind: Literal["admin_token", "user"]
    user_id: str | None = None
    email: str | None = None
    role: Literal["admin", "member"] = "admin"

    @property
    def author(self) -> str:
        """The name recorded on what this caller writes (annotations, dataset versions)."""
        return self.email or "admin-token"


def _unauthorized(detail: str) -> Problem:
    return Problem(401, "Unauthorized", detail, {"www-authenticate": "Bearer"})


async def current_principal(request: Request) -> Principal:
    """The caller, from `Authorization: Bearer <admin token>`; 401 problem+json otherwise."""
    expected: bytes = request.app.state.admin_token
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("send Authorization: Bearer <admin token>")
    if not hmac.compare_digest(token.strip().encode(), expected):
        raise _unauthorized("the admin token is not valid")
    return Principal(kind="admin_token")
