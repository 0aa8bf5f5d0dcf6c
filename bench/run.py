"""`python -m bench.run`: proxy overhead of Glassgate, against a direct call and nginx.

One run starts a mock OpenAI upstream, nginx in front of it and Glassgate in front of it
(with its embedded PostgreSQL and tracing on), measures each path the same way, prints a
Markdown table and writes bench/results/latest.json. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
import timeit
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.measure import Plan, Runner, TargetResult, make_plan
from bench.procs import BenchError, Children, memory, run_bench
from bench.report import Results, TracingCheck, WriterCounters, emit
from bench.stack import ADMIN_TOKEN, GUARDRAIL_CONFIGS, Stack, start_stack

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "latest.json"
_WRITER_LINE = re.compile(r"span writer: (\d+) queued, (\d+) written, (\d+) dropped, (\d+) capture failures")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short phases: a smoke test of the bench, not numbers")
    parser.add_argument("--duration-scale", type=float, default=1.0, help="multiply every timed phase (default 1)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH, help=f"JSON results (default {RESULTS_PATH})")
    parser.add_argument("--keep-workdir", action="store_true", help="keep configs and logs of the run")
    parser.add_argument(
        "--guardrails",
        choices=sorted(GUARDRAIL_CONFIGS),
        default="default",
        help="Glassgate's guardrails: default (flag, in the span writer) or inline (redact and block on the "
        "request path, answers scanned as they stream); see bench/README.md",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [
        tool for tool in ("wrk", "nginx") if shutil.which(tool) is None and not Path(f"/usr/sbin/{tool}").exists()
    ]
    if missing:
        sys.stderr.write(f"missing {', '.join(missing)}: run bench/install-tools.sh (make bench does)\n")
        return 2
    plan = make_plan(quick=args.quick, duration_scale=args.duration_scale)
    return run_bench(
        "gg-bench-",
        lambda workdir, children: _run(plan, workdir, children, args.guardrails),
        lambda results: emit(results, args.output),
        keep_workdir=args.keep_workdir,
        failures=(BenchError, OSError, EOFError),  # OSError/EOFError: a connection broke mid-phase
        before_stop=lambda: _progress("stopping nginx, Glassgate, PostgreSQL and the mock"),
    )


def _run(plan: Plan, workdir: Path, children: Children, guardrails: str) -> Results:
    _progress(f"starting the mock upstream, nginx and Glassgate ({guardrails} guardrails) in {workdir}")
    stack = start_stack(workdir, children, plan.chunks, plan.delay_ms, guardrails=guardrails)
    at_ready = memory(stack.glassgate.tree)
    runner = Runner(stack, plan, workdir)
    targets: dict[str, TargetResult] = {}
    for target in stack.targets:
        _progress(f"measuring {target.name} ({target.url})")
        targets[target.name] = runner.measure(target)
    _progress(f"memory phase: {plan.rss_requests:,} requests through Glassgate")
    memory_phase = runner.memory_phase(stack.glassgate, targets["glassgate"].throughput.wrk.rps)
    newest = _newest_span(stack)
    # The writer's counters are logged at shutdown, so stop Glassgate before reading them.
    _progress("stopping Glassgate to read its span writer counters")
    children.stop_all()
    log_text = stack.glassgate_child.log_path.read_text(errors="replace")
    tracing = _tracing_check(newest, log_text)
    return Results(plan, {**_environment(), "guardrails": guardrails}, targets, at_ready, memory_phase, tracing)


def _newest_span(stack: Stack) -> dict[str, Any] | str:
    """The newest span via the API, or an error message. Waits out the writer's flush interval."""
    time.sleep(0.5)
    request = urllib.request.Request(
        f"http://127.0.0.1:{stack.glassgate.port}/api/v1/spans?limit=1",
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            page = json.loads(response.read())
    except OSError as exc:
        return f"GET /api/v1/spans failed: {exc}"
    data = page.get("data") or []
    if not data:
        return "GET /api/v1/spans returned no span"
    span: dict[str, Any] = data[0]
    return span


def _tracing_check(newest: dict[str, Any] | str, log_text: str) -> TracingCheck:
    matches = _WRITER_LINE.findall(log_text)
    writer = WriterCounters(*(int(value) for value in matches[-1])) if matches else None
    warnings = log_text.count("trace queue full")
    if isinstance(newest, str):
        return TracingCheck(None, None, None, None, writer, warnings, error=newest)
    return TracingCheck(
        newest_span_id=newest.get("span_id"),
        input_tokens=newest.get("input_tokens"),
        output_tokens=newest.get("output_tokens"),
        streamed=newest.get("streamed"),
        writer=writer,
        queue_full_warnings=warnings,
    )


def _environment() -> dict[str, Any]:
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "machine": platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "nginx": _version(["nginx", "-v"]),
        "wrk": _version(["wrk", "--version"]).split(" [")[0],
        "git": _version(["git", "rev-parse", "--short", "HEAD"]),
        "load_average_at_end": os.getloadavg(),
        "python_loop_us": python_loop_us(),
    }


def python_loop_us() -> float:
    """How fast this host runs Python now: µs for `sum(range(1000))`, best of 5.

    The same VM runs at different speeds from day to day (neighbours, CPU steal the guest
    cannot always see); CPU figures from two runs compare only next to this number.
    """
    timer = timeit.Timer("sum(range(1000))")
    return min(timer.repeat(repeat=5, number=2000)) / 2000 * 1e6


def _version(argv: list[str]) -> str:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except OSError:
        return "unknown"
    text = (completed.stdout or completed.stderr).strip()
    return text.splitlines()[0] if text else "unknown"


def _progress(message: str) -> None:
    # Progress goes to stderr so stdout carries only the report.
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {message}\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
