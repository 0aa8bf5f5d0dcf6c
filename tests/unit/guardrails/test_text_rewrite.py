"""Rewriting JSON strings in raw bytes: only the chosen literals change, every other byte stays."""

from __future__ import annotations

import json
import random
import time
from typing import Any

import orjson
import pytest

from glassgate.guardrails.text import rewrite_strings
from glassgate.guardrails.text.rewrite import locate_strings

Path = tuple[str | int, ...]


def replaced(document: Any, path: Path, text: str) -> Any:
    """A deep copy of the parsed document with one value replaced."""
    if not path:
        return text
    copy = json.loads(json.dumps(document))
    holder = copy
    for part in path[:-1]:
        holder = holder[part]
    holder[path[-1]] = text
    return copy


def test_only_the_chosen_string_changes() -> None:
    raw = b'{ "model" :"gpt-4o",\n\t"messages":[ {"role":"user","content":"Mail ann@example.com"} ],"n":1.50e+0}  '
    out = rewrite_strings(raw, {("messages", 0, "content"): "Mail <EMAIL_1>"})
    start = raw.index(b'"Mail')
    end = start + len(b'"Mail ann@example.com"')
    assert out[:start] == raw[:start]
    assert out[-(len(raw) - end) :] == raw[end:]
    assert out == raw[:start] + b'"Mail <EMAIL_1>"' + raw[end:]
    assert orjson.loads(out) == replaced(orjson.loads(raw), ("messages", 0, "content"), "Mail <EMAIL_1>")


def test_several_strings_at_once_in_any_order() -> None:
    raw = b'{"a":["x","y",{"b":"z"}],"c":"w"}'
    out = rewrite_strings(raw, {("c",): "4", ("a", 0): "1", ("a", 2, "b"): "3"})
    assert out == b'{"a":["1","y",{"b":"3"}],"c":"4"}'


def test_escapes_and_unicode_elsewhere_are_kept_and_the_new_text_is_encoded() -> None:
    # Escapes the client chose (\/, \u00e9, a surrogate pair) stay as written outside the rewritten value.
    raw = (
        b'{"url":"https:\\/\\/example.com","name":"Ren\\u00e9 \\ud83d\\ude00","q":"say \\"hi\\" \\\\ ok",'
        b'"text":"caf\xc3\xa9 \\ud83d\\ude00 ann@example.com","k\\u0065y":"v"}'
    )
    out = rewrite_strings(raw, {("text",): 'caf\u00e9 \U0001f600 "<EMAIL_1>"\n', ("key",): "\u2028"})
    assert out == (
        b'{"url":"https:\\/\\/example.com","name":"Ren\\u00e9 \\ud83d\\ude00","q":"say \\"hi\\" \\\\ ok",'
        + '"text":"café 😀 \\"<EMAIL_1>\\"\\n","k\\u0065y":"\u2028"}'.encode()
    )
    parsed = orjson.loads(out)
    assert parsed["text"] == 'caf\u00e9 \U0001f600 "<EMAIL_1>"\n' and parsed["key"] == "\u2028"
    assert parsed["name"] == "Ren\u00e9 \U0001f600"


def test_strings_that_look_like_structure_do_not_confuse_the_scanner() -> None:
    raw = b'{"a":"}]{[,:\\"","b":["\\\\",{"c":"\\\\\\"x"}],"d":"target"}'
    assert rewrite_strings(raw, {("d",): "T"}) == raw.replace(b'"target"', b'"T"')
    assert rewrite_strings(raw, {("b", 1, "c"): "C"}) == raw.replace(b'"\\\\\\"x"', b'"C"')


def test_a_document_that_is_one_string() -> None:
    assert rewrite_strings(b' "secret" ', {(): "x"}) == b' "x" '


def test_no_replacements_return_the_same_bytes() -> None:
    raw = b'{"a": "b"}'
    assert rewrite_strings(raw, {}) is raw


@pytest.mark.parametrize(
    ("raw", "path", "message"),
    [
        (b'{"a":"b"}', ("x",), "x: no such value"),
        (b'{"a":["b"]}', ("a", 1), r"a\[1\]: no such value"),
        (b'{"a":["b"]}', ("a", "0"), r"a.0: no such value"),
        (b'{"a":{"0":"b"}}', ("a", 0), r"a\[0\]: no such value"),
        (b'{"a":1}', ("a",), "a: holds a value that is not a string"),
        (b'{"a":null}', ("a",), "a: holds a value that is not a string"),
        (b'{"a":{"b":"c"}}', ("a",), "a: holds a value that is not a string"),
        (b'{"a":"b","a":"c"}', ("a",), "a: a duplicated key"),
        (b'{"m":[{"c":"x"}],"m":[{"c":"y"}]}', ("m", 0, "c"), r"m\[0\].c: a duplicated key"),
    ],
)
def test_paths_that_do_not_hold_exactly_one_string_are_refused(raw: bytes, path: Path, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rewrite_strings(raw, {path: "x"})


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a":"b"', b'{"a":"b"}x', b'{"a":tru}', b"\xff"])
def test_bytes_that_are_not_json_are_refused(raw: bytes) -> None:
    with pytest.raises(ValueError):
        rewrite_strings(raw, {("a",): "x"})


def test_a_replacement_that_cannot_be_utf8_is_refused() -> None:
    with pytest.raises(ValueError):
        rewrite_strings(b'{"a":"b"}', {("a",): "\ud800"})


# --- property: over many generated documents, rewriting a leaf equals replacing it in the parse ---

_ALPHABET = ["a", "Z", " ", '"', "\\", "/", "\n", "\t", "\x00", "\x1f", "é", "€", "😀", "\u2028", "}", "]", ",", ":"]


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(rng.randint(0, 8)))


def _value(rng: random.Random, depth: int) -> Any:
    kind = rng.randint(0, 7 if depth < 4 else 3)
    if kind == 0:
        return _text(rng)
    if kind == 1:
        return rng.choice([0, -1, 10**20, 1.5, -2.5e-7, True, False, None])
    if kind in (2, 3):
        return _text(rng) + "x"
    if kind in (4, 5):
        return [_value(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {_text(rng): _value(rng, depth + 1) for _ in range(rng.randint(0, 4))}


def _space(rng: random.Random) -> str:
    return rng.choice(["", "", " ", "\n  ", "\t", " \r\n"])


def _encode(rng: random.Random, value: Any) -> str:
    """JSON with random spacing and a random mix of escaped and literal characters."""
    if isinstance(value, dict):
        members = [
            f"{_space(rng)}{_encode(rng, key)}{_space(rng)}:{_space(rng)}{_encode(rng, item)}"
            for key, item in value.items()
        ]
        return "{" + ",".join(members) + _space(rng) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_space(rng) + _encode(rng, item) + _space(rng) for item in value) + "]"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=rng.random() < 0.5).replace("/", "\\/" if rng.random() < 0.3 else "/")
    if isinstance(value, float) and rng.random() < 0.5:
        return repr(value).upper()
    return json.dumps(value)


def _string_leaves(value: Any, path: Path = ()) -> list[tuple[Path, str]]:
    if isinstance(value, str):
        return [(path, value)]
    if isinstance(value, dict):
        return [leaf for key, item in value.items() for leaf in _string_leaves(item, (*path, key))]
    if isinstance(value, list):
        return [leaf for index, item in enumerate(value) for leaf in _string_leaves(item, (*path, index))]
    return []


def test_rewriting_any_leaf_of_random_documents_matches_replacing_it_in_the_parse() -> None:
    rng = random.Random(20261127)
    checked = 0
    for _ in range(400):
        document = _value(rng, 0)
        raw = (_space(rng) + _encode(rng, document) + _space(rng)).encode()
        parsed = json.loads(raw)
        leaves = _string_leaves(parsed)
        spans = locate_strings(raw, [path for path, _ in leaves])
        for path, text in leaves:
            start, end = spans[path]
            assert json.loads(raw[start:end]) == text, "the span is exactly that string's literal"
            new = _text(rng)
            out = rewrite_strings(raw, {path: new})
            assert out[:start] == raw[:start] and out[len(out) - (len(raw) - end) :] == raw[end:]
            assert json.loads(out) == replaced(parsed, path, new)
            checked += 1
        if len(leaves) > 1:
            every = {path: _text(rng) for path, _ in leaves}
            expected = parsed
            for path, text in every.items():
                expected = replaced(expected, path, text)
            assert json.loads(rewrite_strings(raw, every)) == expected
    assert checked > 500


def test_a_50_kb_body_is_rewritten_in_milliseconds() -> None:
    rng = random.Random(7)
    words = ["the", "quick", "fox", "ann@example.com", "héllo", "😀", 'say "hi"']
    messages = [
        {"role": rng.choice(["user", "assistant"]), "content": " ".join(rng.choices(words, k=rng.randint(5, 60)))}
        for _ in range(220)
    ]
    raw = json.dumps({"model": "gpt-4o-mini", "messages": messages, "temperature": 0.2}, ensure_ascii=False).encode()
    assert len(raw) > 50_000
    everything: dict[Path, str] = {("messages", index, "content"): "<EMAIL_1>" for index in range(len(messages))}
    started = time.perf_counter()
    for _ in range(10):
        rewrite_strings(raw, {("messages", 219, "content"): "<EMAIL_1>"})
        rewrite_strings(raw, everything)
    per_pair = (time.perf_counter() - started) / 10
    assert per_pair < 0.05, f"{per_pair * 1000:.1f} ms for one and all strings of {len(raw)} bytes (about 4 ms here)"
