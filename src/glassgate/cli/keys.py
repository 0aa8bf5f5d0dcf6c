"""`glassgate keys create | list | revoke`: the keys clients of proxy-held upstreams present.

Each command works on the database the config names, or on the embedded one, as `serve` does.
Only `create` prints a secret, once; `list` and `revoke` print ids, prefixes, projects and
dates. Data goes to standard output (a table, or JSON with --json), messages to standard error.
Exit codes: 1 no such key (or already revoked), 2 bad config or arguments, 3 database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, TypeVar

import asyncpg
import orjson
import typer
from rich.console import Console

from glassgate.config import Settings
from glassgate.local_secrets import resolve_secret_key
from glassgate.storage import aws_keys, db, keys

app = typer.Typer(no_args_is_help=True, help="Glassgate keys and AWS key pairs for clients of proxy-held upstreams.")
err = Console(stderr=True, soft_wrap=True)  # messages stay on one line for logs and tests
T = TypeVar("T")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config file (default: $GLASSGATE_CONFIG or ./glassgate.yaml)."),
]


def _fail(message: str, code: int) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _prepared_settings(config: Path | None) -> Settings:
    # Imported here: main imports this module to register the commands.
    from glassgate.cli.main import _prepared, _settings

    return _prepared(_settings(config))


def _with_pool(settings: Settings, work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    async def run() -> T:
        assert settings.database_url is not None
        pool = await db.create_pool(settings.database_url)
        try:
            return await work(pool)
        finally:
            await pool.close()

    return asyncio.run(run())


def _write_json(value: object) -> None:
    sys.stdout.write(orjson.dumps(value).decode() + "\n")


def _as_json(key: keys.ClientKey) -> dict[str, object]:
    return dataclasses.asdict(key)  # not orjson's own dataclass support: it leaves out `kind` (not an init field)


@app.command("create")
def create(
    project: Annotated[str, typer.Option(help="Project the key belongs to (created if new).")],
    config: ConfigOption = None,
    json: Annotated[bool, typer.Option("--json", help='Print {"key": ...} as JSON.')] = False,
    aws: Annotated[
        bool, typer.Option("--aws", help="An AWS-style key pair for SigV4 clients (boto3, AnthropicBedrock).")
    ] = False,
) -> None:
    """Issue a Glassgate key. Shown once; only its hash (AWS pairs: the encrypted secret) is stored."""
    settings = _prepared_settings(config)
    if aws:
        _issue_aws_key(settings, project, json)
        return
    issued = _with_pool(settings, lambda pool: keys.create_key(pool, project))
    if json:
        _write_json({"key": issued.key, "key_id": issued.key_id, "project": project})
    else:
        err.print(f"key {issued.key_id} for project {project!r} (shown once, store it now):", highlight=False)
        sys.stdout.write(issued.key + "\n")


def _issue_aws_key(settings: Settings, project: str, as_json: bool) -> None:
    cipher = aws_keys.cipher_for(resolve_secret_key(settings))
    issued = _with_pool(settings, lambda pool: aws_keys.create_aws_key(pool, project, cipher))
    if as_json:
        _write_json(
            {"access_key_id": issued.access_key_id, "secret_access_key": issued.secret_access_key, "project": project}
        )
    else:
        err.print(f"AWS key pair for project {project!r} (the secret is shown once, store it now):", highlight=False)
        sys.stdout.write(
            f"AWS_ACCESS_KEY_ID={issued.access_key_id}\nAWS_SECRET_ACCESS_KEY={issued.secret_access_key}\n"
        )


@app.command("list")
def list_keys(
    project: Annotated[str | None, typer.Option(help="Only this project's keys.")] = None,
    config: ConfigOption = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON in the shape of GET /api/v1/keys.")] = False,
) -> None:
    """List Glassgate keys and AWS key pairs, newest first (revoked ones too); never a secret."""
    settings = _prepared_settings(config)
    listed = _with_pool(settings, lambda pool: keys.list_client_keys(pool, project))
    if json:
        _write_json({"data": [_as_json(key) for key in listed]})
    elif not listed:
        err.print(f"no keys for project {project!r}" if project else "no keys yet", highlight=False)
    else:
        sys.stdout.write(key_table(listed))


@app.command("revoke")
def revoke(
    key_id: Annotated[
        str, typer.Argument(metavar="ID", help="A Glassgate key id (key_…) or an AWS access key id (AKGG…).")
    ],
    config: ConfigOption = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print the revoked key as JSON, as GET /api/v1/keys lists it.")
    ] = False,
) -> None:
    """Revoke a key or an AWS key pair: every running replica refuses it within a second (30 s at most)."""
    if key_id.startswith(keys.KEY_PREFIX):
        # Never echoed: this is the secret itself, and error output ends up in logs.
        raise _fail("that is a key, not a key id; `glassgate keys list` shows the ids", 2)
    settings = _prepared_settings(config)
    revoked, found = _with_pool(settings, lambda pool: _revoke(pool, key_id))
    if found is None:
        raise _fail(f"no key with id {key_id!r}", 1)
    if not revoked:
        assert found.revoked_at is not None
        raise _fail(f"key {key_id!r} was already revoked at {_timestamp(found.revoked_at)}", 1)
    if json:
        _write_json(_as_json(found))
    else:
        err.print(f"revoked {_kind_name(found)} {key_id} of project {found.project!r}", highlight=False)


async def _revoke(pool: asyncpg.Pool, key_id: str) -> tuple[bool, keys.ClientKey | None]:
    """Whether this call revoked it, and the key as it now stands (to tell "unknown" from "already revoked")."""
    revoked = await keys.revoke_client_key(pool, key_id)
    return revoked, await keys.find_client_key(pool, key_id)


def key_table(listed: Sequence[keys.ClientKey]) -> str:
    """Aligned columns for a terminal; `-` stands for "none" (no prefix, not revoked)."""
    header = ("ID", "KIND", "PROJECT", "PREFIX", "CREATED", "REVOKED")
    rows = [header, *(_row(key) for key in listed)]
    widths = [max(len(row[column]) for row in rows) for column in range(len(header))]
    lines = ("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows)
    return "".join(line + "\n" for line in lines)


def _row(key: keys.ClientKey) -> tuple[str, str, str, str, str, str]:
    prefix = key.prefix if isinstance(key, keys.ListedKey) else "-"
    revoked = _timestamp(key.revoked_at) if key.revoked_at is not None else "-"
    return (key.key_id, key.kind, key.project, prefix, _timestamp(key.created_at), revoked)


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kind_name(key: keys.ClientKey) -> str:
    return "AWS key pair" if isinstance(key, aws_keys.ListedAwsKey) else "key"
