"""Session-wide real services: one embedded PostgreSQL (pgvector included) and a migrated template."""

from __future__ import annotations

import itertools
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from glassgate.storage import db
from tests.harness import create_database

_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded PostgreSQL's admin URL, for this test session only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pgserver
    data = tmp_path_factory.mktemp("pg")
    server = pgserver.get_server(Path(data), cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


@pytest.fixture(scope="session")
def template_database(postgres_url: str) -> str:
    """A database migrated once; tests clone it (milliseconds) instead of migrating again."""
    url = create_database(postgres_url, "glassgate_template")
    db.migrate(url)
    return "glassgate_template"


@pytest.fixture
def database_url(postgres_url: str, template_database: str) -> str:
    """A fresh, migrated database for one test."""
    return create_database(postgres_url, f"test_{next(_counter)}", template=template_database)
