"""`glassgate users create`: accounts for the web app, made on the server (the first admin, scripts)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from glassgate.storage import db, users
from glassgate.storage.users import Role

app = typer.Typer(no_args_is_help=True, help="Users of the web app.")
err = Console(stderr=True, soft_wrap=True)


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise _fail("--password-stdin: nothing was read from standard input")
        return line
    if not sys.stdin.isatty():
        raise _fail("there is no terminal to ask for the password: pass it with --password-stdin")
    typed: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    return typed


@app.command("create")
def create(
    email: Annotated[str, typer.Option(help="Sign-in email (unique, in any letter case).")],
    name: Annotated[str, typer.Option(help="Display name.")] = "",
    role: Annotated[
        Role | None, typer.Option(help="admin or member (default: admin for the first user, member after).")
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from the first line of standard input.")
    ] = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML config file (default: $GLASSGATE_CONFIG or ./glassgate.yaml)."),
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print the new user as JSON.")] = False,
) -> None:
    """Add a user; the password is asked for twice, or read with --password-stdin."""
    # Imported here: main imports this module to register the command.
    from glassgate.cli.main import _prepared, _settings

    email = email.strip()
    problem = users.email_problem(email)
    if problem is not None:
        raise _fail(problem)
    password = _read_password(password_stdin)
    problem = users.password_problem(password)
    if problem is not None:
        raise _fail(problem)
    settings = _prepared(_settings(config))

    async def add() -> users.User:
        assert settings.database_url is not None
        pool = await db.create_pool(settings.database_url)
        try:
            chosen: Role = role or ("member" if await users.any_users(pool) else "admin")
            return await users.create_user(
                pool, users.Passwords(), email=email, password=password, name=name, role=chosen
            )
        finally:
            await pool.close()

    try:
        user = asyncio.run(add())
    except users.UserRejected as exc:
        raise _fail(str(exc), 1) from None
    if json:
        fields = {"user_id": user.user_id, "email": user.email, "name": user.name, "role": user.role}
        sys.stdout.write(orjson.dumps(fields).decode() + "\n")
    else:
        err.print(f"created {user.role} {user.email} ({user.user_id})", highlight=False)
