"""Search words: the same cut for stored documents and queries, ASCII or not."""

from __future__ import annotations

import pytest

from glassgate.storage.search import MAX_QUERY_WORDS, MAX_WORD_CHARS, document, query, words


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Where's my ORDER #4711?", ["where", "s", "my", "order", "4711"]),
        ("snake_case and kebab-case", ["snake", "case", "and", "kebab", "case"]),
        ("mail bob@example.com now", ["mail", "bob", "example", "com", "now"]),
        ("tab\tnew\nline\x01ctl", ["tab", "new", "line", "ctl"]),
        ("«Bonjour», Zoë — ça va?", ["bonjour", "zoë", "ça", "va"]),
        ("日本語のテキスト", ["日本語のテキスト"]),
    ],
)
def test_words(text: str, expected: list[str]) -> None:
    assert words(text) == expected


def test_ascii_and_unicode_paths_agree_on_ascii_words() -> None:
    text = "Refund, please: order_42 (urgent)!"
    assert words(text) == words(text + " é")[:-1]


def test_document_is_the_distinct_words_of_both_previews() -> None:
    stored = document("refund my order", "Your ORDER ships") or ""
    assert sorted(stored.split()) == ["my", "order", "refund", "ships", "your"]
    assert document(None, "") is None
    assert all(len(word) <= MAX_WORD_CHARS for word in (document("x" * 500) or "").split())


@pytest.mark.parametrize(
    "texts",
    [
        ("Where's my ORDER #4711?", "snake_case and kebab-case\ttab\x01ctl"),
        ("«Bonjour», Zoë — ça va?", "Bonjour ZOË, order 42"),
        ("日本語のテキスト", None),
        ("a" * 70 + " b" + " ü" * 3, "é" * 70 + " " + "c" * 65),
        ("\u212a is a Kelvin sign", ""),
        ("A clipped preview ends so…", "ΟΔΟΣ, straße\u00a0NBSP «quoted» x\u2026y 12\u00bd"),
    ],
)
def test_document_holds_exactly_the_distinct_cut_words_the_queries_use(texts: tuple[str | None, ...]) -> None:
    expected = {word for text in texts if text for word in words(text)}
    stored = (document(*texts) or "").split()
    assert sorted(stored) == sorted(expected)


def test_query_prefixes_the_last_word_and_never_passes_syntax_through() -> None:
    assert query("refund ord") == "refund & ord:*"
    assert query("a' | b & !c:*") == "a & b & c:*"
    assert query("?!") is None
    assert query(" ".join(f"w{number}" for number in range(40))) == " & ".join(
        [*(f"w{number}" for number in range(MAX_QUERY_WORDS - 1)), f"w{MAX_QUERY_WORDS - 1}:*"]
    )
