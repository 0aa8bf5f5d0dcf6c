"""`python -m bench.faults`: the span pipeline under faults (database down, database hung, SIGTERM).

Everything runs on loopback in one temporary directory per scenario, and every process started
is stopped on the way out. Progress goes to stderr, the report to stdout (`--json` for all the
numbers); the exit code is 1 when a check fails.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import signal
import sys
from dataclasses import dataclass
from types import FrameType

from bench.faults.freeze import freeze_problems, freeze_summary, run_freeze
from bench.faults.outage import outage_problems, outage_summary, run_outage
from bench.faults.scenario import Options, progress
from bench.faults.sigterm import SigtermReport, run_sigterm, sigterm_problems, sigterm_summary
from bench.faults.under_load import OutageReport
from bench.procs import BenchError

SCENARIOS = ("outage", "freeze", "sigterm")


@dataclass(frozen=True)
class Outcome:
    report: OutageReport | SigtermReport
    problems: list[str]
    summary: str


def run_scenario(name: str, options: Options) -> Outcome:
    if name == "sigterm":
        sigterm = run_sigterm(options)
        return Outcome(sigterm, sigterm_problems(sigterm), sigterm_summary(sigterm))
    if name == "freeze":
        freeze = run_freeze(options)
        return Outcome(freeze, freeze_problems(freeze), freeze_summary(freeze))
    outage = run_outage(options)
    return Outcome(outage, outage_problems(outage), outage_summary(outage))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.faults", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--scenario", choices=(*SCENARIOS, "all"), default="outage", help="all: the three in turn, one report"
    )
    parser.add_argument(
        "--outage-seconds", type=float, default=30.0, help="how long PostgreSQL stays down (stopped or frozen)"
    )
    parser.add_argument("--rate", type=float, default=40.0, help="calls per second (default 40)")
    parser.add_argument("--clients", type=int, default=4, help="HTTP clients the calls are spread over")
    parser.add_argument("--json", action="store_true", help="print the whole report as JSON")
    parser.add_argument("--keep-workdir", action="store_true", help="keep configs and logs of the run")
    args = parser.parse_args(argv)
    options = Options(
        rate=args.rate, clients=args.clients, outage_s=args.outage_seconds, keep_workdir=args.keep_workdir
    )
    # Ctrl-C and SIGTERM must unwind through the cleanup (see bench/run.py).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    every = args.scenario == "all"
    outcomes: dict[str, Outcome] = {}
    try:
        for name in SCENARIOS if every else (args.scenario,):
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
        sys.stdout.write(json.dumps(reports if every else reports[args.scenario], indent=2) + "\n")
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
