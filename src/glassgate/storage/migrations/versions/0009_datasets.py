"""Datasets with versions, and their items.

Item rows are never changed in place: each edit, addition or deletion makes a new version of
the dataset, and an item row is valid from the version that wrote it until the version that
replaced or deleted it. Version N's items are the rows with valid_from <= N < valid_to, so an
experiment that pins a version sees exactly what it saw then, without copying the dataset.
Only `valid_to` is ever set on an existing row, once, when a later version replaces or deletes
it. Writers take the dataset row's lock, so concurrent changes get consecutive versions.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE datasets ("
        "dataset_id text PRIMARY KEY, "
        "name text NOT NULL UNIQUE, "
        "description text NOT NULL DEFAULT '', "
        "latest_version integer NOT NULL DEFAULT 0, "
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "updated_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute(
        "CREATE TABLE dataset_versions ("
        "dataset_id text NOT NULL REFERENCES datasets (dataset_id) ON DELETE CASCADE, "
        "version integer NOT NULL, "
        "note text NOT NULL DEFAULT '', "
        "author text NOT NULL DEFAULT '', "
        "item_count integer NOT NULL DEFAULT 0, "
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "PRIMARY KEY (dataset_id, version))"
    )
    op.execute(
        "CREATE TABLE dataset_items ("
        "item_id text NOT NULL, "
        "dataset_id text NOT NULL REFERENCES datasets (dataset_id) ON DELETE CASCADE, "
        "valid_from integer NOT NULL, "
        "valid_to integer, "  # NULL: still in the latest version
        "input jsonb NOT NULL, "
        "expected_output jsonb, "
        "metadata jsonb NOT NULL DEFAULT '{}', "
        "source_span_id text, "
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "PRIMARY KEY (item_id, valid_from))"
    )
    # Pages of a version walk the items in id order (ids sort by creation), filtering on validity.
    op.execute(
        "CREATE INDEX dataset_items_page_idx ON dataset_items (dataset_id, item_id, valid_from) INCLUDE (valid_to)"
    )
    op.execute(
        "CREATE INDEX dataset_items_source_idx ON dataset_items (source_span_id) WHERE source_span_id IS NOT NULL"
    )


def downgrade() -> None:
    op.execute("DROP TABLE dataset_items")
    op.execute("DROP TABLE dataset_versions")
    op.execute("DROP TABLE datasets")
