"""Find similar, the prompt map, and evaluation: an evaluator made in the form, an experiment run and compared.

The tests run in order, as one visit: each starts where the previous one left the data.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from playwright.sync_api import expect

from tests.e2e.web.conftest import Seeded, Session
from tests.harness import ADMIN_TOKEN


def post(seeded: Seeded, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{seeded.glassgate.url}/api/v1{path}",
        json=body,
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
        timeout=30,
    )
    assert response.status_code in (200, 201), response.text
    data: dict[str, Any] = response.json()
    return data


def wait_for_embeddings(seeded: Seeded, count: int) -> None:
    """The background embedder reaches new spans within seconds."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = seeded.glassgate.api("/embeddings/status").json()
        if (status.get("embedded") or 0) >= count:
            return
        time.sleep(0.5)
    raise AssertionError(f"fewer than {count} spans embedded after 60 s: {status}")


def test_find_similar_lists_the_nearest_prompts(session: Session, seeded: Seeded) -> None:
    wait_for_embeddings(seeded, 20)
    page = session.page
    page.goto(f"{session.base}/ui/traces/{seeded.span_ids['refund']}")
    page.get_by_role("button", name="Find similar").click()
    panel = page.get_by_test_id("similar-panel")
    expect(panel).to_contain_text("hashed")
    expect(panel).to_contain_text("similar wording, not meaning")
    rows = panel.get_by_test_id("similar-row")
    expect(rows.first).to_be_visible()
    assert 1 <= rows.count() <= 10
    expect(rows.first).to_contain_text("%")
    assert re.search(r"/ui/traces/[^?]+\?similar=1$", page.url)
    session.shot("40-find-similar")
    # `f` hides and shows the panel; a row opens its trace.
    page.keyboard.press("f")
    expect(panel).to_be_hidden()
    page.keyboard.press("f")
    expect(panel.get_by_test_id("similar-row").first).to_be_visible()
    first = panel.get_by_test_id("similar-row").first.get_by_role("link")
    target = first.get_attribute("href")
    first.click()
    page.wait_for_url(f"**{target}")
    assert session.console.take() == []


def test_the_prompt_map_draws_every_embedded_prompt(session: Session, seeded: Seeded) -> None:
    page = session.page
    page.goto(f"{session.base}/ui/traces")
    expect(page.get_by_test_id("trace-row").first).to_be_visible()
    page.keyboard.press("g")
    page.keyboard.press("m")
    page.wait_for_url("**/ui/map")
    status = page.get_by_test_id("embedding-status")
    expect(status).to_contain_text("hashed")
    expect(status).to_contain_text("similar wording, not meaning")
    expect(status).to_contain_text("embedded")
    canvas = page.get_by_test_id("prompt-map")
    expect(canvas).to_be_visible()
    assert int(canvas.get_attribute("data-points") or "0") >= 20
    legend = page.get_by_test_id("map-legend").get_by_role("button")
    assert legend.count() >= 2
    # Hover every few pixels until a point answers with its prompt.
    box = canvas.bounding_box()
    assert box is not None
    found = False
    for y in range(10, int(box["height"]) - 10, 6):
        for x in range(10, int(box["width"]) - 10, 6):
            page.mouse.move(box["x"] + x, box["y"] + y)
            if page.get_by_role("tooltip").count():
                found = True
                break
        if found:
            break
    assert found, "no point under the pointer anywhere on the map"
    expect(page.get_by_role("tooltip")).to_contain_text("click to open")
    session.shot("41-prompt-map")
    page.mouse.down()
    page.mouse.up()
    page.wait_for_url(re.compile(r".*/ui/traces/[0-9a-f]+$"))
    assert session.console.take() == []


def test_create_an_evaluator_and_see_it_listed(session: Session) -> None:
    page = session.page
    page.goto(f"{session.base}/ui/evals?tab=evaluators")
    expect(page.get_by_text("No evaluators yet")).to_be_visible()
    page.get_by_role("button", name="New evaluator").click()
    form = page.get_by_role("form", name="New evaluator")
    form.get_by_label("Evaluator name").fill("mentions-question")
    form.get_by_label("Evaluator type").select_option("contains")
    form.get_by_label("Params").fill('{"values": ["Question"], "mode": "any"')
    form.get_by_role("button", name="Create evaluator").click()
    expect(form.get_by_role("alert")).to_contain_text("Params: line 1")
    form.get_by_label("Params").fill('{"values": ["Question"], "mode": "any"}')
    session.shot("42-new-evaluator")
    form.get_by_role("button", name="Create evaluator").click()
    table = page.get_by_test_id("evaluators")
    expect(table.get_by_role("row", name=re.compile(r"^mentions-question\b"))).to_be_visible()
    # An LLM judge with its own template.
    page.get_by_role("button", name="New evaluator").click()
    form.get_by_label("Evaluator name").fill("judge-helpful")
    form.get_by_label("Evaluator type").select_option("llm_judge")
    expect(form.get_by_label("Judge template")).to_contain_text("{{ output }}")
    form.get_by_label("Judge model").fill("openai:gpt-4o-mini")
    form.get_by_role("button", name="Create evaluator").click()
    expect(table.get_by_role("row", name=re.compile(r"^judge-helpful\b"))).to_contain_text("LLM judge")
    session.shot("43-evaluators")
    # A rule over live calls, switched off and on.
    page.get_by_role("tab", name="Online rules").click()
    page.get_by_role("button", name="New rule").click()
    rule = page.get_by_role("form", name="New rule")
    rule.get_by_label("Rule name").fill("support-questions")
    rule.get_by_label("Evaluator", exact=True).select_option(label="mentions-question (contains)")
    rule.get_by_label("Filter tags").fill("support")
    rule.get_by_label("Sampling rate (%)").fill("50")
    rule.get_by_role("button", name="Create rule").click()
    rules = page.get_by_test_id("eval-rules")
    expect(rules).to_contain_text("tags=support")
    switch = rules.get_by_role("switch", name="Rule support-questions enabled")
    expect(switch).to_have_attribute("aria-checked", "true")
    switch.click()
    expect(switch).to_have_attribute("aria-checked", "false")
    session.shot("44-online-rules")
    assert session.console.take() == []


def test_run_an_experiment_twice_and_compare_the_runs(session: Session, seeded: Seeded) -> None:
    dataset = post(seeded, "/datasets", {"name": "faq", "description": "Questions"})
    items = [
        {"input": "Question A: how do I reset my password?", "expected_output": "Use the reset link."},
        {"input": "Question B: where are invoices?", "expected_output": "Under Billing."},
        {"input": "Question C: what are the API limits?", "expected_output": "60 calls a minute."},
    ]
    post(seeded, f"/datasets/{dataset['dataset_id']}/items", {"items": items, "note": "first"})
    page = session.page
    page.goto(f"{session.base}/ui/evals")
    page.get_by_role("button", name="New experiment").click()
    form = page.get_by_role("form", name="New experiment")
    form.get_by_label("Experiment name").fill("echo-baseline")
    form.get_by_label("Dataset", exact=True).select_option(label="faq (3 items)")
    form.get_by_label("Target (upstream:model)").fill("echo-mini")
    form.get_by_role("button", name="Create experiment").click()
    expect(form.get_by_role("alert")).to_contain_text("upstream:model")
    form.get_by_label("Target (upstream:model)").fill("openai:echo-mini")
    form.get_by_label("Prompt template").fill("Answer briefly. {{ input }}")
    form.get_by_label("mentions-question").check()
    session.shot("45-new-experiment")
    form.get_by_role("button", name="Create experiment").click()
    page.wait_for_url(re.compile(r".*/ui/evals/experiments/[^/]+$"))
    runs = page.get_by_test_id("run-row")
    expect(runs).to_have_count(1)
    expect(runs.first).to_contain_text("completed", timeout=60_000)
    expect(runs.first).to_contain_text("3/3")
    page.get_by_role("button", name="Start a run").click()
    expect(runs).to_have_count(2)
    expect(runs.first).to_contain_text("completed", timeout=60_000)
    session.shot("46-experiment-runs")
    runs.first.get_by_role("button", name=re.compile(r"^Compare with #1$")).click()
    page.wait_for_url(re.compile(r".*/ui/evals/compare\?run=.+&run=.+"))
    totals = page.get_by_test_id("compare-totals")
    expect(totals).to_contain_text("echo-baseline #1")
    expect(totals).to_contain_text("echo-baseline #2")
    expect(totals).to_contain_text("mentions-question")
    # Neither run was streamed: the TTFT column is there, next to latency, with a dash for each.
    expect(totals.get_by_role("columnheader", name="TTFT p50 / p95")).to_be_visible()
    expect(totals.get_by_test_id("compare-ttft")).to_have_text(["—", "—"])
    items_shown = page.get_by_test_id("compare-item")
    expect(items_shown).to_have_count(3)
    expect(items_shown.first).to_contain_text("mentions-question:")
    page.get_by_text("Agreement with human annotations").click()
    expect(page.locator(".agreement")).to_contain_text("no human annotations")
    session.shot("47-compare-runs")
    assert session.console.take() == []


def finished_run(seeded: Seeded, experiment_id: str) -> str:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        [run] = seeded.glassgate.api(f"/experiments/{experiment_id}/runs").json()["data"]
        if run["status"] == "completed":
            return str(run["run_id"])
        time.sleep(0.25)
    raise AssertionError(f"experiment {experiment_id} still running after 60 s: {run}")


def test_a_streamed_run_shows_its_time_to_first_token_in_the_comparison(session: Session, seeded: Seeded) -> None:
    page = session.page
    compared = page.url  # the two runs of echo-baseline, left by the test before
    assert "/ui/evals/compare?run=" in compared
    experiments = seeded.glassgate.api("/experiments").json()["data"]
    baseline = next(experiment for experiment in experiments if experiment["name"] == "echo-baseline")
    target = {**baseline["target"], "stream": True}
    body = {**{key: baseline[key] for key in ("dataset_id", "evaluator_ids")}, "target": target, "start": True}
    streamed = post(seeded, "/experiments", {**body, "name": "echo-streamed"})
    run_id = finished_run(seeded, streamed["experiment_id"])

    page.goto(f"{compared}&run={run_id}")
    totals = page.get_by_test_id("compare-totals")
    expect(totals).to_contain_text("echo-streamed #1")
    cells = totals.get_by_test_id("compare-ttft")
    expect(cells).to_have_count(3)
    expect(cells.nth(0)).to_have_text("—")
    expect(cells.nth(2)).to_have_text(re.compile(r"^[\d.]+ m?s / [\d.]+ m?s$"))
    # Each item then has its own TTFT: a figure for the streamed run, a dash for the others.
    facts = page.get_by_test_id("compare-item").first.locator(".output-facts")
    expect(facts).to_have_count(3)
    expect(facts.nth(0)).to_contain_text("TTFT —")
    expect(facts.nth(2)).to_contain_text(re.compile(r"TTFT [\d.]+ m?s"))
    session.shot("48-compare-ttft")
    assert session.console.take() == []
