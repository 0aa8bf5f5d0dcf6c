"""What the API routes need from the running app, reached through the request."""

from __future__ import annotations

import asyncpg
from fastapi import Request

from glassgate.errors import DatabaseError


def pool_of(request: Request) -> asyncpg.Pool:
    pool: asyncpg.Pool | None = getattr(request.app.state, "pool", None)
    if pool is None:
        raise DatabaseError("the database is not connected yet")
    return pool
