"""`glassgate keys list` as a table: both kinds of key in aligned columns, times in UTC, never a secret."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from glassgate.cli.keys import key_table
from glassgate.storage.aws_keys import ListedAwsKey
from glassgate.storage.keys import ListedKey

CREATED = datetime(2025, 3, 1, 9, 30, 5, 123456, tzinfo=UTC)


def test_both_kinds_in_aligned_columns() -> None:
    glassgate_key = ListedKey(
        key_id="key_0123456789ab", project="checkout", prefix="gg-AbCd", created_at=CREATED, revoked_at=None
    )
    pair = ListedAwsKey(
        key_id="AKGGABCDEFGHIJKLMNOP",
        access_key_id="AKGGABCDEFGHIJKLMNOP",
        project="bedrock team",
        created_at=CREATED - timedelta(days=1),
        revoked_at=CREATED,
    )
    assert key_table([glassgate_key, pair]).splitlines() == [
        "ID                    KIND       PROJECT       PREFIX   CREATED               REVOKED",
        "key_0123456789ab      glassgate  checkout      gg-AbCd  2025-03-01T09:30:05Z  -",
        "AKGGABCDEFGHIJKLMNOP  aws        bedrock team  -        2025-02-28T09:30:05Z  2025-03-01T09:30:05Z",
    ]


def test_times_are_shown_in_utc_whatever_the_session_time_zone() -> None:
    paris = timezone(timedelta(hours=1))
    key = ListedKey(key_id="key_x", project="p", prefix="gg-x", created_at=CREATED.astimezone(paris), revoked_at=None)
    assert "2025-03-01T09:30:05Z" in key_table([key])
