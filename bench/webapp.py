"""The web app's first load: time until the trace list shows its rows, in headless Chromium.

    python -m bench.webapp [--calls 200] [--runs 7] [--json FILE]

Starts the bench's mock upstream and a real `glassgate serve` (embedded PostgreSQL, built app
from `make web`), sends `--calls` chat calls through the proxy, creates the first user, then
opens /ui/traces in a fresh browser context (empty cache) `--runs` times. The figure is the
page's own clock from navigation start to the first `trace-row` in the DOM (a MutationObserver
installed before any script runs), so it includes the HTML, the bundle, the auth check and
the first page of spans from the API. A warm load (cached assets) is measured too. Budget:
median cold load ≤ 2,000 ms. Prints a Markdown table; exit code 1 when over budget.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import urllib.request
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

from playwright.sync_api import BrowserContext, sync_playwright

from bench.procs import BenchError, Children, free_port, wait_for_http, wait_for_port
from bench.stack import glassgate_executable

BUDGET_MS = 2000.0
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_TOKEN = "bench-webapp-token"
STATIC_INDEX = Path(__file__).resolve().parent.parent / "src" / "glassgate" / "static" / "index.html"
# Runs before the app's scripts: notes when the first row of the trace list enters the DOM.
ROW_PROBE = """
window.__firstRowMs = null;
new MutationObserver((_, observer) => {
  if (document.querySelector('[data-testid="trace-row"]')) {
    window.__firstRowMs = performance.now();
    observer.disconnect();
  }
}).observe(document, { childList: true, subtree: true });
"""


def post_json(url: str, body: dict[str, Any], headers: dict[str, str]) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json", **headers}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, dict(response.headers.items())


def stored_spans(base: str) -> int:
    request = urllib.request.Request(
        f"{base}/api/v1/spans?limit=200", headers={"authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return len(json.load(response)["data"])


def start(workdir: Path, children: Children) -> str:
    mock_port = free_port()
    mock = children.start(
        "mock upstream",
        [sys.executable, "-m", "bench.mock_upstream", "--port", str(mock_port)],
        workdir / "mock.log",
        cwd=Path(__file__).resolve().parent.parent,
    )
    wait_for_port(mock, mock_port, timeout_s=15)
    data_dir = (workdir / "glassgate").resolve()
    config = workdir / "glassgate.yaml"
    config.write_text(
        f"data_dir: {data_dir}\nadmin_token: {ADMIN_TOKEN}\nfirst_user_setup: true\n"
        f'upstreams:\n  openai:\n    vendor: openai\n    url: "http://127.0.0.1:{mock_port}"\n'
    )
    port = free_port()
    children.postgres_marker = str(data_dir / "postgres")
    argv = [glassgate_executable(), "serve", "--config", str(config), "--port", str(port), "--log-level", "warning"]
    child = children.start("glassgate", argv, workdir / "glassgate.log", cwd=workdir)
    base = f"http://127.0.0.1:{port}"
    wait_for_http(child, f"{base}/readyz", timeout_s=180)
    return base


def seed(base: str, calls: int) -> str:
    """Send the calls, wait until the list shows them, create the first user; returns its session cookie."""
    for number in range(calls):
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"Question {number}: what now?"}]}
        post_json(f"{base}/openai/v1/chat/completions", body, {"authorization": "Bearer sk-bench"})
    deadline = time.monotonic() + 30
    while stored_spans(base) < min(calls, 200):
        if time.monotonic() > deadline:
            raise BenchError("the calls were not stored within 30 s")
        time.sleep(0.1)
    setup = {"email": "bench@example.com", "password": "bench password 1", "name": "Bench"}
    _, headers = post_json(f"{base}/api/v1/auth/setup", setup, {"x-glassgate-csrf": "1"})
    cookie = SimpleCookie(headers["set-cookie"])
    return next(iter(cookie.values())).OutputString().split(";")[0]


def load(context: BrowserContext, url: str) -> dict[str, float]:
    page = context.new_page()
    page.goto(url, wait_until="commit")
    page.wait_for_selector('[data-testid="trace-row"]', timeout=30_000)
    figures: dict[str, float] = page.evaluate(
        """() => {
          const nav = performance.getEntriesByType('navigation')[0];
          const resources = performance.getEntriesByType('resource');
          const assets = resources.filter((r) => r.name.includes('/assets/'));
          return {
            first_row_ms: window.__firstRowMs,
            html_ms: nav.responseEnd,
            dom_content_loaded_ms: nav.domContentLoadedEventEnd,
            asset_bytes: assets.reduce((sum, r) => sum + r.transferSize, 0),
            requests: resources.length + 1,
          };
        }"""
    )
    page.close()
    return figures


def measure(base: str, cookie: str, runs: int) -> dict[str, Any]:
    name, _, value = cookie.partition("=")
    url = f"{base}/ui/traces"
    cold: list[dict[str, float]] = []
    warm: list[dict[str, float]] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for _ in range(runs):
                context = browser.new_context(viewport={"width": 1440, "height": 900})
                context.add_cookies([{"name": name, "value": value, "url": base}])
                context.add_init_script(ROW_PROBE)
                cold.append(load(context, url))
                warm.append(load(context, url))
                context.close()
        finally:
            browser.close()
    return {"cold": cold, "warm": warm}


def summary(samples: list[dict[str, float]], key: str) -> dict[str, float]:
    values = sorted(sample[key] for sample in samples)
    return {"median": statistics.median(values), "min": values[0], "max": values[-1]}


def markdown(report: dict[str, Any]) -> str:
    cold, warm = report["cold"], report["warm"]
    rows = [
        ("first trace row (cold cache)", summary(cold, "first_row_ms")),
        ("first trace row (warm cache)", summary(warm, "first_row_ms")),
        ("HTML received (cold)", summary(cold, "html_ms")),
        ("DOMContentLoaded (cold)", summary(cold, "dom_content_loaded_ms")),
    ]
    lines = ["| | median | min | max |", "|---|---:|---:|---:|"]
    lines += [f"| {name} | {s['median']:.0f} ms | {s['min']:.0f} ms | {s['max']:.0f} ms |" for name, s in rows]
    size = summary(cold, "asset_bytes")["median"]
    lines.append(f"\nassets transferred on a cold load: {size / 1024:.0f} KB (gzip); budget {BUDGET_MS:.0f} ms")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.webapp", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200, help="calls in the store before the page loads")
    parser.add_argument("--runs", type=int, default=7, help="cold loads, each in a fresh browser context")
    parser.add_argument("--json", type=Path, help="also write the samples here")
    args = parser.parse_args()
    if not STATIC_INDEX.exists():
        sys.stderr.write("the web app is not built: run `make web` first\n")
        return 2
    children = Children()
    with tempfile.TemporaryDirectory(prefix="glassgate-webapp-bench-") as tmp:
        try:
            base = start(Path(tmp), children)
            cookie = seed(base, args.calls)
            report = measure(base, cookie, args.runs)
        finally:
            children.stop_all()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=2))
    sys.stdout.write(markdown(report) + "\n")
    median = summary(report["cold"], "first_row_ms")["median"]
    over = median > BUDGET_MS
    sys.stdout.write(f"over budget: {'yes' if over else 'nothing'}\n")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
