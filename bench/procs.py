"""Child processes of the bench (start, wait, stop for sure) and their CPU time and memory.

A bench must never leave nginx or PostgreSQL running: every child is started in its own
session (so a terminal Ctrl-C reaches only the bench, which then stops them in order), and
the embedded PostgreSQL, which pgserver daemonizes outside Glassgate's process tree, is
found by its data directory and stopped as well.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import TypeVar

import psutil

_CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
Measured = TypeVar("Measured")


class BenchError(Exception):
    """A component failed to start or answer; the message says which and where its log is."""


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


@dataclass
class Children:
    """Every process the bench started, stopped in reverse order of starting."""

    started: list[Child] = field(default_factory=list)
    postgres_marker: str | None = None  # a path in the embedded postmaster's command line

    def start(self, name: str, argv: Sequence[str], log_path: Path, cwd: Path | None = None) -> Child:
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                list(argv),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=cwd,
                start_new_session=True,
            )
        child = Child(name, process, log_path)
        self.started.append(child)
        return child

    def stop_all(self, grace_s: float = 20.0) -> None:
        """Idempotent: a stopped child is forgotten, so a second call signals nothing."""
        while self.started:
            stop_child(self.started.pop(), grace_s)
        if self.postgres_marker is not None:
            stop_postgres(self.postgres_marker)


def run_bench(
    prefix: str,
    measure: Callable[[Path, Children], Measured],
    emit: Callable[[Measured], None],
    *,
    keep_workdir: bool,
    failures: tuple[type[Exception], ...] = (BenchError,),
    grace_s: float = 20.0,
    before_stop: Callable[[], None] = lambda: None,
) -> int:
    """A bench's `main()`: measure in a fresh work directory, stop every child whatever happens,
    then emit; the exit code (1: one of `failures`, 130: interrupted)."""
    # Ctrl-C and SIGTERM (CI cancelling the job) must unwind through the cleanup below; SIGINT
    # is re-armed because a shell starting the bench in the background leaves it ignored.
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _raise_interrupt)
    workdir = Path(tempfile.mkdtemp(prefix=prefix))
    children = Children()
    try:
        measured = measure(workdir, children)
    except failures as exc:
        sys.stderr.write(f"bench failed: {exc}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("bench interrupted; stopping its processes\n")
        return 130
    finally:
        before_stop()
        children.stop_all(grace_s)
        if keep_workdir:
            sys.stderr.write(f"work directory kept: {workdir}\n")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    emit(measured)
    return 0


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def stop_child(child: Child, grace_s: float) -> None:
    """SIGTERM (Glassgate then flushes its spans and stops its database), then SIGKILL the group."""
    if child.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            child.process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.process.wait(grace_s)
    # The session may hold helpers (nginx workers, pg_ctl) that outlive their parent.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        child.process.wait(5)


def postgres_roots(marker: str) -> list[psutil.Process]:
    """Postmasters whose command line names `marker` (the bench's data_dir); backends are their children."""
    roots = []
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and any(marker in part for part in cmdline):
            roots.append(proc)
    return roots


def stop_postgres(marker: str, grace_s: float = 10.0) -> None:
    """Fast shutdown (SIGINT) of any postmaster still running on the bench's data_dir, then SIGKILL."""
    roots = postgres_roots(marker)
    if not roots:
        return
    for root in roots:
        with contextlib.suppress(psutil.NoSuchProcess):
            root.send_signal(signal.SIGINT)
    _, alive = psutil.wait_procs(roots, timeout=grace_s)
    for root in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            for proc in [*root.children(recursive=True), root]:
                proc.kill()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for_port(child: Child, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _check_alive(child)
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.05)
    raise BenchError(f"{child.name} did not listen on port {port} within {timeout_s:.0f}s:\n{child.log_tail()}")


def wait_for_http(child: Child, url: str, timeout_s: float) -> None:
    """Poll until `url` answers 200 (Glassgate's /readyz turns 200 once its database pool is up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        _check_alive(child)
        with contextlib.suppress(OSError, urllib.error.URLError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise BenchError(f"{child.name} was not ready at {url} within {timeout_s:.0f}s:\n{child.log_tail()}")


def _check_alive(child: Child) -> None:
    code = child.process.poll()
    if code is not None:
        raise BenchError(f"{child.name} exited with code {code}:\n{child.log_tail()}")


@dataclass(frozen=True)
class Tree:
    """How to find a proxy's processes: a root pid plus postmasters matched by a marker."""

    root_pid: int
    postgres_marker: str | None = None

    def processes(self) -> list[psutil.Process]:
        roots = [psutil.Process(self.root_pid)]
        if self.postgres_marker is not None:
            roots.extend(postgres_roots(self.postgres_marker))
        found: dict[int, psutil.Process] = {}
        for root in roots:
            with contextlib.suppress(psutil.NoSuchProcess):
                for proc in [root, *root.children(recursive=True)]:
                    found[proc.pid] = proc
        return list(found.values())

    def postgres_pids(self) -> set[int]:
        if self.postgres_marker is None:
            return set()
        pids: set[int] = set()
        for root in postgres_roots(self.postgres_marker):
            with contextlib.suppress(psutil.NoSuchProcess):
                pids.update(proc.pid for proc in [root, *root.children(recursive=True)])
        return pids


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds per process, keyed by (pid, start time) so a reused pid is not confused."""

    seconds: dict[tuple[int, int], float]
    postgres: frozenset[tuple[int, int]]

    def total(self) -> float:
        return sum(self.seconds.values())

    def postgres_total(self) -> float:
        return sum(value for key, value in self.seconds.items() if key in self.postgres)


def sample_cpu(tree: Tree) -> CpuSample:
    seconds: dict[tuple[int, int], float] = {}
    postgres_pids = tree.postgres_pids()
    postgres_keys = set()
    for proc in tree.processes():
        stat = _read_stat(proc.pid)
        if stat is None:
            continue
        key, cpu = stat
        seconds[key] = cpu
        if proc.pid in postgres_pids:
            postgres_keys.add(key)
    return CpuSample(seconds, frozenset(postgres_keys))


def _read_stat(pid: int) -> tuple[tuple[int, int], float] | None:
    """utime+stime+cutime+cstime from /proc/<pid>/stat.

    cutime/cstime hold the CPU of children that already exited and were reaped (short-lived
    PostgreSQL backends, for instance), which a sum over the live tree would otherwise miss.
    """
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    # fields[0] is field 3 (state); utime..cstime are fields 14..17, starttime is field 22.
    ticks = sum(int(value) for value in fields[11:15])
    return (pid, int(fields[19])), ticks / _CLOCK_TICKS


def cpu_times_s(pid: int) -> tuple[float, float] | None:
    """(utime + stime, cutime + cstime) of one process, in seconds: its own CPU, its reaped children's."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / _CLOCK_TICKS, (int(fields[13]) + int(fields[14])) / _CLOCK_TICKS


@dataclass(frozen=True)
class CpuDelta:
    total_s: float
    postgres_s: float


def cpu_delta(before: CpuSample, after: CpuSample) -> CpuDelta:
    """CPU used between two samples; processes born in between count from zero."""
    total = 0.0
    postgres = 0.0
    for key, value in after.seconds.items():
        used = max(0.0, value - before.seconds.get(key, 0.0))
        total += used
        if key in after.postgres:
            postgres += used
    return CpuDelta(total, postgres)


def settle(tree: Tree, quiet_s: float = 0.005, interval_s: float = 0.5, timeout_s: float = 15.0) -> CpuSample:
    """Wait until the tree stops using CPU (trailing span writes included); return the last sample.

    `quiet_s` of CPU per interval counts as idle: PostgreSQL's background workers never stop
    entirely.
    """
    previous = sample_cpu(tree)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        time.sleep(interval_s)
        current = sample_cpu(tree)
        if cpu_delta(previous, current).total_s <= quiet_s:
            return current
        previous = current
    return previous


@dataclass(frozen=True)
class Memory:
    root_rss_mb: float
    tree_rss_mb: float
    tree_pss_mb: float  # shared pages split between sharers: the honest sum for PostgreSQL


def memory(tree: Tree) -> Memory:
    mb = 1024 * 1024
    root_rss = psutil.Process(tree.root_pid).memory_info().rss
    rss = pss = 0
    for proc in tree.processes():
        with contextlib.suppress(psutil.NoSuchProcess, psutil.AccessDenied):
            info = proc.memory_full_info()
            rss += info.rss
            pss += getattr(info, "pss", info.rss)
    return Memory(root_rss / mb, rss / mb, pss / mb)


def pids_of(processes: Iterable[psutil.Process]) -> list[int]:
    return sorted(proc.pid for proc in processes)
