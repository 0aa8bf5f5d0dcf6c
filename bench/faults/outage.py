"""Scenario `outage`: PostgreSQL stopped (it refuses connections) under steady load, then started again."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bench.faults import under_load
from bench.faults.postgres import Postgres
from bench.faults.scenario import Options
from bench.faults.under_load import Fault, OutageReport


@contextlib.asynccontextmanager
async def _stopped(postgres: Postgres) -> AsyncIterator[None]:
    # In threads: pg_ctl takes a second or two, and the load must go on meanwhile.
    await asyncio.to_thread(postgres.stop)
    yield
    await asyncio.to_thread(postgres.start)


OUTAGE = Fault("outage", begins="stopping PostgreSQL", ends="PostgreSQL is back", state="down", apply=_stopped)


def run_outage(options: Options) -> OutageReport:
    return under_load.run_under_load(OUTAGE, options)


def outage_problems(report: OutageReport) -> list[str]:
    return under_load.problems(report)


def outage_summary(report: OutageReport) -> str:
    return under_load.summary(report, OUTAGE)
