"""Users of the web app and their sign-in sessions.

Sessions live in the database (not only in a signed cookie) so that signing out, disabling a
user or changing a password ends them on every replica at once. Only a SHA-256 of the session
token is stored: the token is 256 random bits, so a fast hash is as safe as a slow one.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "CREATE TABLE users ("
        "user_id text PRIMARY KEY, "
        "email text NOT NULL, "
        "name text NOT NULL DEFAULT '', "
        "password_hash text NOT NULL, "
        "role text NOT NULL DEFAULT 'member' CHECK (role IN ('admin', 'member')), "
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "disabled_at timestamptz)"
    )
    op.execute("CREATE UNIQUE INDEX users_email_idx ON users (lower(email))")
    op.execute(
        "CREATE TABLE user_sessions ("
        "token_hash text PRIMARY KEY, "
        "user_id text NOT NULL REFERENCES users (user_id) ON DELETE CASCADE, "
        "created_at timestamptz NOT NULL DEFAULT now(), "
        "expires_at timestamptz NOT NULL, "
        "last_seen_at timestamptz NOT NULL DEFAULT now())"
    )
    op.execute("CREATE INDEX user_sessions_user_idx ON user_sessions (user_id)")
    op.execute("CREATE INDEX user_sessions_expires_idx ON user_sessions (expires_at)")


def downgrade() -> None:
    op.execute("DROP TABLE user_sessions")
    op.execute("DROP TABLE users")
