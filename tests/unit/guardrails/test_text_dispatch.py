"""The entry points: bodies that are not objects, vendors and shapes not known, the safety net."""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from glassgate.guardrails import text
from glassgate.guardrails.text import TextField, request_texts, response_texts, rewrite_strings
from glassgate.guardrails.text.fields import where

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def test_the_public_surface() -> None:
    assert sorted(text.__all__) == ["Extraction", "TextField", "request_texts", "response_texts", "rewrite_strings"]
    field = TextField(("messages", 0, "content"), "user", "Hi")
    with pytest.raises(AttributeError):
        field.text = "changed"  # type: ignore[misc]
    assert not hasattr(field, "__dict__"), "slots"


@pytest.mark.parametrize("body", [None, [], "Hi", 3])
@pytest.mark.parametrize("vendor", ["openai", "azure", "anthropic", "bedrock"])
def test_a_body_that_is_not_an_object_is_named(vendor: str, body: Any) -> None:
    for extract in (request_texts, response_texts):
        extraction = extract(vendor, "/v1/chat/completions", body)
        assert extraction.fields == []
        assert len(extraction.skipped) == 1 and "not a JSON object; nothing scanned" in extraction.skipped[0]


def test_a_vendor_without_an_extractor_is_read_loosely_and_said_so() -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}], "systemInstruction": {"parts": [{"text": "S"}]}}
    extraction = request_texts("gemini", "/v1/models/gemini-2.0-flash:generateContent", body)
    assert [(f.path, f.role, f.text) for f in extraction.fields] == [
        (("contents", 0, "parts", 0, "text"), "other", "Hi"),
        (("systemInstruction", "parts", 0, "text"), "other", "S"),
    ]
    assert extraction.skipped == [
        "body: vendor 'gemini' has no text extractor: only strings under text-like keys scanned"
    ]


def test_a_known_operation_whose_fields_are_all_missing_falls_back_to_a_loose_read() -> None:
    # A Titan body without `inputText`: its extractor finds nothing and says nothing, so the net reads it.
    body = {"inputTexts": ["x"], "text": "Hi from a future shape"}
    extraction = request_texts("bedrock", "/model/amazon.titan-text-premier-v1%3A0/invoke", body)
    assert [f.text for f in extraction.fields] == ["Hi from a future shape"]
    assert extraction.skipped == [
        "body: no known text field in this bedrock body at '/model/amazon.titan-text-premier-v1%3A0/invoke': "
        "strings under text-like keys scanned"
    ]
    quiet = request_texts("openai", "/v1/chat/completions", {"messages": []})
    assert (quiet.fields, quiet.skipped) == ([], []), "nothing to read is not a reason to say anything"


def test_paths_are_written_as_findings_write_them() -> None:
    assert where(("messages", 1, "content", 0, "text")) == "messages[1].content[0].text"
    assert where(()) == "body"
    assert where((0, "a")) == "[0].a"


CAPTURED: list[tuple[str, str, bytes]] = [
    (
        "openai",
        "/v1/chat/completions",
        b'{"model":"gpt-4o-mini","messages":[{"role":"system","content":"Be brief."},'
        b'{"role":"user","content":"Mail ann@example.com"}],"max_completion_tokens":50}',
    ),
    (
        "azure",
        "/openai/deployments/my-gpt4o/chat/completions?api-version=2024-10-21",
        b'{"model":"my-gpt4o","stream":true,"messages":[{"role":"user","content":"Mail ann@example.com"}],'
        b'"stream_options":{"include_usage":true}}',
    ),
    (
        "anthropic",
        "/v1/messages",
        b'{"max_tokens":64,"messages":[{"role":"user","content":"Mail ann@example.com"}],"model":"claude-sonnet-4-5"}',
    ),
    (
        "bedrock",
        "/model/anthropic.claude-3-5-sonnet-20241022-v2%3A0/invoke",
        b'{"anthropic_version": "bedrock-2023-05-31", "max_tokens": 64, "system": "Be brief.", '
        b'"messages": [{"role": "user", "content": "Mail ann@example.com"}]}',
    ),
    (
        "bedrock",
        "/model/amazon.nova-lite-v1%3A0/converse",
        b'{"messages": [{"role": "user", "content": [{"text": "Mail ann@example.com"}]}]}',
    ),
]


@pytest.mark.parametrize(("vendor", "path", "raw"), CAPTURED)
def test_redacting_a_captured_body_changes_only_the_matched_text(vendor: str, path: str, raw: bytes) -> None:
    extraction = request_texts(vendor, path, orjson.loads(raw))
    replacements = {
        field.path: _EMAIL.sub("<EMAIL_1>", field.text) for field in extraction.fields if _EMAIL.search(field.text)
    }
    assert len(replacements) == 1
    assert rewrite_strings(raw, replacements) == raw.replace(b"ann@example.com", b"<EMAIL_1>")
