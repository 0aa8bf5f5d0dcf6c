"""The processes of one run, in one temporary directory: PostgreSQL, the mock upstream, Glassgates."""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.faults.postgres import Postgres
from bench.faults.scenario import progress
from bench.procs import Child, Children, free_port, stop_child, wait_for_http, wait_for_port
from bench.stack import glassgate_executable

ADMIN_TOKEN = "bench-faults-token-0123456789"
_REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Glassgate:
    child: Child
    url: str

    def log(self) -> str:
        return self.child.log_path.read_text(errors="replace")


_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def log_problems(log_text: str) -> list[str]:
    """ERROR lines in a Glassgate log (the first ten), each with the traceback under it, so a
    failing run says where the error came from."""
    problems: list[str] = []
    lines = log_text.splitlines()
    for number, line in enumerate(lines):
        if " ERROR " not in line:
            continue
        following = itertools.takewhile(lambda text: not _TIMESTAMP.match(text), lines[number + 1 : number + 40])
        problems.append("\n".join([line, *following]))
        if len(problems) == 10:
            break
    return problems


@dataclass
class Stack:
    """PostgreSQL, the mock upstream and the Glassgate processes of one run, in one work directory."""

    workdir: Path
    children: Children
    postgres: Postgres
    upstream_url: str

    @property
    def data_dir(self) -> Path:
        return self.workdir / "glassgate-data"  # shared by every Glassgate of the run: the spill lives here

    def start_glassgate(
        self,
        name: str,
        *,
        config: dict[str, Any] | None = None,
        serve_args: Sequence[str] = (),
        port: int | None = None,
        data_dir: Path | None = None,
    ) -> Glassgate:
        """`config` is merged over the bench's (a key's value replaced whole); `serve_args` go to
        `glassgate serve`; `port` and `data_dir` let a replica restart where it was."""
        # Tracing keeps its defaults (write_timeout_s included): the scenarios read them from TracingSettings.
        settings: dict[str, Any] = {
            "data_dir": str(data_dir or self.data_dir),
            "database_url": self.postgres.url,
            "admin_token": ADMIN_TOKEN,
            "upstreams": {"openai": {"vendor": "openai", "url": self.upstream_url}},
            # The tokenizer (46 MB, once) would otherwise load at the first cut-off stream and
            # count as RSS growth: the budgets are about leaks, so it loads before any baseline.
            "tracing": {"preload_tokenizer": True},
        }
        settings.update(config or {})
        config_path = self.workdir / f"{name}.yaml"
        config_path.write_text(yaml.safe_dump(settings))
        # This config only: no GLASSGATE_* or OTEL_* variable of the caller's may change it.
        env = {key: value for key, value in os.environ.items() if not key.startswith(("GLASSGATE_", "OTEL_"))}
        port = port or free_port()
        log_path = self.workdir / f"{name}.log"
        argv = [glassgate_executable(), "serve", "--config", str(config_path), "--port", str(port), *serve_args]
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir, env=env,
                start_new_session=True,
            )  # fmt: skip
        child = Child(name, process, log_path)
        self.children.started.append(child)
        url = f"http://127.0.0.1:{port}"
        wait_for_http(child, f"{url}/readyz", timeout_s=90)
        return Glassgate(child, url)

    def start_faulty_upstream(self, chunks: int = 8, delay_ms: float = 20.0) -> str:
        """bench/faults/faulty_upstream.py, stopped with the rest; returns its URL."""
        port = free_port()
        argv = [sys.executable, "-m", "bench.faults.faulty_upstream", "--port", str(port), "--chunks", str(chunks)]
        argv += ["--delay-ms", str(delay_ms)]
        child = self.children.start("faulty upstream", argv, self.workdir / f"faulty-{port}.log", cwd=_REPO)
        wait_for_port(child, port, timeout_s=15)
        return f"http://127.0.0.1:{port}"

    def stop(self, glassgate: Glassgate) -> None:
        if glassgate.child in self.children.started:
            self.children.started.remove(glassgate.child)
        stop_child(glassgate.child, grace_s=30)


@contextlib.contextmanager
def running_stack(keep_workdir: bool = False) -> Iterator[Stack]:
    """Everything started is stopped on the way out (a frozen PostgreSQL is thawed first)."""
    workdir = Path(tempfile.mkdtemp(prefix="gg-faults-"))
    children = Children()
    postgres: Postgres | None = None
    try:
        progress(f"starting PostgreSQL and the mock upstream in {workdir}")
        postgres = Postgres(workdir / "pg")
        port = free_port()
        argv = [sys.executable, "-m", "bench.mock_upstream", "--port", str(port), "--chunks", "5", "--delay-ms", "10"]
        wait_for_port(children.start("mock upstream", argv, workdir / "mock.log", cwd=_REPO), port, timeout_s=15)
        yield Stack(workdir, children, postgres, f"http://127.0.0.1:{port}")
    finally:
        if postgres is not None:
            postgres.thaw()  # first: Glassgates stopping would wait on a hung database
        children.stop_all()
        if postgres is not None:
            postgres.close()
        if keep_workdir:
            progress(f"work directory kept: {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
