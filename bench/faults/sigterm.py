"""Scenario `sigterm`: Glassgate gets SIGTERM under load, with the database up and then down.

With the database up the writer drains before exiting; with it down the writer spills to disk
and a Glassgate restarted on the same data_dir replays. Every call answered 200 must be stored
exactly once; a call may fail only if Glassgate never accepted it (it has no span).
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass

from bench.faults.audit import Audit, audit, stored_spans, wait_for_spans
from bench.faults.load import Load
from bench.faults.scenario import Options, progress, rounded
from bench.faults.stack import Stack, log_problems, running_stack


@dataclass(frozen=True)
class SigtermRound:
    database: str  # "up" or "down" when SIGTERM arrived
    run_id: str
    exit_code: int | None  # None: still running 60 s after SIGTERM (then killed)
    exit_s: float | None
    in_flight_at_signal: int  # calls sent before SIGTERM that had not finished
    in_flight_answered: int
    in_flight_not_accepted: int  # failed without a span (e.g. still in the listen backlog)
    lost_at_exit: int  # answered calls without a span once the first Glassgate had exited
    spill_bytes_at_exit: int
    restart_complete_s: float | None  # the restarted Glassgate: until every answered call has its span
    audit: Audit  # after the restart
    writer_at_exit: str | None  # the exiting Glassgate's last "span writer:" log line
    log_problems: list[str]


@dataclass(frozen=True)
class SigtermReport:
    scenario: str
    rounds: list[SigtermRound]


def run_sigterm(options: Options) -> SigtermReport:
    with running_stack(options.keep_workdir) as stack:
        return SigtermReport("sigterm", [asyncio.run(_sigterm_round(stack, down, options)) for down in (False, True)])


async def _sigterm_round(stack: Stack, database_down: bool, options: Options) -> SigtermRound:
    name = f"sigterm-database-{'down' if database_down else 'up'}"
    glassgate = stack.start_glassgate(name)
    run_id = f"faults-{uuid.uuid4().hex[:12]}"
    load = Load(glassgate.url, run_id, options, slow_streams=True)
    load.start()
    try:
        progress(f"{name}: load for {options.warmup_s:g}s, then SIGTERM")
        await asyncio.sleep(options.warmup_s)
        if database_down:
            load.phase = "database down"
            await asyncio.to_thread(stack.postgres.stop)
            await asyncio.sleep(2.0)
        load.phase = "after SIGTERM"
        signalled_at = time.monotonic()
        glassgate.child.process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(_exit_code, glassgate.child.process, 60.0)
        exit_s = time.monotonic() - signalled_at if exit_code is not None else None
        await asyncio.sleep(0.5)  # calls after the exit are refused: not accepted
    finally:
        await load.stop()
        stack.stop(glassgate)
    in_flight = [call for call in load.calls if call.sent_at < signalled_at < call.sent_at + call.latency_s]
    spill_bytes = sum(path.stat().st_size for path in (stack.data_dir / "spill").glob("*.jsonl"))
    if database_down:
        await asyncio.to_thread(stack.postgres.start)
    at_exit = await stored_spans(stack.postgres.url, run_id)
    restarted = stack.start_glassgate(f"{name}-restarted")
    try:
        answered = sum(call.ok for call in load.calls)
        stored, complete_s = await wait_for_spans(stack.postgres.url, run_id, answered, options.drain_timeout_s)
    finally:
        stack.stop(restarted)
    writer_lines = [line for line in glassgate.log().splitlines() if "span writer:" in line]
    return SigtermRound(
        database="down" if database_down else "up",
        run_id=run_id,
        exit_code=exit_code,
        exit_s=rounded(exit_s),
        in_flight_at_signal=len(in_flight),
        in_flight_answered=sum(call.ok for call in in_flight),
        in_flight_not_accepted=sum(not call.ok and not stored.span_ids_by_seq.get(call.seq) for call in in_flight),
        lost_at_exit=audit(load.calls, at_exit).lost,
        spill_bytes_at_exit=spill_bytes,
        restart_complete_s=rounded(complete_s),
        audit=audit(load.calls, stored),
        writer_at_exit=writer_lines[-1].split("span writer:", 1)[1].strip() if writer_lines else None,
        log_problems=log_problems(glassgate.log() + restarted.log()),
    )


def _exit_code(process: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return None


def sigterm_problems(report: SigtermReport) -> list[str]:
    problems = []
    for round_ in report.rounds:
        a, where = round_.audit, f"database {round_.database}"
        if round_.exit_code != 0:
            problems.append(f"{where}: Glassgate exited with {round_.exit_code} after SIGTERM")
        if a.lost or a.mismatched or a.duplicated:
            problems.append(f"{where}: {a.lost} answered calls lost, {a.mismatched} mismatched, {a.duplicated} dup")
        in_flight_ended_well = round_.in_flight_answered + round_.in_flight_not_accepted
        if a.failed_after_accepted or in_flight_ended_well < round_.in_flight_at_signal:
            problems.append(f"{where}: calls accepted but not answered: {a.examples}")
        if round_.database == "up" and round_.lost_at_exit:
            problems.append(f"{where}: {round_.lost_at_exit} spans were not written before the exit")
    return problems


def sigterm_summary(report: SigtermReport) -> str:
    """One line per round; --json has everything."""
    lines = []
    for r in report.rounds:
        lines.append(
            f"SIGTERM, database {r.database}: exit {r.exit_code} in {r.exit_s}s; {r.audit.answered} answered,"
            f" {r.audit.failed_not_accepted} refused before acceptance, {r.audit.failed_after_accepted} failed after;"
            f" in flight at the signal {r.in_flight_at_signal}: {r.in_flight_answered} answered,"
            f" {r.in_flight_not_accepted} not accepted; lost at exit {r.lost_at_exit},"
            f" after restart {r.audit.lost}; spill {r.spill_bytes_at_exit} B"
        )
    return "\n".join(lines) + "\n"
