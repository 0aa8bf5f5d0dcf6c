"""Start the three things under test: the mock upstream, nginx in front of it, and Glassgate.

Everything lives in one temporary directory (configs, logs, nginx's pid and temp files,
Glassgate's embedded PostgreSQL), so a run leaves nothing behind once the directory is
removed and the children are stopped.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.procs import BenchError, Child, Children, Tree, free_port, wait_for_http, wait_for_port

ADMIN_TOKEN = "bench-token"
CHAT_PATH = "/v1/chat/completions"
# Glassgate's guardrails in a run (`bench.run --guardrails`). "default" is what a config without a
# `guardrails` section gets: flag PII, secrets and injection, in the span writer, off the client's
# time. "inline" puts the checks on the request path: requests scanned before they go upstream
# (redact or block), answers scanned as they stream back (redact within the sliding window).
GUARDRAIL_CONFIGS = {
    "default": "",
    "inline": (
        "guardrails:\n"
        "  - name: bench-redact\n"
        "    detectors: [pii, secrets]\n"
        "    phases: [input, output]\n"
        "    action: redact\n"
        "  - name: bench-block-injection\n"
        "    detectors: [injection]\n"
        "    phases: [input]\n"
        "    action: block\n"
    ),
}
GLASSGATE_PATH = "/openai" + CHAT_PATH


@dataclass(frozen=True)
class Target:
    """One way to reach the mock: directly, through nginx, or through Glassgate."""

    name: str
    port: int
    path: str
    tree: Tree

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}{self.path}"


@dataclass(frozen=True)
class Stack:
    direct: Target
    nginx: Target
    glassgate: Target
    glassgate_child: Child

    @property
    def targets(self) -> tuple[Target, Target, Target]:
        return (self.direct, self.nginx, self.glassgate)


def start_stack(
    workdir: Path, children: Children, chunks: int, delay_ms: float, *, guardrails: str = "default"
) -> Stack:
    mock_port = free_port()
    mock = start_mock(workdir, children, mock_port, chunks, delay_ms)
    nginx = _start_nginx(workdir, children, mock_port)
    glassgate, glassgate_child = start_glassgate(
        workdir, children, mock_port, extra_config=GUARDRAIL_CONFIGS[guardrails]
    )
    direct = Target("direct", mock_port, CHAT_PATH, Tree(mock.pid))
    return Stack(direct, nginx, glassgate, glassgate_child)


def start_mock(workdir: Path, children: Children, port: int, chunks: int, delay_ms: float) -> Child:
    argv = [
        sys.executable,
        "-m",
        "bench.mock_upstream",
        "--port",
        str(port),
        "--chunks",
        str(chunks),
        "--delay-ms",
        str(delay_ms),
    ]
    child = children.start("mock upstream", argv, workdir / "mock.log", cwd=_repo_root())
    wait_for_port(child, port, timeout_s=15)
    return child


def _start_nginx(workdir: Path, children: Children, mock_port: int) -> Target:
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    port = free_port()
    conf = workdir / "nginx.conf"
    conf.write_text(nginx_conf(workdir, port, mock_port))
    # -e: nginx opens its error log before reading the config; keep it out of /var/log.
    argv = [nginx, "-p", str(workdir), "-c", str(conf), "-e", str(workdir / "nginx-error.log"), "-g", "daemon off;"]
    child = children.start("nginx", argv, workdir / "nginx.log")
    wait_for_port(child, port, timeout_s=15)
    return Target("nginx", port, CHAT_PATH, Tree(child.pid))


def nginx_conf(workdir: Path, port: int, mock_port: int) -> str:
    """A minimal streaming-friendly reverse proxy, one worker like Glassgate's one process."""
    # As root the workers would switch to `nobody`, which cannot write the temp dir.
    user = "user root root;\n" if os.geteuid() == 0 else ""
    temp = "\n".join(
        f"    {kind}_temp_path {workdir}/{kind}_temp;" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return f"""{user}worker_processes 1;
pid {workdir}/nginx.pid;
error_log {workdir}/nginx-error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
{temp}
    upstream mock {{
        server 127.0.0.1:{mock_port};
        keepalive 64;
    }}
    server {{
        listen 127.0.0.1:{port} backlog=1024;
        location / {{
            proxy_pass http://mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }}
    }}
}}
"""


def start_glassgate(
    workdir: Path,
    children: Children,
    mock_port: int,
    *,
    wrapper: Sequence[str] = (),
    extra_config: str = "",
    ready_timeout_s: float = 180,
) -> tuple[Target, Child]:
    """`glassgate serve` with the mock as its `openai` upstream; `wrapper` runs it under a tool (valgrind)."""
    data_dir = (workdir / "glassgate").resolve()
    data_dir.mkdir()
    config = workdir / "glassgate.yaml"
    config.write_text(
        f"data_dir: {data_dir}\n"
        f"admin_token: {ADMIN_TOKEN}\n"
        "upstreams:\n"
        "  openai:\n"
        "    vendor: openai\n"
        f'    url: "http://127.0.0.1:{mock_port}"\n'
        f"{extra_config}"
    )
    port = free_port()
    # Registered before the start so cleanup finds the postmaster even if Glassgate dies early.
    children.postgres_marker = str(data_dir / "postgres")
    argv = [*wrapper, glassgate_executable(), "serve", "--config", str(config), "--port", str(port)]
    child = children.start("glassgate", argv, workdir / "glassgate.log", cwd=workdir)
    # The first start runs initdb and the migrations: allow for a slow disk.
    wait_for_http(child, f"http://127.0.0.1:{port}/readyz", timeout_s=ready_timeout_s)
    target = Target("glassgate", port, GLASSGATE_PATH, Tree(child.pid, postgres_marker=children.postgres_marker))
    return target, child


def glassgate_executable() -> str:
    """The CLI next to the running interpreter (.venv/bin), else on PATH."""
    beside = Path(sys.executable).parent / "glassgate"
    if beside.exists():
        return str(beside)
    found = shutil.which("glassgate")
    if found is None:
        raise BenchError("glassgate CLI not found; run `make install` first")
    return found


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
