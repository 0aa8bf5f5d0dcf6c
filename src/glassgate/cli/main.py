"""Entry point: `glassgate serve | db migrate`, and the command groups of the modules beside this one."""

from __future__ import annotations

import logging
import signal
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from glassgate.cli import demo as demo_cli
from glassgate.cli import evals as evals_cli
from glassgate.cli import keys as keys_cli
from glassgate.cli import users as users_cli
from glassgate.cli.database import prepare_database
from glassgate.config import Settings, load_settings
from glassgate.errors import GlassgateError
from glassgate.local_secrets import resolve_admin_token, token_file
from glassgate.storage import db

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Glassgate: a transparent LLM proxy with tracing.")
db_app = typer.Typer(no_args_is_help=True, help="Database tasks.")
app.add_typer(db_app, name="db")
app.add_typer(keys_cli.app, name="keys")
app.add_typer(users_cli.app, name="users")
app.command("demo")(demo_cli.demo)
app.add_typer(evals_cli.app, name="eval")
app.command("worker")(evals_cli.worker)
err = Console(stderr=True, soft_wrap=True)  # messages stay on one line for logs and tests

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config file (default: $GLASSGATE_CONFIG or ./glassgate.yaml)."),
]


def _settings(config: Path | None, **overrides: Any) -> Settings:
    try:
        return load_settings(config, **overrides)
    except GlassgateError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(2) from None


def _prepared(settings: Settings, *, migrate: bool = True) -> Settings:
    try:
        return prepare_database(settings, migrate=migrate)
    except GlassgateError as exc:
        err.print(f"[red]error:[/red] {exc}", highlight=False)
        raise typer.Exit(3) from None


@app.command()
def serve(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Interface to listen on (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 4000).")] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(help="Serve HTTPS with this PEM certificate (needed for Bedrock API keys).")
    ] = None,
    tls_key: Annotated[Path | None, typer.Option(help="The certificate's PEM private key.")] = None,
    # The flags below are also settings (the config's `server:` section); given, a flag beats the config.
    log_level: Annotated[
        str | None, typer.Option(help="debug, info, warning or error (default: server.log_level, info).")
    ] = None,
    header_timeout: Annotated[
        float | None,
        typer.Option(
            help=(
                "Seconds a client may take to send a request's line and headers (default: server.header_timeout_s, 10)."
            )
        ),
    ] = None,
    body_timeout: Annotated[
        float | None,
        typer.Option(
            help=(
                "Seconds a client may take to send a request body (then 408), or leave its answer unread "
                "(default: server.body_timeout_s, 60)."
            ),
        ),
    ] = None,
    shutdown_delay: Annotated[
        float | None,
        typer.Option(
            help=(
                "After SIGTERM, seconds /readyz answers 503 while requests are still served, before the drain "
                "(default: server.shutdown_delay_s, 0)."
            ),
        ),
    ] = None,
) -> None:
    """Start the proxy, the API and the trace writer."""
    from glassgate import gc_policy, malloc_policy
    from glassgate.app import create_app
    from glassgate.cli import drain
    from glassgate.cli.http_deadlines import with_deadlines

    flags = {
        "log_level": log_level,
        "header_timeout_s": header_timeout,
        "body_timeout_s": body_timeout,
        "shutdown_delay_s": shutdown_delay,
    }
    malloc_policy.limit_arenas()  # first: before any thread allocates
    settings = _settings(config, host=host, port=port, tls_cert=tls_cert, tls_key=tls_key, server=flags)
    server = settings.server
    # Configured before the database is prepared: migrations and the embedded PostgreSQL log.
    logging.basicConfig(level=server.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _prepared(settings)
    if (settings.tls_cert is None) != (settings.tls_key is None):
        err.print("[red]error:[/red] tls_cert and tls_key go together", highlight=False)
        raise typer.Exit(2)
    scheme = "https" if settings.tls_cert else "http"
    token, generated = resolve_admin_token(settings)
    if generated:
        err.print(f"Admin token (also in {token_file(settings)}): [bold]{token}[/bold]", highlight=False)
    names = ", ".join(f"/{name} → {up.url}" for name, up in settings.upstreams.items())
    err.print(f"Glassgate on {scheme}://{settings.host}:{settings.port}  upstreams: {names}", highlight=False)
    logging.getLogger("uvicorn.error").addFilter(_drop_client_aborts)
    # uvicorn drains on SIGTERM, then re-raises the signal to whatever handler was there
    # before. With the default one the process would die without running atexit hooks,
    # leaving the embedded PostgreSQL running; exiting normally lets pgserver stop it.
    signal.signal(signal.SIGTERM, _exit_after_drain)
    application = create_app(settings)
    gc_policy.settle()  # everything imported by now lives as long as the process
    drain.run(  # uvicorn.run, with /readyz at 503 from SIGTERM on (cli/drain.py)
        application,
        shutdown_delay_s=server.shutdown_delay_s,
        host=settings.host,
        port=settings.port,
        loop="uvloop",
        # httptools, with deadlines: uvicorn alone lets a slow-loris hold a connection forever.
        http=with_deadlines(server.header_timeout_s, server.body_timeout_s),
        # Above the load balancer's idle timeout (server.keep_alive_s says why).
        timeout_keep_alive=server.keep_alive_s,
        lifespan="on",
        log_level=server.log_level,
        access_log=False,  # every call is traced; an access log would only duplicate it
        server_header=False,  # the upstream's own Server and Date headers are relayed
        date_header=False,
        proxy_headers=False,  # client addresses are not used; skip the per-request rewrite
        timeout_graceful_shutdown=server.graceful_shutdown_s,
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
    )


def _exit_after_drain(signum: int, frame: object) -> None:
    raise SystemExit(0)


def _drop_client_aborts(record: logging.LogRecord) -> bool:
    """A relayed upstream reset is reported by the proxy itself; the server's traceback is noise."""
    from glassgate.proxy.forward import ClientAbort

    return not (record.exc_info and isinstance(record.exc_info[1], ClientAbort))


@db_app.command("migrate")
def db_migrate(config: ConfigOption = None) -> None:
    """Create or upgrade the schema to the newest revision."""
    settings = _prepared(_settings(config))
    assert settings.database_url is not None
    err.print(f"database at {db.redact_url(settings.database_url)} is up to date", highlight=False)


def main() -> None:
    app()
