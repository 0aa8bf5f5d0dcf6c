"""Instructions per proxied request, counted by valgrind: a measure of Glassgate's own cost that
the host's speed does not move.

`bench.run` reads CPU time, which on a shared VM moved 1.3-2.6x within hours; a change of a few
percent is lost in that. Instructions are repeatable: the same code, config and load give the
same count within ~1%, whatever else the machine does. So compare two commits with this, then
confirm with `bench.run`.

It runs `glassgate serve` under `valgrind --tool=callgrind` (~50x slower) with the bench's
mock upstream, warms it up, zeroes the counters, drives `--seconds` of the bench's chat call
with wrk, waits until the span writer and the search indexer are done with those calls, and
divides the instructions counted by the calls, less what the idle process spends in as much time
(its timers and background jobs, counted first). Glassgate's process only: its embedded
PostgreSQL is not under valgrind. The embeddings worker is off (it runs at a fixed rate
whatever the traffic). The split by shared object shows what is Python and what is C
(zstd, orjson, uvloop, httptools…).
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.callgrind import read_profile
from bench.procs import BenchError, Children, Tree, free_port, run_bench, settle
from bench.stack import start_glassgate, start_mock
from bench.wrk import run_wrk, write_script

_TOOLS = ("valgrind", "callgrind_control", "wrk")


@dataclass(frozen=True)
class Count:
    requests: int
    instructions: int  # counted from the start of the load until its spans were written
    idle_instructions: int  # of those, what the idle process spends in as much time
    per_request: int  # (instructions - idle_instructions) / requests
    connections: int
    seconds: float
    by_object: list[tuple[str, float]]  # share of the instructions, largest first


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.instructions", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="measured load, in seconds (default 20)")
    parser.add_argument("--connections", type=int, default=8, help="wrk connections (default 8)")
    parser.add_argument("--warmup-seconds", type=float, default=10, help="load before counting (default 10)")
    parser.add_argument("--idle-seconds", type=float, default=10, help="idle time counted, to subtract (default 10)")
    parser.add_argument("--json", type=Path, help="also write the result here")
    parser.add_argument("--keep-workdir", action="store_true", help="keep the config, logs and callgrind profile")
    args = parser.parse_args(argv)
    missing = [tool for tool in _TOOLS if shutil.which(tool) is None]
    if missing:
        sys.stderr.write(f"missing {', '.join(missing)}: run bench/install-tools.sh (make bench-instructions does)\n")
        return 2
    return run_bench(
        "gg-instructions-",
        lambda workdir, children: _count(
            workdir, children, args.seconds, args.connections, args.warmup_seconds, args.idle_seconds
        ),
        lambda count: _emit(count, args.json),
        keep_workdir=args.keep_workdir,
        grace_s=60,  # valgrind's exit writes the last profile: give it time
    )


def _emit(count: Count, json_path: Path | None) -> None:
    sys.stdout.write(markdown(count) + "\n")
    if json_path:
        json_path.write_text(json.dumps(asdict(count), indent=2) + "\n")


def _count(
    workdir: Path, children: Children, seconds: float, connections: int, warmup_s: float, idle_s: float
) -> Count:
    mock_port = free_port()
    start_mock(workdir, children, mock_port, chunks=10, delay_ms=20)
    profile = workdir / "callgrind.out"
    _progress(f"starting Glassgate under callgrind in {workdir} (a few minutes: everything runs ~50x slower)")
    target, child = start_glassgate(
        workdir,
        children,
        mock_port,
        wrapper=["valgrind", "--tool=callgrind", f"--callgrind-out-file={profile}"],
        extra_config="embeddings:\n  enabled: false\n",
        ready_timeout_s=900,
    )
    script = write_script(workdir)
    _progress(f"warming up: {warmup_s:g} s")
    run_wrk(target.url, script, threads=1, connections=connections, duration_s=warmup_s, timeout_s=30)
    _idle(target.tree)
    _progress(f"counting the idle process's own work (timers, background jobs): {idle_s:g} s")
    _callgrind_control("-z", child.pid)
    started = time.monotonic()
    time.sleep(idle_s)
    _callgrind_control("-d", child.pid)
    idle_window_s = time.monotonic() - started
    idle_per_s = read_profile(_dumped(profile, 1)).instructions / idle_window_s
    _progress(f"counting: {seconds:g} s of load, then until its spans are written")
    _callgrind_control("-z", child.pid)
    started = time.monotonic()
    load = run_wrk(target.url, script, threads=1, connections=connections, duration_s=seconds, timeout_s=30)
    if load.errors or load.non_2xx or not load.requests:
        raise BenchError(f"the load failed: {load.requests} requests, {load.errors} errors, {load.non_2xx} non-2xx")
    _idle(target.tree)
    _callgrind_control("-d", child.pid)
    load_window_s = time.monotonic() - started
    counted = read_profile(_dumped(profile, 2))
    # What the process spends anyway in the time the calls and their spans took is not theirs.
    idle = round(idle_per_s * load_window_s)
    return Count(
        requests=load.requests,
        instructions=counted.instructions,
        idle_instructions=idle,
        per_request=round((counted.instructions - idle) / load.requests),
        connections=connections,
        seconds=seconds,
        by_object=[(Path(name).name, round(share, 4)) for name, share in counted.shares()[:10]],
    )


def _idle(tree: Tree) -> None:
    # Under valgrind an idle process still spends a little on its timers: 50 ms a second is idle.
    settle(tree, quiet_s=0.025, interval_s=0.5, timeout_s=120)


def _callgrind_control(option: str, pid: int) -> None:
    completed = subprocess.run(
        ["callgrind_control", option, str(pid)], capture_output=True, text=True, check=False, timeout=300
    )
    if completed.returncode != 0:
        raise BenchError(f"callgrind_control {option} failed: {completed.stderr.strip() or completed.stdout}")


def _dumped(profile: Path, number: int, timeout_s: float = 120) -> Path:
    """The profile of a dump (`callgrind.out.<number>`), once callgrind has written all of it."""
    path = profile.with_name(f"{profile.name}.{number}")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if path.exists() and "\ntotals:" in path.read_text(errors="replace")[-4096:]:
            return path
        time.sleep(0.5)
    raise BenchError(f"callgrind wrote no complete profile at {path}")


def markdown(count: Count) -> str:
    lines = [
        f"Glassgate's process: **{count.per_request:,} instructions per proxied request** "
        f"({count.requests:,} requests at {count.connections} connections, tracing on, embeddings off; "
        f"{count.idle_instructions / count.instructions:.0%} of the count was the idle process's own and is "
        "left out; PostgreSQL not included)",
        "",
        "| shared object | share of the instructions |",
        "|---|---:|",
    ]
    lines += [f"| {name} | {share * 100:.1f}% |" for name, share in count.by_object]
    return "\n".join(lines)


def _progress(message: str) -> None:
    sys.stderr.write(f"[instructions] {message}\n")
    sys.stderr.flush()


if __name__ == "__main__":
    raise SystemExit(main())
