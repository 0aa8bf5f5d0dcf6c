"""Previews from every vendor's request and response shapes."""

from __future__ import annotations

import random
import sys
from typing import Any

import pytest

from glassgate.tracing import preview
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


def _reference_clip(text: str) -> str | None:
    """The preview's definition: the text on one line (runs of whitespace as one space), clipped; of a text
    that is mostly whitespace, only the first 4 × PREVIEW_CHARS characters are read."""
    line = " ".join(text[: PREVIEW_CHARS * 4].split())
    if not line:
        return None
    return line if len(line) <= PREVIEW_CHARS else line[: PREVIEW_CHARS - 1] + "…"


_RARE_SPACES = ["\u00a0", "\u3000", "\x0b", "\u2028 "]


def _texts_around_the_heads() -> list[str]:
    """Texts whose length, or whose whitespace, falls around the heads that _clip collapses."""
    rng = random.Random(7)
    texts = ["", " \n\t ", "word", "a" * PREVIEW_CHARS, "a" * (PREVIEW_CHARS + 1)]
    for length in (PREVIEW_CHARS - 1, PREVIEW_CHARS, PREVIEW_CHARS + 1, 1124, 1125, 1126, 4000, 4001, 20_000):
        texts.append(("ab " * length)[:length])  # single spaces: the head fills the preview
        texts.append(" " * (length - 3) + "end")  # blank up to the end: needs the long head, or all of it
        texts.append(("x" * (length - 1)) + " " + "tail")  # a word across the boundary
    common = [" ", "  ", "\n\n", "\t", "\r\n", " \n ", " " * 300]
    for number in range(200):  # words among runs of whitespace, of random lengths; half with rarer spaces
        spaces = common + _RARE_SPACES if number % 2 else common
        parts = [rng.choice(["w", "word", "longerword"]) + rng.choice(spaces) for _ in range(rng.randrange(1, 800))]
        texts.append("".join(parts))
    return texts


def test_a_preview_is_the_text_on_one_line_clipped_whatever_part_of_it_was_read() -> None:
    for text in _texts_around_the_heads():
        expected = _reference_clip(text)
        assert input_preview(text) == expected, (len(text), text[:40])


def test_every_whitespace_character_is_known_to_the_fast_path() -> None:
    """The fast path of _clip handles text with no whitespace but spaces, newlines, tabs and CRs."""
    every = {chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()}
    assert every == {" ", *preview._SPACE_LIKE, *preview._OTHER_WHITESPACE}
