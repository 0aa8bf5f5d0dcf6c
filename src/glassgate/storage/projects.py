"""Projects and the keys issued for them, as the management API lists them (issuing is in keys.py)."""

from __future__ import annotations

from typing import Any

import asyncpg


async def list_projects(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Every project with its count of active and revoked keys (Glassgate keys and AWS key pairs)."""
    async with pool.acquire() as connection:
        records = await connection.fetch(
            "SELECT p.name, p.created_at, k.active AS keys_active, k.revoked AS keys_revoked, "
            "a.active AS aws_active, a.revoked AS aws_revoked FROM projects p "
            "CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE revoked_at IS NULL) AS active, "
            "count(*) FILTER (WHERE revoked_at IS NOT NULL) AS revoked FROM api_keys WHERE project = p.name) k "
            "CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE revoked_at IS NULL) AS active, "
            "count(*) FILTER (WHERE revoked_at IS NOT NULL) AS revoked FROM aws_keys WHERE project = p.name) a "
            "ORDER BY p.name"
        )
    return [
        {
            "name": record["name"],
            "created_at": record["created_at"],
            "keys": {"active": record["keys_active"], "revoked": record["keys_revoked"]},
            "aws_keys": {"active": record["aws_active"], "revoked": record["aws_revoked"]},
        }
        for record in records
    ]
