"""Scenario `freeze`: PostgreSQL hangs (SIGSTOP) under steady load instead of refusing, then SIGCONT.

Connections stay open and inserts never return, so nothing fails fast: only Glassgate's
`tracing.write_timeout_s` turns a hung batch insert into a failure, which the writer spills.
Beyond the checks of every fault under load (no failed or slow call, exactly one span per
call once the database is back, bounded RSS), the writer must have spilled, and its queue
must never hold much more than a write timeout's worth of calls.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from bench.faults import under_load
from bench.faults.postgres import Postgres
from bench.faults.scenario import Options
from bench.faults.under_load import QUEUE_SLACK_S, Fault, OutageReport


@contextlib.asynccontextmanager
async def _frozen(postgres: Postgres) -> AsyncIterator[None]:
    # Signals take microseconds: no thread needed. SIGCONT is sent however the block ends.
    with postgres.frozen():
        yield


FREEZE = Fault(
    "freeze",
    begins="freezing PostgreSQL (SIGSTOP to the postmaster and its backends)",
    ends="PostgreSQL thawed (SIGCONT)",
    state="frozen",
    apply=_frozen,
    sample_every_s=0.5,
)


def run_freeze(options: Options) -> OutageReport:
    return under_load.run_under_load(FREEZE, options)


def freeze_problems(report: OutageReport) -> list[str]:
    found = under_load.problems(report)
    depth = report.queue_depth
    if report.writer.get("spilled", 0.0) == 0:
        found.append("the writer spilled nothing: hung inserts were not given up after write_timeout_s")
    if depth.max is None:
        found.append("/metrics never answered during the freeze")
    elif depth.max > depth.bound:
        found.append(
            f"queue depth reached {depth.max:g} during the freeze (bound {depth.bound:g} ="
            f" {report.rate:g}/s × ({depth.write_timeout_s:g} + {QUEUE_SLACK_S:g}) s)"
        )
    return found


def freeze_summary(report: OutageReport) -> str:
    return under_load.summary(report, FREEZE)
