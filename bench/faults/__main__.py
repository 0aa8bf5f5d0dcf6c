"""`python -m bench.faults`: Glassgate under faults, each scenario reported as numbers.

Everything runs on loopback in one temporary directory per scenario, and every process started
is stopped on the way out. Progress goes to stderr, the report to stdout (`--json` for all the
numbers); the exit code is 1 when a check fails. See bench/faults/__init__.py for the scenarios.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

from bench.faults import (
    concurrent_streams,
    freeze,
    outage,
    redis_down,
    replicas,
    sigterm,
    slowloris,
    soak,
    upstream_faults,
)
from bench.faults.scenario import Options, progress
from bench.procs import BenchError


@dataclass(frozen=True)
class Scenario:
    run: Callable[[Options], Any]  # returns the scenario's report dataclass
    problems: Callable[[Any], list[str]]
    summary: Callable[[Any], str]


SCENARIOS = {
    "outage": Scenario(outage.run_outage, outage.outage_problems, outage.outage_summary),
    "freeze": Scenario(freeze.run_freeze, freeze.freeze_problems, freeze.freeze_summary),
    "sigterm": Scenario(sigterm.run_sigterm, sigterm.sigterm_problems, sigterm.sigterm_summary),
    "upstream": Scenario(
        upstream_faults.run_upstream_faults, upstream_faults.upstream_problems, upstream_faults.upstream_summary
    ),
    "slowloris": Scenario(slowloris.run_slowloris, slowloris.slowloris_problems, slowloris.slowloris_summary),
    "streams": Scenario(
        concurrent_streams.run_streams, concurrent_streams.streams_problems, concurrent_streams.streams_summary
    ),
    "soak": Scenario(soak.run_soak, soak.soak_problems, soak.soak_summary),
    "replicas": Scenario(replicas.run_replicas, replicas.replicas_problems, replicas.replicas_summary),
    "redis": Scenario(redis_down.run_redis_down, redis_down.redis_problems, redis_down.redis_summary),
}


@dataclass(frozen=True)
class Outcome:
    report: Any
    problems: list[str]
    summary: str


def run_scenario(name: str, options: Options) -> Outcome:
    scenario = SCENARIOS[name]
    report = scenario.run(options)
    return Outcome(report, scenario.problems(report), scenario.summary(report))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario",
        action="append",
        choices=(*SCENARIOS, "all"),
        help="repeat for several; all: every one in turn (default: outage)",
    )
    parser.add_argument(
        "--outage-seconds", type=float, default=30.0, help="how long PostgreSQL stays down (stopped or frozen)"
    )
    parser.add_argument("--fault-seconds", type=float, default=30.0, help="upstream: how long faulty calls go on")
    parser.add_argument("--soak-minutes", type=float, default=10.0, help="soak: how long RSS is sampled")
    parser.add_argument("--streams", type=int, default=1000, help="streams: how many are open at once")
    parser.add_argument("--slow-clients", type=int, default=1000, help="slowloris: how many dribble a request")
    parser.add_argument("--rate", type=float, default=40.0, help="calls per second (default 40)")
    parser.add_argument("--clients", type=int, default=4, help="HTTP clients the calls are spread over")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.add_argument("--keep-workdir", action="store_true", help="keep configs and logs of the run")
    args = parser.parse_args(argv)
    options = Options(
        rate=args.rate,
        clients=args.clients,
        outage_s=args.outage_seconds,
        fault_s=args.fault_seconds,
        soak_minutes=args.soak_minutes,
        streams=args.streams,
        loris=args.slow_clients,
        keep_workdir=args.keep_workdir,
    )
    # Ctrl-C and SIGTERM must unwind through the cleanup (see bench/run.py).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    chosen = args.scenario or ["outage"]
    names = list(SCENARIOS) if "all" in chosen else list(dict.fromkeys(chosen))
    every = len(names) > 1  # one report per scenario, keyed by name
    outcomes: dict[str, Outcome] = {}
    try:
        for name in names:
            if every:
                progress(f"scenario {name}")
            outcomes[name] = run_scenario(name, options)
    except BenchError as exc:
        sys.stderr.write(f"bench failed: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("bench interrupted; its processes are stopped\n")
        return 130
    if args.json:
        reports = {name: dataclasses.asdict(outcome.report) for name, outcome in outcomes.items()}
        sys.stdout.write(json.dumps(reports if every else reports[names[0]], indent=2) + "\n")
    else:
        sys.stdout.write("".join(f"{name}:\n{o.summary}" if every else o.summary for name, o in outcomes.items()))
    problems = [f"{name}: {p}" if every else p for name, outcome in outcomes.items() for p in outcome.problems]
    for problem in problems:
        sys.stderr.write(f"FAIL: {problem}\n")
    return 1 if problems else 0


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


if __name__ == "__main__":
    sys.exit(main())
