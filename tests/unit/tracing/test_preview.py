"""Previews from every vendor's request and response shapes."""

from __future__ import annotations

from typing import Any

import pytest

from glassgate.tracing.preview import PREVIEW_CHARS, input_preview, output_preview

INPUTS: list[tuple[str, Any, str | None]] = [
    (
        "openai chat, last user turn",
        {"messages": [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "first"},
                      {"role": "assistant", "content": "ok"}, {"role": "user", "content": "second  question\n"}]},
        "second question",
    ),
    (
        "openai multimodal parts",
        {"messages": [{"role": "user", "content": [{"type": "text", "text": "what is this"},
                                                   {"type": "image_url", "image_url": {"url": "data:..."}}]}]},
        "what is this",
    ),
    ("responses, plain input", {"model": "gpt-4o", "input": "hello there", "instructions": "x"}, "hello there"),
    (
        "responses, items",
        {"input": [{"role": "user", "content": [{"type": "input_text", "text": "summarise"}]}]},
        "summarise",
    ),
    ("anthropic", {"system": "sys", "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}]}, "hi"),
    ("converse", {"messages": [{"role": "user", "content": [{"text": "bonjour"}]}]}, "bonjour"),
    ("titan", {"inputText": "titan prompt"}, "titan prompt"),
    ("llama / completions", {"prompt": "complete me"}, "complete me"),
    ("embeddings batch", {"input": ["one", "two"]}, "two"),
    ("cohere chat", {"message": "cohere says"}, "cohere says"),
    ("not json", "raw text body", "raw text body"),
    ("nothing to show", {"model": "x"}, None),
]  # fmt: skip

OUTPUTS: list[tuple[str, Any, str | None]] = [
    ("openai chat", {"choices": [{"message": {"role": "assistant", "content": "Paris."}}], "model": "m"}, "Paris."),
    ("responses", {"output": [{"type": "message", "content": [{"type": "output_text", "text": "Rome"}]}]}, "Rome"),
    ("anthropic", {"content": [{"type": "thinking", "thinking": "hmm"}, {"type": "text", "text": "Oslo"}]}, "Oslo"),
    ("converse", {"output": {"message": {"content": [{"text": "Bern"}]}}}, "Bern"),
    ("titan", {"results": [{"outputText": "Lima"}]}, "Lima"),
    ("llama", {"generation": "Kyiv"}, "Kyiv"),
    ("legacy completions", {"choices": [{"text": "Baku"}]}, "Baku"),
    ("embeddings", {"data": [{"embedding": [0.1, 0.2]}], "model": "e"}, None),
]


@pytest.mark.parametrize(("case", "body", "expected"), INPUTS, ids=[case for case, _, _ in INPUTS])
def test_input_preview(case: str, body: Any, expected: str | None) -> None:
    assert input_preview(body) == expected


@pytest.mark.parametrize(("case", "body", "expected"), OUTPUTS, ids=[case for case, _, _ in OUTPUTS])
def test_output_preview(case: str, body: Any, expected: str | None) -> None:
    assert output_preview(body) == expected


def test_previews_are_bounded() -> None:
    preview = input_preview({"messages": [{"role": "user", "content": "word " * 10_000}]})
    assert preview is not None and len(preview) == PREVIEW_CHARS and preview.endswith("…")
    assert output_preview({"choices": [{"message": {"content": "x" * 50_000}}] * 100}) is not None
