"""`glassgate keys list | revoke` as an operator runs them: on the configured database, or the embedded
one without a URL; ids, prefixes and dates shown, secrets never; unknown ids fail naming the id.

(`keys create` is in test_cli.py; a revocation reaching a running server is in
test_key_revocation_across_replicas.py.)
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_cli import glassgate


class Keys:
    """The keys commands with one environment, and every secret they have printed (to check none comes back)."""

    def __init__(self, tmp_path: Path, env: dict[str, str]) -> None:
        self.tmp_path = tmp_path
        self.env = env
        self.secrets: list[str] = []

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = glassgate("keys", *args, cwd=self.tmp_path, env=self.env)
        leaked = [secret for secret in self.secrets if secret in result.stdout + result.stderr]
        assert not leaked, f"`keys {' '.join(args)}` printed a secret"
        return result

    def ok(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.run(*args)
        assert result.returncode == 0, result.stderr
        return result

    def create(self, project: str, *, aws: bool = False) -> str:
        """Issue a key; return its id."""
        flags = ["--json", "--aws"] if aws else ["--json"]
        issued: dict[str, str] = json.loads(self.ok("create", "--project", project, *flags).stdout)
        if aws:
            self.secrets.append(issued["secret_access_key"])
            return issued["access_key_id"]
        self.secrets.append(issued["key"])
        return issued["key_id"]

    def listed(self, *args: str) -> list[dict[str, Any]]:
        data: list[dict[str, Any]] = json.loads(self.ok("list", "--json", *args).stdout)["data"]
        return data


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Keys:
    return Keys(tmp_path, {"GLASSGATE_DATABASE_URL": database_url, "GLASSGATE_DATA_DIR": str(tmp_path)})


def test_list_shows_both_kinds_newest_first_without_secrets(cli: Keys) -> None:
    pair_id = cli.create("bedrock-team", aws=True)
    key_id = cli.create("checkout")
    newest, oldest = cli.listed()
    assert newest == {
        "kind": "glassgate",
        "key_id": key_id,
        "project": "checkout",
        "prefix": newest["prefix"],
        "created_at": newest["created_at"],
        "revoked_at": None,
    }
    assert newest["prefix"].startswith("gg-") and len(newest["prefix"]) == 7
    assert oldest == {
        "kind": "aws",
        "key_id": pair_id,
        "access_key_id": pair_id,
        "project": "bedrock-team",
        "created_at": oldest["created_at"],
        "revoked_at": None,
    }
    assert [key["key_id"] for key in cli.listed("--project", "checkout")] == [key_id]
    table = cli.ok("list").stdout.splitlines()
    assert table[0].split() == ["ID", "KIND", "PROJECT", "PREFIX", "CREATED", "REVOKED"]
    assert [line.split()[:3] for line in table[1:]] == [
        [key_id, "glassgate", "checkout"],
        [pair_id, "aws", "bedrock-team"],
    ]


def test_an_empty_list_says_so_on_stderr_and_prints_no_rows(cli: Keys) -> None:
    empty = cli.ok("list", "--project", "nobody")
    assert empty.stdout == "" and "no keys for project 'nobody'" in empty.stderr
    assert cli.listed("--project", "nobody") == []


def test_revoke_a_key_and_a_pair_by_their_ids(cli: Keys) -> None:
    key_id = cli.create("checkout")
    pair_id = cli.create("bedrock-team", aws=True)
    revoked = json.loads(cli.ok("revoke", key_id, "--json").stdout)
    assert revoked["key_id"] == key_id and revoked["kind"] == "glassgate" and revoked["revoked_at"] is not None
    pair = cli.ok("revoke", pair_id)
    assert pair.stdout == "" and f"revoked AWS key pair {pair_id} of project 'bedrock-team'" in pair.stderr
    assert all(key["revoked_at"] is not None for key in cli.listed())

    again = cli.run("revoke", key_id)
    assert again.returncode == 1 and f"key '{key_id}' was already revoked at " in again.stderr


@pytest.mark.parametrize("unknown", ["key_000000000000", "AKGGNOSUCHKEY2345678", "anything-else"])
def test_revoking_an_unknown_id_fails_naming_it(cli: Keys, unknown: str) -> None:
    result = cli.run("revoke", unknown)
    assert result.returncode == 1 and f"no key with id '{unknown}'" in result.stderr


def test_a_key_given_instead_of_its_id_is_refused_without_echoing_it(cli: Keys) -> None:
    cli.create("checkout")
    result = cli.run("revoke", cli.secrets[0])  # run() fails the test if the key comes back
    assert result.returncode == 2 and "that is a key, not a key id" in result.stderr
    assert cli.listed()[0]["revoked_at"] is None


def test_without_a_database_url_the_commands_use_the_embedded_database(tmp_path: Path) -> None:
    cli = Keys(tmp_path, {"GLASSGATE_DATA_DIR": str(tmp_path)})
    key_id = cli.create("checkout")
    assert [key["key_id"] for key in cli.listed()] == [key_id]
    cli.ok("revoke", key_id)
    assert cli.listed()[0]["revoked_at"] is not None
    assert (tmp_path / "postgres").is_dir()
