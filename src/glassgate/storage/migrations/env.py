"""Alembic environment: runs migrations over asyncpg against the URL the caller configured."""

from __future__ import annotations

import asyncio

import asyncpg
from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from glassgate.storage.db import asyncpg_dsn
from glassgate.storage.schema import metadata

# Any constant works; it only has to be the same in every replica.
_MIGRATION_LOCK_KEY = 0x676C617373  # "glass"


def _run(connection: Connection) -> None:
    context.configure(connection=connection, target_metadata=metadata, compare_type=True)
    with context.begin_transaction():
        # Replicas starting together migrate one at a time; the others then find nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY})
        context.run_migrations()


async def _run_async(url: str) -> None:
    # asyncpg reads the whole URL itself (sslmode, sslrootcert, host lists, ...), as the server's
    # pool does; SQLAlchemy would pass each query parameter on as a keyword asyncpg does not take.
    dsn = asyncpg_dsn(url)
    engine = create_async_engine("postgresql+asyncpg://", async_creator=lambda: asyncpg.connect(dsn))
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


asyncio.run(_run_async(context.config.get_main_option("sqlalchemy.url") or ""))
