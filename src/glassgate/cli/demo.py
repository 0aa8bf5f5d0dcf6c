"""`glassgate demo`: fill an empty instance with simulated traffic through the real proxy, then exit."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from glassgate.config import Settings
from glassgate.demo import DEFAULT_CALLS
from glassgate.errors import GlassgateError
from glassgate.local_secrets import resolve_admin_token, token_file


def demo(
    config: Annotated[
        Path | None,
        typer.Option("--config", "-c", help="YAML config file (default: $GLASSGATE_CONFIG or ./glassgate.yaml)."),
    ] = None,
    calls: Annotated[int, typer.Option("--calls", min=1, max=100_000, help="How many calls to make.")] = DEFAULT_CALLS,
    force: Annotated[bool, typer.Option("--force", help="Add the demo traffic to an instance that has spans.")] = False,
) -> None:
    """Fill an empty instance with realistic traffic from a built-in simulated vendor (no vendor account needed)."""
    # main registers this command, so its helpers are imported when the command runs; the demo
    # itself (the app, uvicorn) loads only then too.
    from glassgate.cli.main import _prepared, _settings, err
    from glassgate.demo.traffic import has_spans, run_demo

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = _prepared(_settings(config))
    assert settings.database_url is not None
    if not force and asyncio.run(has_spans(settings.database_url)):
        err.print(
            "[red]error:[/red] this instance already has spans; the demo fills an empty one "
            "(--force adds the demo traffic anyway)",
            highlight=False,
        )
        raise typer.Exit(1)
    token, generated = resolve_admin_token(settings)
    columns = (TextColumn("demo traffic"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("calls", total=calls)
        try:
            result = asyncio.run(run_demo(settings, calls, on_call=lambda status: progress.advance(task)))
        except GlassgateError as exc:
            err.print(f"[red]error:[/red] {exc}", highlight=False)
            raise typer.Exit(3) from None
    err.print(f"{result.calls} calls in {result.seconds:.1f} s: {_statuses(result.statuses)}", highlight=False)
    err.print(f"{result.written} spans stored (upstreams demo-openai and demo-anthropic)", highlight=False)
    answered = result.calls - result.statuses[0]
    if result.written < answered:
        err.print(
            f"[yellow]warning:[/yellow] {result.written} of {answered} spans stored ({result.dropped} dropped); "
            "see the log above",
            highlight=False,
        )
    _where_to_look(err, settings, token, generated)


def _statuses(statuses: Counter[int]) -> str:
    names = {0: "no answer", 400: "400 (blocked by a guardrail)", 429: "429 (rate limited, retried)"}
    return ", ".join(f"{count} × {names.get(status, str(status))}" for status, count in sorted(statuses.items()))


def _where_to_look(err: Console, settings: Settings, token: str, generated: bool) -> None:
    scheme = "https" if settings.tls_cert else "http"
    err.print(
        f"Start Glassgate with `make run` (or `glassgate serve`), then open {scheme}://{settings.host}:{settings.port}/",
        highlight=False,
    )
    if settings.admin_token is not None:
        err.print("Admin token: the `admin_token` of your config", highlight=False)
    elif generated:
        err.print(f"Admin token (also in {token_file(settings)}): [bold]{token}[/bold]", highlight=False)
    else:
        err.print(f"Admin token: in {token_file(settings)}", highlight=False)
