"""Resolve, check and migrate the database before anything serves."""

from __future__ import annotations

import asyncio
import multiprocessing
from multiprocessing.connection import Connection

from glassgate.config import Settings
from glassgate.errors import DatabaseError, GlassgateError
from glassgate.storage import db

_MIGRATION_TIMEOUT_S = 600


def prepare_database(settings: Settings, *, migrate: bool = True) -> Settings:
    """Start the embedded database if no URL is set, check it answers, migrate; return settings with the URL.

    The returned settings also say whether first-visit setup is on, when the config left it open:
    only Glassgate's own embedded database (a local install) allows it by default.
    """
    url = settings.database_url or db.start_embedded(settings.data_dir)
    asyncio.run(db.check_connection(url))
    if migrate:
        migrate_in_child(url)
    first_user_setup = settings.database_url is None if settings.first_user_setup is None else settings.first_user_setup
    return settings.model_copy(update={"database_url": url, "first_user_setup": first_user_setup})


def migrate_in_child(url: str) -> None:
    """Run the migrations in a forked child: Alembic and SQLAlchemy (~30 MB) never load in the server.

    The child leaves through multiprocessing's exit, which skips atexit hooks, so it cannot
    stop the embedded PostgreSQL that the parent started.
    """
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_migrate, args=(url, sender), name="glassgate-migrate")
    child.start()
    sender.close()
    try:
        problem = receiver.recv() if receiver.poll(_MIGRATION_TIMEOUT_S) else "the migrations did not finish in time"
    except EOFError:
        problem = "the migration process died"
    child.join(10)
    if problem is not None:
        raise DatabaseError(f"{problem} (exit code {child.exitcode})" if child.exitcode else str(problem))


def _migrate(url: str, sender: Connection) -> None:
    try:
        db.migrate(url)
    except GlassgateError as exc:
        sender.send(str(exc))
    except Exception as exc:  # noqa: BLE001 -- reported to the parent, which exits with the message
        sender.send(f"migration failed: {type(exc).__name__}: {exc}")
    else:
        sender.send(None)
