"""The embedded PostgreSQL's CPU by what it did: span writes, search indexing, embeddings, upkeep.

A phase's PostgreSQL figure is one number; which of Glassgate's jobs it pays for was, before
this, a question for a hand-written probe each time. A sampler thread asks pg_stat_activity
every tenth of a second what each backend is (the job named by its `application_name`: the span
writer, the search indexer and the embeddings worker have connections of their own; else its
query) and bills the CPU each process used since the last sample (/proc) to that role. Processes that began and
ended between two samples (autovacuum workers, mostly) show only in the postmaster's
children time, billed as "exited processes" (a backend that exits mid-phase is billed there
whole, what was already billed included: pool connections rarely do). The sampler's own
backend is left out of the roles but not out of the tree's total: ten small queries a second.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict

import asyncpg

from bench.procs import cpu_times_s
from glassgate.storage.db import EMBEDDINGS_APPLICATION_NAME, INDEXER_APPLICATION_NAME, WRITER_APPLICATION_NAME

INTERVAL_S = 0.1
EXITED = "exited processes (autovacuum workers…)"


# Each background job of Glassgate's has connections of its own, named after it.
_JOBS = {
    WRITER_APPLICATION_NAME: "span writer",
    INDEXER_APPLICATION_NAME: "search indexer",
    EMBEDDINGS_APPLICATION_NAME: "embeddings worker",
}
# What a pooled connection of the API's shows between jobs (a transaction's end, the pool's reset on release):
# it says nothing of the job, so the connection keeps the one it was last seen doing.
_BOOKKEEPING = ("BEGIN", "COMMIT", "ROLLBACK", "SELECT PG_ADVISORY_UNLOCK_ALL()")  # compared upper-cased


def role_of(backend_type: str, application_name: str, query: str) -> str | None:
    """The job a PostgreSQL process does, from its pg_stat_activity row; None: it cannot tell."""
    if backend_type.startswith("autovacuum"):
        return "autovacuum"
    if backend_type != "client backend":
        return "background processes"
    job = _JOBS.get(application_name)
    if job is not None:
        return job
    if query.lstrip().upper().startswith(_BOOKKEEPING) or not query:
        return None
    return "other queries"


def _own_cpu_s(pid: int) -> float | None:
    times = cpu_times_s(pid)
    return None if times is None else times[0]


def _children_cpu_s(pid: int) -> float:
    times = cpu_times_s(pid)
    return 0.0 if times is None else times[1]


class PostgresRoles:
    """Samples in a thread between `start()` and `stop()`; `stop()` returns CPU seconds by role."""

    def __init__(self, socket_dir: str, postmaster_pid: int) -> None:
        self._dsn = f"postgresql://postgres@/postgres?host={socket_dir}"
        self._postmaster = postmaster_pid
        self._stopping = threading.Event()
        self._seconds: defaultdict[str, float] = defaultdict(float)
        self._thread = threading.Thread(target=self._run, name="bench-pg-roles", daemon=True)
        self._failure: BaseException | None = None

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> dict[str, float]:
        self._stopping.set()
        self._thread.join(30)
        if self._failure is not None:
            raise self._failure
        return dict(sorted(self._seconds.items(), key=lambda item: -item[1]))

    def _run(self) -> None:
        try:
            asyncio.run(self._sample())
        except BaseException as exc:  # noqa: BLE001 -- handed to stop(), in the caller's thread
            self._failure = exc

    async def _sample(self) -> None:
        connection = await asyncpg.connect(self._dsn)
        try:
            own_pid = connection.get_server_pid()
            last: dict[int, float] | None = None  # None: the first look only sets the baseline
            roles: dict[int, str] = {}
            reaped = _children_cpu_s(self._postmaster)
            postmaster = _own_cpu_s(self._postmaster) or 0.0
            while True:
                rows = await connection.fetch(
                    "SELECT pid, coalesce(backend_type, '') AS backend_type, "
                    "coalesce(application_name, '') AS application_name, coalesce(left(query, 300), '') AS query "
                    "FROM pg_stat_activity WHERE pid <> $1",
                    own_pid,
                )
                seen = {row["pid"]: _own_cpu_s(row["pid"]) for row in rows}
                for row in rows:
                    pid = row["pid"]
                    role = role_of(row["backend_type"], row["application_name"], row["query"])
                    roles[pid] = role or roles.get(pid) or "other queries"
                    used = seen[pid]
                    if last is not None and used is not None:
                        # A process first seen now began since the last look: billed from its start.
                        self._seconds[roles[pid]] += used - last.get(pid, 0.0)
                last = {pid: used for pid, used in seen.items() if used is not None}
                now_reaped = _children_cpu_s(self._postmaster)
                self._seconds[EXITED] += now_reaped - reaped
                reaped = now_reaped
                now_postmaster = _own_cpu_s(self._postmaster) or postmaster
                self._seconds["background processes"] += now_postmaster - postmaster
                postmaster = now_postmaster
                if self._stopping.is_set():
                    return
                await asyncio.sleep(INTERVAL_S)
        finally:
            await connection.close()
