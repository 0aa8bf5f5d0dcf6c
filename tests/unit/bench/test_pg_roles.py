"""bench.pg_roles: which of Glassgate's jobs a PostgreSQL process is doing."""

from __future__ import annotations

import pytest
from bench.pg_roles import role_of


@pytest.mark.parametrize(
    ("backend_type", "application_name", "query", "role"),
    [
        ("autovacuum worker", "", "", "autovacuum"),
        ("checkpointer", "", "", "background processes"),
        ("client backend", "glassgate-writer", "WITH s AS (INSERT INTO spans ...)", "span writer"),
        ("client backend", "glassgate-search-indexer", "COMMIT", "search indexer"),
        ("client backend", "glassgate-embeddings", "INSERT INTO span_embeddings (span_id, ...)", "embeddings worker"),
        ("client backend", "glassgate", "SELECT span_id FROM spans ORDER BY started_at DESC", "other queries"),
        ("client backend", "glassgate-key-events", "LISTEN glassgate_keys", "other queries"),
        ("client backend", "glassgate", "COMMIT", None),
        ("client backend", "glassgate", "SELECT pg_advisory_unlock_all();\nCLOSE ALL;", None),
        ("client backend", "glassgate", "", None),
    ],
)
def test_each_process_is_billed_to_its_job(
    backend_type: str, application_name: str, query: str, role: str | None
) -> None:
    assert role_of(backend_type, application_name, query) == role
