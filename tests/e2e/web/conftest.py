"""A real Glassgate with seeded calls, and a headless Chromium that uses its web app as a person would.

Chromium is Debian's (`/usr/bin/chromium`; `.ci/run` installs it); the app must be built
(`make web`, which `make test` runs first). Screenshots of every page go to `screenshots/` here.
"""

from __future__ import annotations

import base64
import os
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

import glassgate
from tests.fakes.vendor_server import FakeVendor, ServerThread
from tests.harness import ADMIN_TOKEN, GlassgateProcess, openai_config, start_glassgate

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
STATIC_INDEX = Path(glassgate.__file__).resolve().parent / "static" / "index.html"
ADMIN = {"name": "Ada Admin", "email": "ada@example.com", "password": "correct horse battery"}
BIG_IMAGE_BYTES = 5 * 1024 * 1024


@dataclass
class Seeded:
    glassgate: GlassgateProcess
    span_ids: dict[str, str] = field(default_factory=dict)


def launch(playwright: Playwright) -> Browser:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


def chat(base: str, content: Any, model: str = "echo-mini", headers: dict[str, str] | None = None, **extra: Any) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": content}], **extra}
    response = httpx.post(
        f"{base}/openai/v1/chat/completions",
        json=body,
        headers={"authorization": "Bearer sk-test", **(headers or {})},
        timeout=30,
    )
    assert response.status_code in (200, 400), response.text
    span_id: str = response.headers["x-glassgate-span-id"]
    return span_id


def seed(base: str) -> dict[str, str]:
    """Calls a new user might have made: a support chat (an email in it), tools, a stream, an error, a big image."""
    support = {"x-glassgate-session-id": "chat-42", "x-glassgate-user-id": "alice", "x-glassgate-tags": "support,eu"}
    ids: dict[str, str] = {}
    ids["refund"] = chat(base, "What is the refund policy for damaged parcels?", headers=support)
    ids["email"] = chat(base, "Thanks! Please send the details to jane.doe@example.com today.", headers=support)
    ids["tools"] = chat(
        base,
        "What is the weather in Paris?",
        model="gpt-4o-mini",
        tools=[{"type": "function", "function": {"name": "get_weather", "description": "Current weather"}}],
    )
    ids["stream"] = chat(
        base, "Write a haiku about proxies.", model="gpt-4o-mini", stream=True, stream_options={"include_usage": True}
    )
    ids["error"] = chat(base, "Be creative.", model="error-400", temperature=9)
    image = "data:image/png;base64," + base64.b64encode(b"\x89PNG" + b"\x00" * BIG_IMAGE_BYTES).decode()
    ids["big"] = chat(
        base,
        [{"type": "text", "text": "Describe this scan."}, {"type": "image_url", "image_url": {"url": image}}],
        model="gpt-4o-mini",
    )
    ids["traced"] = traced_call(base)
    topics = ["invoices", "shipping times", "password reset", "API limits", "data export", "SSO setup"]
    for number in range(24):
        chat(
            base,
            f"Question {number}: how do I handle {topics[number % len(topics)]}?",
            headers={"x-glassgate-user-id": f"user-{number % 5}"},
        )
    return ids


def traced_call(base: str) -> str:
    """An instrumented app's agent and tool spans (OTLP/JSON), and its LLM call through the proxy in the same trace."""
    trace, agent, tool = "5b8aa5a2d2c872e8321cf37308d69df2", "051581bf3cb55c13", "1b2c3d4e5f607182"
    now = time.time_ns()

    def span(span_id: str, parent: str | None, name: str, kind: str, start_ms: int, end_ms: int) -> dict[str, Any]:
        return {
            "traceId": trace,
            "spanId": span_id,
            **({"parentSpanId": parent} if parent else {}),
            "name": name,
            "startTimeUnixNano": str(now + start_ms * 1_000_000),
            "endTimeUnixNano": str(now + end_ms * 1_000_000),
            "attributes": [{"key": "openinference.span.kind", "value": {"stringValue": kind}}],
        }

    export = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "support-bot"}}]},
                "scopeSpans": [
                    {
                        "spans": [
                            span(agent, None, "support-agent", "AGENT", 0, 900),
                            span(tool, agent, "lookup-order", "TOOL", 20, 260),
                        ]
                    }
                ],
            }
        ]
    }
    stored = httpx.post(f"{base}/v1/traces", json=export, headers={"authorization": f"Bearer {ADMIN_TOKEN}"})
    assert stored.status_code == 200, stored.text
    return chat(base, "Where is order 1042?", headers={"traceparent": f"00-{trace}-{agent}-01"})


def wait_for_spans(process: GlassgateProcess, count: int) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if len(process.api("/spans", limit=200).json()["data"]) >= count:
            return
        time.sleep(0.1)
    raise AssertionError(f"fewer than {count} spans stored after 30 s")


def wait_until_searchable(process: GlassgateProcess, words: str) -> None:
    """The search indexer stores a span's words just after the span: wait for that too."""
    deadline = time.monotonic() + 30
    while not process.api("/spans", q=words).json()["data"]:
        assert time.monotonic() < deadline, f"no span found by {words!r} after 30 s"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, postgres_url: str, template_database: str
) -> Iterator[Seeded]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium")
        pytest.skip(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    if not STATIC_INDEX.exists():
        pytest.fail("the web app is not built: run `make web` (make test does)")
    from tests.harness import create_database

    workdir = tmp_path_factory.mktemp("web")
    # One Glassgate, and database, per test module.
    module = request.module.__name__.rsplit(".", 1)[-1]
    database_url = create_database(postgres_url, f"web_e2e_{module}", template=template_database)
    vendor = ServerThread(FakeVendor().app()).start()
    config = openai_config(
        workdir / "data",
        database_url,
        vendor.url,
        first_user_setup=True,
        tracing={"capture_max_bytes": 16 * 1024 * 1024},
    )
    process = start_glassgate(config, workdir)
    try:
        ids = seed(process.url)
        wait_for_spans(process, 33)
        wait_until_searchable(process, "refund")
        yield Seeded(process, ids)
    finally:
        process.stop()
        vendor.stop()


class Console:
    """Errors and warnings the page logged (CSP violations, failed requests and the router's
    warnings included, such as a page opened directly with nothing to show while its code
    loads); tests assert there are none."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def on_message(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.errors.append(f"{message.type}: {message.text}")

    def take(self) -> list[str]:
        errors, self.errors = self.errors, []
        return errors


@dataclass
class Session:
    page: Page
    base: str
    console: Console

    def shot(self, name: str) -> None:
        SCREENSHOTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def fresh_screenshots() -> None:
    """Screenshots of this run only: the folder is emptied once, before the first browser test."""
    if SCREENSHOTS.exists():
        shutil.rmtree(SCREENSHOTS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = launch(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def session(seeded: Seeded, browser: Browser, fresh_screenshots: None) -> Iterator[Session]:
    """A browser tab whose first visit creates the admin account through the setup form."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(15_000)
    console = Console()
    page.on("console", console.on_message)
    page.on("pageerror", lambda error: console.errors.append(f"uncaught: {error}"))
    current = Session(page, seeded.glassgate.url, console)
    page.goto(current.base + "/")
    page.wait_for_url("**/ui/login?next=*")
    page.get_by_role("heading", name="Create the first account").wait_for()
    page.get_by_label("Name").fill(ADMIN["name"])
    page.get_by_label("Email").fill(ADMIN["email"])
    page.get_by_label("Password").fill(ADMIN["password"])
    current.shot("01-first-sign-in")
    page.get_by_role("button", name="Create account and sign in").click()
    page.wait_for_url("**/ui/traces")
    yield current
    context.close()
