"""A new user's first visit to the web app: sign in, find a trace, read it, the charts, a key."""

from __future__ import annotations

import re
import time

import httpx
from playwright.sync_api import expect

from tests.e2e.web.conftest import ADMIN, Seeded, Session, chat


def test_first_visit_lands_on_the_trace_list(session: Session) -> None:
    page = session.page
    expect(page.get_by_role("heading", name="Traces")).to_be_visible()
    rows = page.get_by_test_id("trace-row")
    expect(rows.first).to_be_visible()
    assert rows.count() >= 20
    expect(page.get_by_text("Ada Admin")).to_be_visible()
    session.shot("02-traces")
    assert session.console.take() == []


def test_search_finds_a_trace_and_shows_its_conversation(session: Session, seeded: Seeded) -> None:
    page = session.page
    page.goto(session.base + "/ui/traces")
    expect(page.get_by_test_id("trace-row").first).to_be_visible()
    page.keyboard.press("/")
    expect(page.get_by_role("searchbox")).to_be_focused()
    page.keyboard.type("refund")
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r".*q=refund.*"))
    rows = page.get_by_test_id("trace-row")
    expect(rows).to_have_count(1)
    session.shot("03-traces-search")
    rows.first.click()
    page.wait_for_url(f"**/ui/traces/{seeded.span_ids['refund']}")
    conversation = page.get_by_test_id("conversation")
    expect(conversation.locator(".role-user")).to_contain_text("What is the refund policy for damaged parcels?")
    expect(conversation.locator(".role-assistant")).to_contain_text("What is the refund policy")
    expect(page.get_by_text("chat-42")).to_be_visible()
    session.shot("04-trace-detail")
    page.keyboard.press("Escape")
    page.wait_for_url(re.compile(r".*/ui/traces\?q=refund$"))
    assert session.console.take() == []


def test_filters_live_in_the_url(session: Session) -> None:
    page = session.page
    page.goto(session.base + "/ui/traces?status=error")
    rows = page.get_by_test_id("trace-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("error")
    expect(page.get_by_label("Status")).to_have_value("error")
    page.get_by_label("User").fill("alice")
    page.get_by_label("User").press("Enter")
    page.wait_for_url(re.compile(r".*user_id=alice.*"))
    expect(page.get_by_text("No calls match these filters")).to_be_visible()
    page.get_by_role("button", name="Clear filters").click()
    expect(rows.first).to_be_visible()
    assert rows.count() >= 20
    assert session.console.take() == []


def test_live_tail_shows_new_calls_without_a_reload(session: Session) -> None:
    page = session.page
    page.goto(session.base + "/ui/traces?q=parcel")
    rows = page.get_by_test_id("trace-row")
    expect(rows).to_have_count(1)
    page.get_by_text("Live", exact=True).click()
    page.wait_for_url(re.compile(r".*live=1.*"))
    chat(session.base, "Is a parcel insured during transit?")
    expect(rows).to_have_count(2, timeout=8000)
    expect(rows.first).to_contain_text("Is a parcel insured")
    session.shot("03b-traces-live")
    page.get_by_text("Live", exact=True).click()
    assert session.console.take() == []


def test_guardrail_findings_are_highlighted_in_the_text(session: Session, seeded: Seeded) -> None:
    page = session.page
    page.goto(session.base + "/ui/traces?guardrail_category=EMAIL")
    expect(page.get_by_test_id("trace-row")).to_have_count(1)
    page.get_by_test_id("trace-row").first.click()
    page.wait_for_url(f"**/ui/traces/{seeded.span_ids['email']}")
    expect(page.get_by_test_id("findings")).to_contain_text("EMAIL")
    conversation = page.get_by_test_id("conversation")
    expect(conversation.locator(".role-user mark.finding")).to_have_text("jane.doe@example.com")
    # The echoed answer holds the same text, but the finding was on the request.
    expect(conversation.locator(".role-assistant mark.finding")).to_have_count(0)
    session.shot("05-trace-guardrail-finding")
    assert session.console.take() == []


def test_a_five_megabyte_body_is_gated_and_stays_responsive(session: Session, seeded: Seeded) -> None:
    page = session.page
    page.goto(f"{session.base}/ui/traces/{seeded.span_ids['big']}")
    expect(page.get_by_test_id("conversation")).to_contain_text("Describe this scan.")
    expect(page.locator(".part-placeholder").first).to_contain_text("Image")
    page.get_by_role("tab", name="Request").click()
    expect(page.get_by_test_id("size-gate")).to_contain_text("MB")
    started = time.monotonic()
    page.get_by_test_id("size-gate").get_by_role("button", name="Show all").click()
    expect(page.get_by_test_id("virtual-text")).to_be_visible()
    # Rendering all of it must not freeze the tab: the page answers again at once.
    assert page.evaluate("1 + 1") == 2
    assert time.monotonic() - started < 3
    assert page.locator(".virtual-row").count() < 300, "only the visible rows are in the DOM"
    session.shot("06-trace-large-body")
    assert session.console.take() == []


def test_a_trace_with_tools_shows_the_tool_call(session: Session, seeded: Seeded) -> None:
    page = session.page
    page.goto(f"{session.base}/ui/traces/{seeded.span_ids['tools']}")
    expect(page.locator(".part-tool")).to_contain_text("get_weather")
    expect(page.get_by_text("1 tool offered: get_weather")).to_be_visible()
    assert session.console.take() == []


def test_an_app_trace_shows_as_a_tree_with_a_timeline(session: Session, seeded: Seeded) -> None:
    page = session.page
    page.goto(f"{session.base}/ui/traces/{seeded.span_ids['traced']}")
    tree = page.get_by_test_id("span-tree")
    expect(tree.locator(".tree-row")).to_have_count(3)
    expect(tree.locator(".tree-row").first).to_contain_text("support-agent")
    expect(tree.locator(".tree-row.current")).to_contain_text("echo-mini")
    session.shot("07-trace-tree")
    tree.locator(".tree-row").first.click()
    page.wait_for_url("**/ui/traces/051581bf3cb55c13")
    expect(page.get_by_role("heading", level=1)).to_contain_text("support-agent")
    assert session.console.take() == []


def test_a_session_reads_as_one_conversation(session: Session) -> None:
    page = session.page
    page.goto(session.base + "/ui/sessions")
    page.get_by_role("link", name="chat-42").click()
    thread = page.get_by_test_id("session-thread")
    expect(thread.locator(".turn")).to_have_count(2)
    expect(thread.locator(".turn").first).to_contain_text("refund policy")
    expect(thread.locator(".turn").nth(1)).to_contain_text("jane.doe@example.com")
    session.shot("08-session")
    assert session.console.take() == []


def test_the_dashboard_draws_its_charts(session: Session, seeded: Seeded) -> None:
    page = session.page
    stats = seeded.glassgate.api("/stats/timeseries").json()
    requests = stats["series"][0]["total"]["requests"]
    assert requests >= 31, "every proxied call; the app's OTLP spans are not counted twice"
    page.goto(session.base + "/ui/dashboards")
    charts = page.get_by_test_id("chart")
    expect(charts).to_have_count(7)
    expect(charts.locator("canvas")).to_have_count(7)
    expect(page.locator(".tile").first).to_contain_text(str(requests))
    session.shot("09-dashboards")
    page.get_by_label("Group by").select_option("model")
    page.wait_for_url(re.compile(r".*group=model.*"))
    expect(charts.first.locator(".u-legend")).to_contain_text("echo-mini")
    session.shot("10-dashboards-by-model")
    assert session.console.take() == []


def test_settings_create_a_key_shown_once_then_revoke_it(session: Session, seeded: Seeded) -> None:
    page = session.page
    page.goto(session.base + "/ui/settings")
    page.get_by_label("Project").fill("team-a")
    page.get_by_role("button", name="Create key").click()
    issued = page.get_by_test_id("issued-key")
    expect(issued).to_contain_text("gg-")
    key = issued.locator("code").inner_text()
    listed = httpx.get(
        f"{session.base}/api/v1/keys", headers={"authorization": "Bearer test-admin-token-0123456789"}
    ).json()
    assert [entry["project"] for entry in listed["data"]] == ["team-a"]
    assert key.startswith(listed["data"][0]["prefix"])
    session.shot("11-settings-key-created")
    page.get_by_role("button", name="I have copied it").click()
    expect(issued).to_have_count(0)
    page.get_by_role("button", name="Revoke").click()
    page.get_by_role("button", name="Revoke").click()
    expect(page.get_by_role("cell", name=re.compile("^revoked"))).to_be_visible()
    page.get_by_role("tab", name="Upstreams").click()
    expect(page.get_by_role("cell", name="openai", exact=True).first).to_be_visible()
    session.shot("12-settings-upstreams")
    page.get_by_role("tab", name="Users").click()
    expect(page.get_by_role("cell", name=ADMIN["email"])).to_be_visible()
    session.shot("13-settings-users")
    assert session.console.take() == []


def test_sign_out_and_back_in(session: Session) -> None:
    page = session.page
    page.goto(session.base + "/ui/traces")
    page.get_by_role("button", name=re.compile("Ada Admin")).click()
    page.get_by_role("menuitem", name="Sign out").click()
    page.wait_for_url("**/ui/login**")
    page.goto(session.base + "/ui/dashboards")
    page.wait_for_url(re.compile(r".*/ui/login\?next=%2Fui%2Fdashboards$"))
    page.get_by_label("Email").fill(ADMIN["email"])
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_contain_text("not correct")
    session.shot("14-sign-in-failed")
    page.get_by_label("Password").fill(ADMIN["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/ui/dashboards")
    errors = session.console.take()
    assert all("401" in error for error in errors), errors  # the failed sign-in's response, logged by Chromium


def test_the_server_routes_the_app_and_keeps_json_for_api_clients(seeded: Seeded) -> None:
    base = seeded.glassgate.url
    assert httpx.get(base + "/", headers={"accept": "application/json"}).json()["ui"] == "/ui"
    browser = httpx.get(base + "/", headers={"accept": "text/html"})
    assert browser.status_code == 302 and browser.headers["location"] == "/ui/traces"
    page = httpx.get(base + "/ui/traces/anything", headers={"accept-encoding": "gzip"})
    assert page.status_code == 200 and page.headers["cache-control"] == "no-cache"
    script = re.search(r'src="(/assets/[^"]+\.js)"', page.text)
    assert script is not None
    asset = httpx.get(base + script.group(1))
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-type"] == "text/javascript; charset=utf-8"
    assert httpx.get(base + "/assets/..%2f..%2fconfig.py").status_code in (400, 404)
    assert httpx.get(base + "/favicon.ico").status_code == 200
