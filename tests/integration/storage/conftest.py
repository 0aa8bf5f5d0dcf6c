"""A pool on the test's own database, for the storage tests (some files override it with a seeded one)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from glassgate.storage import db


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    created = await db.create_pool(database_url)
    yield created
    await created.close()
