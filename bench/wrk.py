"""Run wrk with a POST script and read its results.

The Lua `done()` hook prints one JSON line with exact counts and latency percentiles in
microseconds: wrk's human summary rounds to two decimals and changes units, which is
too coarse for sub-millisecond differences between proxies.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path

from bench.procs import BenchError

CHAT_BODY = json.dumps(
    {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "Say hello in one short sentence."}]},
    separators=(",", ":"),
)
# The steady phase's call: a stream of two events `STEADY_PACE_MS` apart (the mock's per-request
# override), so each connection makes ~45 calls a second whatever the proxy: a fixed, moderate
# rate like production's, where the writer stores small batches, rather than the saturating one.
STEADY_PACE_MS = 20
STEADY_BODY = json.dumps(
    {**json.loads(CHAT_BODY), "stream": True, "bench": {"chunks": 2, "delay_ms": STEADY_PACE_MS}},
    separators=(",", ":"),
)
_MARKER = "BENCH_RESULT "

_SCRIPT = """
wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer sk-bench-not-a-real-key"
{stopper}
function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{marker}{{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,'
    .. '"mean_us":%.2f,"connect_errors":%d,"read_errors":%d,"write_errors":%d,"timeouts":%d,"non_2xx":%d}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean, errors.connect, errors.read, errors.write,
    errors.timeout, errors.status))
end
"""

# wrk has no request-count flag: this ends each thread after `stop_after` responses. Only
# scripts that need it define response(), because wrk then parses every response for Lua.
_STOPPER = """
local seen = 0
function response(status, headers, body)
  seen = seen + 1
  if seen >= {stop_after} then wrk.thread:stop() end
end
"""


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    p50_us: float
    p90_us: float
    p99_us: float
    max_us: float
    mean_us: float
    errors: int
    non_2xx: int

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s else 0.0


def write_script(directory: Path, stop_after: int = 0, *, steady: bool = False) -> Path:
    """The Lua script; `stop_after` is per wrk thread; `steady`: the steady phase's paced stream."""
    name = f"post-stop{stop_after}" if stop_after else "post"
    path = directory / (f"{name}-steady.lua" if steady else f"{name}.lua")
    stopper = _STOPPER.format(stop_after=stop_after) if stop_after else ""
    body = STEADY_BODY if steady else CHAT_BODY
    text = _SCRIPT.format(body=_lua_string(body), stopper=stopper, marker=_MARKER)
    path.write_text(text)
    return path


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def run_wrk(
    url: str, script: Path, *, threads: int, connections: int, duration_s: float, timeout_s: float = 5
) -> WrkResult:
    argv = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(1, round(duration_s))}s",
        f"--timeout={timeout_s:g}s",
        "--latency",
        "-s",
        str(script),
        url,
    ]
    completed = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=duration_s + 120)
    if completed.returncode != 0:
        raise BenchError(f"wrk failed ({completed.returncode}): {completed.stderr.strip() or completed.stdout}")
    return parse_output(completed.stdout)


def parse_output(stdout: str) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith(_MARKER):
            data = json.loads(line[len(_MARKER) :])
            break
    else:
        raise BenchError(f"wrk printed no result line:\n{stdout}")
    errors = sum(data[key] for key in ("connect_errors", "read_errors", "write_errors", "timeouts"))
    return WrkResult(
        requests=data["requests"],
        duration_s=data["duration_us"] / 1e6,
        p50_us=float(data["p50_us"]),
        p90_us=float(data["p90_us"]),
        p99_us=float(data["p99_us"]),
        max_us=float(data["max_us"]),
        mean_us=float(data["mean_us"]),
        errors=errors,
        non_2xx=data["non_2xx"],
    )
