"""`glassgate eval run` (an experiment from the command line) and `glassgate worker` (evaluation jobs).

    glassgate eval run --dataset qa --target openai:gpt-4o-mini --evaluator exact_match \\
        --evaluator 'contains:{"value": "Paris"}' --evaluator correctness --concurrency 8 --stream

creates (or reuses) the evaluators, creates an experiment pinned to the dataset's version,
starts a run, works on it with a worker of its own (any other worker helps), shows a
progress bar, and ends with a table per evaluator (mean score, items scored, errors), the
run's cost and its latency p50/p95 (with `--stream`, the target's answers are streamed and
their time to first token p50/p95 is shown too). Target and judge calls go through the
Glassgate server the config names (it must be running): they are traced like any call.

`glassgate worker` runs the evaluation worker on its own (on another host: point
`evals.proxy_url` at the server) until SIGTERM or Ctrl-C, then lets its jobs finish.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import asyncpg
import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from glassgate.config import Settings
from glassgate.evals import base, runner, target
from glassgate.evals.jobs import evaluation_worker
from glassgate.storage import datasets, db, eval_compare, eval_runs
from glassgate.storage import evals as store
from glassgate.storage.annotation_errors import Conflict, Invalid, NotFound

app = typer.Typer(no_args_is_help=True, help="Evaluation: experiments on datasets.")
err = Console(stderr=True, soft_wrap=True)
out = Console(soft_wrap=True)
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config file (default: $GLASSGATE_CONFIG or ./glassgate.yaml)."),
]
_FINISHED = ("completed", "cancelled", "stopped_cost_ceiling")


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[red]error:[/red] {message}", highlight=False)
    return typer.Exit(code)


def _prepared_settings(config: Path | None) -> Settings:
    # Imported here: main imports this module to register the commands.
    from glassgate.cli.main import _prepared, _settings

    return _prepared(_settings(config))


@app.command("run")
def run(
    dataset: Annotated[str, typer.Option(help="The dataset's name.")],
    target_spec: Annotated[str, typer.Option("--target", help="UPSTREAM:MODEL, e.g. openai:gpt-4o-mini.")],
    evaluator: Annotated[
        list[str],
        typer.Option(help="NAME or NAME:JSON-PARAMS (a stored evaluator, or a type to create); repeatable."),
    ],
    version: Annotated[int | None, typer.Option(help="The dataset version (default: the latest).")] = None,
    prompt_template: Annotated[
        Path | None,
        typer.Option(help="A template file: text (one user message) or a JSON list of {role, content} messages."),
    ] = None,
    concurrency: Annotated[int, typer.Option(min=1, help="Items in flight at once, across all workers.")] = 8,
    cost_ceiling: Annotated[
        float | None, typer.Option(min=0, help="Stop starting items once the run cost this (USD).")
    ] = None,
    max_retries: Annotated[int, typer.Option(min=0, help="Tries again on 429 and 5xx, with backoff.")] = 3,
    parameter: Annotated[
        list[str] | None, typer.Option(help="KEY=JSON added to each target request, e.g. temperature=0; repeatable.")
    ] = None,
    name: Annotated[str | None, typer.Option(help="The experiment's name (default: made from the others).")] = None,
    stream: Annotated[
        bool,
        typer.Option(
            "--stream/--no-stream",
            help="Ask the target for streamed answers (Bedrock: ConverseStream) and record their time to first token.",
        ),
    ] = False,
    local_worker: Annotated[
        bool, typer.Option(help="Work on the run here too (off: leave it to the server's and other workers).")
    ] = True,
    config: ConfigOption = None,
) -> None:
    """Run a dataset version through a target and score every output."""
    upstream, _, model = target_spec.partition(":")
    if not upstream or not model:
        raise _fail("--target must be UPSTREAM:MODEL")
    settings = _prepared_settings(config)
    if upstream not in settings.upstreams:
        raise _fail(f"--target: {upstream!r} is not a configured upstream ({', '.join(sorted(settings.upstreams))})")
    # The same target fields the API takes (TargetIn): the worker reads them alike, whoever made the experiment.
    spec: dict[str, Any] = {
        "upstream": upstream,
        "model": model,
        "parameters": _parameters(parameter or []),
        "stream": stream,
    }
    if prompt_template is not None:
        spec["prompt_template"] = _template(prompt_template)
    try:
        target.check_parameters(spec["parameters"])
    except ValueError as exc:
        raise _fail(f"--parameter: {exc}") from None
    options = {"concurrency": concurrency, "cost_ceiling_usd": cost_ceiling or None, "max_retries": max_retries}
    try:
        summary = asyncio.run(_run(settings, dataset, version, spec, evaluator, name, options, local_worker))
    except (NotFound, Invalid, Conflict, ValueError) as exc:
        raise _fail(str(exc), 1) from None
    _print_summary(summary)


def _parameters(pairs: list[str]) -> dict[str, Any]:
    parameters: dict[str, Any] = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key:
            raise _fail(f"--parameter {pair!r}: write KEY=VALUE")
        try:
            parameters[key] = orjson.loads(value)
        except orjson.JSONDecodeError:
            parameters[key] = value  # plain text
    return parameters


def _template(path: Path) -> target.Template:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise _fail(f"--prompt-template: cannot read {path}: {exc.strerror}") from None
    template: target.Template = text
    if text.lstrip().startswith("["):
        try:
            template = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise _fail(f"--prompt-template: {path} starts like a JSON list but is not JSON ({exc})") from None
    try:
        target.check_template(template)
    except target.TemplateError as exc:
        raise _fail(f"--prompt-template: {exc}") from None
    return template


async def _evaluator_id(pool: asyncpg.Pool, spec: str) -> str:
    """A stored evaluator named `spec`, or one of type NAME with the JSON params, created if new."""
    kind, separator, raw = spec.partition(":")
    found = await store.find_evaluator(pool, kind) if not separator else None
    if found is not None:
        return str(found["evaluator_id"])
    try:
        params = orjson.loads(raw) if separator else {}
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"--evaluator {spec!r}: the params are not JSON ({exc})") from None
    if not isinstance(params, dict):
        raise ValueError(f"--evaluator {spec!r}: the params must be a JSON object")
    evaluator = base.create(kind, params)
    canonical = orjson.dumps(params, option=orjson.OPT_SORT_KEYS)
    name = f"{kind}-{hashlib.sha256(canonical).hexdigest()[:8]}" if params else kind
    existing = await store.find_evaluator(pool, name)
    if existing is not None:
        if (
            existing["evaluator_type"] != kind
            or orjson.dumps(existing["params"], option=orjson.OPT_SORT_KEYS) != canonical
        ):
            raise ValueError(f"--evaluator {spec!r}: an evaluator named {name!r} exists with other settings")
        return str(existing["evaluator_id"])
    created = await store.create_evaluator(
        pool,
        name=name,
        evaluator_type=kind,
        kind=evaluator.kind,
        params=params,
        shape=runner.score_shape(evaluator),
    )
    return str(created["evaluator_id"])


async def _run(
    settings: Settings,
    dataset_name: str,
    version: int | None,
    spec: dict[str, Any],
    evaluator_specs: list[str],
    name: str | None,
    options: dict[str, Any],
    local_worker: bool,
) -> dict[str, Any]:
    assert settings.database_url is not None
    pool = await db.create_pool(settings.database_url)
    try:
        found = [row for row in await datasets.list_datasets(pool) if row["name"] == dataset_name]
        if not found:
            raise ValueError(f"--dataset: no dataset named {dataset_name!r}")
        evaluator_ids = [await _evaluator_id(pool, evaluator_spec) for evaluator_spec in evaluator_specs]
        model = spec["model"]
        experiment = await store.create_experiment(
            pool,
            name=name or f"{dataset_name} · {spec['upstream']}:{model} · {time.strftime('%Y-%m-%d %H:%M:%S')}",
            dataset_id=found[0]["dataset_id"],
            dataset_version=version,
            target=spec,
            evaluator_ids=evaluator_ids,
            created_by="cli",
            **options,
        )
        started = await eval_runs.start_run(pool, experiment["experiment_id"], "cli", settings.evals.max_attempts)
        err.print(
            f"experiment {experiment['name']!r} ({experiment['experiment_id']}), dataset version "
            f"{experiment['dataset_version']}: run {started['run_id']}, {started['item_count']} items",
            highlight=False,
        )
        await _follow(pool, settings, started, local_worker)
        summary = await eval_compare.run_summary(pool, started["run_id"])
        summary["first_errors"] = await eval_runs.first_errors(pool, started["run_id"], 5)
        return summary
    finally:
        await pool.close()


async def _follow(pool: asyncpg.Pool, settings: Settings, started: dict[str, Any], local_worker: bool) -> None:
    run_id = started["run_id"]
    worker = evaluation_worker(pool, settings, only_run=run_id) if local_worker else None
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=False) as progress:
        task = progress.add_task("scoring", total=started["item_count"])
        if worker is not None:
            worker.start()
        try:
            while True:
                current = await eval_runs.get_run(pool, run_id)
                errors = f" ({current['errors']} with errors)" if current["errors"] else ""
                progress.update(task, completed=current["done"], description=f"{current['status']}{errors}")
                if current["status"] in _FINISHED:
                    break
                await asyncio.sleep(0.25)
        except asyncio.CancelledError:
            await eval_runs.stop_run(pool, run_id, "cancelled")
            err.print("cancelled: items in flight finish, the others are dropped", highlight=False)
            raise
        finally:
            if worker is not None:
                await worker.stop()


def _number(value: float | None, pattern: str = "{:.3f}") -> str:
    return "–" if value is None else pattern.format(value)


def _print_summary(summary: dict[str, Any]) -> None:
    table = Table(title=f"run {summary['run_id']}: {summary['status']}", title_justify="left")
    for column in ("evaluator", "mean", "scored", "errors", "labels"):
        table.add_column(column, justify="right" if column in ("mean", "scored", "errors") else "left")
    for score in summary["scores"]:
        labels = ", ".join(f"{label} {count}" for label, count in score["labels"].items())
        table.add_row(score["evaluator"], _number(score["mean"]), str(score["count"]), str(score["errors"]), labels)
    out.print(table)
    for failed in summary["first_errors"]:
        problems = [failed["error"]] if failed["error"] else []
        problems += [f"{name}: {message}" for name, message in failed["score_errors"].items()]
        out.print(f"  {failed['item_id']}: {'; '.join(problems)}", highlight=False, markup=False)
    out.print(
        f"items {summary['done']}/{summary['item_count']} done, {summary['errors']} with errors · "
        f"cost {_number(summary['cost_usd'], '${:.6f}')} · {_timings(summary)}",
        highlight=False,
    )


def _percentiles(p50: float | None, p95: float | None) -> str:
    return f"p50 {_number(p50, '{:.0f} ms')} p95 {_number(p95, '{:.0f} ms')}"


def _timings(summary: dict[str, Any]) -> str:
    """Latency p50/p95, and TTFT p50/p95 when the target was streamed (only then is there a first token to time)."""
    timings = f"latency {_percentiles(summary['latency_p50_ms'], summary['latency_p95_ms'])}"
    if summary["target"].get("stream"):
        timings += f" · TTFT {_percentiles(summary['ttft_p50_ms'], summary['ttft_p95_ms'])}"
    return timings


def worker(
    config: ConfigOption = None,
    concurrency: Annotated[int | None, typer.Option(min=1, help="Jobs at once (default: evals.concurrency).")] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run evaluation jobs (experiment items, online rules) until SIGTERM or Ctrl-C."""
    settings = _prepared_settings(config)
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if concurrency is not None:
        settings = settings.model_copy(update={"evals": settings.evals.model_copy(update={"concurrency": concurrency})})
    asyncio.run(_work(settings))


async def _work(settings: Settings) -> None:
    assert settings.database_url is not None
    pool = await db.create_pool(settings.database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        async with evaluation_worker(pool, settings):
            err.print("evaluation worker running; Ctrl-C or SIGTERM stops it", highlight=False)
            await stop.wait()
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(ValueError):
                loop.remove_signal_handler(signum)
        await pool.close()
