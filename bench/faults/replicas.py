"""Scenario `replicas`: two Glassgates on one PostgreSQL behind nginx; one is stopped under load and restarted.

Replicas `a` and `b` share `database_url` (the bench's PostgreSQL, pgvector included) and each
has its own data_dir (its spill), as containers would. nginx balances between them with
upstream keep-alive and adds `x-bench-replica: $upstream_addr` to every answer, so each call
knows which replica served it. Under a steady load of JSON calls and one-second streams, `b`
gets SIGTERM, drains and exits; after a pause it is started again on the same port and
data_dir, and nginx sends it calls again. The budget (issue 8):

- calls that fail: no more than `b` had in flight when the signal came;
- every call that got an `x-glassgate-span-id` has exactly that span stored, once, whichever
  replica served it (counted by span id); `b`'s spans are all stored before it has exited.

Evaluation jobs shared between replicas are covered by tests/e2e/test_eval_workers.py (several
`glassgate worker` processes on one run's queue, one killed mid-run).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path

from bench.faults.audit import span_rows, wait_for_spans
from bench.faults.scenario import Options, progress, rounded
from bench.faults.stack import Glassgate, Stack, log_problems, running_stack
from bench.faults.traffic import Kind, Sent, Traffic
from bench.procs import BenchError, Child, free_port, wait_for_port

REPLICA_HEADER = "x-bench-replica"
MIX = (Kind("json"), Kind("stream", stream=True, stream_shape={"chunks": 20, "delay_ms": 50}))  # 1 s streams
NGINX_FAIL_TIMEOUT_S = 2  # how long nginx leaves a replica alone after failing to reach it


def replica_mix(seq: int) -> Kind:
    return MIX[seq % len(MIX)]


@dataclass(frozen=True)
class ReplicasReport:
    scenario: str
    run_id: str
    rate: float
    calls: int
    failed: int
    in_flight_at_signal: int  # calls `b` was serving when SIGTERM came
    in_flight_answered: int
    failure_kinds: dict[str, int]  # status or error → calls
    served: dict[str, int]  # "a", "b", "b after restart", "none" → answered calls
    exit_code: int | None
    exit_s: float | None  # SIGTERM until `b` exited (its drain)
    down_s: float  # `b` exited until it was ready again
    b_lost_at_exit: int  # answered by `b`, span not stored once `b` had exited
    spans_expected: int  # calls that got an x-glassgate-span-id
    spans_stored_once: int
    spans_lost: int
    spans_duplicated: int
    spans_mismatched: int  # a span stored for the call, but not the one the client was told
    examples: list[str]
    log_problems: list[str]


def run_replicas(options: Options) -> ReplicasReport:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    if not Path(nginx).exists():
        raise BenchError("nginx is not installed: run bench/install-tools.sh")
    with running_stack(options.keep_workdir) as stack:
        ports = {"a": free_port(), "b": free_port()}
        replicas = {name: _start_replica(stack, name, ports[name]) for name in ("a", "b")}
        nginx_url = _start_nginx(stack, nginx, ports)
        report = asyncio.run(_run(stack, replicas, ports, nginx_url, options))
        for replica in replicas.values():
            stack.stop(replica)
        logs = "".join(replica.log() for replica in replicas.values())
        return replace(report, log_problems=log_problems(logs))


def _start_replica(stack: Stack, name: str, port: int, restarted: bool = False) -> Glassgate:
    label = f"replica-{name}" + ("-restarted" if restarted else "")
    return stack.start_glassgate(label, port=port, data_dir=stack.workdir / f"replica-{name}-data")


async def _run(
    stack: Stack, replicas: dict[str, Glassgate], ports: dict[str, int], nginx_url: str, options: Options
) -> ReplicasReport:
    run_id = f"faults-{uuid.uuid4().hex[:12]}"
    traffic = Traffic(
        nginx_url, run_id, options.rate, replica_mix, clients=options.clients, served_by_header=REPLICA_HEADER
    )
    traffic.start()
    try:
        progress(f"load through nginx at {options.rate:g}/s for {options.warmup_s:g}s, then SIGTERM to replica b")
        await asyncio.sleep(options.warmup_s)
        traffic.phase = "b stopping"
        signalled_at = time.monotonic()
        replicas["b"].child.process.send_signal(signal.SIGTERM)
        exit_code = await asyncio.to_thread(_exit_code, replicas["b"].child.process, 60.0)
        exited_at = time.monotonic()
        stack.stop(replicas["b"])
        at_exit = await span_rows(stack.postgres.url, run_id)
        traffic.phase = "b down"
        progress(f"replica b exited ({exit_code}) after {exited_at - signalled_at:.1f}s; down {options.outage_s:g}s")
        await asyncio.sleep(options.outage_s)
        replicas["b"] = await asyncio.to_thread(_start_replica, stack, "b", ports["b"], True)
        back_at = time.monotonic()
        traffic.phase = "b back"
        progress(f"replica b restarted; load goes on for {options.recovery_s:g}s")
        await asyncio.sleep(options.recovery_s)
    finally:
        await traffic.stop()
    calls = traffic.calls
    named = [call for call in calls if call.span_id is not None]
    progress(f"{len(calls)} calls sent; waiting for their spans")
    await wait_for_spans(stack.postgres.url, run_id, len(named), options.drain_timeout_s)
    spans = await span_rows(stack.postgres.url, run_id)
    in_flight = [call for call in traffic.in_flight_at(signalled_at) if _replica(call, ports) == "b"]
    b_answered = [call for call in calls if call.ok and _served_label(call, ports, back_at) == "b"]
    failed = [call for call in calls if not call.ok]
    stored_once = lost = duplicated = mismatched = 0
    examples = [f"#{c.seq} ({c.phase}, via {c.served_by}): {c.error or c.status}" for c in failed[:5]]
    for call in named:
        rows = spans.get(call.seq, [])
        ids = [row.span_id for row in rows]
        stored_once += ids == [call.span_id]
        lost += not rows
        duplicated += len(rows) > 1
        mismatched += bool(rows) and call.span_id not in ids
        if ids != [call.span_id] and len(examples) < 10:
            examples.append(f"#{call.seq} via {call.served_by}: told {call.span_id}, stored {ids}")
    return ReplicasReport(
        scenario="replicas",
        run_id=run_id,
        rate=options.rate,
        calls=len(calls),
        failed=len(failed),
        in_flight_at_signal=len(in_flight),
        in_flight_answered=sum(call.ok for call in in_flight),
        failure_kinds=dict(Counter(_failure_kind(call) for call in failed)),
        served=dict(Counter(_served_label(call, ports, back_at) for call in calls if call.ok)),
        exit_code=exit_code,
        exit_s=rounded(exited_at - signalled_at) if exit_code is not None else None,
        down_s=round(back_at - exited_at, 2),
        b_lost_at_exit=sum(not at_exit.get(call.seq) for call in b_answered),
        spans_expected=len(named),
        spans_stored_once=stored_once,
        spans_lost=lost,
        spans_duplicated=duplicated,
        spans_mismatched=mismatched,
        examples=examples,
        log_problems=[],
    )


def _replica(call: Sent, ports: dict[str, int]) -> str | None:
    """The replica that answered: the last address nginx tried."""
    if not call.served_by:
        return None
    last = call.served_by.split(",")[-1].strip()
    return next((name for name, port in ports.items() if last == f"127.0.0.1:{port}"), None)


def _served_label(call: Sent, ports: dict[str, int], back_at: float) -> str:
    name = _replica(call, ports) or "none"
    return "b after restart" if name == "b" and call.sent_at >= back_at else name


def _failure_kind(call: Sent) -> str:
    return (call.error or f"HTTP {call.status}").split(":")[0]


def _exit_code(process: subprocess.Popen[bytes], timeout_s: float) -> int | None:
    try:
        return process.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return None


def _start_nginx(stack: Stack, nginx: str, ports: dict[str, int]) -> str:
    port = free_port()
    conf = stack.workdir / "nginx.conf"
    conf.write_text(nginx_conf(stack.workdir, port, list(ports.values())))
    log = stack.workdir / "nginx-error.log"
    argv = [nginx, "-p", str(stack.workdir), "-c", str(conf), "-e", str(log), "-g", "daemon off;"]
    child: Child = stack.children.start("nginx", argv, stack.workdir / "nginx.log")
    wait_for_port(child, port, timeout_s=15)
    return f"http://127.0.0.1:{port}"


def nginx_conf(workdir: Path, port: int, replica_ports: list[int]) -> str:
    """Round robin over the replicas with upstream keep-alive, streaming unbuffered; a replica
    that refuses a connection is skipped for NGINX_FAIL_TIMEOUT_S (the call goes to the other)."""
    user = "user root root;\n" if os.geteuid() == 0 else ""  # as root the workers would be `nobody`
    temp = "\n".join(
        f"    {kind}_temp_path {workdir}/{kind}_temp;" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    servers = "\n".join(
        f"        server 127.0.0.1:{replica} fail_timeout={NGINX_FAIL_TIMEOUT_S}s;" for replica in replica_ports
    )
    return f"""{user}worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
{temp}
    upstream glassgate {{
{servers}
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        location / {{
            proxy_pass http://glassgate;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
            add_header {REPLICA_HEADER} $upstream_addr always;
        }}
    }}
}}
"""


def replicas_problems(report: ReplicasReport) -> list[str]:
    found = []
    if report.exit_code != 0:
        found.append(f"replica b exited with {report.exit_code} after SIGTERM")
    if report.failed > report.in_flight_at_signal:
        found.append(
            f"{report.failed} calls failed, more than the {report.in_flight_at_signal} replica b had in flight:"
            f" {report.failure_kinds} {report.examples}"
        )
    if report.spans_stored_once != report.spans_expected:
        found.append(
            f"{report.spans_expected - report.spans_stored_once} of {report.spans_expected} spans not stored once"
            f" ({report.spans_lost} lost, {report.spans_duplicated} duplicated, {report.spans_mismatched} mismatched):"
            f" {report.examples}"
        )
    if report.b_lost_at_exit:
        found.append(f"{report.b_lost_at_exit} spans replica b answered were not stored when it exited")
    for replica in ("a", "b", "b after restart"):
        if not report.served.get(replica):
            found.append(f"replica {replica} answered no call: {report.served}")
    if report.log_problems:
        found.append(f"errors logged: {report.log_problems}")
    return found


def replicas_summary(report: ReplicasReport) -> str:
    return (
        f"calls: {report.calls} at {report.rate:g}/s through nginx, answered by {report.served};"
        f" failed {report.failed} {report.failure_kinds}\n"
        f"replica b: SIGTERM with {report.in_flight_at_signal} calls in flight ({report.in_flight_answered} answered),"
        f" exit {report.exit_code} after {report.exit_s}s, down {report.down_s}s;"
        f" spans it answered missing at exit: {report.b_lost_at_exit}\n"
        f"spans: {report.spans_stored_once} of {report.spans_expected} stored exactly once"
        f" ({report.spans_lost} lost, {report.spans_duplicated} duplicated, {report.spans_mismatched} mismatched)\n"
    )
