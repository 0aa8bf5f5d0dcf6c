"""The pools' connections, as PostgreSQL sees them."""

from __future__ import annotations

import pytest

from glassgate.storage import db


@pytest.mark.parametrize(
    ("for_writes", "name", "expected"),
    [
        (False, None, "glassgate"),
        (True, None, "glassgate-writer"),
        (False, db.INDEXER_APPLICATION_NAME, "glassgate-search-indexer"),
        (False, db.EMBEDDINGS_APPLICATION_NAME, "glassgate-embeddings"),
    ],
)
async def test_each_pool_names_its_connections_after_its_job(
    database_url: str, for_writes: bool, name: str | None, expected: str
) -> None:
    pool = await db.create_pool(database_url, for_writes=for_writes, max_size=1, name=name)
    try:
        for _ in range(2):  # the pool resets a returned connection: the name outlives it
            async with pool.acquire() as connection:
                assert await connection.fetchval("SHOW application_name") == expected
    finally:
        await pool.close()


async def test_a_name_the_operator_gave_in_the_url_is_kept(database_url: str) -> None:
    separator = "&" if "?" in database_url else "?"
    pool = await db.create_pool(f"{database_url}{separator}application_name=billing-proxy", max_size=1)
    try:
        assert await pool.fetchval("SHOW application_name") == "billing-proxy"
    finally:
        await pool.close()
