"""A PostgreSQL of the bench's own that can be stopped (it refuses connections) or frozen (it hangs).

Stopping goes through `pg_ctl`. Freezing sends SIGSTOP to the postmaster and then to every
process it started (backends, checkpointer, WAL writer): connections stay open and accept
bytes, and nothing answers, which is how a database on a stalled disk or a paused VM looks to
its clients. SIGCONT undoes it; `frozen()` and `close()` make sure it is always sent.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psutil

from bench.procs import BenchError, stop_postgres

_STOP_CONFIRM_S = 5.0


class Postgres:
    """Unix socket only, so stopping or freezing it disturbs nothing else on the host."""

    def __init__(self, pgdata: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs asks for XDG_RUNTIME_DIR
            import pgserver
        self.pgdata = pgdata
        # pgserver runs initdb and the first start (as an unprivileged user when we are root).
        self._server = pgserver.get_server(pgdata, cleanup_mode="delete")
        self.url: str = self._server.get_uri()
        self._socket_dir = parse_qs(urlsplit(self.url).query)["host"][0]
        self._pg_ctl = str(Path(pgserver.__file__).parent / "pginstall" / "bin" / "pg_ctl")
        self._first_postmaster: int | None = self._server.get_pid()
        self._frozen: list[psutil.Process] = []
        self.running = True

    def stop(self) -> None:
        self._pg_ctl_run(["-m", "fast", "stop"])
        self.running = False

    def start(self) -> None:
        self._pg_ctl_run(["-o", '-h ""', "-o", f"-k {self._socket_dir}", "-l", str(self.pgdata / "log"), "start"])
        self.running = True

    @contextlib.contextmanager
    def frozen(self) -> Iterator[None]:
        """The database hangs for the duration of the block; SIGCONT follows whatever happens in it."""
        try:
            self.freeze()
            yield
        finally:
            self.thaw()

    def freeze(self) -> None:
        """SIGSTOP the postmaster, and once it stopped (it can fork no more), every process it started."""
        postmaster = psutil.Process(self._postmaster_pid())
        self._frozen.append(postmaster)  # before the signal: a thaw must reach whatever was signalled
        postmaster.send_signal(signal.SIGSTOP)
        deadline = time.monotonic() + _STOP_CONFIRM_S
        while postmaster.status() != psutil.STATUS_STOPPED:
            if time.monotonic() > deadline:
                raise BenchError(f"the postmaster (pid {postmaster.pid}) did not stop on SIGSTOP")
            time.sleep(0.005)
        for process in postmaster.children(recursive=True):
            self._frozen.append(process)
            with contextlib.suppress(psutil.NoSuchProcess):  # a backend that was just exiting
                process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT to every process `freeze` stopped; the postmaster last. Idempotent."""
        frozen, self._frozen = self._frozen, []
        for process in reversed(frozen):
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGCONT)

    def close(self) -> None:
        self.thaw()  # a frozen postmaster would not act on pg_ctl's stop
        if self.running:
            with contextlib.suppress(BenchError):
                self.stop()
        stop_postgres(str(self.pgdata))  # whatever pg_ctl could not stop
        # pgserver's cleanup stops the postmaster it started if that still "runs"; an exited one
        # not yet reaped (PID 1 of a container can take a second) counts, and pg_ctl would fail
        # on it loudly. Wait until it is gone.
        if self._first_postmaster is not None:
            with contextlib.suppress(psutil.NoSuchProcess, psutil.TimeoutExpired):
                psutil.Process(self._first_postmaster).wait(10)
        self._server.cleanup()  # pgserver's handle; removes the data directory

    def _postmaster_pid(self) -> int:
        """From postmaster.pid: a start through pg_ctl makes a new postmaster, unknown to pgserver."""
        try:
            return int((self.pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError) as exc:
            raise BenchError(f"PostgreSQL is not running on {self.pgdata}: {exc}") from exc

    def _pg_ctl_run(self, args: list[str]) -> None:
        argv = [self._pg_ctl, "-D", str(self.pgdata), "-w", "-t", "60", *args]
        # No pipes: the postmaster would inherit them and pg_ctl could hang on them.
        try:
            subprocess.run(
                argv, check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                timeout=90, user=self._server.system_user,
            )  # fmt: skip
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            raise BenchError(f"pg_ctl {args[-1]} failed ({exc}); see {self.pgdata / 'log'}") from exc
