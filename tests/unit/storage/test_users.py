"""The password and email rules (pure)."""

from __future__ import annotations

import pytest

from glassgate.storage.users import email_problem, hash_token, password_problem


def test_passwords_need_eight_characters_and_no_more_than_1024() -> None:
    assert password_problem("1234567") == "the password must have at least 8 characters"
    assert password_problem("12345678") is None
    assert password_problem("é" * 1024) is None
    assert password_problem("x" * 1025) == "the password must have at most 1024 characters"


@pytest.mark.parametrize("email", ["ada@example.com", "Ada.Lovelace+gg@example.co.uk", "a@b"])
def test_email_shapes_accepted(email: str) -> None:
    assert email_problem(email) is None


@pytest.mark.parametrize("email", ["", "ada", "@example.com", "ada@", "ada @example.com", "a@" + "b" * 320])
def test_email_shapes_refused(email: str) -> None:
    assert email_problem(email) is not None


def test_only_a_digest_of_the_token_is_kept() -> None:
    digest = hash_token("token")
    assert len(digest) == 64 and "token" not in digest
