"""Where the database is: an embedded PostgreSQL under `data_dir`, or `database_url`.

Also runs the Alembic migrations, and turns driver errors into `DatabaseError` with a
message an operator can act on.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

import asyncpg

from glassgate.errors import DatabaseError

log = logging.getLogger(__name__)
_MIGRATIONS = Path(__file__).with_name("migrations")
# How the pools' connections show in pg_stat_activity (and Aurora's Performance Insights,
# which groups the database's load by it): the API's, and each background job's own.
APPLICATION_NAME = "glassgate"
WRITER_APPLICATION_NAME = "glassgate-writer"
INDEXER_APPLICATION_NAME = "glassgate-search-indexer"
EMBEDDINGS_APPLICATION_NAME = "glassgate-embeddings"
# What the driver raises when the database is down, restarting or unreachable. TimeoutError is
# an OSError. InternalClientError is asyncpg's own state check on a connection whose server went
# away mid-operation ("cannot switch to state 15; another operation (2) is in progress").
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
)


def start_embedded(data_dir: Path) -> str:
    """Start (or join) the embedded PostgreSQL under `data_dir/postgres`; return its URL."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
        warnings.simplefilter("ignore")
        import pgserver  # imported here: it is heavy, and only the embedded mode needs it
    logging.getLogger("pgserver").setLevel(logging.WARNING)  # it logs every pg_ctl call at INFO

    pgdata = (data_dir / "postgres").resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    try:
        server = pgserver.get_server(pgdata)
    except Exception as exc:  # pgserver raises bare exceptions from initdb/pg_ctl
        log_file = pgdata / "log"
        raise DatabaseError(f"the embedded PostgreSQL under {pgdata} failed to start ({exc}); see {log_file}") from exc
    url: str = server.get_uri()
    return url


def sqlalchemy_url(database_url: str) -> str:
    """The same database, addressed through SQLAlchemy's asyncpg dialect."""
    for prefix in ("postgresql://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql+asyncpg://" + database_url[len(prefix) :]
    return database_url


def asyncpg_dsn(database_url: str) -> str:
    """asyncpg wants `postgresql://`; SQLAlchemy-style URLs are accepted too."""
    return database_url.replace("postgresql+asyncpg://", "postgresql://", 1)


def migrate(database_url: str, revision: str = "head") -> None:
    """Bring the schema to the newest revision, or `revision` (idempotent; safe from many replicas)."""
    # Imported here: Alembic and SQLAlchemy take a second to import, and only this needs them.
    from alembic import command
    from alembic.config import Config as AlembicConfig

    # Alembic announces each of its plugins at INFO; only the migrations themselves matter.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    config = AlembicConfig()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", sqlalchemy_url(database_url).replace("%", "%%"))
    try:
        command.upgrade(config, revision)
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseError(f"cannot migrate the database at {redact_url(database_url)}: {exc}") from exc


async def check_connection(database_url: str, timeout_s: float = 10.0) -> None:
    """Fail fast, with a clear message, when the database cannot be reached at start."""
    try:
        connection = await asyncpg.connect(asyncpg_dsn(database_url), timeout=timeout_s)
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise DatabaseError(
            f"cannot connect to the database at {redact_url(database_url)}: {exc or type(exc).__name__}"
        ) from exc
    await connection.close()


async def create_pool(
    database_url: str, *, for_writes: bool = False, max_size: int = 8, name: str | None = None
) -> asyncpg.Pool:
    """A small pool for the API and the workers; the proxy never touches it.

    `for_writes`: the span writer's own pool, whose connections plan each statement once,
    generically (`plan_cache_mode`, a setting of the session that survives the pool's reset
    of a returned connection): storage.spans explains why that matters for batch inserts.
    Every other pool plans each query for its values (a filter's model, a chart's range).
    PostgreSQL's default would switch a statement run five times to a generic plan, made
    without them: 30 days of hourly dashboard points took 200 ms instead of 105 from the sixth
    chart on. Planning anew costs well under a millisecond.

    `name`: the connections' application_name (default: glassgate, or glassgate-writer).

    min_size=0: connections open on demand, so an outage does not start a background
    reconnect loop that logs a traceback every few seconds.
    """
    dsn = asyncpg_dsn(database_url)
    settings = {"plan_cache_mode": "force_generic_plan" if for_writes else "force_custom_plan"}
    if "application_name=" not in dsn:  # a name the operator gave in the URL is theirs to keep
        settings["application_name"] = name or (WRITER_APPLICATION_NAME if for_writes else APPLICATION_NAME)
    return await asyncpg.create_pool(
        dsn,
        min_size=0,
        max_size=max_size,
        command_timeout=30,
        timeout=10,
        server_settings=settings,
    )


def redact_url(database_url: str) -> str:
    """The URL without its password, for messages and logs."""
    from yarl import URL

    try:
        url = URL(database_url)
    except ValueError:
        return "<unparseable database_url>"
    return str(url.with_password("***")) if url.password else str(url)
