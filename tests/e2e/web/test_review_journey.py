"""A new user past reading traces: score a call, keep it in a dataset, export it, and review a queue by keyboard.

The tests run in order, as one visit: each starts where the previous one left the data.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.web.conftest import Seeded, Session


def annotations_of(seeded: Seeded, span_id: str) -> list[dict[str, object]]:
    response = seeded.glassgate.api(f"/spans/{span_id}/annotations")
    assert response.status_code == 200, response.text
    data: list[dict[str, object]] = response.json()["data"]
    return data


def create_score_config(page: Page, name: str, kind: str, **fields: str) -> None:
    form = page.get_by_role("form", name="New score config")
    form.get_by_label("Kind").select_option(label=kind)
    form.get_by_label("Score name").fill(name)
    for label, value in fields.items():
        form.get_by_label(label).fill(value)
    form.get_by_role("button", name="Create score").click()
    expect(page.get_by_test_id("score-configs").get_by_role("row", name=re.compile(rf"^{name}\b"))).to_be_visible()


def test_a_first_score_config_from_the_annotate_panel(session: Session, seeded: Seeded) -> None:
    page = session.page
    page.goto(session.base + "/ui/traces")
    expect(page.get_by_test_id("trace-row").first).to_be_visible()
    page.keyboard.press("/")
    page.keyboard.type("refund")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("trace-row")).to_have_count(1)
    page.get_by_test_id("trace-row").first.click()
    page.wait_for_url(f"**/ui/traces/{seeded.span_ids['refund']}")
    page.get_by_role("button", name="Annotate").click()
    panel = page.get_by_test_id("annotate-panel")
    expect(panel).to_contain_text("No score configs yet")
    panel.get_by_role("link", name="Create one").click()
    page.wait_for_url(re.compile(r".*/ui/annotation\?tab=configs$"))
    create_score_config(page, "quality", "Labels", Labels="bad, ok, good", Description="Is the answer right?")
    create_score_config(page, "accuracy", "Number", Minimum="0", Maximum="5")
    create_score_config(page, "resolved", "Yes / no")
    create_score_config(page, "notes", "Text")
    session.shot("20-score-configs")
    form = page.get_by_role("form", name="New score config")
    form.get_by_label("Score name").fill("broken")
    form.get_by_label("Kind").select_option(label="Number")
    form.get_by_label("Minimum").fill("5")
    form.get_by_label("Maximum").fill("1")
    form.get_by_role("button", name="Create score").click()
    expect(form.get_by_role("alert")).to_contain_text("greater than the minimum")
    assert session.console.take() == []


def test_annotate_a_trace_by_keyboard_and_see_the_score_in_the_list(session: Session, seeded: Seeded) -> None:
    page = session.page
    span_id = seeded.span_ids["refund"]
    page.goto(f"{session.base}/ui/traces/{span_id}?annotate=1", wait_until="domcontentloaded")
    panel = page.get_by_test_id("annotate-panel")
    fields = panel.get_by_test_id("score-field")
    expect(fields).to_have_count(4)  # by name: accuracy, notes, quality, resolved
    expect(fields.nth(0)).to_have_class(re.compile(r"\bactive\b"))
    page.keyboard.press("4")  # accuracy: the digit starts the number
    expect(panel.get_by_label("accuracy", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(fields.nth(0)).to_contain_text("Saved")
    page.keyboard.press("Escape")  # leaves the field, not the page
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("3")  # quality: the third label
    expect(fields.nth(2).get_by_role("button", name="good")).to_have_attribute("aria-pressed", "true")
    # Saved before the comment is typed: twice in CI (never here, under load or throttled) the
    # comment below did not reach the list while the pick's save was still under way.
    expect(fields.nth(2)).to_contain_text("Saved")
    page.keyboard.press("e")
    comment = panel.get_by_label("Comment on quality")
    expect(comment).to_be_focused()
    page.keyboard.type("Cites the policy exactly.")
    expect(comment).to_have_value("Cites the policy exactly.")
    page.keyboard.press("Enter")
    listed = panel.get_by_test_id("annotation-list")
    try:
        expect(listed).to_contain_text("Cites the policy exactly.")
    except AssertionError as missing:
        field = fields.nth(2).inner_text()
        raise AssertionError(f"{missing}\nthe quality field: {field!r}; console: {session.console.errors}") from None
    page.keyboard.press("Escape")
    saved = {entry["config_name"]: entry for entry in annotations_of(seeded, span_id)}
    assert saved["quality"]["value"] == "good" and saved["quality"]["comment"] == "Cites the policy exactly."
    assert saved["accuracy"]["value"] == 4 and saved["quality"]["author"] == "ada@example.com"
    page.keyboard.press("j")
    page.keyboard.press("2")  # resolved: No, then changed to Yes; one annotation per author stays
    page.keyboard.press("1")
    expect(fields.nth(3).get_by_role("button", name="Yes")).to_have_attribute("aria-pressed", "true")
    expect(panel.get_by_test_id("annotation-list").locator("li")).to_have_count(3)
    session.shot("21-trace-annotated")

    page.keyboard.press("?")
    help_dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_dialog).to_contain_text("Complete, then the next item")
    expect(help_dialog).to_contain_text("Write a comment")
    session.shot("22-shortcuts")
    help_dialog.get_by_role("button", name="Close").click()

    page.goto(session.base + "/ui/traces?q=refund")
    scores = page.get_by_test_id("trace-row").first.get_by_test_id("scores")
    expect(scores).to_contain_text("quality: good")
    expect(scores).to_contain_text("accuracy: 4")
    page.get_by_label("Score", exact=True).select_option(label="Scored: quality")
    page.get_by_label("Score label").select_option("good")
    page.wait_for_url(re.compile(r".*score=quality.*score_label=good.*"))
    page.get_by_role("button", name=re.compile(r"^Clear")).click()
    page.goto(session.base + "/ui/traces?score=quality&score_label=bad")
    expect(page.get_by_text("No calls match these filters")).to_be_visible()
    page.goto(session.base + "/ui/traces?score=accuracy&score_min=3")
    expect(page.get_by_test_id("trace-row")).to_have_count(1)
    expect(page.get_by_label("Score at least")).to_have_value("3")
    session.shot("23-traces-score-filter")
    assert session.console.take() == []


def test_add_the_trace_to_a_new_dataset_and_export_it(session: Session, seeded: Seeded, tmp_path: Path) -> None:
    page = session.page
    span_id = seeded.span_ids["refund"]
    page.goto(f"{session.base}/ui/traces/{span_id}")
    page.get_by_role("button", name="Add to dataset").click()
    dialog = page.get_by_role("dialog", name="Add this call to a dataset")
    dialog.get_by_label("Dataset", exact=True).select_option(label="New dataset…")
    dialog.get_by_label("Dataset name").fill("refund-cases")
    editor = dialog.get_by_label("Expected output")
    expect(editor).to_have_value(re.compile("refund policy"))
    editor.fill('{"answer": "Damaged parcels are refunded')
    expect(dialog.get_by_role("alert")).to_contain_text("Line 1")
    session.shot("24-add-to-dataset-invalid")
    editor.fill('{"answer": "Damaged parcels are refunded in full."}')
    expect(dialog.get_by_role("alert")).to_have_count(0)
    dialog.get_by_label("Note").fill("the refund question, answered by hand")
    dialog.get_by_role("button", name="Add 1 item").click()
    expect(dialog.get_by_test_id("added-to-dataset")).to_contain_text("refund-cases as version 1")
    dialog.get_by_role("link", name="Open the dataset").click()
    page.wait_for_url(re.compile(r".*/ui/datasets/[^/]+$"))
    rows = page.get_by_test_id("item-row")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("What is the refund policy for damaged parcels?")
    expect(rows.first.get_by_role("link", name=span_id)).to_have_attribute("href", f"/ui/traces/{span_id}")
    session.shot("25-dataset")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export JSONL").click()
    assert download.value.suggested_filename == "refund-cases-v1.jsonl"
    exported = tmp_path / "export.jsonl"
    download.value.save_as(exported)
    items = [json.loads(line) for line in exported.read_text().splitlines()]
    assert [item["source_span_id"] for item in items] == [span_id]
    assert items[0]["expected_output"] == {"answer": "Damaged parcels are refunded in full."}
    with page.expect_download() as csv_download:
        page.get_by_role("link", name="Export CSV").click()
    assert csv_download.value.suggested_filename == "refund-cases-v1.csv"
    assert session.console.take() == []


def test_import_shows_the_lines_in_error_then_adds_a_version(session: Session, tmp_path: Path) -> None:
    page = session.page
    page.get_by_role("button", name="Import CSV / JSONL").click()
    bad = tmp_path / "bad.csv"
    bad.write_text('input,expected_output\n,"no input"\n"{""q"": ""ok""}",fine\n')
    page.get_by_label("File to import").set_input_files(str(bad))
    page.get_by_role("button", name="Import", exact=True).click()
    errors = page.get_by_test_id("import-errors")
    expect(errors).to_contain_text("Nothing was imported")
    expect(errors).to_contain_text("line 2")
    expect(errors).to_contain_text("input")
    session.shot("26-dataset-import-error")
    good = tmp_path / "good.jsonl"
    good.write_text('{"input": {"q": "Can I return a gift?"}, "expected_output": "Yes, within 30 days."}\n')
    page.get_by_label("File to import").set_input_files(str(good))
    page.get_by_label("Import note").fill("gift returns")
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_test_id("imported")).to_contain_text("Imported 1 item as version 2")
    expect(page.get_by_test_id("item-row")).to_have_count(2)
    page.get_by_role("tab", name=re.compile("Version history")).click()
    versions = page.get_by_test_id("versions")
    expect(versions.locator("tbody tr")).to_have_count(2)
    expect(versions).to_contain_text("gift returns")
    expect(versions).to_contain_text("the refund question, answered by hand")
    expect(versions).to_contain_text("ada@example.com")
    session.shot("27-dataset-history")
    versions.get_by_role("button", name="v1").click()
    expect(page.get_by_label("Version")).to_have_value("1")
    expect(page.get_by_test_id("item-row")).to_have_count(1)
    expect(page.get_by_role("link", name="Export JSONL")).to_have_attribute("href", re.compile(r"version=1"))
    logged = session.console.take()
    assert len(logged) == 1 and "422" in logged[0], logged  # the refused file's response, logged by Chromium


def test_edit_and_delete_items_each_make_a_version(session: Session) -> None:
    page = session.page
    page.get_by_label("Version").select_option("2")  # the latest again
    rows = page.get_by_test_id("item-row")
    gift = rows.filter(has_text="Can I return a gift?")
    gift.get_by_role("button", name="Edit").click()
    dialog = page.get_by_role("dialog", name=re.compile("^Edit item"))
    dialog.get_by_label("Expected output").fill('"Yes, within 60 days, with the receipt."')
    dialog.get_by_label("Metadata").fill("[]")
    expect(dialog.get_by_role("alert")).to_contain_text("must be a JSON object")
    dialog.get_by_label("Metadata").fill('{"policy": "2026"}')
    dialog.get_by_label("Note").fill("returns now 60 days")
    session.shot("28-dataset-edit-item")
    dialog.get_by_role("button", name="Save as a new version").click()
    expect(dialog).to_have_count(0)
    expect(page.get_by_role("heading", level=1).locator("..")).to_contain_text("v3 · 2 items")
    expect(gift).to_contain_text("60 days")
    gift.get_by_role("button", name="Delete").click()
    gift.get_by_role("button", name="Confirm").click()
    expect(rows).to_have_count(1)
    expect(page.get_by_role("heading", level=1).locator("..")).to_contain_text("v4 · 1 item")
    page.get_by_label("Version").select_option("3")
    expect(rows).to_have_count(2)
    expect(page.get_by_text("read only")).to_be_visible()
    expect(rows.filter(has_text="Can I return a gift?").get_by_role("button", name="Edit")).to_have_count(0)
    page.get_by_role("link", name="← Datasets").click()
    listed = page.get_by_test_id("datasets").get_by_role("row", name=re.compile("refund-cases"))
    expect(listed).to_contain_text("v4")
    session.shot("28b-datasets")
    assert session.console.take() == []


def test_a_queue_reviewed_by_keyboard(session: Session, seeded: Seeded) -> None:
    page = session.page
    page.goto(session.base + "/ui/annotation")
    page.get_by_role("button", name="New queue").click()
    form = page.get_by_role("form", name="New queue")
    form.get_by_label("Queue name").fill("support review")
    form.get_by_label("Queue description").fill("Answers to customers, checked weekly")
    form.get_by_label("quality").check()
    form.get_by_label("notes").check()
    form.get_by_role("button", name="Create queue").click()
    expect(page.get_by_test_id("queue-card")).to_contain_text("0 of 0")

    page.goto(session.base + "/ui/traces?session_id=chat-42")
    rows = page.get_by_test_id("trace-row")
    expect(rows).to_have_count(2)
    rows.nth(0).get_by_role("checkbox").check()
    rows.nth(1).get_by_role("checkbox").check()
    bar = page.get_by_role("toolbar", name="Selected calls")
    expect(bar).to_contain_text("2 selected")
    session.shot("29-traces-selected")
    bar.get_by_role("button", name="Add to queue").click()
    dialog = page.get_by_role("dialog", name="Add 2 calls to an annotation queue")
    expect(dialog.get_by_label("Queue")).to_have_value(re.compile(".+"))
    dialog.get_by_role("button", name="Add to queue").click()
    expect(dialog.get_by_test_id("queued")).to_contain_text("Added 2 to support review")
    dialog.get_by_role("link", name="Review now").click()

    review = page.get_by_test_id("review")
    expect(review.get_by_test_id("conversation")).to_be_visible()
    fields = review.get_by_test_id("score-field")
    expect(fields).to_have_count(2)  # the queue's configs, in its order
    expect(fields.nth(0)).to_contain_text("quality")
    first_span = page.locator(".review-meta a").get_attribute("href")
    session.shot("30-review")
    page.keyboard.press("2")  # quality: ok
    expect(fields.nth(0).get_by_role("button", name="ok")).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("j")
    page.keyboard.press("i")  # notes: a text score
    page.keyboard.type("Polite, but slow to answer.")
    page.keyboard.press("Control+Enter")
    expect(fields.nth(1)).to_contain_text("Saved")
    page.keyboard.press("Escape")
    page.keyboard.press("n")  # complete, then the next call
    expect(page.locator(".review-meta a")).not_to_have_attribute("href", first_span or "")
    expect(fields.nth(0).get_by_role("button", name="ok")).to_have_attribute("aria-pressed", "false")
    page.keyboard.press("s")  # skip it
    expect(page.get_by_test_id("queue-done")).to_contain_text("1 completed and 1 skipped of 2")
    session.shot("31-review-done")
    assert first_span is not None
    notes = {entry["config_name"]: entry["value"] for entry in annotations_of(seeded, first_span.rsplit("/", 1)[-1])}
    assert notes == {"quality": "ok", "notes": "Polite, but slow to answer."}

    page.keyboard.press("Escape")
    page.wait_for_url("**/ui/annotation")
    card = page.get_by_test_id("queue-card")
    expect(card).to_contain_text("2 of 2")
    expect(card.get_by_role("list", name="Reviewers")).to_contain_text("ada@example.com")
    session.shot("32-queues")
    assert session.console.take() == []


def test_sessions_are_listed_by_the_server_and_the_dashboard_draws(session: Session) -> None:
    page = session.page
    page.goto(session.base + "/ui/sessions")
    table = page.get_by_test_id("sessions")
    row = table.get_by_role("row", name=re.compile("chat-42"))
    expect(row).to_contain_text("alice")
    expect(row.get_by_role("cell").nth(1)).to_have_text("2")
    page.get_by_label("Search session ids").fill("nope")
    expect(page.get_by_text("No session id starts with that")).to_be_visible()
    page.get_by_label("Search session ids").fill("chat-4")
    expect(table.get_by_role("row")).to_have_count(2)  # the header and chat-42
    session.shot("33-sessions")
    page.goto(session.base + "/ui/dashboards")
    expect(page.get_by_test_id("chart").locator("canvas")).to_have_count(7)
    session.shot("34-dashboards")
    assert session.console.take() == []
