"""The CLI as an operator meets it: bad config and an absent database fail fast and say why."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.harness import free_port


def glassgate(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    process_env = {key: value for key, value in os.environ.items() if not key.startswith("GLASSGATE_")}
    process_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "glassgate", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=process_env,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"upstreams": {"az": {"vendor": "azure"}}}, "upstreams.az: Value error, url is required for vendor 'azure'"),
        ({"upstreams": {"x": {"vendor": "gemini"}}}, "upstreams.x.vendor"),
        ({"upstreams": {"api": {"vendor": "openai"}}}, "upstream name 'api' is reserved"),
        ({"upstreams": {"o": {"vendor": "openai", "url": "ftp://h"}}}, "must be an absolute http(s) URL"),
        (
            {"upstreams": {"o": {"vendor": "openai", "auth": {"type": "static"}}}},
            "upstreams.o.auth.static.key: Field required",
        ),
        ({"port": "eighty"}, "port: Input should be a valid integer"),
        ({"database_url": "mysql://x"}, "database_url: Value error, database_url must start with postgresql://"),
        (
            {"upstreams": {"o": {"vendor": "openai", "auth": {"type": "static", "key": "${NOT_SET_ANYWHERE}"}}}},
            "${NOT_SET_ANYWHERE}",
        ),
        ({"unknown_field": 1}, "unknown_field: Extra inputs are not permitted"),
    ],
)
def test_invalid_config_exits_non_zero_naming_the_field(
    tmp_path: Path, config: dict[str, object], expected: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(config))
    result = glassgate("serve", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2
    assert expected in result.stderr


def test_env_override_is_validated_too(tmp_path: Path) -> None:
    result = glassgate("serve", cwd=tmp_path, env={"GLASSGATE_PORT": "not-a-port"})
    assert result.returncode == 2 and "port" in result.stderr


def test_unreadable_yaml_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("upstreams: [unclosed")
    result = glassgate("serve", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2 and "not valid YAML" in result.stderr


def test_database_down_at_start_is_a_clear_error(tmp_path: Path) -> None:
    url = f"postgresql://glassgate:secret-password@127.0.0.1:{free_port()}/glassgate"
    result = glassgate("serve", cwd=tmp_path, env={"GLASSGATE_DATABASE_URL": url, "GLASSGATE_DATA_DIR": str(tmp_path)})
    assert result.returncode == 3
    assert "cannot connect to the database at postgresql://glassgate:***@127.0.0.1" in result.stderr
    assert "secret-password" not in result.stderr + result.stdout


def test_migrate_and_issue_keys(tmp_path: Path, database_url: str) -> None:
    env = {"GLASSGATE_DATABASE_URL": database_url, "GLASSGATE_DATA_DIR": str(tmp_path)}
    migrated = glassgate("db", "migrate", cwd=tmp_path, env=env)
    assert migrated.returncode == 0 and "up to date" in migrated.stderr
    first = glassgate("keys", "create", "--project", "p1", "--json", cwd=tmp_path, env=env)
    second = glassgate("keys", "create", "--project", "p1", cwd=tmp_path, env=env)
    assert first.returncode == 0 and second.returncode == 0
    issued = json.loads(first.stdout)
    assert issued["key"].startswith("gg-") and issued["project"] == "p1"
    assert second.stdout.strip().startswith("gg-") and second.stdout.strip() != issued["key"]


def test_migrate_takes_the_url_query_parameters_the_server_does(tmp_path: Path, database_url: str) -> None:
    # Aurora guides put sslmode in the URL; the migrations must connect with it as the pool does.
    url = f"{database_url}&sslmode=disable" if "?" in database_url else f"{database_url}?sslmode=disable"
    env = {"GLASSGATE_DATABASE_URL": url, "GLASSGATE_DATA_DIR": str(tmp_path)}
    migrated = glassgate("db", "migrate", cwd=tmp_path, env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stderr


def test_replicas_migrating_at_once_do_not_collide(tmp_path: Path, postgres_url: str) -> None:
    from tests.harness import create_database

    url = create_database(postgres_url, "concurrent_migrations")
    env = {"GLASSGATE_DATABASE_URL": url, "GLASSGATE_DATA_DIR": str(tmp_path)}
    import os

    process_env = {**os.environ, **env}
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "glassgate", "db", "migrate"], cwd=tmp_path, env=process_env, stderr=subprocess.PIPE
        )
        for _ in range(3)
    ]
    outputs = [process.communicate(timeout=120)[1] for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], outputs


def glassgate_with_input(*args: str, stdin: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    process_env = {key: value for key, value in os.environ.items() if not key.startswith("GLASSGATE_")}
    process_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "glassgate", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=process_env,
        timeout=120,
    )


def test_users_create_makes_the_first_user_an_admin(tmp_path: Path, database_url: str) -> None:
    import asyncio

    from glassgate.storage import db, users

    env = {"GLASSGATE_DATABASE_URL": database_url, "GLASSGATE_DATA_DIR": str(tmp_path)}
    create = ("users", "create", "--password-stdin", "--json")
    first = glassgate_with_input(*create, "--email", "ada@example.com", stdin="s3cret-enough\n", cwd=tmp_path, env=env)
    assert first.returncode == 0, first.stderr
    assert json.loads(first.stdout)["role"] == "admin"
    second = glassgate_with_input(
        *create, "--email", "bob@example.com", "--name", "Bob", stdin="another-one\n", cwd=tmp_path, env=env
    )
    assert second.returncode == 0 and json.loads(second.stdout) | {"user_id": ""} == {
        "user_id": "",
        "email": "bob@example.com",
        "name": "Bob",
        "role": "member",
    }
    taken = glassgate_with_input(*create, "--email", "ADA@example.com", stdin="s3cret-enough\n", cwd=tmp_path, env=env)
    assert taken.returncode == 1 and "exists already" in taken.stderr

    async def signs_in() -> bool:
        pool = await db.create_pool(database_url)
        try:
            return await users.authenticate(pool, users.Passwords(), "ada@example.com", "s3cret-enough") is not None
        finally:
            await pool.close()

    assert asyncio.run(signs_in())


def test_users_create_refuses_a_short_password_or_no_way_to_ask(tmp_path: Path) -> None:
    env = {"GLASSGATE_DATA_DIR": str(tmp_path)}
    short = glassgate_with_input(
        "users", "create", "--email", "a@example.com", "--password-stdin", stdin="short\n", cwd=tmp_path, env=env
    )
    assert short.returncode == 2 and "at least 8 characters" in short.stderr
    no_terminal = glassgate_with_input("users", "create", "--email", "a@example.com", stdin="", cwd=tmp_path, env=env)
    assert no_terminal.returncode == 2 and "--password-stdin" in no_terminal.stderr
